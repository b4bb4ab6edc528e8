// Reading the audit trail: filtered listings, look-ups by id, and ordered scans for export,
// shadow evaluation and verification.
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { AuditRecordRow, Tables } from '../store/tables.ts';
import type { AuditKind, AuditRecord } from './events.ts';

export interface StoredRecord {
  record: AuditRecord;
  hash: string;
  prevHash: string;
}

export interface RecordFilter {
  kinds?: readonly AuditKind[];
  stream?: string;
  /** Identity subject (exact). */
  subject?: string;
  outcome?: string;
  /** Inclusive. */
  since?: Date;
  /** Exclusive. */
  until?: Date;
  /** A table the request named: `project.dataset.table`, `dataset.table`, `table`, or a `project.dataset` prefix. */
  table?: string;
  requestId?: string;
  /**
   * Leave out forward records whose request record is there (it tells the whole story), keeping
   * those of calls forwarded upstream whose answer was never recorded.
   */
  onlyUnansweredForwards?: boolean;
}

export function parseRecord(body: string): AuditRecord {
  return JSON.parse(body) as AuditRecord;
}

function toStored(row: Pick<AuditRecordRow, 'body' | 'hash' | 'prev_hash'>): StoredRecord {
  return { record: parseRecord(row.body), hash: row.hash, prevHash: row.prev_hash };
}

type AuditQuery = SelectQueryBuilder<Tables, 'audit_records', object>;

function applyFilter(query: AuditQuery, filter: RecordFilter): AuditQuery {
  let q = query;
  if (filter.kinds?.length) q = q.where('kind', 'in', [...filter.kinds]);
  if (filter.stream) q = q.where('stream', '=', filter.stream);
  if (filter.subject) q = q.where('subject', '=', filter.subject);
  if (filter.outcome) q = q.where('outcome', '=', filter.outcome);
  if (filter.since) q = q.where('at_ms', '>=', filter.since.getTime());
  if (filter.until) q = q.where('at_ms', '<', filter.until.getTime());
  if (filter.requestId) q = q.where('request_id', '=', filter.requestId);
  if (filter.onlyUnansweredForwards) {
    q = q.where(
      sql<boolean>`(kind <> 'forward' OR NOT EXISTS (SELECT 1 FROM audit_records answered WHERE answered.request_id = audit_records.request_id AND answered.kind = 'request'))`,
    );
  }
  if (filter.table) {
    const t = escapeLike(filter.table.toLowerCase());
    // Whole id, a shorter suffix (dataset.table, table) or a prefix (project, project.dataset).
    q = q.where(
      sql<boolean>`(tables LIKE ${`%,${t},%`} ESCAPE '\\' OR tables LIKE ${`%.${t},%`} ESCAPE '\\' OR tables LIKE ${`%,${t}.%`} ESCAPE '\\')`,
    );
  }
  return q;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Newest first (for people), or oldest first. */
export async function listRecords(db: Kysely<Tables>, filter: RecordFilter & { limit?: number; order?: 'newest' | 'oldest' } = {}): Promise<StoredRecord[]> {
  const direction = filter.order === 'oldest' ? 'asc' : 'desc';
  const rows = await applyFilter(db.selectFrom('audit_records'), filter)
    .select(['body', 'hash', 'prev_hash'])
    .orderBy('at_ms', direction)
    .orderBy('stream', direction)
    .orderBy('seq', direction)
    .limit(filter.limit ?? 50)
    .execute();
  return rows.map(toStored);
}

/** A record by its id, `stream:seq`, or every record of a request id (oldest first). */
export async function findRecords(db: Kysely<Tables>, ref: string): Promise<StoredRecord[]> {
  const byId = await db.selectFrom('audit_records').select(['body', 'hash', 'prev_hash']).where('id', '=', ref).execute();
  if (byId.length) return byId.map(toStored);
  const position = /^(.+):(\d+)$/.exec(ref);
  if (position) {
    const rows = await db
      .selectFrom('audit_records')
      .select(['body', 'hash', 'prev_hash'])
      .where('stream', '=', position[1]!)
      .where('seq', '=', Number(position[2]))
      .execute();
    if (rows.length) return rows.map(toStored);
  }
  const byRequest = await db
    .selectFrom('audit_records')
    .select(['body', 'hash', 'prev_hash'])
    // An MCP call's BigQuery calls are recorded under its request id with a `.N` suffix.
    .where((eb) => eb.or([eb('request_id', '=', ref), eb.and([eb('request_id', '>', `${ref}.`), eb('request_id', '<', `${ref}/`)])]))
    .orderBy('at_ms')
    .orderBy('stream')
    .orderBy('seq')
    .execute();
  return byRequest.map(toStored);
}

export async function countRecords(db: Kysely<Tables>, filter: RecordFilter = {}): Promise<number> {
  const row = await applyFilter(db.selectFrom('audit_records'), filter)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Every matching record, oldest first, read in pages (keyset on at_ms, stream, seq). */
export async function* scanRecords(db: Kysely<Tables>, filter: RecordFilter = {}, pageSize = 500): AsyncGenerator<StoredRecord> {
  let after: { at_ms: number; stream: string; seq: number } | undefined;
  for (;;) {
    let q = applyFilter(db.selectFrom('audit_records'), filter);
    if (after) {
      const a = after;
      q = q.where((eb) =>
        eb.or([
          eb('at_ms', '>', a.at_ms),
          eb.and([eb('at_ms', '=', a.at_ms), eb.or([eb('stream', '>', a.stream), eb.and([eb('stream', '=', a.stream), eb('seq', '>', a.seq)])])]),
        ]),
      );
    }
    const rows = await q.select(['at_ms', 'stream', 'seq', 'body', 'hash', 'prev_hash']).orderBy('at_ms').orderBy('stream').orderBy('seq').limit(pageSize).execute();
    for (const row of rows) yield toStored(row);
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    after = { at_ms: Number(last.at_ms), stream: last.stream, seq: Number(last.seq) };
  }
}

/** Streams in the store, with their record counts. */
export async function listStreams(db: Kysely<Tables>): Promise<{ stream: string; records: number }[]> {
  const rows = await db
    .selectFrom('audit_records')
    .select((eb) => ['stream', eb.fn.countAll<number | string>().as('n')])
    .groupBy('stream')
    .orderBy('stream')
    .execute();
  return rows.map((r) => ({ stream: r.stream, records: Number(r.n) }));
}
