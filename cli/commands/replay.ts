// sluice replay: a recorded request as the agent experienced it: who asked, the SQL, the decision,
// and the result it received (masked schema and rows, from the audit record, never from BigQuery).
import type { Command } from 'commander';
import type { AuditCellValue, AuditForwardRecord, AuditRequestRecord, AuditTableRow, TableField } from '../../engine/schema-types.ts';
import { findRecords } from '../../gateway/audit/index.ts';
import { color, UsageError, visibleRecord } from '../output.ts';
import { columns, exitQuietlyOnClosedStdout, storageOption, withStorage } from './audit.ts';
import { render } from './eval.ts';

const CELL_WIDTH = 40;

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('Show a recorded request as the agent saw it: identity, SQL, decision, and the masked result as a table (an MCP tool call with the BigQuery calls it made).')
    .argument('<request-id>', 'the request id (or an audit record id)')
    .addOption(storageOption())
    .option('--json', 'print the request record as JSON')
    .action(async (ref: string, opts: { storage: string; json?: boolean }) => {
      exitQuietlyOnClosedStdout();
      const records = await withStorage(opts.storage, (database) => findRecords(database.db, ref));
      const requests = records.map((r) => r.record).filter((r): r is AuditRequestRecord => r.kind === 'request');
      const forwards = records.map((r) => r.record).filter((r): r is AuditForwardRecord => r.kind === 'forward');
      if (!requests.length && forwards.length) {
        // Sent upstream, but its answer was never recorded, so the agent never received it.
        process.stdout.write(opts.json ? JSON.stringify(forwards, null, 2) + '\n' : forwards.map((r) => renderUnanswered(visibleRecord(r))).join('\n'));
        return;
      }
      if (!requests.length) throw new UsageError(records.length ? `${ref} has records but no request record` : `no recorded request ${ref}`);
      if (opts.json) {
        process.stdout.write(JSON.stringify(requests.length === 1 ? requests[0] : requests, null, 2) + '\n');
        return;
      }
      process.stdout.write(requests.map((r) => renderRequest(visibleRecord(r))).join('\n'));
      const others = records.filter((r) => r.record.kind !== 'request');
      if (others.length) process.stdout.write(color.dim(`\n${others.length} related record(s): sluice audit show ${ref}\n`));
    });
}

function renderUnanswered(record: AuditForwardRecord): string {
  const d = record.data;
  return [
    `${color.bold(`request ${d.request_id}`)}  ${color.dim(`${record.at}  ${record.stream}:${record.seq}`)}`,
    `identity  ${d.identity.subject}  ${color.dim(d.identity.issuer)}`,
    `route     ${d.route}  forwarded as ${d.operation}${d.project ? `  project ${d.project}` : ''}${d.connection ? `  connection ${d.connection}` : ''}`,
    ...(d.sql !== null ? [`sql       ${d.sql.replace(/\n/g, '\n          ')}`] : []),
    '',
    `${d.outcome ?? '-'}  revision ${d.revision ?? '-'}${d.job ? `  job ${d.job.id}` : ''}`,
    color.yellow('sent upstream, but no answer was recorded: the agent received none (503 backendError)'),
    '',
  ].join('\n');
}

export function renderRequest(record: AuditRequestRecord): string {
  const d = record.data;
  const out: string[] = [];
  out.push(`${color.bold(`request ${d.request_id}`)}  ${color.dim(`${record.at}  ${record.stream}:${record.seq}`)}`);
  const groups = d.identity.groups.length ? ` [${d.identity.groups.join(', ')}]` : '';
  out.push(`identity  ${d.identity.subject}${groups}  ${color.dim(`${d.identity.kind ?? ''} ${d.identity.issuer}`.trim())}`);
  if (d.door) out.push(`door      ${d.door.protocol} ${d.door.method}${d.door.tool ? ` ${d.door.tool}` : ''}${d.door.call_id ? color.dim(`  (call ${d.door.call_id})`) : ''}`);
  out.push(`route     ${d.route}${d.project ? `  project ${d.project}` : ''}${d.connection ? `  connection ${d.connection}` : ''}`);
  if (d.sql !== null) out.push(`sql       ${d.sql.replace(/\n/g, '\n          ')}`);
  if (d.redactions.includes('/sql')) out.push(color.dim('          (literal values and comments redacted by the audit log)'));
  out.push('');
  if (d.decision) {
    out.push(render({ decision: d.decision, revision: d.revision ?? '-', evalNs: d.eval_ns ?? 0 }).trimEnd());
  } else {
    out.push(color.dim('no policy decision'));
  }
  const facts: string[] = [`status ${d.status}`];
  if (d.error) facts.push(`${d.error.reason}: ${d.error.message}`);
  if (d.job) facts.push(`job ${d.job.id}${d.job.location ? ` (${d.job.location})` : ''}`);
  if (d.bytes.estimated !== null) facts.push(`estimated ${d.bytes.estimated} B`);
  if (d.byte_cap) facts.push(`ran under a cap of ${d.byte_cap.maximum_bytes_billed} B${d.byte_cap.exceeded ? ' (refused for it: dry-run and decided again)' : ''}`);
  if (d.job_check) facts.push(`job tables ${d.job_check.outcome}${d.job_check.reasons.length ? ` [${d.job_check.reasons.join(', ')}]` : ''}`);
  if (d.bytes.processed !== null) facts.push(`processed ${d.bytes.processed} B`);
  if (d.bytes.billed !== null) facts.push(`billed ${d.bytes.billed} B`);
  if (d.approval_ids.length) facts.push(`approvals ${d.approval_ids.join(', ')}`);
  if (d.grant_ids.length) facts.push(`grants ${d.grant_ids.join(', ')}`);
  out.push('', facts.join('  ·  '));
  const t = d.timings_ms;
  const timings = (['decision', 'dry_run', 'upstream', 'total'] as const).filter((k) => t[k] !== null).map((k) => `${k} ${t[k]} ms`);
  if (timings.length) out.push(color.dim(timings.join('  ')));
  if (d.masking) out.push(color.dim(`masking: ${d.masking.cells_masked} value(s) masked, ${d.masking.content_scan_cells} by the content scan`));
  if (d.response) {
    out.push('');
    const r = d.response;
    const fields = r.schema?.fields ?? [];
    if (fields.length) {
      const header = fields.map((f) => color.bold(f.name));
      out.push(columns([header, ...r.rows.map((row) => fields.map((f, i) => cell(row.f[i]?.v ?? null, f)))]));
    }
    const total = r.total_rows !== null ? ` of ${r.total_rows}` : '';
    const note = r.truncated ? color.yellow(`, ${r.rows_received - r.rows_recorded} more not recorded (size cap)`) : '';
    out.push(color.dim(`(${r.rows_recorded} row(s) shown, ${r.rows_received} received${total}${note})`));
  }
  return out.join('\n') + '\n';
}

function cell(value: AuditCellValue, field: TableField | undefined): string {
  const text = formatValue(value, field);
  const flat = text.replace(/\r?\n/g, '⏎');
  return flat.length > CELL_WIDTH ? `${flat.slice(0, CELL_WIDTH - 1)}…` : flat;
}

function formatValue(value: AuditCellValue, field: TableField | undefined): string {
  if (value === null) return color.dim('NULL');
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const item = field ? { ...field, mode: 'NULLABLE' as const } : undefined;
    return `[${value.map((c) => formatValue(c.v, item)).join(', ')}]`;
  }
  const sub = field?.fields ?? [];
  return `{${(value as AuditTableRow).f.map((c, i) => `${sub[i]?.name ?? i}: ${formatValue(c.v, sub[i])}`).join(', ')}}`;
}
