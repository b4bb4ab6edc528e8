// Can the audit store take a write right now? Asked by /readyz (and the metrics scrape): an
// instance whose audit records cannot be committed refuses every call it would forward, so it
// should be taken out of rotation rather than keep answering 503s.
//
// The probe commits one real, tiny write to the store the audit log writes to: an upsert of this
// instance's row in `audit_heartbeats` (one row per stream, so the table never grows). A read or a
// ping would pass on a read-only replica, a full disk or a write lock held elsewhere; a commit
// does not. Bounded and cheap:
// - a probe that has not committed within `timeoutMs` (default 1 s) counts as a failure, whatever
//   the store does meanwhile, so /readyz answers promptly when PostgreSQL hangs;
// - at most one probe write is outstanding: while a timed-out one still hangs in the driver no
//   new one is started (a hung server would otherwise fill the pool the audit log needs);
// - a result is reused for `cacheMs` (default 1.5 s), and concurrent askers share one probe, so a
//   load balancer polling /readyz does not hammer the store;
// - on SQLite the write runs with busy_timeout 0 and is retried asynchronously until the
//   deadline: better-sqlite3 waits for a lock synchronously, and the connection's 5 s busy
//   timeout would freeze the whole process rather than just this probe.
import { sql, type Kysely } from 'kysely';
import { redact, type Database } from '../store/database.ts';
import type { Tables } from '../store/tables.ts';
import { isConnectionLost } from './store-errors.ts';

export type AuditStoreStatus = { writable: true } | { writable: false; reason: string };

export interface AuditStoreProbeOptions {
  /** A probe write not committed within this many milliseconds counts as a failure. Default 1000. */
  timeoutMs?: number;
  /** How long a result is reused before the next probe write. Default 1500. */
  cacheMs?: number;
  /** Called with every fresh result (not with cached ones). */
  onResult?: (status: AuditStoreStatus) => void;
  /** Clock in epoch milliseconds: the heartbeat's time and the cache window. */
  now?: () => number;
}

/** Pause between two SQLite attempts while another connection holds the write lock. */
const BUSY_RETRY_MS = 50;
const MAX_REASON_CHARS = 160;

export class AuditStoreProbe {
  readonly #db: Kysely<Tables>;
  readonly #dialect: Database['dialect'];
  readonly #stream: string;
  readonly #timeoutMs: number;
  readonly #cacheMs: number;
  readonly #onResult: AuditStoreProbeOptions['onResult'];
  readonly #now: () => number;
  #cached: { status: AuditStoreStatus; atMs: number } | undefined;
  /** The check in progress: concurrent askers share it. */
  #checking: Promise<AuditStoreStatus> | undefined;
  /** The probe write in the driver, possibly outliving a check that timed out. */
  #writing: { done: Promise<void>; startedMs: number } | undefined;

  /** `stream`: the audit log's stream id, whose heartbeat row the probe rewrites. */
  constructor(database: Pick<Database, 'db' | 'dialect'>, stream: string, options: AuditStoreProbeOptions = {}) {
    this.#db = database.db;
    this.#dialect = database.dialect;
    this.#stream = stream;
    this.#timeoutMs = options.timeoutMs ?? 1_000;
    this.#cacheMs = options.cacheMs ?? 1_500;
    this.#onResult = options.onResult;
    this.#now = options.now ?? Date.now;
  }

  /** Whether the store committed a write, probed at most once per cache window; never rejects. */
  check(): Promise<AuditStoreStatus> {
    if (this.#cached && this.#now() - this.#cached.atMs < this.#cacheMs) return Promise.resolve(this.#cached.status);
    this.#checking ??= this.#probe()
      .catch((error: unknown): AuditStoreStatus => ({ writable: false, reason: shortReason(error) }))
      .then((status) => {
        this.#cached = { status, atMs: this.#now() };
        this.#checking = undefined;
        this.#onResult?.(status);
        return status;
      });
    return this.#checking;
  }

  async #probe(): Promise<AuditStoreStatus> {
    if (this.#writing) {
      const seconds = ((this.#now() - this.#writing.startedMs) / 1000).toFixed(1);
      return { writable: false, reason: `the previous probe write has not finished after ${seconds} s` };
    }
    const startedMs = this.#now();
    const deadline = performance.now() + this.#timeoutMs;
    const done = this.#heartbeat(deadline);
    const writing = { done, startedMs };
    this.#writing = writing;
    const finished = () => {
      if (this.#writing === writing) this.#writing = undefined;
    };
    done.then(finished, finished);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#timeoutMs);
    });
    try {
      if ((await Promise.race([done, timedOut])) === 'timeout') return { writable: false, reason: `no write committed within ${this.#timeoutMs} ms` };
      return { writable: true };
    } catch (error) {
      return { writable: false, reason: shortReason(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Upserts this stream's heartbeat row: one committed write. */
  async #heartbeat(deadline: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.#dialect === 'sqlite') await this.#db.connection().execute((conn) => withoutBusyWait(conn, (db) => this.#upsert(db)));
        else await this.#upsert(this.#db);
        return;
      } catch (error) {
        // A lock held elsewhere may be released before the deadline; a pooled PostgreSQL
        // connection found dead after a restart is worth one more try on a fresh one.
        const retry = isBusy(error) ? performance.now() + BUSY_RETRY_MS < deadline : attempt === 0 && isConnectionLost(error);
        if (!retry) throw error;
        if (isBusy(error)) await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_MS));
      }
    }
  }

  async #upsert(db: Kysely<Tables>): Promise<void> {
    const atMs = this.#now();
    await db
      .insertInto('audit_heartbeats')
      .values({ stream: this.#stream, at_ms: atMs })
      .onConflict((oc) => oc.column('stream').doUpdateSet({ at_ms: atMs }))
      .execute();
  }
}

/** Runs `fn` on the (single, held) SQLite connection with busy_timeout 0, restoring it after. */
async function withoutBusyWait<T>(conn: Kysely<Tables>, fn: (db: Kysely<Tables>) => Promise<T>): Promise<T> {
  const { rows } = await sql<{ timeout: number }>`PRAGMA busy_timeout`.execute(conn);
  const previous = Math.max(0, Math.trunc(Number(rows[0]?.timeout ?? 0)));
  await sql`PRAGMA busy_timeout = 0`.execute(conn);
  try {
    return await fn(conn);
  } finally {
    await sql.raw(`PRAGMA busy_timeout = ${previous}`).execute(conn);
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** The store's error in a line fit for a public health answer: no URL credentials, bounded. */
function shortReason(thrown: unknown): string {
  if (thrown instanceof AggregateError && thrown.errors.length) return shortReason(thrown.errors[0]);
  const e = thrown as { message?: unknown; code?: unknown; name?: unknown } | null;
  const text = (typeof e?.message === 'string' && e.message) || (typeof e?.code === 'string' && e.code) || (typeof e?.name === 'string' && e.name) || String(thrown);
  const line = redact(text).replace(/\s+/g, ' ').trim();
  return line.length > MAX_REASON_CHARS ? `${line.slice(0, MAX_REASON_CHARS - 1)}…` : line;
}
