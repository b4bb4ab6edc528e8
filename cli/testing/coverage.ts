// Decision coverage: which documented reason codes the suites made the policy give, and (with
// --coverage) which lines of the policy its Rego tests leave unexecuted, grouped by rule.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findOpa } from '../../engine/build.ts';

export interface ReasonCode {
  code: string;
  kind: string;
  rule: string;
}

export interface ReasonCoverage {
  documented: ReasonCode[];
  exercised: string[];
  neverFired: ReasonCode[];
  /** Codes seen that the policy does not document (engine fail-closed codes, stale docs). */
  undocumented: string[];
}

/**
 * The reason codes documented in the policy's README: the tables under "## Reason codes", one
 * `### kind` heading each, rows `| \`code\` | \`rule\` | meaning |`.
 */
export function documentedReasons(readme: string): ReasonCode[] {
  const codes: ReasonCode[] = [];
  let inSection = false;
  let kind = '';
  for (const line of readme.split('\n')) {
    if (/^## /.test(line)) inSection = /^## Reason codes\s*$/i.test(line);
    else if (inSection && /^### /.test(line)) kind = line.slice(4).trim();
    else if (inSection) {
      const row = /^\|\s*`([a-z0-9_]+)`\s*\|\s*([^|]*)\|/.exec(line);
      if (row) codes.push({ code: row[1]!, kind, rule: row[2]!.replace(/`/g, '').trim() });
    }
  }
  return codes;
}

export function readDocumentedReasons(regoDir: string): ReasonCode[] {
  try {
    return documentedReasons(readFileSync(join(regoDir, 'README.md'), 'utf8'));
  } catch {
    return [];
  }
}

export function reasonCoverage(documented: ReasonCode[], counts: Map<string, number>): ReasonCoverage {
  const known = new Set(documented.map((r) => r.code));
  return {
    documented,
    exercised: documented.filter((r) => counts.has(r.code)).map((r) => r.code),
    neverFired: documented.filter((r) => !counts.has(r.code)),
    undocumented: [...counts.keys()].filter((c) => !known.has(c)).sort(),
  };
}

export interface UncoveredRule {
  rule: string;
  lines: [number, number][];
}

export interface FileCoverage {
  file: string;
  coverage: number;
  uncovered: UncoveredRule[];
}

export interface PolicyCoverage {
  coverage: number;
  files: FileCoverage[];
  /** opa test's own verdict: false when some Rego test failed. */
  testsPassed: boolean;
}

interface OpaRange {
  start: { row: number };
  end: { row: number };
}

interface OpaCoverageReport {
  files?: Record<string, { coverage?: number; not_covered?: OpaRange[]; covered_lines?: number; not_covered_lines?: number }>;
}

/** `opa test <regoDir> --coverage --format json`, reduced to the policy's own files. */
export async function policyCoverage(regoDir: string): Promise<PolicyCoverage> {
  const opa = await findOpa();
  let stdout: string;
  let testsPassed = true;
  try {
    ({ stdout } = await promisify(execFile)(opa, ['test', regoDir, '--coverage', '--format', 'json'], { maxBuffer: 256 * 1024 * 1024 }));
  } catch (thrown) {
    // opa exits non-zero when a test fails but still prints the report.
    stdout = (thrown as { stdout?: string }).stdout ?? '';
    testsPassed = false;
    if (!stdout.trim().startsWith('{'))
      throw new Error(`opa test --coverage failed: ${(thrown as { stderr?: string }).stderr?.trim() ?? String(thrown)}`);
  }
  return summarizeCoverage(JSON.parse(stdout) as OpaCoverageReport, testsPassed);
}

export function summarizeCoverage(report: OpaCoverageReport, testsPassed: boolean): PolicyCoverage {
  const files: FileCoverage[] = [];
  let covered = 0;
  let total = 0;
  for (const [file, entry] of Object.entries(report.files ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (file.endsWith('_test.rego')) continue;
    covered += entry.covered_lines ?? 0;
    total += (entry.covered_lines ?? 0) + (entry.not_covered_lines ?? 0);
    files.push({ file, coverage: entry.coverage ?? 100, uncovered: byRule(file, uncoveredLines(entry.not_covered ?? [])) });
  }
  return { coverage: total === 0 ? 100 : Math.round((covered / total) * 1000) / 10, files, testsPassed };
}

function uncoveredLines(ranges: OpaRange[]): number[] {
  const lines = new Set<number>();
  for (const r of ranges) for (let l = r.start.row; l <= r.end.row; l++) lines.add(l);
  return [...lines].sort((a, b) => a - b);
}

/** Groups uncovered lines under the rule whose definition contains them (the last rule head above). */
function byRule(file: string, lines: number[]): UncoveredRule[] {
  if (lines.length === 0) return [];
  let text: string[] = [];
  try {
    text = readFileSync(file, 'utf8').split('\n');
  } catch {
    /* report lines without rule names */
  }
  const ruleAt = (line: number): string => {
    for (let l = line; l >= 1; l--) {
      const head = /^(?:default\s+)?([a-zA-Z_][\w]*)(?=[\s[({:=.]|$)/.exec(text[l - 1] ?? '');
      if (head && !['package', 'import', 'if', 'else', 'not', 'some', 'every'].includes(head[1]!)) return head[1]!;
    }
    return '(file)';
  };
  const rules: UncoveredRule[] = [];
  for (const line of lines) {
    const rule = ruleAt(line);
    let entry = rules.find((r) => r.rule === rule);
    if (!entry) rules.push((entry = { rule, lines: [] }));
    const last = entry.lines.at(-1);
    if (last && last[1] === line - 1) last[1] = line;
    else entry.lines.push([line, line]);
  }
  return rules;
}
