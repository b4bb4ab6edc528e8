// A small time-bounded cache whose concurrent misses for one key share a single load.
export class TtlCache<V> {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #entries = new Map<string, { value: V; expires: number }>();
  readonly #loading = new Map<string, Promise<V>>();

  constructor(ttlSeconds: number, max = 10_000) {
    this.#ttlMs = ttlSeconds * 1000;
    this.#max = max;
  }

  get enabled(): boolean {
    return this.#ttlMs > 0;
  }

  /** The fresh value under `key`, without loading it. */
  peek(key: string): V | undefined {
    const entry = this.#entries.get(key);
    return entry && entry.expires > Date.now() ? entry.value : undefined;
  }

  async get(key: string, load: () => Promise<V>): Promise<{ value: V; hit: boolean }> {
    if (!this.enabled) return { value: await load(), hit: false };
    const entry = this.#entries.get(key);
    if (entry && entry.expires > Date.now()) return { value: entry.value, hit: true };
    let pending = this.#loading.get(key);
    if (!pending) {
      pending = load().then(
        (value) => {
          this.#loading.delete(key);
          if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
          this.#entries.set(key, { value, expires: Date.now() + this.#ttlMs });
          return value;
        },
        (error: unknown) => {
          this.#loading.delete(key);
          throw error;
        },
      );
      this.#loading.set(key, pending);
    }
    return { value: await pending, hit: false };
  }

  clear(): void {
    this.#entries.clear();
  }
}
