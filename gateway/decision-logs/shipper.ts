// Decision-log shipping: every decision of this instance's audit stream is POSTed to a collector in
// OPA's decision-log service format (a gzip-compressed JSON array of events, to `<url>/logs`).
//
// The audit trail is the source of truth and the buffer. Shipping never touches the request path:
// it reads records after they were committed (up to the AuditLog's head, which only advances once
// a commit succeeded), converts them with the same toDecisionLogEvent as `sluice audit export`,
// and moves a cursor kept in the database (decision_log_cursors: one row per stream) only after the
// collector answered 2xx. After a restart, a collector outage or a failed upload, shipping resumes
// at the cursor and a batch is rebuilt from the same records, so a resent event carries the same
// decision_id (the request record's id) and a collector can dedupe the one case that resends after a 2xx:
// a crash between the 2xx and the cursor write.
//
// Replicas sharing PostgreSQL each ship their own stream (the cursor is keyed by stream), so no
// decision is shipped by two of them. Bounds, each counted in sluice_decision_log_dropped_total
// and logged, never silent:
//   max_buffered_events  unshipped decisions beyond it: the oldest are dropped (reason buffer_full)
//   max_age_seconds      a decision older than this when it would be sent (reason max_age)
//   max_batch_bytes      an event larger than a whole batch (reason oversized)
// Memory holds one batch at most. Retries back off exponentially from min_delay to max_delay,
// with jitter.
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { Kysely } from 'kysely';
import { Counter, Gauge, type Registry } from 'prom-client';
import { toDecisionLogEvent, type DecisionLogOptions } from '../audit/decision-log.ts';
import type { AuditRequestRecord } from '../audit/events.ts';
import { parseRecord } from '../audit/records.ts';
import type { Database } from '../store/database.ts';
import type { Tables } from '../store/tables.ts';
import { backoffDelay } from '../backoff.ts';
import type { DecisionLogsConfig } from './config.ts';
import { advanceCursor, readCursor, storedCursor } from './cursor.ts';

const gzip = promisify(gzipCallback);

const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Records read per batch at most, and per query. */
const PAGE_SIZE = 1000;
const CHUNK_SIZE = 50;
/** While failing, a warning at most this often (the first failure and the recovery are always logged). */
const FAILURE_LOG_INTERVAL_MS = 60_000;
/** How long close() lets an upload in flight finish (at most its timeout) before aborting it. */
const CLOSE_GRACE_MS = 2_000;

type LogFn = (object: object, message: string) => void;
export interface ShipperLog {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export type DropReason = 'buffer_full' | 'max_age' | 'oversized';
export type UploadOutcome = 'ok' | 'http_error' | 'network_error' | 'timeout';

export interface DecisionLogShipperOptions {
  /** The instance's audit log: its stream is what is shipped, its head how far records are committed. */
  audit: { readonly stream: string; readonly head: { seq: number } };
  database: Pick<Database, 'db'>;
  config: DecisionLogsConfig;
  /** Where the shipper's metrics are registered (the gateway's); none when absent. */
  metricsRegistry?: Registry;
  log?: ShipperLog;
  /** Erasure and masking of the events, as `sluice audit export --erase/--mask`. */
  masking?: Pick<DecisionLogOptions, 'erase' | 'mask'>;
  /** labels.version of the events; default the package version. */
  version?: string;
  /** Clock and transport, for tests. */
  now?: () => number;
  fetch?: typeof fetch;
  random?: () => number;
}

export interface DecisionLogShipperStatus {
  stream: string;
  url: string;
  /** Last seq of the stream acknowledged (or dropped). */
  cursor: number | undefined;
  /** Unshipped decisions at the last count (capped at max_buffered_events + 1). */
  buffered: number;
  shipped: number;
  dropped: Record<DropReason, number>;
  uploads: Record<UploadOutcome, number>;
  consecutiveFailures: number;
  lastSuccessAt: string | undefined;
  lastError: string | undefined;
}

export interface DecisionLogShipperHandle {
  /** Stops shipping: an upload in flight is abandoned (resent on the next start). */
  close(): Promise<void>;
  status(): DecisionLogShipperStatus;
}

/** Starts shipping in the background; never throws (failures are logged and retried). */
export function startDecisionLogShipper(options: DecisionLogShipperOptions): DecisionLogShipperHandle {
  const shipper = new DecisionLogShipper(options);
  shipper.start();
  return shipper;
}

interface Metrics {
  uploads: Counter<'outcome'>;
  dropped: Counter<'reason'>;
  buffered: Gauge;
  shipped: Counter;
}

function metricsOn(registry: Registry | undefined): Metrics {
  const registers = registry ? [registry] : [];
  // One registry may see a second shipper (a restart in the same process): reuse its metrics.
  const reuse = <T>(name: string, make: () => T): T => (registry?.getSingleMetric(name) as T | undefined) ?? make();
  return {
    uploads: reuse(
      'sluice_decision_log_uploads_total',
      () => new Counter({ name: 'sluice_decision_log_uploads_total', help: 'Decision-log uploads to the collector, by outcome (ok, http_error, network_error, timeout).', labelNames: ['outcome'] as const, registers }),
    ),
    dropped: reuse(
      'sluice_decision_log_dropped_total',
      () => new Counter({ name: 'sluice_decision_log_dropped_total', help: 'Decisions never shipped, by reason (buffer_full, max_age, oversized).', labelNames: ['reason'] as const, registers }),
    ),
    buffered: reuse('sluice_decision_log_buffered', () => new Gauge({ name: 'sluice_decision_log_buffered', help: 'Committed decisions not yet shipped (at the last count).', registers })),
    shipped: reuse('sluice_decision_log_events_total', () => new Counter({ name: 'sluice_decision_log_events_total', help: 'Decision-log events the collector acknowledged.', registers })),
  };
}

class UploadError extends Error {
  override name = 'UploadError';
  readonly outcome: Exclude<UploadOutcome, 'ok'>;
  constructor(message: string, outcome: Exclude<UploadOutcome, 'ok'>) {
    super(message);
    this.outcome = outcome;
  }
}

interface Batch {
  /** Serialized events, in seq order. */
  events: string[];
  bytes: number;
  /** Seq of the last record the batch consumes (sent, or dropped on the way). */
  throughSeq: number;
  dropped: Record<DropReason, number>;
  /** More records wait beyond this batch. */
  more: boolean;
  /** The head of the stream it was read up to. */
  head: number;
}

export class DecisionLogShipper implements DecisionLogShipperHandle {
  readonly #audit: DecisionLogShipperOptions['audit'];
  readonly #db: Kysely<Tables>;
  readonly #config: DecisionLogsConfig;
  readonly #log: ShipperLog | undefined;
  readonly #eventOptions: DecisionLogOptions;
  readonly #now: () => number;
  readonly #fetch: typeof fetch;
  readonly #random: () => number;
  readonly #metrics: Metrics;
  readonly #endpoint: string;
  #cursor: number | undefined;
  /** What the database holds (it may lag #cursor when a cursor write failed). */
  #persisted: number | undefined;
  #buffered = 0;
  #shipped = 0;
  #dropped: Record<DropReason, number> = { buffer_full: 0, max_age: 0, oversized: 0 };
  #uploads: Record<UploadOutcome, number> = { ok: 0, http_error: 0, network_error: 0, timeout: 0 };
  #failures = 0;
  #lastFailureLogAt = -Infinity;
  #lastSuccessAt: number | undefined;
  #lastError: string | undefined;
  #closed = false;
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #inflight: AbortController | undefined;
  /** The batch of a failed upload, resent as it is. */
  #retry: { fromSeq: number; oldestAtMs: number; batch: Batch } | undefined;
  /** No decision waits up to this seq (the cursor may be behind it: it moves with decisions only). */
  #scannedThrough = 0;

  constructor(options: DecisionLogShipperOptions) {
    this.#audit = options.audit;
    this.#db = options.database.db;
    this.#config = options.config;
    this.#log = options.log;
    this.#eventOptions = { ...options.masking, version: options.version ?? VERSION };
    this.#now = options.now ?? Date.now;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#random = options.random ?? Math.random;
    this.#metrics = metricsOn(options.metricsRegistry);
    this.#endpoint = `${options.config.url}/logs`;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    // An upload in flight gets a moment to be acknowledged: aborted after the collector kept its
    // events, it would be sent again from the persisted cursor by the next shipper.
    const inflight = this.#inflight;
    const timer = inflight && setTimeout(() => inflight.abort(new Error('the decision-log shipper is closing')), Math.min(CLOSE_GRACE_MS, this.#config.timeoutMs));
    await this.#running;
    clearTimeout(timer);
  }

  status(): DecisionLogShipperStatus {
    return {
      stream: this.#audit.stream,
      url: this.#endpoint,
      cursor: this.#cursor,
      buffered: this.#buffered,
      shipped: this.#shipped,
      dropped: { ...this.#dropped },
      uploads: { ...this.#uploads },
      consecutiveFailures: this.#failures,
      lastSuccessAt: this.#lastSuccessAt === undefined ? undefined : new Date(this.#lastSuccessAt).toISOString(),
      lastError: this.#lastError,
    };
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      let wait: number;
      try {
        const more = await this.#cycle();
        if (this.#failures) this.#recovered();
        wait = more ? 0 : this.#config.minDelayMs;
      } catch (thrown) {
        if (this.#closed) break;
        this.#failed(thrown);
        wait = backoffDelay(this.#failures, this.#config.minDelayMs, this.#config.maxDelayMs, this.#random);
      }
      if (wait > 0) await this.#sleep(wait);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** One batch: true when more records are waiting right away. */
  async #cycle(): Promise<boolean> {
    const stream = this.#audit.stream;
    if (this.#cursor === undefined) {
      this.#cursor = this.#persisted = await readCursor(this.#db, stream, this.#audit.head.seq, this.#now());
    }
    const head = this.#audit.head.seq;
    // Records after the cursor that hold no decision (forward records, …) are not read twice.
    if (head <= Math.max(this.#cursor, this.#scannedThrough)) {
      this.#setBuffered(0);
      return false;
    }
    // Buffer bound: only possible when the stream advanced by more records than the bound.
    if (head - this.#cursor > this.#config.maxBufferedEvents) await this.#enforceBufferBound(head);

    const batch = await this.#nextBatch(head);
    if (!batch.events.length) {
      await this.#consume(batch);
      if (!batch.more) this.#scanned(batch.head);
      return batch.more;
    }
    if (this.#closed) return false; // no new upload once closing
    try {
      await this.#upload(batch.events, batch.bytes);
    } catch (thrown) {
      await this.#countBuffered(head).catch(() => {});
      throw thrown;
    }
    this.#uploads.ok++;
    this.#metrics.uploads.inc({ outcome: 'ok' });
    this.#shipped += batch.events.length;
    this.#metrics.shipped.inc(batch.events.length);
    this.#lastSuccessAt = this.#now();
    this.#lastError = undefined;
    this.#retry = undefined;
    await this.#consume(batch);
    if (!batch.more) this.#scanned(batch.head);
    return batch.more;
  }

  /** Everything up to `head` was shipped or dropped. */
  #scanned(head: number): void {
    this.#scannedThrough = head;
    this.#setBuffered(0);
  }

  /** Unshipped decisions of the stream up to `head`, newest last. */
  #pending(head: number) {
    return this.#db
      .selectFrom('audit_records')
      .where('stream', '=', this.#audit.stream)
      .where('kind', '=', 'request')
      .where('outcome', 'is not', null) // a request record holds a decision exactly when it has an outcome
      .where('seq', '>', this.#cursor!)
      .where('seq', '<=', head);
  }

  async #enforceBufferBound(head: number): Promise<void> {
    const bound = this.#config.maxBufferedEvents;
    const oldestKept = await this.#pending(head).select('seq').orderBy('seq', 'desc').limit(1).offset(bound).executeTakeFirst();
    if (!oldestKept) return;
    const through = Number(oldestKept.seq);
    const row = await this.#pending(through)
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    const n = Number(row.n);
    await this.#consume({ events: [], bytes: 0, throughSeq: through, dropped: { buffer_full: n, max_age: 0, oversized: 0 }, more: true, head });
  }

  async #nextBatch(head: number): Promise<Batch> {
    const cutoff = this.#now() - this.#config.maxAgeMs;
    // A retry sends the batch built for the first attempt (same events, no re-reading), unless
    // the cursor moved or one of its events has aged out meanwhile.
    const cached = this.#retry;
    if (cached && cached.fromSeq === this.#cursor && cached.oldestAtMs >= cutoff) return cached.batch;
    this.#retry = undefined;
    const max = this.#config.maxBatchBytes;
    const batch: Batch = { events: [], bytes: 2, throughSeq: this.#cursor!, dropped: { buffer_full: 0, max_age: 0, oversized: 0 }, more: false, head };
    let oldestAtMs = Infinity;
    let read = 0;
    // Small reads, so a batch bounded by bytes does not read (and parse) far beyond what it sends.
    for (let after = this.#cursor!; ; ) {
      const rows = await this.#pending(head).where('seq', '>', after).select(['seq', 'at_ms', 'body']).orderBy('seq').limit(CHUNK_SIZE).execute();
      for (const row of rows) {
        const seq = Number(row.seq);
        const atMs = Number(row.at_ms);
        after = seq;
        read++;
        if (atMs < cutoff) {
          batch.dropped.max_age++;
          batch.throughSeq = seq;
          continue;
        }
        const event = toDecisionLogEvent(parseRecord(row.body) as AuditRequestRecord, this.#eventOptions);
        if (!event) {
          batch.throughSeq = seq;
          continue;
        }
        const json = JSON.stringify(event);
        const size = Buffer.byteLength(json) + 1; // and its comma
        if (size + 2 > max) {
          batch.dropped.oversized++;
          batch.throughSeq = seq;
          this.#log?.warn({ decision_id: event.decision_id, bytes: size, max_batch_bytes: max }, 'decision-log event larger than a whole batch: dropped');
          continue;
        }
        if (batch.bytes + size > max) {
          batch.more = true;
          break;
        }
        batch.events.push(json);
        batch.bytes += size;
        batch.throughSeq = seq;
        oldestAtMs = Math.min(oldestAtMs, atMs);
      }
      if (batch.more) break;
      if (rows.length < CHUNK_SIZE) break;
      if (read >= PAGE_SIZE) {
        batch.more = true;
        break;
      }
    }
    if (batch.events.length) this.#retry = { fromSeq: this.#cursor!, oldestAtMs, batch };
    return batch;
  }

  async #upload(events: string[], bytes: number): Promise<void> {
    const body = await gzip(Buffer.from(`[${events.join(',')}]`), { level: 6 });
    const controller = new AbortController();
    this.#inflight = controller;
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(this.#config.timeoutMs)]);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      'user-agent': `sluice/${this.#eventOptions.version}`,
    };
    if (this.#config.bearerToken) headers.authorization = `Bearer ${this.#config.bearerToken}`;
    try {
      const response = await this.#fetch(this.#endpoint, { method: 'POST', headers, body, signal });
      // A 2xx is the acknowledgement: its body is not waited for (a collector could trickle it until the timeout).
      if (response.ok) {
        await response.body?.cancel().catch(() => {});
        return;
      }
      const text = await answerStart(response);
      throw new UploadError(`the collector answered ${response.status}${text ? `: ${text}` : ''} (${events.length} events, ${bytes} bytes)`, 'http_error');
    } catch (thrown) {
      const error =
        thrown instanceof UploadError
          ? thrown
          : signal.aborted && !controller.signal.aborted
            ? new UploadError(`no answer from the collector within ${this.#config.timeoutMs} ms`, 'timeout')
            : new UploadError(`cannot reach the collector: ${describe(thrown)}`, 'network_error');
      if (!this.#closed) {
        this.#uploads[error.outcome]++;
        this.#metrics.uploads.inc({ outcome: error.outcome });
      }
      throw error;
    } finally {
      this.#inflight = undefined;
    }
  }

  /** Moves the cursor past a batch and counts what it dropped. */
  async #consume(batch: Batch): Promise<void> {
    if (batch.throughSeq <= this.#cursor!) return;
    this.#cursor = batch.throughSeq;
    let counted = 0;
    for (const reason of ['buffer_full', 'max_age', 'oversized'] as const) {
      const n = batch.dropped[reason];
      if (!n) continue;
      counted += n;
      this.#dropped[reason] += n;
      this.#metrics.dropped.inc({ reason }, n);
    }
    if (counted) {
      this.#log?.warn(
        { stream: this.#audit.stream, dropped: batch.dropped, through_seq: batch.throughSeq, max_buffered_events: this.#config.maxBufferedEvents, max_age_ms: this.#config.maxAgeMs },
        `${counted} decision-log event(s) dropped without being shipped`,
      );
    }
    await this.#persist();
  }

  /** Writes the cursor; a failed write is retried with the next one (a restart may then resend). */
  async #persist(): Promise<void> {
    const stream = this.#audit.stream;
    const to = this.#cursor!;
    try {
      if (await advanceCursor(this.#db, stream, this.#persisted!, to, this.#now())) {
        this.#persisted = to;
        return;
      }
      const stored = await storedCursor(this.#db, stream);
      this.#log?.warn({ stream, stored, expected: this.#persisted, wanted: to }, 'the decision-log cursor was moved by another process: is another gateway using the same audit stream id?');
      this.#cursor = this.#persisted = stored ?? (await readCursor(this.#db, stream, to, this.#now()));
    } catch (thrown) {
      this.#log?.warn({ stream, seq: to, err: { message: describe(thrown) } }, 'cannot save the decision-log cursor; will retry');
    }
  }

  async #countBuffered(head: number): Promise<void> {
    if (this.#cursor === undefined) return;
    if (head <= this.#cursor) return this.#setBuffered(0);
    const row = await this.#db
      .selectFrom(this.#pending(head).select('seq').limit(this.#config.maxBufferedEvents + 1).as('pending'))
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    this.#setBuffered(Number(row.n));
  }

  #setBuffered(n: number): void {
    this.#buffered = n;
    this.#metrics.buffered.set(n);
  }

  #failed(thrown: unknown): void {
    this.#failures++;
    this.#lastError = describe(thrown);
    const now = this.#now();
    if (this.#failures === 1 || now - this.#lastFailureLogAt >= FAILURE_LOG_INTERVAL_MS) {
      this.#lastFailureLogAt = now;
      this.#log?.warn(
        { url: this.#endpoint, failures: this.#failures, buffered: this.#buffered, err: { type: thrown instanceof Error ? thrown.name : 'Error', message: this.#lastError } },
        'decision-log upload failed; retrying with backoff',
      );
    }
  }

  #recovered(): void {
    this.#log?.info({ url: this.#endpoint, failures: this.#failures }, 'decision-log uploads succeed again');
    this.#failures = 0;
  }

  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#wake = done;
    });
  }
}

/** The start of an error answer (its first chunk, at most 200 characters): the rest is not read. */
async function answerStart(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  try {
    const { value } = await reader.read();
    return value ? new TextDecoder().decode(value).slice(0, 200) : '';
  } catch {
    return '';
  } finally {
    reader.cancel().catch(() => {});
  }
}

function describe(thrown: unknown): string {
  if (thrown instanceof Error) {
    const cause = (thrown as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message ? `${thrown.message} (${cause.message})` : thrown.message || thrown.name;
  }
  return String(thrown);
}
