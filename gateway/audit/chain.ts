// The hash chain. Each stream (one gateway instance) is a sequence seq = 1, 2, 3, … where
//
//   body = canonical JSON of the record {v, stream, seq, id, at, kind, data}
//   hash = sha256(prev_hash ‖ body)          (prev_hash as its 64 lower-case hex characters,
//                                             then the body, both UTF-8; genesis: 64 zeros)
//
// The body holds its own stream and seq, so a record moved to another position no longer fits
// there; the columns beside it (at_ms, subject, outcome, …) exist for indexed queries only and are
// re-derived from the body when the chain is verified.
import { hash } from 'node:crypto';
import type { AuditRecordRow } from '../store/tables.ts';
import type { AuditRecord } from './events.ts';
import { rfc3339 } from './time.ts';

export const GENESIS_HASH = '0'.repeat(64);
export const RECORD_VERSION = 1;

export function linkHash(prevHash: string, body: string): string {
  return hash('sha256', prevHash + body, 'hex');
}

export interface Envelope {
  stream: string;
  seq: number;
  id: string;
  atMs: number;
  kind: string;
}

/**
 * The canonical body, assembled around the already-canonical `data` text so that the (possibly
 * large) data is serialized once. Keys in sorted order: at, data, id, kind, seq, stream, v.
 */
export function recordBody(envelope: Envelope, dataJson: string): string {
  return (
    `{"at":${JSON.stringify(rfc3339(envelope.atMs))},"data":${dataJson},"id":${JSON.stringify(envelope.id)},` +
    `"kind":${JSON.stringify(envelope.kind)},"seq":${envelope.seq},"stream":${JSON.stringify(envelope.stream)},"v":${RECORD_VERSION}}`
  );
}

export type IndexedColumns = Pick<AuditRecordRow, 'at_ms' | 'kind' | 'request_id' | 'subject' | 'outcome' | 'route' | 'tables'>;

/** The queryable columns of a record, derived from its content only. */
export function indexedColumns(kind: string, atMs: number, data: object): IndexedColumns {
  const d = data as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  const columns: IndexedColumns = { at_ms: atMs, kind, request_id: text(d.request_id), subject: null, outcome: null, route: text(d.route), tables: null };
  if (kind === 'forward') {
    const forward = data as Extract<AuditRecord, { kind: 'forward' }>['data'];
    columns.subject = forward.identity.subject;
    columns.outcome = forward.outcome;
    columns.tables = forward.tables.length ? `,${[...new Set(forward.tables)].sort().join(',')},` : null;
  } else if (kind === 'request') {
    const request = data as Extract<AuditRecord, { kind: 'request' }>['data'];
    columns.subject = request.identity.subject;
    columns.outcome = request.decision?.outcome ?? null;
    columns.tables = tablesColumn(request);
  } else if (kind === 'approval' || kind === 'grant') {
    columns.subject = text(d.subject);
  } else if (kind === 'access_refused') {
    columns.subject = (data as Extract<AuditRecord, { kind: 'access_refused' }>['data']).identity.subject;
  } else if (kind === 'principal') {
    columns.subject = text(d.subject);
    columns.outcome = text(d.action);
  }
  return columns;
}

/** `,a.b.c,d.e.f,`: every table the request names, so `LIKE '%,<id>,%'` finds it. */
function tablesColumn(request: Extract<AuditRecord, { kind: 'request' }>['data']): string | null {
  const ids = new Set<string>();
  for (const statement of request.input?.sql.statements ?? []) for (const table of statement.tables) ids.add(table.id);
  for (const id of request.input?.estimate?.unparsed_tables ?? []) ids.add(id);
  return ids.size ? `,${[...ids].sort().join(',')},` : null;
}
