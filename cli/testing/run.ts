// Runs loaded cases through the production path (normalizer + compiled policy, Engine.decide)
// and keeps what every reporter needs.
import type { Engine } from '../../engine/index.ts';
import type { Decision } from '../../engine/schema-types.ts';
import { compare, type Mismatch } from './expect.ts';
import type { FixtureProblem, Suite, TestCase } from './load.ts';

export interface CaseResult {
  case: TestCase;
  passed: boolean;
  decision: Decision;
  mismatches: Mismatch[];
  /** Set when the engine failed closed (normalizer or evaluation error). */
  error?: { code: string; message: string };
  /** Wall time of normalizing and evaluating. */
  durationNs: number;
}

export interface SuiteResult {
  suite: Suite;
  results: CaseResult[];
}

export interface RunResult {
  revision: string;
  bundle: string;
  suites: SuiteResult[];
  problems: FixtureProblem[];
  passed: number;
  failed: number;
  /** True when --bail stopped the run at the first failure. */
  bailed: boolean;
  durationMs: number;
  /** How often each reason code appeared in a decision. */
  reasonCounts: Map<string, number>;
}

export interface RunOptions {
  filter?: string[];
  bail?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** `--filter`: a substring, or a glob (`*`, `?`) matched against the whole name; case-insensitive. */
export function nameMatcher(patterns: string[]): (names: string[]) => boolean {
  const tests = patterns.map((p) => {
    if (!/[*?]/.test(p)) return (name: string) => name.toLowerCase().includes(p.toLowerCase());
    const re = new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
      'i',
    );
    return (name: string) => re.test(name);
  });
  return (names) => tests.some((test) => names.some(test));
}

export function selectCases(suites: Suite[], filter: string[] | undefined): Suite[] {
  if (!filter?.length) return suites;
  const matches = nameMatcher(filter);
  return suites
    .map((s) => ({ ...s, cases: s.cases.filter((c) => matches([s.name, c.caseName, c.name, c.identity, c.request])) }))
    .filter((s) => s.cases.length > 0);
}

export function runSuites(engine: Engine, bundle: string, suites: Suite[], problems: FixtureProblem[], options: RunOptions = {}): RunResult {
  const started = performance.now();
  const selected = selectCases(suites, options.filter);
  const total = selected.reduce((n, s) => n + s.cases.length, 0);
  const reasonCounts = new Map<string, number>();
  const out: SuiteResult[] = [];
  let passed = 0;
  let failed = 0;
  let bailed = false;

  for (const suite of selected) {
    const results: CaseResult[] = [];
    out.push({ suite, results });
    for (const c of suite.cases) {
      const caseStarted = process.hrtime.bigint();
      const evaluation = engine.decide(c.input);
      const durationNs = Number(process.hrtime.bigint() - caseStarted);
      const mismatches = compare(c.expected, evaluation.decision);
      for (const reason of evaluation.decision.reasons) reasonCounts.set(reason.code, (reasonCounts.get(reason.code) ?? 0) + 1);
      const ok = mismatches.length === 0;
      results.push({
        case: c,
        passed: ok,
        decision: evaluation.decision,
        mismatches,
        ...(evaluation.error && { error: evaluation.error }),
        durationNs,
      });
      if (ok) passed++;
      else failed++;
      options.onProgress?.(passed + failed, total);
      if (!ok && options.bail) {
        bailed = true;
        break;
      }
    }
    if (bailed) break;
  }
  return { revision: engine.revision, bundle, suites: out, problems, passed, failed, bailed, durationMs: performance.now() - started, reasonCounts };
}
