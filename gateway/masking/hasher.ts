// Keyed pseudonymisation for the `hash` strategy: HMAC-SHA256 under a gateway-held key, so equal
// values give equal tokens across queries (joins and counts still work) while the key stays out of
// reach of anyone trying to reverse a token by hashing guesses. Also the digests of BigQuery's
// SHA256 rule (plain SHA-256, as BigQuery computes it) and RANDOM_HASH (HMAC under a salt drawn
// for each query job from the gateway's key and the job's id).
import { hash, randomBytes } from 'node:crypto';
import { MaskingError } from './errors.ts';

/** Token prefix: marks a value as pseudonymised, never a real value. */
export const HASH_PREFIX = 'hash:';
/** 24 hex characters = 96 bits: collisions stay negligible at billions of distinct values. */
const TOKEN_HEX_CHARS = 24;
const MIN_KEY_BYTES = 16;
const BLOCK = 64; // SHA-256 block size
/** Each memo generation holds this many entries; the previous generation is kept as a fallback. */
const MEMO_GENERATION_SIZE = 16_384;

export type HashKey = string | Uint8Array;

/**
 * Returns `value -> token`: HMAC-SHA256 under the key (hmacWith), memoised because masked columns
 * repeat values heavily (ids, emails, countries).
 */
export function createHasher(key: HashKey): (value: string) => string {
  const hmac = hmacWith(keyBytesOf(key), 'hex');
  return memo((value) => HASH_PREFIX + hmac(value, 'utf8').slice(0, TOKEN_HEX_CHARS));
}

/**
 * A digest of a value in BigQuery's REST text form: for STRING the SHA-256 of its UTF-8 bytes,
 * for BYTES (base64 text) the SHA-256 of the decoded bytes; both returned as base64 text, the
 * form BigQuery gives BYTES in REST and the text SHA256 masking gives a STRING column.
 */
export interface Digester {
  text(value: string): string;
  bytes(base64: string): string;
}

/** BigQuery's SHA256 rule: plain (unkeyed) SHA-256, so values match BigQuery's own SHA256(). */
export const sha256Digester: Digester = memoised({
  text: (value) => hash('sha256', value, 'base64'),
  bytes: (base64) => hash('sha256', Buffer.from(base64, 'base64'), 'base64'),
});

/**
 * RANDOM_HASH: HMAC-SHA256 under a salt that belongs to one query job, derived from the gateway's
 * key and the job's identity, so every page of the job agrees and another job (even the same
 * statement run again) gets other digests. Without a job identity the salt is random: the values
 * agree only within this one answer.
 */
export function createSaltedDigester(key: HashKey, job: string | undefined): Digester {
  const salt =
    job === undefined ? randomBytes(32) : Buffer.from(hmacWith(keyBytesOf(key), 'base64')(`sluice RANDOM_HASH salt\0${job}`, 'utf8'), 'base64');
  const hmac = hmacWith(salt, 'base64');
  return memoised({ text: (value) => hmac(value, 'utf8'), bytes: (base64) => hmac(base64, 'base64') });
}

function keyBytesOf(key: HashKey): Buffer {
  const keyBytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  if (keyBytes.length < MIN_KEY_BYTES) {
    throw new MaskingError('invalid_key', `hash key must be at least ${MIN_KEY_BYTES} bytes`);
  }
  return keyBytes;
}

/**
 * HMAC-SHA256 (RFC 2104) under `key` of a message given as text (UTF-8) or base64 (bytes),
 * returned in `out`: H(opad ‖ H(ipad ‖ m)) with one-shot `crypto.hash` calls into reused buffers,
 * about 2x faster than a `createHmac` object per value.
 */
function hmacWith(key: Buffer, out: 'hex' | 'base64'): (message: string, encoding: 'utf8' | 'base64') => string {
  const blockKey = Buffer.alloc(BLOCK);
  (key.length > BLOCK ? hash('sha256', key, 'buffer') : key).copy(blockKey);
  let inner = Buffer.alloc(BLOCK + 1024);
  const outer = Buffer.alloc(BLOCK + 32);
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = blockKey[i]! ^ 0x36;
    outer[i] = blockKey[i]! ^ 0x5c;
  }
  return (message, encoding) => {
    // Both encodings need at most 3 bytes per UTF-16 unit; grow before writing so nothing is truncated.
    if (message.length * 3 > inner.length - BLOCK) {
      const grown = Buffer.alloc(BLOCK + message.length * 3);
      inner.copy(grown, 0, 0, BLOCK);
      inner = grown;
    }
    const written = inner.write(message, BLOCK, encoding);
    // Hex out and back is cheaper than a 'buffer' digest, which allocates a Buffer per call.
    outer.write(hash('sha256', inner.subarray(0, BLOCK + written), 'hex'), BLOCK, 'hex');
    return hash('sha256', outer, out);
  };
}

/** Both functions behind the same two-generation memo as createHasher's (memo below). */
function memoised(digester: Digester): Digester {
  return { text: memo(digester.text), bytes: memo(digester.bytes) };
}

/**
 * Two-generation memo: an approximate LRU with O(1) upkeep and no per-hit reordering. It holds
 * recent plaintext values in process memory only, as the in-flight pages themselves do.
 */
function memo(compute: (value: string) => string): (value: string) => string {
  let young = new Map<string, string>();
  let old = new Map<string, string>();
  return (value: string): string => {
    let digest = young.get(value);
    if (digest !== undefined) return digest;
    digest = old.get(value) ?? compute(value);
    if (young.size >= MEMO_GENERATION_SIZE) {
      old = young;
      young = new Map();
    }
    young.set(value, digest);
    return digest;
  };
}
