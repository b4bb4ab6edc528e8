// The audit log a gateway instance writes: one hash chain (stream) per instance, group-committed.
//
// record() resolves only once its record is durably committed (SQLite: WAL with synchronous=FULL;
// PostgreSQL: a committed INSERT under synchronous_commit=on). Concurrent calls are grouped: while
// one batch is being committed the next calls queue, and the whole queue goes into the next
// single INSERT, so the store sees one commit per batch instead of one per request while every
// caller still waits for its own record. A batch is one statement, so it commits whole or not at
// all.
//
// Failure never poisons the chain: the in-memory head (last seq and hash) advances only after a
// commit succeeded, and after any failure it is re-read from the store before the next batch, so a
// commit whose outcome was unknown (a timeout, a connection lost during COMMIT) is resolved by
// what the store actually holds. Another writer appending to the same stream (retention's
// checkpoint, a second process misconfigured with the same stream id) shows up as a primary-key
// conflict on (stream, seq): the batch is re-chained on the new tail and retried.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { Database } from '../store/database.ts';
import type { AuditRecordRow, Tables } from '../store/tables.ts';
import { canonicalJson, CanonicalJsonError } from './canonical-json.ts';
import { GENESIS_HASH, indexedColumns, linkHash, recordBody } from './chain.ts';
import { AuditClosedError, AuditRecordError, AuditUnavailableError } from './errors.ts';
import type { AuditEvent, RecordedAudit } from './events.ts';
import { prepareEvent, type PrepareOptions } from './prepare.ts';
import type { HashKey } from '../masking/index.ts';
import { isConnectionLost, isUniqueViolation } from './store-errors.ts';

export interface AuditLogOptions {
  /** This instance's chain. Default: SLUICE_INSTANCE_ID, else the host name. Keep it stable across restarts. */
  stream?: string;
  /** Largest number of records in one commit. Default 256. */
  maxBatch?: number;
  /** A record() not committed within this many milliseconds rejects with AuditUnavailableError. Default 5000. */
  commitTimeoutMs?: number;
  /** Cap on the recorded response rows (serialized bytes). Default 64 KiB. */
  maxResponseBytes?: number;
  /** `redact` (default) replaces SQL literals and comments with `?`; `keep` stores the SQL as sent. */
  sqlLiterals?: 'redact' | 'keep';
  /** Backstop content scan of recorded response values. Default true. */
  scrubResponse?: boolean;
  /** Key of the statement hashes recorded where SQL literals are redacted (prepare.ts statementDigest). */
  statementKey?: HashKey | undefined;
  /** Called after each successful commit, for metrics. */
  onCommit?: (info: { records: number; ms: number }) => void;
  /** Clock, for tests. */
  now?: () => number;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

interface Pending {
  kind: string;
  atMs: number;
  dataJson: string;
  columns: ReturnType<typeof indexedColumns>;
  id: string;
  settled: boolean;
  timer: NodeJS.Timeout;
  resolve(value: RecordedAudit): void;
  reject(error: Error): void;
}

/**
 * Retries of one batch: re-chaining after another writer took its seq numbers, or (once) a fresh
 * connection after the pooled one turned out dead.
 */
const RETRIES = 3;

export function defaultStreamId(): string {
  return process.env.SLUICE_INSTANCE_ID || hostname();
}

export class AuditLog {
  readonly stream: string;
  readonly #db: Kysely<Tables>;
  readonly #maxBatch: number;
  readonly #commitTimeoutMs: number;
  readonly #prepare: PrepareOptions;
  readonly #onCommit: AuditLogOptions['onCommit'];
  readonly #now: () => number;
  #head: ChainHead;
  #headStale = false;
  #queue: Pending[] = [];
  #draining: Promise<void> | undefined;
  #scheduled = false;
  #closed = false;

  private constructor(db: Kysely<Tables>, stream: string, head: ChainHead, options: AuditLogOptions) {
    this.#db = db;
    this.stream = stream;
    this.#head = head;
    this.#maxBatch = options.maxBatch ?? 256;
    this.#commitTimeoutMs = options.commitTimeoutMs ?? 5_000;
    this.#prepare = {
      sqlLiterals: options.sqlLiterals ?? 'redact',
      maxResponseBytes: options.maxResponseBytes ?? 64 * 1024,
      scrubResponse: options.scrubResponse ?? true,
      statementKey: options.statementKey,
    };
    this.#onCommit = options.onCommit;
    this.#now = options.now ?? Date.now;
    this.record = this.record.bind(this); // usable as a bare callback
  }

  /** Opens the instance's stream and resumes it where the store says it ends. */
  static async open(database: Pick<Database, 'db'>, options: AuditLogOptions = {}): Promise<AuditLog> {
    const stream = options.stream ?? defaultStreamId();
    if (!stream) throw new TypeError('an audit stream id is required');
    let head: ChainHead;
    try {
      head = await readHead(database.db, stream);
    } catch (cause) {
      throw new AuditUnavailableError(`cannot read the audit stream ${stream}: ${describe(cause)}`, { cause });
    }
    return new AuditLog(database.db, stream, head, options);
  }

  /** The last committed record of this stream, as this instance knows it. */
  get head(): ChainHead {
    return { ...this.#head };
  }

  /**
   * Records one event. Resolves once the record is durably committed; rejects with
   * AuditUnavailableError when the store cannot commit it in time (fail closed: do not serve the
   * request then), AuditRecordError when the event itself is malformed.
   */
  record(event: AuditEvent): Promise<RecordedAudit> {
    if (this.#closed) return Promise.reject(new AuditClosedError('the audit log is closed'));
    return new Promise<RecordedAudit>((resolve, reject) => {
      let prepared;
      let dataJson: string;
      try {
        prepared = prepareEvent(event, this.#prepare, this.#now());
        dataJson = canonicalJson(prepared.data);
      } catch (thrown) {
        reject(thrown instanceof CanonicalJsonError ? new AuditRecordError(`the event is not JSON: ${thrown.message}`) : thrown);
        return;
      }
      const pending: Pending = {
        kind: prepared.kind,
        atMs: prepared.atMs,
        dataJson,
        columns: indexedColumns(prepared.kind, prepared.atMs, prepared.data),
        id: randomUUID(),
        settled: false,
        timer: setTimeout(() => {
          this.#settle(pending, new AuditUnavailableError(`the audit record was not committed within ${this.#commitTimeoutMs} ms`));
        }, this.#commitTimeoutMs),
        resolve,
        reject,
      };
      this.#queue.push(pending);
      this.#schedule();
    });
  }

  /** Resolves when everything queued so far has been committed or refused. */
  async flush(): Promise<void> {
    while (this.#queue.length || this.#draining || this.#scheduled) {
      if (this.#draining) await this.#draining;
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Refuses new records and waits for the queued ones. The database stays open (it is not the log's). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  // Calls made in the same tick join one batch: the drain starts after the current task.
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#kick();
    });
  }

  // One drain at a time. A record queued after the drain's last look at the queue but before it
  // finished is picked up by the re-check in `finally`, so nothing waits for a later call.
  #kick(): void {
    if (this.#draining) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      if (this.#queue.length) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length) {
      const batch = this.#queue.splice(0, this.#maxBatch).filter((p) => !p.settled);
      if (!batch.length) continue;
      try {
        await this.#commit(batch);
      } catch (thrown) {
        // Not a store error (those are handled in #commit): still, no caller may be left waiting.
        this.#headStale = true;
        for (const p of batch) this.#settle(p, new AuditUnavailableError(`audit commit failed: ${describe(thrown)}`, { cause: thrown, batchSize: batch.length }));
      }
    }
  }

  async #commit(batch: Pending[]): Promise<void> {
    const started = performance.now();
    let rows: AuditRecordRow[] = [];
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.#headStale) {
          // The last attempt may have committed after all (an error on the way back): if so,
          // its records are there under their ids, and inserting them again would duplicate them.
          const committed = attempt > 0 ? await this.#committedRows(batch) : undefined;
          if (committed) {
            rows = committed;
            this.#headStale = true; // other writers may have appended since
            break;
          }
          this.#head = await readHead(this.#db, this.stream);
          this.#headStale = false;
        }
        rows = this.#chain(batch);
        await this.#db.insertInto('audit_records').values(rows).execute();
        this.#head = { seq: rows[rows.length - 1]!.seq, hash: rows[rows.length - 1]!.hash };
        break;
      } catch (cause) {
        this.#headStale = true;
        if (attempt < RETRIES && (isUniqueViolation(cause) || (attempt === 0 && isConnectionLost(cause)))) continue;
        const error = new AuditUnavailableError(`the audit store did not commit ${batch.length} record(s): ${describe(cause)}`, { cause, batchSize: batch.length });
        for (const p of batch) this.#settle(p, error);
        return;
      }
    }
    batch.forEach((p, i) => {
      const row = rows[i]!;
      this.#settle(p, undefined, { id: row.id, stream: row.stream, seq: row.seq, hash: row.hash, at: new Date(row.at_ms).toISOString() });
    });
    this.#onCommit?.({ records: batch.length, ms: performance.now() - started });
  }

  /** The batch's rows if an earlier attempt committed them (one INSERT: all or none are there). */
  async #committedRows(batch: Pending[]): Promise<AuditRecordRow[] | undefined> {
    const found = await this.#db
      .selectFrom('audit_records')
      .selectAll()
      .where('id', 'in', batch.map((p) => p.id))
      .execute();
    if (found.length !== batch.length) return undefined;
    const byId = new Map(found.map((r) => [r.id, { ...r, seq: Number(r.seq), at_ms: Number(r.at_ms) }]));
    return batch.map((p) => byId.get(p.id)!);
  }

  /** Rows for the batch, chained on the current head; the head itself moves only after the commit. */
  #chain(batch: Pending[]): AuditRecordRow[] {
    let { seq, hash: prev } = this.#head;
    return batch.map((p) => {
      seq += 1;
      const body = recordBody({ stream: this.stream, seq, id: p.id, atMs: p.atMs, kind: p.kind }, p.dataJson);
      const hash = linkHash(prev, body);
      const row: AuditRecordRow = { stream: this.stream, seq, id: p.id, ...p.columns, body, prev_hash: prev, hash };
      prev = hash;
      return row;
    });
  }

  #settle(p: Pending, error?: Error, value?: RecordedAudit): void {
    if (p.settled) return;
    p.settled = true;
    clearTimeout(p.timer);
    if (error) p.reject(error);
    else p.resolve(value!);
  }
}

/** The last record of a stream (seq 0 and the genesis hash for a new stream). */
export async function readHead(db: Kysely<Tables>, stream: string): Promise<ChainHead> {
  const row = await db.selectFrom('audit_records').select(['seq', 'hash']).where('stream', '=', stream).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  return row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
}

function describe(thrown: unknown): string {
  if (thrown instanceof AggregateError && thrown.errors.length) return describe(thrown.errors[0]);
  if (thrown instanceof Error) return thrown.message || thrown.name || String((thrown as { code?: unknown }).code ?? 'error');
  return String(thrown);
}
