// Client libraries retry a 502 for minutes (the Python client re-issues the whole query after
// that), so an upstream that keeps answering garbage would see every caller's retries. After
// an answer the gateway could not use, the same caller's calls through the same connection are
// refused at once for a while, doubling on each further fault; one usable answer clears it.
// Per caller, so one caller's failing query never holds anyone else back.
import { callerKey } from '../auth/caller-key.ts';
import { BigQueryError } from '../bigquery/errors.ts';
import { UpstreamFault } from './answers.ts';

/** Doublings of the first wait at most (64 times it). */
const MAX_DOUBLINGS = 6;
/** Callers tracked at once; the oldest entries go first beyond this. */
const MAX_ENTRIES = 10_000;

interface Entry {
  until: number;
  faults: number;
  problem: string;
}

/** The callers of one connection waiting out a fault, by caller key. */
export class FaultBackoff {
  readonly #connection: string;
  readonly #baseMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(connection: string, seconds: number, now: () => number = Date.now) {
    this.#connection = connection;
    this.#baseMs = seconds * 1000;
    this.#now = now;
  }

  /** Throws a 503 (with Retry-After) while `caller` waits out a fault. */
  check(caller: string): void {
    const entry = this.#entries.get(caller);
    if (!entry) return;
    const left = entry.until - this.#now();
    if (left <= 0) return;
    const seconds = Math.ceil(left / 1000);
    throw new BigQueryError(
      503,
      'backendError',
      `sluice is not sending your calls to BigQuery (connection ${this.#connection}) for ${seconds} more s: its last answer to you could not be used (${entry.problem}). Retry later.`,
      { headers: { 'retry-after': String(seconds) } },
    );
  }

  failed(caller: string, problem: string): void {
    if (this.#baseMs <= 0) return;
    const faults = (this.#entries.get(caller)?.faults ?? 0) + 1;
    this.#entries.delete(caller); // re-inserted last: the map's order is its age
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    const wait = this.#baseMs * 2 ** Math.min(faults - 1, MAX_DOUBLINGS);
    this.#entries.set(caller, { until: this.#now() + wait, faults, problem: problem.slice(0, 200) });
  }

  succeeded(caller: string): void {
    if (this.#entries.size > 0) this.#entries.delete(caller);
  }

  /**
   * `work` on behalf of `identity`: refused at once while it waits out a fault, and its unusable
   * answer (an UpstreamFault) counted against it, after `onFault` is told of it.
   */
  async through<T>(identity: { issuer: string; subject: string }, work: () => Promise<T>, onFault?: (fault: UpstreamFault) => void): Promise<T> {
    const caller = callerKey(identity);
    this.check(caller);
    try {
      const out = await work();
      this.succeeded(caller);
      return out;
    } catch (error) {
      if (error instanceof UpstreamFault) {
        this.failed(caller, error.message);
        onFault?.(error);
      }
      throw error;
    }
  }
}
