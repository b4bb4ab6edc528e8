// Wake-ups for callers held open until their approval request is decided. A decision made by
// this process wakes its waiters at once; one made by another replica is seen by the waiter's
// own polling of the database, so holding works without a shared message bus.

type Wake = () => void;

export class DecisionWaiters {
  readonly #waiting = new Map<string, Set<Wake>>();
  #closed = false;

  /** Wakes everyone waiting on the request (they re-read it from the database). */
  notify(requestId: string): void {
    for (const wake of this.#waiting.get(requestId) ?? []) wake();
  }

  /**
   * Resolves after `ms`, on a notification for the request, on abort or on close, whichever
   * comes first. Never rejects: the caller re-checks the database and its own deadline.
   */
  sleep(requestId: string, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const set = this.#waiting.get(requestId) ?? new Set<Wake>();
      this.#waiting.set(requestId, set);
      const done: Wake = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0 && this.#waiting.get(requestId) === set) this.#waiting.delete(requestId);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
    for (const set of [...this.#waiting.values()]) for (const wake of [...set]) wake();
  }
}
