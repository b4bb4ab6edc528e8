// The per-value transforms behind each mask strategy. Each takes a non-null scalar in BigQuery's
// string form; nulls never reach them (a null stays null under every strategy). BigQuery's own
// rules (SHA256, DEFAULT_MASKING_VALUE, ...) live in bigquery-rules.ts; the gateway's older names
// (redact, hash, last-4, email-domain, null) stay accepted with their behaviour, which turns any
// value into STRING text (but `null`).
import type { Strategy } from '../../engine/schema-types.ts';
import { isBigQueryRule, ruleMasker, type RuleDigesters } from './bigquery-rules.ts';
import { MaskingError } from './errors.ts';

export type ValueMasker = (value: string) => string | null;

export const REDACTED = '[REDACTED]';

/**
 * The strictest strategy: every value becomes NULL, whatever its type. What a BigQuery policy tag
 * that maps to no masking rule gets.
 */
export const STRICTEST_STRATEGY = 'ALWAYS_NULL' satisfies Strategy;

/**
 * How much each strategy withholds, most first. When several masks cover the same value the
 * most restrictive one applies, so the outcome never depends on the order of the masks.
 *
 * BigQuery's rules slot in after the order BigQuery itself ranks them by (its "masking rule
 * hierarchy", where a reader under several data policies gets the most revealing one: SHA256,
 * EMAIL_MASK, LAST_FOUR_CHARACTERS, FIRST_FOUR_CHARACTERS, DATE_YEAR_MASK, DEFAULT_MASKING_VALUE,
 * ALWAYS_NULL); the gateway applies the other end of it. RANDOM_HASH shows equality within one
 * query only, so it withholds more than either hash that is stable across queries. Next to the
 * gateway's names: `hash` is keyed, so unlike SHA256 a guessed value cannot be checked against
 * it; `email-domain` redacts what EMAIL_MASK would hash; `last-4` shows at most half of a short
 * value where LAST_FOUR_CHARACTERS hashes it unkeyed (a 4-digit PIN is a 10 000-guess search).
 */
const RESTRICTIVENESS: Record<Strategy, number> = {
  ALWAYS_NULL: 13, // nothing, not even the value's length
  null: 12, // the same (kept below so the two never tie)
  redact: 11, // only whether it was null
  DEFAULT_MASKING_VALUE: 10, // only whether it was null (in the column's own type)
  DATE_YEAR_MASK: 9, // the year
  RANDOM_HASH: 8, // equality with other values of the same query
  hash: 7, // equality with other values, across queries
  'email-domain': 6, // the domain
  EMAIL_MASK: 5, // the domain; non-addresses hashed unkeyed
  FIRST_FOUR_CHARACTERS: 4, // the first four characters
  'last-4': 3, // the last characters (at most half) and the length
  LAST_FOUR_CHARACTERS: 2, // the last four characters; short values hashed unkeyed
  SHA256: 1, // equality across queries, and any value a guess can confirm
};

export function isStrategy(value: unknown): value is Strategy {
  return typeof value === 'string' && Object.hasOwn(RESTRICTIVENESS, value);
}

export function stricter(a: Strategy | undefined, b: Strategy | undefined): Strategy | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return RESTRICTIVENESS[b] > RESTRICTIVENESS[a] ? b : a;
}

/** Strategies under which a value becomes NULL whole (REPEATED: an empty array). */
export function nullsValues(strategy: Strategy | undefined): boolean {
  return strategy === 'null' || strategy === 'ALWAYS_NULL';
}

/**
 * The function for one strategy on a leaf of `type` (BigQuery's rules depend on it; the
 * gateway's names do not). For BigQuery's rules the caller has checked the type is allowed.
 */
export function valueMasker(strategy: Strategy, type: string, hash: (value: string) => string, digesters: RuleDigesters): ValueMasker {
  if (strategy === 'ALWAYS_NULL') return toNull;
  if (isBigQueryRule(strategy)) return ruleMasker(strategy, type, digesters);
  switch (strategy) {
    case 'redact':
      return redact;
    case 'hash':
      return hash;
    case 'last-4':
      return lastFour;
    case 'email-domain':
      return emailDomain;
    case 'null':
      return toNull;
    default:
      throw new MaskingError('invalid_mask', `unknown mask strategy ${JSON.stringify(strategy)}`);
  }
}

function redact(): string {
  return REDACTED;
}

function toNull(): null {
  return null;
}

/** `jane.doe@example.com` -> `***@example.com`; anything that is not an address is redacted. */
export function emailDomain(value: string): string {
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return REDACTED;
  const domain = value.slice(at + 1);
  return /\s/.test(domain) ? REDACTED : '***@' + domain;
}

/**
 * `123-45-6789` -> `***-**-6789`: letters and digits become `*` except the last four, separators
 * stay. Never reveals more than half of a value's letters and digits, so a short value (a PIN, a
 * 4-digit code) is not shown whole.
 */
export function lastFour(value: string): string {
  let total = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) return lastFourUnicode(value);
    if (isAsciiAlphanumeric(c)) total++;
  }
  let keep = Math.min(4, total >> 1);
  let cut = value.length;
  while (keep > 0) {
    cut--;
    if (isAsciiAlphanumeric(value.charCodeAt(cut))) keep--;
  }
  // Emit runs of stars and separators as slices rather than character by character.
  let out = '';
  let run = 0;
  for (let i = 0; i < cut; i++) {
    if (isAsciiAlphanumeric(value.charCodeAt(i))) {
      run++;
    } else {
      if (run > 0) out += stars(run);
      run = 0;
      out += value[i];
    }
  }
  if (run > 0) out += stars(run);
  return out + value.slice(cut);
}

const STARS = '*'.repeat(64);

function stars(n: number): string {
  return n <= STARS.length ? STARS.slice(0, n) : '*'.repeat(n);
}

// Marks (combining accents, vowel signs, viramas) count and are hidden like letters: left visible
// beside the letters kept they spelled out more than four characters of a word.
const ALPHANUMERIC = /[\p{L}\p{N}\p{M}]/u;

function isAsciiAlphanumeric(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** The same by code point, for text beyond ASCII (names, addresses in other scripts); marks count as characters. */
function lastFourUnicode(value: string): string {
  const chars = Array.from(value);
  let total = 0;
  for (const ch of chars) if (ALPHANUMERIC.test(ch)) total++;
  let toHide = total - Math.min(4, total >> 1);
  for (let i = 0; i < chars.length && toHide > 0; i++) {
    if (ALPHANUMERIC.test(chars[i]!)) {
      chars[i] = '*';
      toHide--;
    }
  }
  return chars.join('');
}
