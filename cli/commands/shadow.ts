// sluice shadow: would a candidate policy decide recorded requests differently? Re-evaluates the
// recorded policy inputs against the candidate bundle, groups and counts the changes, and fails
// (exit 8) when a change is not covered by the allow-list: a CI gate for policy changes.
import type { Command } from 'commander';
import { Engine, EngineError } from '../../engine/index.ts';
import { parseAllowList, shadowEvaluate, type AllowRule, type ShadowReport } from '../../gateway/audit/index.ts';
import { readDocument } from '../inputs.ts';
import { color, UsageError } from '../output.ts';
import { AUDIT_EXIT, exitQuietlyOnClosedStdout, parseWhen, storageOption, withStorage } from './audit.ts';

interface ShadowCliOptions {
  bundle: string;
  storage: string;
  since?: string;
  until?: string;
  identity?: string;
  table?: string;
  allowChanges?: string;
  json?: boolean;
  examples: number;
}

export function registerShadow(program: Command): void {
  program
    .command('shadow')
    .description('Re-evaluate recorded requests against a candidate policy bundle and report every decision that would change.')
    .requiredOption('--bundle <file>', 'candidate bundle (sluice build --rego <dir> -o <file>)')
    .addOption(storageOption())
    .option('--since <time>', 'only requests from this time on (RFC 3339, or a duration ago: 7d)')
    .option('--until <time>', 'only requests before this time')
    .option('--identity <subject>', 'only requests of this identity')
    .option('--table <name>', 'only requests naming this table')
    .option('--allow-changes <file>', 'YAML/JSON list of expected changes; any other change fails the run')
    .option('--examples <n>', 'request ids listed per group', (v) => Math.max(0, Number(v) || 0), 3)
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Changes compare the outcome, the set of reason codes and the set of masks (output[.path]:strategy)
of the recorded decision with the candidate's, on the recorded input (its clock and grants).

Allow-list (--allow-changes), a list of rules; a change is expected when some rule covers it, every
field given must hold (globs with * in tables, subjects, masks):
  - description: analysts read finance without approval
    from: approve                 # recorded outcome(s)
    to: allow                     # candidate outcome(s)
    tables: [acme-analytics.finance.*]   # some table of the request matches
    subjects: ["*@acme.example"]
    reasons_added: []             # codes the change may add (all of them must be listed)
    reasons_removed: [approval_required]
    masks_added: ["email:email-domain"]   # masks the change may add / remove
    masks_removed: []
    request_ids: [...]
    max: 100                      # at most this many changes under this rule

Exit codes:
  0  no change, or every change is allowed      2  bad usage
  1  runtime error                              8  changes beyond the allow-list`,
    )
    .action(async (opts: ShadowCliOptions) => {
      exitQuietlyOnClosedStdout();
      const allow: AllowRule[] = opts.allowChanges ? readAllowList(opts.allowChanges) : [];
      let candidate: Engine;
      try {
        candidate = await Engine.load(opts.bundle);
      } catch (thrown) {
        if (thrown instanceof EngineError) throw new UsageError(`--bundle ${opts.bundle}: ${thrown.message}`);
        throw thrown;
      }
      const filter = {
        since: parseWhen(opts.since, '--since'),
        until: parseWhen(opts.until, '--until'),
        subject: opts.identity,
        table: opts.table,
      };
      const bar = progressBar();
      const report = await withStorage(opts.storage, (database) => shadowEvaluate(database.db, candidate, { filter, allow, onProgress: bar.update }));
      bar.done();
      if (opts.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      } else {
        process.stdout.write(renderReport(report, opts.examples, allow.length > 0));
      }
      if (!report.passed) process.exitCode = AUDIT_EXIT.shadowChanges;
    });
}

function readAllowList(file: string): AllowRule[] {
  try {
    return parseAllowList(readDocument(file, 'allow-list'));
  } catch (thrown) {
    if (thrown instanceof UsageError) throw thrown;
    throw new UsageError(`--allow-changes ${file}: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  }
}

function renderReport(report: ShadowReport, examples: number, withAllowList: boolean): string {
  const out: string[] = [];
  out.push(
    `${report.evaluated} recorded decision(s) re-evaluated against revision ${report.candidateRevision}` +
      (report.skipped ? color.dim(` (${report.skipped} request record(s) without a policy input skipped)`) : ''),
  );
  if (!report.changed) {
    out.push(color.green('no decision would change'));
    return out.join('\n') + '\n';
  }
  out.push(`${color.bold(String(report.changed))} would change, in ${report.groups.length} group(s):`, '');
  for (const g of report.groups) {
    const status = !withAllowList ? '' : g.allowed === g.count ? color.green(' allowed') : g.allowed ? color.yellow(` ${g.count - g.allowed} not allowed`) : color.red(' not allowed');
    out.push(`  ${color.bold(String(g.count).padStart(5))}  ${g.key}${status}`);
    out.push(color.dim(`         identities: ${limitList(g.subjects, 5)}`));
    if (g.tables.length) out.push(color.dim(`         tables: ${limitList(g.tables, 5)}`));
    if (examples) out.push(color.dim(`         e.g. sluice replay ${g.examples.slice(0, examples).join(' | ')}`));
  }
  for (const r of report.rules) {
    if (r.exceeded) out.push(color.red(`allow rule ${r.index + 1}${r.description ? ` (${r.description})` : ''} covers ${r.matched} change(s), more than its max ${r.max}`));
  }
  out.push('');
  if (report.passed) out.push(color.green(`every change is in the allow-list`));
  else if (report.unallowed) out.push(color.red(`${report.unallowed} change(s) not in the allow-list`));
  else out.push(color.red('an allow rule exceeded its max'));
  return out.join('\n') + '\n';
}

function limitList(items: readonly string[], n: number): string {
  return items.length > n ? `${items.slice(0, n).join(', ')} and ${items.length - n} more` : items.join(', ');
}

/** `[=====>     ] 45% 4500/10000 · 12 changed` on stderr, only on a terminal. */
function progressBar(): { update: (done: number, total: number, changed: number) => void; done: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, done: () => {} };
  let last = 0;
  let shown = false;
  const width = 30;
  return {
    update(done, total, changed) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      shown = true;
      const ratio = total ? Math.min(1, done / total) : 0;
      const filled = Math.round(ratio * width);
      const bar = '='.repeat(Math.max(0, filled - 1)) + (filled ? '>' : '') + ' '.repeat(width - filled);
      process.stderr.write(`\r[${bar}] ${String(Math.round(ratio * 100)).padStart(3)}% ${done}/${total} · ${changed} changed`);
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}
