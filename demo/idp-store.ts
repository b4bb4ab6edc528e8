// In-process storage for the local identity provider's stateful artifacts (sessions, interactions,
// authorization codes, grants). Agents' client-credentials tokens are self-contained JWTs and are
// never looked up here. One store outlives provider rebuilds (signing-key rotation), so a login
// session survives a rotation just as it would with a shared database.

interface Entry {
  payload: Record<string, unknown>;
  expiresAt: number; // epoch ms, Infinity when the artifact has no expiry
}

type Payload = Record<string, unknown> & { grantId?: string; uid?: string; userCode?: string };

export class IdpStore {
  readonly #entries = new Map<string, Entry>();

  adapterFor(model: string): IdpStoreAdapter {
    return new IdpStoreAdapter(model, this);
  }

  get(key: string): Payload | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.payload as Payload;
  }

  set(key: string, payload: Payload, expiresInSeconds: number | undefined): void {
    const expiresAt = typeof expiresInSeconds === 'number' ? Date.now() + expiresInSeconds * 1000 : Infinity;
    this.#entries.set(key, { payload, expiresAt });
    this.#sweep();
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  *entries(): Iterable<[string, Payload]> {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > Date.now()) yield [key, entry.payload as Payload];
    }
  }

  // Bounded memory for a long-running demo: drop expired artifacts now and then.
  #writes = 0;
  #sweep(): void {
    if (++this.#writes % 256 !== 0) return;
    const now = Date.now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }
}

/** The adapter shape oidc-provider expects (one instance per model name). */
export class IdpStoreAdapter {
  readonly model: string;
  readonly store: IdpStore;

  constructor(model: string, store: IdpStore) {
    this.model = model;
    this.store = store;
  }

  #key(id: string): string {
    return `${this.model}:${id}`;
  }

  async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    this.store.set(this.#key(id), payload, expiresIn);
  }

  async find(id: string): Promise<Payload | undefined> {
    return this.store.get(this.#key(id));
  }

  async findByUid(uid: string): Promise<Payload | undefined> {
    for (const [key, payload] of this.store.entries()) {
      if (key.startsWith(`${this.model}:`) && payload.uid === uid) return payload;
    }
    return undefined;
  }

  async findByUserCode(userCode: string): Promise<Payload | undefined> {
    for (const [key, payload] of this.store.entries()) {
      if (key.startsWith(`${this.model}:`) && payload.userCode === userCode) return payload;
    }
    return undefined;
  }

  async consume(id: string): Promise<void> {
    const payload = this.store.get(this.#key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    this.store.delete(this.#key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const [key, payload] of [...this.store.entries()]) {
      if (payload.grantId === grantId) this.store.delete(key);
    }
  }
}
