import type { Command } from 'commander';
import { buildBundle, Engine, type Decision, type Evaluation } from '../../engine/index.ts';
import { readDocument, toDate, toGrants, toIdentity, toSchemas } from '../inputs.ts';
import { color, EXIT, UsageError } from '../output.ts';

interface EvalOptions {
  sql: string;
  identity: string;
  project: string;
  dataset?: string;
  estimateBytes?: string;
  grants?: string;
  schemas?: string;
  now?: string;
  bundle?: string;
  json?: boolean;
  input?: boolean;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('Decide one query: normalize the SQL for an identity and evaluate the compiled policy.')
    .requiredOption('--sql <text>', 'BigQuery SQL text')
    .requiredOption('--identity <file|json>', 'identity: {"subject", "groups", "kind"?, "issuer"?, "claims"?}')
    .option('--project <id>', 'project the query runs in', process.env.SLUICE_PROJECT ?? 'acme-analytics')
    .option('--dataset <name>', 'default dataset for unqualified table names')
    .option('--estimate-bytes <n>', 'estimated bytes processed (as a dry run would report)')
    .option('--grants <file|json>', 'active grants of the identity (list)')
    .option('--schemas <file|json>', 'table schemas keyed by project.dataset.table')
    .option('--now <time>', 'evaluation time (RFC 3339), default: now')
    .option('--bundle <file>', 'use this bundle instead of building rego/')
    .option('--json', 'print the evaluation as JSON')
    .option('--input', 'also print the normalized input document (with --json)')
    .action(async (opts: EvalOptions) => {
      const estimate = opts.estimateBytes === undefined ? undefined : parseBytes(opts.estimateBytes);
      const request = {
        identity: toIdentity(readDocument(opts.identity, 'identity')),
        sql: opts.sql,
        project: opts.project,
        route: 'cli' as const,
        ...(opts.dataset && { defaultDataset: opts.dataset }),
        ...(estimate !== undefined && { estimate: { bytes: estimate, source: 'caller' as const } }),
        ...(opts.grants && { grants: toGrants(readDocument(opts.grants, 'grants')) }),
        ...(opts.schemas && { schemas: toSchemas(readDocument(opts.schemas, 'schemas')) }),
        ...(opts.now && { now: toDate(opts.now) }),
      };
      const bundle = opts.bundle ?? (await buildBundle()).path;
      const engine = await Engine.load(bundle);
      const result = engine.decide(request);
      if (opts.json) {
        const { input, ...evaluation } = result;
        process.stdout.write(JSON.stringify(opts.input ? { ...evaluation, input } : evaluation, null, 2) + '\n');
      } else {
        process.stdout.write(render(result));
      }
      process.exitCode = exitCodeFor(result.decision);
    });
}

function parseBytes(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--estimate-bytes must be a non-negative integer, got ${value}`);
  return n;
}

export function exitCodeFor(decision: Decision): number {
  return { allow: EXIT.ok, mask: EXIT.ok, deny: EXIT.deny, approve: EXIT.approve }[decision.outcome];
}

const outcomeColor = { allow: color.green, mask: color.cyan, approve: color.yellow, deny: color.red };

export function render({ decision, revision, evalNs }: Evaluation): string {
  const lines = [`${color.bold(outcomeColor[decision.outcome](decision.outcome))}  ${color.dim(`revision ${revision}, ${(evalNs / 1000).toFixed(0)} µs`)}`];
  for (const r of decision.reasons) lines.push(`  ${color.bold(r.code)}: ${r.message}${r.rule ? color.dim(`  (${r.rule})`) : ''}`);
  for (const m of decision.masks) {
    const path = m.path?.length ? `.${m.path.join('.')}` : '';
    const source = m.source ? color.dim(` ← ${m.source.table}.${m.source.column}`) : '';
    lines.push(`  mask ${m.output}${path}: ${m.strategy}${source}`);
  }
  if (decision.approval) {
    const a = decision.approval;
    lines.push(`  approval: ${a.min_approvals} of [${a.approver_groups.join(', ')}], grant ${a.grant_ttl_seconds}s on ${a.scope.kind} ${[...(a.scope.datasets ?? []), ...(a.scope.tables ?? []), a.scope.statement_hash ?? ''].filter(Boolean).join(', ')}`);
  }
  if (decision.limits?.maximum_bytes_billed !== undefined) lines.push(`  maximum bytes billed: ${decision.limits.maximum_bytes_billed}`);
  return lines.join('\n') + '\n';
}
