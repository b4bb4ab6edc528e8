// Walks every stream's chain and reports the first broken link in each: an edited body (its hash
// no longer matches), an edited indexed column (it disagrees with the hashed body), a record moved
// to another position (its body names another stream or seq), a deleted record (a seq gap, or a
// missing start that no retention checkpoint accounts for), or a wrong prev_hash.
//
// An unkeyed hash chain cannot by itself tell a consistent rewrite of a stream's tail from the
// original: `anchors` (heads seen earlier, e.g. a previous `verify --json` kept elsewhere) close
// that gap, since a rewritten or truncated stream no longer holds those (seq, hash) pairs.
import type { Kysely, Transaction } from 'kysely';
import type { AuditRecordRow, Tables } from '../store/tables.ts';
import { canonicalJson } from './canonical-json.ts';
import { GENESIS_HASH, indexedColumns, linkHash, type IndexedColumns } from './chain.ts';
import type { AuditCheckpointData, AuditRecord } from './events.ts';

export type ChainProblem =
  | 'body_invalid'
  | 'misplaced'
  | 'column_mismatch'
  | 'hash_mismatch'
  | 'prev_hash_mismatch'
  | 'seq_gap'
  | 'missing_start'
  | 'anchor_mismatch';

export interface BrokenLink {
  stream: string;
  seq: number;
  /** The record at fault, or (for a gap or a missing start) the first record after the missing ones. */
  id: string | null;
  problem: ChainProblem;
  message: string;
}

export interface StreamReport {
  stream: string;
  records: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** Hash of the last record: publish it elsewhere to detect a later rewrite (see `anchors`). */
  head: string | null;
  /** What the first record links to: the genesis hash, or a retention checkpoint. */
  start: { kind: 'genesis' } | { kind: 'checkpoint'; checkpointSeq: number; throughSeq: number } | null;
  broken: BrokenLink | null;
}

export interface VerifyReport {
  ok: boolean;
  streams: StreamReport[];
  /** The first broken link of each broken stream. */
  broken: BrokenLink[];
}

export interface Anchor {
  stream: string;
  seq: number;
  hash: string;
}

export interface VerifyOptions {
  /** Only this stream. */
  stream?: string;
  /** Heads recorded earlier that must still be part of their chain. */
  anchors?: readonly Anchor[];
  /** Called after each page with the number of records checked so far. */
  onProgress?: (checked: number) => void;
  pageSize?: number;
}

const INDEXED: (keyof IndexedColumns)[] = ['at_ms', 'kind', 'request_id', 'subject', 'outcome', 'route', 'tables'];

export async function verifyAudit(db: Kysely<Tables>, options: VerifyOptions = {}): Promise<VerifyReport> {
  const streams = options.stream
    ? [options.stream]
    : (await db.selectFrom('audit_records').select('stream').distinct().orderBy('stream').execute()).map((r) => r.stream);
  const reports: StreamReport[] = [];
  let checked = 0;
  for (const stream of streams) {
    // One snapshot per stream, so records appended or purged meanwhile do not look like damage.
    const report = await db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute((trx) =>
        verifyStream(trx, stream, options, (n) => {
          checked += n;
          options.onProgress?.(checked);
        }),
      );
    reports.push(report);
  }
  for (const anchor of options.anchors ?? []) {
    const report = reports.find((r) => r.stream === anchor.stream);
    const problem = checkAnchor(report, anchor, await anchorHash(db, anchor));
    if (problem && report && (!report.broken || report.broken.seq > problem.seq)) report.broken = problem;
  }
  const broken = reports.flatMap((r) => (r.broken ? [r.broken] : []));
  return { ok: broken.length === 0, streams: reports, broken };
}

async function verifyStream(trx: Transaction<Tables>, stream: string, options: VerifyOptions, progress: (n: number) => void): Promise<StreamReport> {
  const report: StreamReport = { stream, records: 0, firstSeq: null, lastSeq: null, head: null, start: null, broken: null };
  const checkpoints = await checkpointsOf(trx, stream);
  const pageSize = options.pageSize ?? 1000;
  let previous: { seq: number; hash: string } | undefined;
  for (;;) {
    let q = trx.selectFrom('audit_records').selectAll().where('stream', '=', stream);
    if (previous) q = q.where('seq', '>', previous.seq);
    const rows = await q.orderBy('seq').limit(pageSize).execute();
    for (const [i, raw] of rows.entries()) {
      const row = { ...raw, seq: Number(raw.seq), at_ms: Number(raw.at_ms) };
      const broken = checkRecord(row) ?? checkLink(row, previous, checkpoints, report);
      if (broken) {
        report.broken = broken;
        progress(i + 1);
        return report;
      }
      report.records++;
      report.firstSeq ??= row.seq;
      report.lastSeq = row.seq;
      report.head = row.hash;
      previous = { seq: row.seq, hash: row.hash };
    }
    progress(rows.length);
    if (rows.length < pageSize) return report;
  }
}

/** The record on its own: parses, its hash covers the body, it sits where its body says, its columns agree. */
function checkRecord(row: AuditRecordRow): BrokenLink | null {
  const fault = (problem: ChainProblem, message: string): BrokenLink => ({ stream: row.stream, seq: row.seq, id: row.id, problem, message });
  if (linkHash(row.prev_hash, row.body) !== row.hash) return fault('hash_mismatch', 'the body does not match its hash: the record was edited');
  let record: AuditRecord;
  try {
    record = JSON.parse(row.body) as AuditRecord;
  } catch {
    return fault('body_invalid', 'the body is not JSON');
  }
  if (canonicalJson(record) !== row.body) return fault('body_invalid', 'the body is not in canonical form: it was rewritten after it was hashed');
  if (record.stream !== row.stream || record.seq !== row.seq || record.id !== row.id) {
    return fault('misplaced', `the body belongs at ${record.stream}:${record.seq} (id ${record.id}): records were moved or reordered`);
  }
  const derived = indexedColumns(record.kind, Date.parse(record.at), record.data);
  for (const column of INDEXED) {
    if ((derived[column] ?? null) !== (row[column] ?? null)) {
      return fault('column_mismatch', `column ${column} holds ${JSON.stringify(row[column])} but the hashed body says ${JSON.stringify(derived[column])}`);
    }
  }
  return null;
}

/** The record in its chain: follows the previous one, or starts at genesis or a checkpoint. */
function checkLink(
  row: AuditRecordRow,
  previous: { seq: number; hash: string } | undefined,
  checkpoints: Map<number, { seq: number; data: AuditCheckpointData }>,
  report: StreamReport,
): BrokenLink | null {
  const fault = (problem: ChainProblem, message: string): BrokenLink => ({ stream: row.stream, seq: row.seq, id: row.id, problem, message });
  if (previous) {
    if (row.seq !== previous.seq + 1) {
      const missing = row.seq - previous.seq - 1;
      return fault('seq_gap', `${missing} record(s) missing before it (seq ${previous.seq + 1}${missing > 1 ? `..${row.seq - 1}` : ''}): deleted`);
    }
    if (row.prev_hash !== previous.hash) return fault('prev_hash_mismatch', `its prev_hash is not the hash of seq ${previous.seq}: the previous record was replaced`);
    return null;
  }
  if (row.seq === 1) {
    if (row.prev_hash !== GENESIS_HASH) return fault('prev_hash_mismatch', 'the first record of the stream does not start from the genesis hash');
    report.start = { kind: 'genesis' };
    return null;
  }
  const checkpoint = checkpoints.get(row.seq - 1);
  if (!checkpoint) {
    return fault('missing_start', `the stream starts at seq ${row.seq} and no retention checkpoint accounts for seq 1..${row.seq - 1}: records were deleted`);
  }
  if (checkpoint.data.through_hash !== row.prev_hash) {
    return fault('prev_hash_mismatch', `its prev_hash is not the hash the checkpoint at seq ${checkpoint.seq} recorded for purged seq ${row.seq - 1}`);
  }
  report.start = { kind: 'checkpoint', checkpointSeq: checkpoint.seq, throughSeq: checkpoint.data.through_seq };
  return null;
}

/** Retention checkpoints of the stream by the seq they purged through (checked as chain members during the walk). */
async function checkpointsOf(trx: Transaction<Tables>, stream: string): Promise<Map<number, { seq: number; data: AuditCheckpointData }>> {
  const rows = await trx.selectFrom('audit_records').select(['seq', 'body']).where('stream', '=', stream).where('kind', '=', 'checkpoint').execute();
  const map = new Map<number, { seq: number; data: AuditCheckpointData }>();
  for (const row of rows) {
    try {
      const record = JSON.parse(row.body) as AuditRecord;
      if (record.kind === 'checkpoint') map.set(record.data.through_seq, { seq: Number(row.seq), data: record.data });
    } catch {
      /* reported by the walk */
    }
  }
  return map;
}

async function anchorHash(db: Kysely<Tables>, anchor: Anchor): Promise<string | undefined> {
  const row = await db.selectFrom('audit_records').select('hash').where('stream', '=', anchor.stream).where('seq', '=', anchor.seq).executeTakeFirst();
  return row?.hash;
}

function checkAnchor(report: StreamReport | undefined, anchor: Anchor, hash: string | undefined): BrokenLink | null {
  const fault = (message: string): BrokenLink => ({ stream: anchor.stream, seq: anchor.seq, id: null, problem: 'anchor_mismatch', message });
  if (hash !== undefined) return hash === anchor.hash ? null : fault(`seq ${anchor.seq} no longer has the hash seen earlier: the stream was rewritten`);
  if (!report || report.lastSeq === null || anchor.seq > report.lastSeq) {
    return fault(`the stream ends at seq ${report?.lastSeq ?? 0} but seq ${anchor.seq} was seen earlier: its tail was deleted`);
  }
  // Purged since: the checkpoint chain vouches for it.
  return null;
}
