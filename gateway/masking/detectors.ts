// Content scan: a backstop for sensitive values in columns the policy did not flag (free text,
// comments, JSON blobs). Only the matched substring is masked, so the rest of the text stays
// useful; under `null` and ALWAYS_NULL a substring cannot be nulled, so the whole value becomes
// null. BigQuery's rules apply to the matched text as to a STRING value (DEFAULT_MASKING_VALUE:
// the match is replaced by '', a STRING's default); DATE_YEAR_MASK, which masks no text, is refused.
import type { ContentScan, Strategy } from '../../engine/schema-types.ts';
import { emailMask, firstFourCharacters, lastFourCharacters, type RuleDigesters } from './bigquery-rules.ts';
import { MaskingError } from './errors.ts';
import { createSaltedDigester, sha256Digester } from './hasher.ts';
import { REDACTED, emailDomain, lastFour, nullsValues } from './strategies.ts';

export type Detector = ContentScan['detectors'][number];

export const DETECTORS: readonly Detector[] = ['ssn', 'card', 'email', 'phone'];

/**
 * What an address's local part holds besides dots: letters, digits, `_`, `%`, `+`, `-` and `'`
 * (RFC 5322 allows a few more, which in text more often join an address to a URL around it), and
 * Latin, Greek and Cyrillic letters.
 */
const LOCAL = String.raw`\w%+'\u00c0-\u024f\u0370-\u052f-`;
/** A domain label: letters and digits (of any script), hyphens inside. */
const LABEL = String.raw`[A-Za-z0-9\u00c0-\uffff](?:[A-Za-z0-9\u00c0-\uffff-]*[A-Za-z0-9\u00c0-\uffff])?`;

// Each pattern refuses to start or end inside a longer run of word characters, so it never
// matches a slice of a bigger number or identifier.
const PATTERNS: Record<Detector, string> = {
  // Local part anchored at its start (the lookbehind, over the same characters as the local
  // part, so a run has one start) keeps scanning linear on long tokens. The local part may start
  // with any of its characters (`_jane`, `o'brien`, `jöhn`, `иван`); the domain may have
  // internationalised labels (`bücher.de`, `почта.рф`) and top-level domains, also in punycode
  // (`xn--p1ai`).
  email: String.raw`(?<![${LOCAL}.])[${LOCAL}][${LOCAL}.]*@${LABEL}(?:\.${LABEL})*\.(?:[A-Za-z]{2,24}|xn--[A-Za-z0-9-]{1,59}|[\u00c0-\uffff]{2,24})(?![\w-])`,
  // 13-19 digits, single spaces or dashes allowed between them, issuer digit 2-6 (which also
  // keeps epoch-microsecond strings, starting with 1, out); Luhn is checked on each match.
  card: String.raw`(?<![\w.+-])[2-6](?:[ -]?\d){12,18}(?![\w]|[ .-]?\d)`,
  // Area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
  ssn: String.raw`(?<![\w-])(?!000|666|9)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w]|-\d)`,
  // NANP needs separators or a parenthesised area code, so a bare 10-digit integer is not a
  // phone and a date (4-2-2) never fits; E.164 needs its leading `+`.
  phone: String.raw`(?<![\w.+-])(?:(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}|\+[1-9](?:[ .-]?\d){7,14})(?![\w]|[.-]?\d)`,
};

/** Digits a match needs at the least (email needs an `@` instead). */
const MIN_DIGITS: Record<Detector, number> = {
  email: Infinity,
  card: 13,
  ssn: 9,
  phone: 8, // E.164's shortest; NANP has 10
};

const ND = /\p{Nd}/u;
const DASH = /[\p{Pd}\u2212\uFE63\uFF0D]/u;
const SPACE = /\p{Zs}/u;
const INVISIBLE = /[\p{Cf}\p{Mn}\p{Me}]/u;
const folds = new Map<number, string>();

/**
 * What a non-ASCII character reads as, for the patterns: a decimal digit of any script
 * (fullwidth `１`, Arabic-Indic `١`, mathematical `𝟏`) is its ASCII digit, a dash or a minus sign
 * `-`, a space ` `, a compatibility form that is one ASCII character (fullwidth `＠`, `（`) that
 * character; an invisible character (zero-width, soft hyphen, combining mark) is nothing. A
 * reader sees the same value in either spelling, so the scan does too.
 */
function fold(cp: number): string {
  let folded = folds.get(cp);
  if (folded === undefined) {
    const char = String.fromCodePoint(cp);
    const compat = char.normalize('NFKC');
    if (ND.test(char)) {
      // Unicode encodes every script's digits as whole runs 0-9, so a digit's value is its
      // distance from the start of its run, modulo 10 (some runs of digits follow each other).
      let start = cp;
      while (ND.test(String.fromCodePoint(start - 1))) start--;
      folded = String((cp - start) % 10);
    } else if (DASH.test(char)) folded = '-';
    else if (SPACE.test(char)) folded = ' ';
    else if (INVISIBLE.test(char)) folded = '';
    else if (compat.length === 1 && compat.charCodeAt(0) < 0x80) folded = compat;
    else folded = char;
    if (folds.size < 65_536) folds.set(cp, folded);
  }
  return folded;
}

const NON_ASCII = /[^\x00-\x7f]/gu;

/**
 * The text as the patterns read it (see `fold`), with where each of its characters starts in
 * `text`: no character folds into more code units than it has, so when the lengths agree each
 * kept its place (the usual case: accented letters fold to themselves), and `starts` is omitted.
 */
function folded(text: string): { text: string; starts?: number[] } {
  const out = text.replace(NON_ASCII, (char) => fold(char.codePointAt(0)!));
  if (out.length === text.length) return { text: out };
  const starts: number[] = [];
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    for (let k = cp < 0x80 ? 1 : fold(cp).length; k > 0; k--) starts.push(i);
    i += width;
  }
  return { text: out, starts };
}

/**
 * A cheap pass that lets most values (names, codes, short numbers) skip the regex entirely:
 * false when the text, folded, has too few digits and no `@`; 'folded' when it may hold a
 * match and has non-ASCII characters, so the patterns must read it folded. Kept small, for ASCII.
 */
function isCandidate(text: string, minDigits: number, wantsAt: boolean): boolean | 'folded' {
  let digits = 0;
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits >= minDigits) break;
    } else if (c === 64 && wantsAt) {
      break;
    } else if (c >= 0x80) {
      return isFoldedCandidate(text, minDigits, wantsAt) && 'folded';
    }
  }
  if (i === text.length) return false;
  while (++i < text.length) if (text.charCodeAt(i) >= 0x80) return 'folded';
  return true;
}

/** isCandidate for a text with non-ASCII characters, each read folded. */
function isFoldedCandidate(text: string, minDigits: number, wantsAt: boolean): boolean {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0x80) {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      c = fold(cp).charCodeAt(0);
    }
    if ((c >= 48 && c <= 57 && ++digits >= minDigits) || (c === 64 && wantsAt)) return true;
  }
  return false;
}

export type DetectionCounts = Record<Detector, number>;

export function emptyDetectionCounts(): DetectionCounts {
  return { ssn: 0, card: 0, email: 0, phone: 0 };
}

export interface ContentScanner {
  /** Masks every detected value inside `text`; returns `text` itself when nothing was found. */
  scan(text: string): string | null;
  /** Matches since the scanner was made, per detector. */
  readonly counts: DetectionCounts;
  readonly strategy: Strategy;
}

export function compileContentScanner(
  config: ContentScan,
  hash: (value: string) => string,
  digesters: RuleDigesters = { sha256: sha256Digester, random: () => unsaltedRandom() },
): ContentScanner {
  const enabled = DETECTORS.filter((d) => config.detectors.includes(d));
  for (const d of config.detectors) {
    if (!DETECTORS.includes(d)) throw new MaskingError('invalid_mask', `unknown detector ${JSON.stringify(d)}`);
  }
  if (enabled.length === 0) throw new MaskingError('invalid_mask', 'content scan without detectors');
  const pattern = new RegExp(enabled.map((d) => `(?<${d}>${PATTERNS[d]})`).join('|'), 'g');
  const minDigits = Math.min(...enabled.map((d) => MIN_DIGITS[d]));
  const wantsAt = enabled.includes('email');
  const counts = emptyDetectionCounts();
  const replaceMatch = replacementFor(config.strategy, hash, digesters);

  const detectorOf = (groups: Record<string, string | undefined>, match: string): Detector | undefined => {
    for (const d of enabled) {
      if (groups[d] !== undefined) return d === 'card' && !passesLuhn(match) ? undefined : d;
    }
    return undefined;
  };

  const replacer = (match: string, ...rest: unknown[]): string => {
    const d = detectorOf(rest[rest.length - 1] as Record<string, string | undefined>, match);
    if (d === undefined) return match;
    counts[d]++;
    return replaceMatch(match, d);
  };

  const scanForNull = (text: string): string | null => {
    let found = false;
    for (const m of text.matchAll(pattern)) {
      const d = detectorOf(m.groups!, m[0]);
      if (d !== undefined) {
        counts[d]++;
        found = true;
      }
    }
    return found ? null : text;
  };

  /** Matches found in the folded text replace what they cover in the text as written. */
  const scanFolded = (text: string, view: { text: string; starts?: number[] }): string | null => {
    if (nullsValues(config.strategy)) return scanForNull(view.text) === null ? null : text;
    const at = (i: number) => (view.starts ? (i < view.starts.length ? view.starts[i]! : text.length) : i);
    let out = '';
    let from = 0;
    view.text.replace(pattern, (match: string, ...rest: unknown[]) => {
      const d = detectorOf(rest[rest.length - 1] as Record<string, string | undefined>, match);
      if (d !== undefined) {
        counts[d]++;
        const offset = rest[rest.length - 3] as number;
        const start = at(offset);
        const end = at(offset + match.length);
        out += text.slice(from, start) + replaceMatch(text.slice(start, end), d);
        from = end;
      }
      return '';
    });
    return from === 0 ? text : out + text.slice(from);
  };

  return {
    counts,
    strategy: config.strategy,
    scan(text: string): string | null {
      const candidate = isCandidate(text, minDigits, wantsAt);
      if (candidate === false) return text;
      if (candidate === 'folded') return scanFolded(text, folded(text));
      if (nullsValues(config.strategy)) return scanForNull(text);
      return text.replace(pattern, replacer);
    },
  };
}

function replacementFor(
  strategy: Strategy,
  hash: (value: string) => string,
  digesters: RuleDigesters,
): (match: string, detector: Detector) => string {
  const sha256 = digesters.sha256.text;
  switch (strategy) {
    case 'redact':
    case 'null': // whole-value; handled before any replacement
    case 'ALWAYS_NULL':
      return () => REDACTED;
    case 'hash':
      return (match) => hash(match);
    case 'last-4':
      return (match) => lastFour(match);
    case 'email-domain':
      return (match, detector) => (detector === 'email' ? emailDomain(match) : REDACTED);
    case 'SHA256':
      return sha256;
    case 'RANDOM_HASH':
      return digesters.random().text;
    case 'DEFAULT_MASKING_VALUE':
      return () => '';
    case 'LAST_FOUR_CHARACTERS':
      return (match) => lastFourCharacters(match, sha256);
    case 'FIRST_FOUR_CHARACTERS':
      return (match) => firstFourCharacters(match, sha256);
    case 'EMAIL_MASK':
      return (match) => emailMask(match, sha256);
    case 'DATE_YEAR_MASK':
      throw new MaskingError('invalid_mask', 'DATE_YEAR_MASK masks DATE, DATETIME and TIMESTAMP values, not text: it cannot be the content scan strategy');
    default:
      throw new MaskingError('invalid_mask', `unknown content scan strategy ${JSON.stringify(strategy)}`);
  }
}

/** Without a query's digesters (the audit trail's scrubber), RANDOM_HASH gets a random salt. */
function unsaltedRandom() {
  return createSaltedDigester(new Uint8Array(16), undefined);
}

export function passesLuhn(text: string): boolean {
  let sum = 0;
  let double = false;
  let digits = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) continue;
    digits++;
    let d = c;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits >= 13 && digits <= 19 && sum % 10 === 0;
}
