// Each replica's in-memory copy of the restricted principals (disabled, or sessions revoked), so a
// request never waits on the database for it. A poll reads the shared change counter every
// pollIntervalMs and reloads the set only when it moved; a set that could not be refreshed for
// maxStalenessMs is stale, and a stale set refuses every request (fail closed).
import type { PrincipalStatus, PrincipalStatusStore } from './status-store.ts';

export interface DisabledSetOptions {
  pollIntervalMs: number;
  maxStalenessMs: number;
  now?: () => number;
  /** Told once when refreshing starts failing (and once when it recovers: error undefined). */
  onRefresh?: (error: Error | undefined) => void;
}

export interface DisabledSetStatus {
  version: number;
  restricted: number;
  refreshed_at: string | null;
  stale: boolean;
}

const key = (issuer: string, subject: string) => `${issuer}\n${subject}`;

export class DisabledSet {
  readonly #store: PrincipalStatusStore;
  readonly #o: Required<Omit<DisabledSetOptions, 'onRefresh'>> & Pick<DisabledSetOptions, 'onRefresh'>;
  #entries = new Map<string, PrincipalStatus>();
  #version = -1;
  #refreshedAt: number | undefined;
  #failing = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Bumped by note(): a reload read before a local change must not undo it. */
  #noted = 0;

  constructor(store: PrincipalStatusStore, options: DisabledSetOptions) {
    this.#store = store;
    this.#o = { now: Date.now, ...options };
  }

  /** Loads the set (the gateway starts with a current one) and keeps polling. */
  async start(): Promise<void> {
    await this.refresh();
    this.#schedule();
  }

  lookup(issuer: string, subject: string): PrincipalStatus | undefined {
    return this.#entries.get(key(issuer, subject));
  }

  /** True when the set was not refreshed within maxStalenessMs. */
  get stale(): boolean {
    return this.#refreshedAt === undefined || this.#o.now() - this.#refreshedAt > this.#o.maxStalenessMs;
  }

  /** Milliseconds since the last successful refresh (Infinity before the first). */
  get ageMs(): number {
    return this.#refreshedAt === undefined ? Infinity : this.#o.now() - this.#refreshedAt;
  }

  get size(): number {
    return [...this.#entries.values()].filter((s) => s.disabled).length;
  }

  /** A change this replica just committed: effective here at once, before the next poll. */
  note(status: PrincipalStatus): void {
    this.#noted++;
    if (status.disabled || status.notBeforeMs !== null) this.#entries.set(key(status.issuer, status.subject), status);
    else this.#entries.delete(key(status.issuer, status.subject));
  }

  status(): DisabledSetStatus {
    return {
      version: this.#version,
      restricted: this.#entries.size,
      refreshed_at: this.#refreshedAt === undefined ? null : new Date(this.#refreshedAt).toISOString(),
      stale: this.stale,
    };
  }

  /** One poll: the counter, and the set when the counter moved. */
  async refresh(): Promise<void> {
    try {
      const noted = this.#noted;
      const version = await this.#store.version();
      if (version !== this.#version) {
        const loaded = await this.#store.restricted();
        // A change noted meanwhile may be newer than what was read: keep it, reload next time.
        if (this.#noted === noted) {
          this.#entries = new Map(loaded.statuses.map((s) => [key(s.issuer, s.subject), s]));
          this.#version = loaded.version;
        }
      }
      this.#refreshedAt = this.#o.now();
      if (this.#failing) {
        this.#failing = false;
        this.#o.onRefresh?.(undefined);
      }
    } catch (error) {
      if (!this.#failing) {
        this.#failing = true;
        this.#o.onRefresh?.(error as Error);
      }
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      void this.refresh().finally(() => this.#schedule());
    }, this.#o.pollIntervalMs);
    this.#timer.unref();
  }
}
