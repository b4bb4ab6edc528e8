// sluice audit: read, verify, export and prune the audit trail.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import {
  findRecords,
  listRecords,
  purgeAudit,
  PurgeRefusedError,
  scanRecords,
  toDecisionLogEvent,
  checkedPointer,
  PointerError,
  verifyAudit,
  parseDuration,
  parseTimeOrAgo,
  type Anchor,
  type AuditRecord,
  type StoredRecord,
  type VerifyReport,
} from '../../gateway/audit/index.ts';
import { openDatabase, redact, type Database } from '../../gateway/store/database.ts';
import { color, UsageError, visibleRecord } from '../output.ts';

/** Exit codes of the audit commands beyond the shared ones. */
export const AUDIT_EXIT = { chainBroken: 7, shadowChanges: 8 } as const;

export const DEFAULT_STORAGE = 'sqlite:.sluice/sluice.sqlite';

export function storageOption(): Option {
  return new Option('--storage <url>', 'audit store: sqlite:<file> or postgres://… (env SLUICE_STORAGE)').default(process.env.SLUICE_STORAGE ?? DEFAULT_STORAGE);
}

/** Opens an existing store; a SQLite file that is not there is a usage error, not a new empty database. */
export async function openStorage(url: string): Promise<Database> {
  if (url.startsWith('sqlite:') && url !== 'sqlite::memory:') {
    const file = resolve(url.slice('sqlite:'.length));
    if (!existsSync(file)) throw new UsageError(`no audit store at ${file} (set --storage or SLUICE_STORAGE)`);
  }
  try {
    return await openDatabase(url);
  } catch (thrown) {
    throw new UsageError(`cannot open the audit store ${redact(url)}: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  }
}

export async function withStorage<T>(url: string, fn: (database: Database) => Promise<T>): Promise<T> {
  const database = await openStorage(url);
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

/** `sluice audit export | head` ends quietly instead of crashing on EPIPE once head has had enough. */
export function exitQuietlyOnClosedStdout(): void {
  if (process.stdout.listenerCount('error') > 0) return;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

export function parseWhen(value: string | undefined, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = parseTimeOrAgo(value);
  if (!date) throw new UsageError(`${flag} takes an RFC 3339 time (2026-01-15T08:00:00Z) or a duration ago (24h, 7d), got ${value}`);
  return date;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer, got ${value}`);
    return n;
  };
}

interface ListOptions {
  storage: string;
  identity?: string;
  outcome?: string;
  kind?: string;
  since?: string;
  until?: string;
  table?: string;
  stream?: string;
  limit: number;
  json?: boolean;
}

export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description('Read, verify, export and prune the tamper-evident audit trail.')
    .addHelpText(
      'after',
      `
Times (--since, --until) are RFC 3339 (2026-01-15, 2026-01-15T08:00:00Z) or a duration ago (30m, 24h, 7d).

Exit codes:
  0  success                 2  bad usage
  1  runtime error           7  verify: a chain is broken (the first broken record is named)`,
    );

  audit
    .command('list')
    .description(
      'List records, newest first. A call forwarded upstream has a forward record (written before it was sent) and a request record (with the answer); only the request record is listed, unless it is missing or --kind forward is given.',
    )
    .addOption(storageOption())
    .option('--identity <subject>', 'only this identity (token subject)')
    .addOption(new Option('--outcome <outcome>', 'only requests with this decision').choices(['allow', 'deny', 'approve', 'mask']))
    .addOption(new Option('--kind <kind>', 'only this kind of record').choices(['request', 'forward', 'approval', 'grant', 'token_failure', 'config_reload', 'principal', 'access_refused', 'checkpoint']))
    .option('--since <time>', 'from this time on')
    .option('--until <time>', 'before this time')
    .option('--table <name>', 'only requests naming this table (project.dataset.table, dataset.table, or a project.dataset prefix)')
    .option('--stream <id>', 'only this gateway instance')
    .option('--limit <n>', 'at most this many records', positiveInt('--limit'), 50)
    .option('--json', 'print the records as a JSON array')
    .action(async (opts: ListOptions) => {
      exitQuietlyOnClosedStdout();
      const filter = {
        subject: opts.identity,
        outcome: opts.outcome,
        kinds: opts.kind ? [opts.kind as AuditRecord['kind']] : undefined,
        since: parseWhen(opts.since, '--since'),
        until: parseWhen(opts.until, '--until'),
        table: opts.table,
        stream: opts.stream,
        limit: opts.limit,
        onlyUnansweredForwards: opts.kind !== 'forward',
      };
      const records = await withStorage(opts.storage, (database) => listRecords(database.db, filter));
      if (opts.json) {
        process.stdout.write(JSON.stringify(records.map(withChain), null, 2) + '\n');
        return;
      }
      if (!records.length) {
        process.stderr.write('no records match\n');
        return;
      }
      process.stdout.write(columns(records.map(({ record }) => listLine(visibleRecord(record)))) + '\n');
    });

  audit
    .command('show')
    .description('Show records in full: by record id, by stream:seq, or every record of a request id.')
    .argument('<id>', 'record id, stream:seq, or request id')
    .addOption(storageOption())
    .option('--json', 'print the records as a JSON array')
    .action(async (ref: string, opts: { storage: string; json?: boolean }) => {
      exitQuietlyOnClosedStdout();
      const records = await withStorage(opts.storage, (database) => findRecords(database.db, ref));
      if (!records.length) throw new UsageError(`no audit record or request ${ref}`);
      if (opts.json) {
        process.stdout.write(JSON.stringify(records.map(withChain), null, 2) + '\n');
        return;
      }
      for (const stored of records) {
        const r = stored.record;
        process.stdout.write(
          `${color.bold(`${r.kind} ${r.id}`)}  ${color.dim(`${r.stream}:${r.seq}  ${r.at}`)}\n` +
            color.dim(`  hash ${stored.hash}\n  prev ${stored.prevHash}\n`) +
            JSON.stringify(visibleRecord(r.data), null, 2) +
            '\n',
        );
      }
    });

  audit
    .command('verify')
    .description('Walk every chain and report the first broken link: an edited, deleted, moved or reordered record.')
    .addOption(storageOption())
    .option('--stream <id>', 'only this gateway instance')
    .option('--anchor <file>', 'heads from an earlier `verify --json` (kept elsewhere) that must still be in their chains: detects a rewritten or truncated tail')
    .option('--json', 'print the report as JSON (its `streams[].head` values make the next --anchor)')
    .action(async (opts: { storage: string; stream?: string; anchor?: string; json?: boolean }) => {
      const anchors = opts.anchor ? readAnchors(opts.anchor) : [];
      const progress = progressLine('verified');
      const report = await withStorage(opts.storage, (database) => verifyAudit(database.db, { stream: opts.stream, anchors, onProgress: progress.update }));
      progress.done();
      if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else process.stdout.write(renderVerify(report));
      if (!report.ok) process.exitCode = AUDIT_EXIT.chainBroken;
    });

  audit
    .command('export')
    .description('Export request decisions as OPA decision-log events (NDJSON), or the raw records.')
    .addOption(storageOption())
    .addOption(new Option('--format <format>', 'opa-decision-log: one OPA decision-log event per decision; records: the hashed records as stored').choices(['opa-decision-log', 'records']).default('opa-decision-log'))
    .option('--since <time>', 'from this time on')
    .option('--until <time>', 'before this time')
    .option('--erase <pointer>', 'remove this JSON pointer (under /input or /result) from every event, listed in `erased`; repeatable', collect)
    .option('--mask <pointer>', 'replace the value at this JSON pointer with **REDACTED**, listed in `masked`; repeatable', collect)
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(async (opts: { storage: string; format: string; since?: string; until?: string; erase?: string[]; mask?: string[]; output?: string }) => {
      exitQuietlyOnClosedStdout();
      try {
        for (const pointer of [...(opts.erase ?? []), ...(opts.mask ?? [])]) checkedPointer(pointer);
      } catch (thrown) {
        if (thrown instanceof PointerError) throw new UsageError(thrown.message);
        throw thrown;
      }
      const filter = { since: parseWhen(opts.since, '--since'), until: parseWhen(opts.until, '--until') };
      const lines: string[] = [];
      const flush = () => {
        if (!lines.length) return;
        const chunk = lines.join('\n') + '\n';
        lines.length = 0;
        if (opts.output) writeFileSync(opts.output, chunk, { flag: 'a' });
        else process.stdout.write(chunk);
      };
      if (opts.output) writeFileSync(opts.output, '');
      let exported = 0;
      await withStorage(opts.storage, async (database) => {
        const kinds = opts.format === 'records' ? undefined : (['request'] as const);
        for await (const stored of scanRecords(database.db, { ...filter, kinds })) {
          let line: string | undefined;
          if (opts.format === 'records') line = JSON.stringify(withChain(stored));
          else if (stored.record.kind === 'request') {
            const event = toDecisionLogEvent(stored.record, { erase: opts.erase, mask: opts.mask, version: process.env.npm_package_version });
            if (event) line = JSON.stringify(event);
          }
          if (line === undefined) continue;
          lines.push(line);
          exported++;
          if (lines.length >= 500) flush();
        }
      });
      flush();
      if (opts.output) process.stderr.write(`${exported} event(s) written to ${opts.output}\n`);
    });

  audit
    .command('purge')
    .description('Retention: delete records older than a duration, leaving a checkpoint so the remaining chain still verifies.')
    .addOption(storageOption())
    .requiredOption('--older-than <duration>', 'age of the records to delete: 90d, 12w, 720h')
    .option('--stream <id>', 'only this gateway instance')
    .option('--dry-run', 'count what would be deleted; change nothing')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { storage: string; olderThan: string; stream?: string; dryRun?: boolean; json?: boolean }) => {
      const age = parseDuration(opts.olderThan);
      if (age === undefined || age <= 0) throw new UsageError(`--older-than takes a duration such as 90d, 12w or 720h, got ${opts.olderThan}`);
      const cutoff = new Date(Date.now() - age);
      let results;
      try {
        results = await withStorage(opts.storage, (database) => purgeAudit(database, { cutoff, stream: opts.stream, dryRun: opts.dryRun }));
      } catch (thrown) {
        if (thrown instanceof PurgeRefusedError) {
          process.stderr.write(`sluice: ${thrown.message}\n`);
          process.exitCode = AUDIT_EXIT.chainBroken;
          return;
        }
        throw thrown;
      }
      if (opts.json) {
        process.stdout.write(JSON.stringify({ cutoff: cutoff.toISOString(), dryRun: !!opts.dryRun, streams: results }, null, 2) + '\n');
        return;
      }
      const verb = opts.dryRun ? 'would delete' : 'deleted';
      for (const r of results) {
        const detail = r.purged ? `${verb} ${r.purged} record(s) through seq ${r.throughSeq}${r.checkpoint ? `, checkpoint ${r.stream}:${r.checkpoint.seq}` : ''}` : 'nothing older than the cutoff';
        process.stdout.write(`${r.stream}: ${detail}\n`);
      }
      if (!results.length) process.stdout.write('no audit records\n');
    });
}

function withChain(stored: StoredRecord): AuditRecord & { hash: string; prev_hash: string } {
  return { ...stored.record, hash: stored.hash, prev_hash: stored.prevHash };
}

const outcomeColor: Record<string, (s: string) => string> = { allow: color.green, mask: color.cyan, approve: color.yellow, deny: color.red };

function listLine(r: AuditRecord): string[] {
  const at = r.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  switch (r.kind) {
    case 'request': {
      const outcome = r.data.decision?.outcome ?? '-';
      const tables = [...new Set(r.data.input?.sql.statements.flatMap((s) => s.tables.map((t) => t.id)) ?? [])].join(',');
      return [at, r.kind, r.data.identity.subject, (outcomeColor[outcome] ?? String)(outcome), r.data.route, String(r.data.status), r.data.request_id, tables];
    }
    case 'forward':
      return [at, r.kind, r.data.identity.subject, (outcomeColor[r.data.outcome ?? ''] ?? String)(r.data.outcome ?? '-'), r.data.operation, '', r.data.request_id, r.data.tables.join(',')];
    case 'approval':
      return [at, r.kind, r.data.subject ?? '-', r.data.action, r.data.actor ?? '-', '', r.data.request_id ?? r.data.approval_id ?? '-', r.data.approval_id ?? r.data.error?.code ?? ''];
    case 'grant':
      return [at, r.kind, r.data.subject ?? '-', r.data.action, r.data.actor ?? '-', '', r.data.request_id ?? r.data.grant_id, r.data.grant_id];
    case 'token_failure':
      return [at, r.kind, r.data.claimed_subject ?? '-', r.data.reason, r.data.route ?? '-', '', r.data.request_id ?? r.id, r.data.message];
    case 'config_reload':
      return [at, r.kind, r.data.component, r.data.ok ? 'ok' : color.red('refused'), r.data.revision ?? '-', '', r.id, r.data.error ?? r.data.source ?? ''];
    case 'principal':
      return [at, r.kind, r.data.subject ?? '-', r.data.action, r.data.signal ?? '-', '', r.data.jti ?? r.id, r.data.error?.message ?? r.data.reason ?? ''];
    case 'access_refused':
      return [at, r.kind, r.data.identity.subject, r.data.error.code, r.data.route, String(r.data.status), r.data.request_id ?? r.id, r.data.error.message];
    case 'checkpoint':
      return [at, r.kind, r.stream, 'purge', `through seq ${r.data.through_seq}`, '', r.id, `${r.data.purged_records} purged`];
  }
}

/** Left-aligned columns; widths ignore color escapes. */
export function columns(rows: string[][]): string {
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(cell))));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell)))).join('  ').trimEnd()).join('\n');
}

function renderVerify(report: VerifyReport): string {
  const lines: string[] = [];
  for (const s of report.streams) {
    if (s.broken) {
      const b = s.broken;
      lines.push(`${color.red(color.bold('BROKEN'))} ${s.stream} at seq ${b.seq}${b.id ? ` (record ${b.id})` : ''}: ${b.problem}: ${b.message}`);
      continue;
    }
    const start = s.start?.kind === 'checkpoint' ? `from checkpoint seq ${s.start.checkpointSeq} (purged through ${s.start.throughSeq})` : 'from genesis';
    lines.push(`${color.green('intact')} ${s.stream}: ${s.records} record(s), seq ${s.firstSeq ?? '-'}..${s.lastSeq ?? '-'} ${start}, head ${s.head ?? '-'}`);
  }
  if (!report.streams.length) lines.push('no audit records');
  if (report.broken.length) {
    const first = report.broken[0]!;
    lines.push(`first broken record: ${first.stream}:${first.seq}${first.id ? ` ${first.id}` : ''}`);
  }
  return lines.join('\n') + '\n';
}

function readAnchors(file: string): Anchor[] {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (thrown) {
    throw new UsageError(`--anchor ${file}: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  }
  const streams = (doc as { streams?: unknown })?.streams;
  const list = Array.isArray(doc) ? doc : Array.isArray(streams) ? streams.map((s: { stream: string; lastSeq: number; head: string }) => ({ stream: s.stream, seq: s.lastSeq, hash: s.head })) : undefined;
  if (!list) throw new UsageError(`--anchor ${file}: expected the JSON of \`sluice audit verify --json\` or a list of {stream, seq, hash}`);
  return list.filter((a: Partial<Anchor>) => typeof a.stream === 'string' && typeof a.seq === 'number' && typeof a.hash === 'string');
}

/** A one-line counter on stderr when it is a terminal; silent otherwise. */
export function progressLine(label: string): { update: (n: number) => void; done: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, done: () => {} };
  let last = 0;
  let shown = false;
  return {
    update: (n) => {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      shown = true;
      process.stderr.write(`\r${label} ${n}…`);
    },
    done: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

