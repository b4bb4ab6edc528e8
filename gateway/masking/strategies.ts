// The per-value transforms behind each mask strategy. Each takes a non-null scalar in BigQuery's
// string form; nulls never reach them (a null stays null under every strategy).
import type { Strategy } from '../../engine/schema-types.ts';
import { MaskingError } from './errors.ts';

export type ValueMasker = (value: string) => string | null;

export const REDACTED = '[REDACTED]';

/**
 * How much each strategy withholds, most first. When several masks cover the same value the
 * most restrictive one applies, so the outcome never depends on the order of the masks.
 */
const RESTRICTIVENESS: Record<Strategy, number> = {
  null: 5, // nothing, not even the value's length
  redact: 4, // only whether it was null
  hash: 3, // equality with other values
  'email-domain': 2, // the domain
  'last-4': 1, // the last characters and the length
};

export function isStrategy(value: unknown): value is Strategy {
  return typeof value === 'string' && Object.hasOwn(RESTRICTIVENESS, value);
}

export function stricter(a: Strategy | undefined, b: Strategy | undefined): Strategy | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return RESTRICTIVENESS[b] > RESTRICTIVENESS[a] ? b : a;
}

export function valueMasker(strategy: Strategy, hash: (value: string) => string): ValueMasker {
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

const ALPHANUMERIC = /[\p{L}\p{N}]/u;

function isAsciiAlphanumeric(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** The same by code point, for text beyond ASCII (names, addresses in other scripts). */
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
