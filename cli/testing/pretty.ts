// The human reporter: a tree of suites and cases, a diff for each failure with the reasons the
// policy gave, then coverage and the closing `N passed, N failed` line.
import type { PolicyCoverage, ReasonCoverage } from './coverage.ts';
import type { FixtureProblem } from './load.ts';
import type { CaseResult, RunResult } from './run.ts';

type Paint = (text: string) => string;
export interface Painter {
  red: Paint;
  green: Paint;
  yellow: Paint;
  cyan: Paint;
  dim: Paint;
  bold: Paint;
}

const id: Paint = (text) => text;
export const plain: Painter = { red: id, green: id, yellow: id, cyan: id, dim: id, bold: id };

export interface PrettyOptions {
  paint?: Painter;
  /** Only failing cases (and their suites). */
  quiet?: boolean;
  reasons?: ReasonCoverage;
  policy?: PolicyCoverage;
  /** Built, up to date, or given with --bundle. */
  bundleNote?: string;
}

export function formatProblem(p: FixtureProblem): string {
  const where = [p.file, p.line, p.line !== undefined ? p.column : undefined].filter((x) => x !== undefined).join(':');
  return `${where}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** The diff of one failed case, expected (-) against actual (+), and the decision the policy made. */
export function failureLines(result: CaseResult, paint: Painter = plain): string[] {
  const c = result.case;
  const lines: string[] = [];
  if (c.line !== undefined) lines.push(paint.dim(`at ${c.file}:${c.line}`));
  if (c.implicit) lines.push(paint.dim('(left out of the matrix expectations, so it must be denied)'));
  lines.push(`${paint.green('- expected')}  ${paint.red('+ actual')}`);
  const width = Math.max(...result.mismatches.map((m) => m.field.length)) + 2;
  for (const m of result.mismatches) {
    lines.push(`${`${m.field}:`.padEnd(width)}${paint.green(`- ${m.expected}`)}`);
    lines.push(`${' '.repeat(width)}${paint.red(`+ ${m.actual}`)}`);
  }
  lines.push(`policy decided ${paint.bold(result.decision.outcome)}${result.error ? paint.red(` (engine error ${result.error.code})`) : ''}:`);
  for (const r of result.decision.reasons) lines.push(`  ${paint.bold(r.code)}: ${r.message}${r.rule ? paint.dim(`  (${r.rule})`) : ''}`);
  if (result.decision.reasons.length === 0) lines.push(paint.dim('  (no reasons)'));
  for (const m of result.decision.masks) {
    lines.push(
      `  mask ${[m.output, ...(m.path ?? [])].join('.')}: ${m.strategy}${m.source ? paint.dim(` ← ${m.source.table}.${m.source.column}`) : ''}`,
    );
  }
  const a = result.decision.approval;
  if (a)
    lines.push(
      `  approval: ${a.min_approvals} of [${a.approver_groups.join(', ')}], ${a.grant_ttl_seconds}s, scope ${a.scope.kind} ${[...(a.scope.datasets ?? []), ...(a.scope.tables ?? []), a.scope.statement_hash ?? ''].filter(Boolean).join(', ')}`,
    );
  return lines;
}

export function summaryLine(result: Pick<RunResult, 'passed' | 'failed'>): string {
  return `${result.passed} passed, ${result.failed} failed`;
}

export function renderPretty(result: RunResult, options: PrettyOptions = {}): string {
  const paint = options.paint ?? plain;
  const out: string[] = [];
  out.push(paint.dim(`policy revision ${result.revision || '(none)'}${options.bundleNote ? `, ${options.bundleNote}` : ''}`));

  for (const { suite, results } of result.suites) {
    const failures = results.filter((r) => !r.passed).length;
    if (options.quiet && failures === 0) continue;
    out.push(
      '',
      `${paint.bold(suite.name)}  ${paint.dim(`${suite.file} · ${results.length} case${results.length === 1 ? '' : 's'}${failures ? `, ${failures} failed` : ''}`)}`,
    );
    for (const r of results) {
      if (r.passed) {
        if (!options.quiet) out.push(`  ${paint.green('✓')} ${r.case.name}`);
        continue;
      }
      out.push(`  ${paint.red('✗')} ${paint.red(r.case.name)}`);
      for (const line of failureLines(r, paint)) out.push(`      ${line}`);
    }
  }

  if (result.problems.length) {
    const files = new Set(result.problems.map((p) => p.file)).size;
    out.push('', paint.red(`${files} fixture file${files === 1 ? '' : 's'} did not load:`));
    for (const p of result.problems) out.push(`  ${formatProblem(p)}`);
  }
  if (result.bailed) out.push('', paint.yellow('stopped at the first failure (--bail)'));
  if (options.reasons) out.push('', ...reasonLines(options.reasons, paint));
  if (options.policy) out.push('', ...policyLines(options.policy, paint));

  out.push('', `${paint.dim(`${(result.durationMs / 1000).toFixed(2)}s`)}`);
  const summary = summaryLine(result);
  out.push(result.failed || result.problems.length ? paint.red(summary) : paint.green(summary));
  return out.join('\n') + '\n';
}

function reasonLines(r: ReasonCoverage, paint: Painter): string[] {
  if (r.documented.length === 0) return [paint.dim('reason codes: none documented (rego/README.md "Reason codes")')];
  const lines = [`reason codes: ${r.exercised.length} of ${r.documented.length} documented codes fired`];
  const kinds = [...new Set(r.neverFired.map((c) => c.kind))];
  for (const kind of kinds) {
    const codes = r.neverFired.filter((c) => c.kind === kind).map((c) => c.code);
    lines.push(`  ${paint.yellow(`never fired${kind ? ` (${kind})` : ''}:`)} ${codes.join(', ')}`);
  }
  if (r.undocumented.length) lines.push(paint.yellow(`  fired but not documented: ${r.undocumented.join(', ')}`));
  return lines;
}

function policyLines(p: PolicyCoverage, paint: Painter): string[] {
  const lines = [
    `policy coverage by its Rego tests (opa test --coverage): ${p.coverage}%${p.testsPassed ? '' : paint.red(' — some Rego tests fail')}`,
  ];
  for (const f of p.files) {
    if (f.uncovered.length === 0) continue;
    const rules = f.uncovered.map((u) => `${u.rule} (${u.lines.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ')})`);
    lines.push(`  ${f.file} ${paint.yellow(`${f.coverage}%`)}: ${rules.join(', ')}`);
  }
  if (p.files.every((f) => f.uncovered.length === 0)) lines.push(paint.dim('  every line of the policy is executed by its tests'));
  return lines;
}
