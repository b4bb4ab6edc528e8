// The machine-readable report: every case with its expectation, the decision and the diff.
import type { PolicyCoverage, ReasonCoverage } from './coverage.ts';
import type { RunResult } from './run.ts';

export function renderJson(result: RunResult, extra: { reasons?: ReasonCoverage; policy?: PolicyCoverage } = {}): string {
  const report = {
    revision: result.revision,
    bundle: result.bundle,
    summary: {
      passed: result.passed,
      failed: result.failed,
      invalid_files: new Set(result.problems.map((p) => p.file)).size,
      bailed: result.bailed,
      duration_ms: Math.round(result.durationMs),
    },
    problems: result.problems,
    suites: result.suites.map(({ suite, results }) => ({
      file: suite.file,
      name: suite.name,
      cases: results.map((r) => ({
        name: r.case.name,
        case: r.case.caseName,
        identity: r.case.identity,
        request: r.case.request,
        line: r.case.line,
        status: r.passed ? 'passed' : 'failed',
        expected: r.case.expected,
        implicit: r.case.implicit,
        decision: r.decision,
        mismatches: r.mismatches,
        ...(r.error && { error: r.error }),
        duration_us: Math.round(r.durationNs / 1000),
      })),
    })),
    ...(extra.reasons && {
      reason_coverage: {
        documented: extra.reasons.documented.length,
        exercised: extra.reasons.exercised,
        never_fired: extra.reasons.neverFired.map((r) => r.code),
        undocumented: extra.reasons.undocumented,
      },
    }),
    ...(extra.policy && { policy_coverage: extra.policy }),
  };
  return JSON.stringify(report, null, 2) + '\n';
}
