// How much of a replica's event loop each caller's decisions may take. Analysing and deciding a
// query runs on the one loop every caller shares, and its cost grows with the query: the widest
// texts the normalizer reads take seconds. A token bucket of milliseconds per identity: each
// decision's time is spent from it (it may go below zero: a decision under way always finishes),
// and a caller is refused while its bucket is empty, until it refills.

export interface DecisionBudgetConfig {
  /** Milliseconds a caller may spend at once. */
  burstMs: number;
  /** Milliseconds given back each second. */
  perSecondMs: number;
}

interface Bucket {
  level: number;
  at: number;
}

/** Buckets kept at most; past it, the full ones (callers that owe nothing) are dropped. */
const MAX_BUCKETS = 10_000;

export class DecisionBudget {
  readonly #config: DecisionBudgetConfig;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(config: DecisionBudgetConfig, now: () => number = () => performance.now()) {
    this.#config = config;
    this.#now = now;
  }

  /** Milliseconds until `caller` may be decided for again; 0 when it may now. */
  waitMs(caller: string): number {
    const level = this.#level(caller);
    return level > 0 ? 0 : Math.ceil(((1 - level) / this.#config.perSecondMs) * 1000);
  }

  /** Takes `ms` of decision time from `caller`'s bucket. */
  spend(caller: string, ms: number): void {
    const level = this.#level(caller) - ms;
    if (level >= this.#config.burstMs) return;
    if (!this.#buckets.has(caller) && this.#buckets.size >= MAX_BUCKETS) this.#dropFull();
    this.#buckets.set(caller, { level, at: this.#now() });
  }

  #level(caller: string): number {
    const bucket = this.#buckets.get(caller);
    if (bucket === undefined) return this.#config.burstMs;
    return Math.min(this.#config.burstMs, bucket.level + ((this.#now() - bucket.at) / 1000) * this.#config.perSecondMs);
  }

  #dropFull(): void {
    for (const caller of this.#buckets.keys()) if (this.#level(caller) >= this.#config.burstMs) this.#buckets.delete(caller);
  }
}
