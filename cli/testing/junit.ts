// JUnit XML as CI systems read it (GitLab, Jenkins, GitHub test reporters): one <testsuite> per
// fixture file, one <testcase> per case (per identity × request of a matrix), <failure> with the
// diff, and an <error> test case for each fixture file that does not load.
import { failureLines, formatProblem } from './pretty.ts';
import type { RunResult } from './run.ts';

/** Characters XML 1.0 does not allow at all, even escaped. */
const INVALID_XML = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function escapeXml(text: string): string {
  return text
    .replace(INVALID_XML, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Attribute values also keep their line breaks (a parser folds raw ones into spaces). */
const attr = (text: string | number) => escapeXml(String(text)).replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
const seconds = (ns: number) => (ns / 1e9).toFixed(6);

export function renderJunit(result: RunResult, timestamp = new Date()): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const problemFiles = [...new Set(result.problems.map((p) => p.file))];
  const tests = result.passed + result.failed + problemFiles.length;
  out.push(
    `<testsuites name="sluice test" tests="${tests}" failures="${result.failed}" errors="${problemFiles.length}" time="${(result.durationMs / 1000).toFixed(3)}">`,
  );
  for (const { suite, results } of result.suites) {
    const failures = results.filter((r) => !r.passed).length;
    const time = results.reduce((t, r) => t + r.durationNs, 0);
    out.push(
      `  <testsuite name="${attr(suite.name)}" file="${attr(suite.file)}" tests="${results.length}" failures="${failures}" errors="0" skipped="0" time="${seconds(time)}" timestamp="${timestamp.toISOString().slice(0, 19)}">`,
      `    <properties>`,
      `      <property name="policy.revision" value="${attr(result.revision)}"/>`,
      `    </properties>`,
    );
    for (const r of results) {
      const c = r.case;
      const open = `    <testcase name="${attr(c.name)}" classname="${attr(suite.name)}" file="${attr(c.file)}"${c.line !== undefined ? ` line="${c.line}"` : ''} time="${seconds(r.durationNs)}"`;
      if (r.passed) {
        out.push(`${open}/>`);
        continue;
      }
      const message = r.mismatches.map((m) => `${m.field}: expected ${m.expected}, got ${m.actual}`).join('; ');
      out.push(
        `${open}>`,
        `      <failure message="${attr(message)}" type="DecisionMismatch">${escapeXml(failureLines(r).join('\n'))}</failure>`,
        `    </testcase>`,
      );
    }
    out.push('  </testsuite>');
  }
  for (const file of problemFiles) {
    const problems = result.problems.filter((p) => p.file === file).map(formatProblem);
    out.push(
      `  <testsuite name="${attr(file)}" file="${attr(file)}" tests="1" failures="0" errors="1" skipped="0" time="0">`,
      `    <testcase name="fixture file loads" classname="${attr(file)}" file="${attr(file)}" time="0">`,
      `      <error message="${attr(problems[0] ?? 'fixture file does not load')}" type="FixtureInvalid">${escapeXml(problems.join('\n'))}</error>`,
      `    </testcase>`,
      `  </testsuite>`,
    );
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
