// Bounded LRU for SQL analyses. Agents repeat the same queries; a hit must cost a map lookup,
// so cached values are deep-frozen and shared, never copied. Bounded both by entry count and
// by an estimated size, so a stream of long distinct texts cannot pin much memory.

interface Entry<V> {
  value: V;
  weight: number;
  /** The cache's insertion count when the entry was last (re)inserted. */
  inserted: number;
}

export class LruCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private readonly maxEntries: number;
  private readonly maxWeight: number;
  private weight = 0;
  private insertions = 0;

  constructor(maxEntries: number, maxWeight = Number.POSITIVE_INFINITY) {
    this.maxEntries = maxEntries;
    this.maxWeight = maxWeight;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    // Map iteration order is insertion order: re-inserting marks the entry most recent. Only an
    // entry in the older half moves: V8 leaves a deleted entry in its key's hash chain until the
    // map is rehashed, so moving a hot entry on every hit made each hit walk hundreds of them
    // (6 µs a lookup in a map of 3,000).
    if (this.insertions - entry.inserted >= (this.entries.size + 1) >> 1) {
      this.entries.delete(key);
      entry.inserted = ++this.insertions;
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  set(key: K, value: V, weight = 1): void {
    this.delete(key);
    if (weight > this.maxWeight) return;
    this.entries.set(key, { value, weight, inserted: ++this.insertions });
    this.weight += weight;
    while (this.entries.size > this.maxEntries || this.weight > this.maxWeight) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
    }
  }

  private delete(key: K): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.weight -= entry.weight;
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.weight = 0;
  }
}

/**
 * Which keys were seen once lately, by a 32-bit hash (FNV-1a): `admit` is false the first time a
 * key comes and true the next. Starts over when it holds `capacity` keys. A collision only admits
 * a key one sight early.
 */
export class Doorkeeper {
  private readonly seen = new Set<number>();
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  admit(key: string): boolean {
    let hash = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
    if (this.seen.delete(hash)) return true;
    if (this.seen.size >= this.capacity) this.seen.clear();
    this.seen.add(hash);
    return false;
  }

  clear(): void {
    this.seen.clear();
  }
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

/**
 * A small number standing for an object's identity, for cache keys. Objects are compared by
 * identity: a caller that changes a schemas object in place must pass a new one instead.
 */
export function identityKey(value: object | undefined): number {
  if (value === undefined) return 0;
  let id = objectIds.get(value);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(value, id);
  }
  return id;
}
