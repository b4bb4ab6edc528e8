// BigQuery's data masking rules, by BigQuery's names and with its semantics, type by type
// (https://cloud.google.com/bigquery/docs/column-data-masking-intro#masking_options, and the
// DataMaskingPolicy.PredefinedExpression reference of the BigQuery Data Policy API). Values come
// and go in BigQuery's REST text form, and keep their column's type: a client that parses cells
// by declared type reads a masked INT64 as an INT64.
//
// Where BigQuery's text leaves a choice open, the choice made here:
// - SHA256 on STRING returns the digest as base64 text. BigQuery says the rule is type-preserving
//   (a STRING column's hash is a STRING) and is computed by its SHA256 function, which returns
//   BYTES; base64 is the text BigQuery gives BYTES everywhere (REST, CAST to STRING in the console's
//   rendering), so the 32 digest bytes become 44 base64 characters. On BYTES: the digest bytes
//   themselves (base64 in REST, as BigQuery sends every BYTES value). Unkeyed, as BigQuery's.
// - "Characters" are Unicode code points, as BigQuery's LENGTH and SUBSTR count STRING values.
// - EMAIL_MASK's "syntax-valid email address" is RFC 5322's addr-spec without comments or folding
//   whitespace: a dot-atom or quoted local part, `@`, and a host name (letters, digits, hyphens in
//   dot-separated labels) or an address literal in brackets. Anything else is hashed (SHA256), as
//   BigQuery documents. Addresses with characters beyond ASCII count as invalid, so are hashed.
// - DEFAULT_MASKING_VALUE on JSON is SQL NULL (BigQuery lists "JSON: NULL" among SQL literals such
//   as FALSE), so a REQUIRED JSON column is declared NULLABLE. BigQuery lists no default for
//   INTERVAL or RANGE: the rule is refused on them.
// - TIMESTAMP values are rewritten in the form they came in: epoch microseconds (formatOptions.
//   useInt64Timestamp), epoch seconds as a decimal or in E notation (BigQuery's default form), or
//   ISO text (some servers).
import { MaskingError } from './errors.ts';
import type { Digester } from './hasher.ts';

export const BIGQUERY_RULES = [
  'SHA256',
  'ALWAYS_NULL',
  'DEFAULT_MASKING_VALUE',
  'LAST_FOUR_CHARACTERS',
  'FIRST_FOUR_CHARACTERS',
  'EMAIL_MASK',
  'DATE_YEAR_MASK',
  'RANDOM_HASH',
] as const;
export type BigQueryRule = (typeof BIGQUERY_RULES)[number];

const RULES: ReadonlySet<string> = new Set(BIGQUERY_RULES);

export function isBigQueryRule(strategy: unknown): strategy is BigQueryRule {
  return typeof strategy === 'string' && RULES.has(strategy);
}

/** A result schema's type name in REST spelling (INT64 -> INTEGER, STRUCT -> RECORD, ...). */
export function restType(type: string): string {
  const upper = type.toUpperCase();
  return TYPE_ALIASES[upper] ?? upper;
}

const TYPE_ALIASES: Record<string, string> = {
  INT64: 'INTEGER',
  FLOAT64: 'FLOAT',
  BOOL: 'BOOLEAN',
  STRUCT: 'RECORD',
  DECIMAL: 'NUMERIC',
  BIGDECIMAL: 'BIGNUMERIC',
};

/** The types each rule applies to (REST spelling); `any` for ALWAYS_NULL. */
const ALLOWED: Record<BigQueryRule, readonly string[] | 'any'> = {
  SHA256: ['STRING', 'BYTES'],
  RANDOM_HASH: ['STRING', 'BYTES'],
  ALWAYS_NULL: 'any',
  DEFAULT_MASKING_VALUE: ['STRING', 'BYTES', 'INTEGER', 'NUMERIC', 'BIGNUMERIC', 'FLOAT', 'BOOLEAN', 'DATE', 'DATETIME', 'TIME', 'TIMESTAMP', 'GEOGRAPHY', 'JSON'],
  LAST_FOUR_CHARACTERS: ['STRING'],
  FIRST_FOUR_CHARACTERS: ['STRING'],
  EMAIL_MASK: ['STRING'],
  DATE_YEAR_MASK: ['DATE', 'DATETIME', 'TIMESTAMP'],
};

/** Whether BigQuery allows `rule` on a leaf of `type` (a scalar type; ARRAY and STRUCT are handled by the plan). */
export function ruleAllows(rule: BigQueryRule, type: string): boolean {
  const allowed = ALLOWED[rule];
  return allowed === 'any' || allowed.includes(restType(type));
}

/** "STRING and BYTES", for refusals. */
export function allowedTypes(rule: BigQueryRule): string {
  const allowed = ALLOWED[rule];
  if (allowed === 'any') return 'every type';
  return allowed.length === 1 ? allowed[0]! : `${allowed.slice(0, -1).join(', ')} and ${allowed[allowed.length - 1]}`;
}

export interface RuleDigesters {
  sha256: Digester;
  /** The query's RANDOM_HASH digester (made on first use). */
  random: () => Digester;
}

/**
 * The function masking one non-null value of a leaf of `type` under `rule`. The caller has
 * checked `ruleAllows`. ALWAYS_NULL (and DEFAULT_MASKING_VALUE on JSON) never reach here: the
 * plan nulls those values without looking at them.
 */
export function ruleMasker(rule: BigQueryRule, type: string, digesters: RuleDigesters): (value: string) => string {
  const t = restType(type);
  switch (rule) {
    case 'SHA256':
      return t === 'BYTES' ? digesters.sha256.bytes : digesters.sha256.text;
    case 'RANDOM_HASH': {
      const random = digesters.random();
      return t === 'BYTES' ? random.bytes : random.text;
    }
    case 'LAST_FOUR_CHARACTERS':
      return (value) => lastFourCharacters(value, digesters.sha256.text);
    case 'FIRST_FOUR_CHARACTERS':
      return (value) => firstFourCharacters(value, digesters.sha256.text);
    case 'EMAIL_MASK':
      return (value) => emailMask(value, digesters.sha256.text);
    case 'DATE_YEAR_MASK':
      return dateYearMask(t);
    case 'DEFAULT_MASKING_VALUE':
      return defaultMaskingValue(t);
    case 'ALWAYS_NULL':
    default:
      throw new MaskingError('invalid_mask', `no value masker for ${rule} on ${type}`);
  }
}

const HIDDEN = 'XXXXX';

/** Whether `value` holds UTF-16 surrogates (a code point beyond the BMP counts as one character). */
const SURROGATE = /[\uD800-\uDFFF]/;

/** `XXXXX` and the last four characters; four characters or fewer are hashed (SHA256). */
export function lastFourCharacters(value: string, sha256: (value: string) => string): string {
  if (!SURROGATE.test(value)) return value.length > 4 ? HIDDEN + value.slice(-4) : sha256(value);
  const chars = Array.from(value);
  return chars.length > 4 ? HIDDEN + chars.slice(-4).join('') : sha256(value);
}

/** The first four characters and `XXXXX`; four characters or fewer are hashed (SHA256). */
export function firstFourCharacters(value: string, sha256: (value: string) => string): string {
  if (!SURROGATE.test(value)) return value.length > 4 ? value.slice(0, 4) + HIDDEN : sha256(value);
  const chars = Array.from(value);
  return chars.length > 4 ? chars.slice(0, 4).join('') + HIDDEN : sha256(value);
}

// RFC 5322 addr-spec, without comments and folding whitespace (see the header).
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
const LOCAL = `(?:${ATEXT}+(?:\\.${ATEXT}+)*|"(?:[\\x20\\x21\\x23-\\x5B\\x5D-\\x7E]|\\\\[\\x20-\\x7E])*")`;
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DOMAIN = `(?:${LABEL}(?:\\.${LABEL})*|\\[[\\x21-\\x5A\\x5E-\\x7E]*\\])`;
const EMAIL = new RegExp(`^${LOCAL}@(${DOMAIN})$`);

/** `cloudysanfrancisco@gmail.com` -> `XXXXX@gmail.com`; anything that is not an address is hashed (SHA256). */
export function emailMask(value: string, sha256: (value: string) => string): string {
  const match = EMAIL.exec(value);
  return match ? HIDDEN + '@' + match[1] : sha256(value);
}

/** DATE_YEAR_MASK: the value truncated to 1 January of its year (TIMESTAMP: in UTC), same type. */
function dateYearMask(type: string): (value: string) => string {
  switch (type) {
    case 'DATE':
      return (value) => `${year(value, type)}-01-01`;
    case 'DATETIME':
      return (value) => `${year(value, type)}-01-01${value[10] === ' ' ? ' ' : 'T'}00:00:00`;
    case 'TIMESTAMP':
      return (value) => {
        const form = timestampForm(value);
        return timestampText(yearStart(epochSeconds(value, form)), form, value);
      };
    default:
      throw new MaskingError('invalid_mask', `DATE_YEAR_MASK does not apply to ${type}`);
  }
}

function year(value: string, type: string): string {
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) throw new MaskingError('row_shape', `a ${type} value is not in BigQuery's form`);
  return value.slice(0, 4);
}

/** DEFAULT_MASKING_VALUE: the type's default, in REST text form. */
function defaultMaskingValue(type: string): (value: string) => string {
  const constant = DEFAULTS[type];
  if (constant !== undefined) return () => constant;
  if (type === 'TIMESTAMP') return (value) => timestampText(0, timestampForm(value), value);
  throw new MaskingError('invalid_mask', `DEFAULT_MASKING_VALUE has no default for ${type}`);
}

const DEFAULTS: Record<string, string> = {
  STRING: '',
  BYTES: '', // b'' in base64
  INTEGER: '0',
  NUMERIC: '0',
  BIGNUMERIC: '0',
  FLOAT: '0.0',
  BOOLEAN: 'false',
  DATE: '1970-01-01',
  DATETIME: '1970-01-01T00:00:00',
  TIME: '00:00:00',
  GEOGRAPHY: 'POINT(0 0)',
};

type TimestampForm = 'micros' | 'decimal' | 'exponent' | 'iso';

function timestampForm(value: string): TimestampForm {
  if (/^-?\d+$/.test(value)) return 'micros';
  if (/^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$/.test(value)) return 'exponent';
  if (/^[-+]?(?:\d+\.?\d*|\.\d+)$/.test(value)) return 'decimal';
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}/.test(value)) return 'iso';
  throw new MaskingError('row_shape', "a TIMESTAMP value is not in BigQuery's form");
}

/** Whole epoch seconds at or before the instant (floor), exactly, whatever the form. */
function epochSeconds(value: string, form: TimestampForm): number {
  if (form === 'micros') return Number(floorDiv(BigInt(value), 1_000_000n));
  if (form === 'iso') {
    const iso = value
      .replace(' ', 'T')
      .replace(/ ?UTC$/, 'Z')
      .replace(/(\.\d{3})\d+/, '$1');
    const ms = Date.parse(/(?:Z|[-+]\d{2}(?::?\d{2})?)$/.test(iso) ? iso : iso + 'Z');
    if (Number.isNaN(ms)) throw new MaskingError('row_shape', "a TIMESTAMP value is not in BigQuery's form");
    return Math.floor(ms / 1000);
  }
  // A decimal, maybe with an exponent: digits × 10^exponent, floored without rounding errors.
  const m = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(value)!;
  const fraction = m[3] ?? '';
  const digits = BigInt((m[2] ?? '') + fraction || '0') * (m[1] === '-' ? -1n : 1n);
  const exponent = Number(m[4] ?? 0) - fraction.length;
  return Number(exponent >= 0 ? digits * 10n ** BigInt(exponent) : floorDiv(digits, 10n ** BigInt(-exponent)));
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/** Epoch seconds of 1 January, 00:00:00 UTC, of the instant's year. */
function yearStart(seconds: number): number {
  const date = new Date(seconds * 1000);
  const start = new Date(0);
  start.setUTCFullYear(date.getUTCFullYear(), 0, 1);
  return start.getTime() / 1000;
}

/** Whole epoch `seconds` written in the form `like` came in. */
function timestampText(seconds: number, form: TimestampForm, like: string): string {
  switch (form) {
    case 'micros':
      return (BigInt(seconds) * 1_000_000n).toString();
    case 'decimal': {
      const dot = like.indexOf('.');
      return dot < 0 ? String(seconds) : `${seconds}.${'0'.repeat(like.length - dot - 1)}`;
    }
    case 'exponent':
      return javaDouble(seconds);
    case 'iso': {
      const start = new Date(seconds * 1000);
      const y = String(start.getUTCFullYear()).padStart(4, '0');
      const date = `${y}-${String(start.getUTCMonth() + 1).padStart(2, '0')}-${String(start.getUTCDate()).padStart(2, '0')}`;
      const zone = / ?UTC$/.test(like) ? ' UTC' : like.endsWith('Z') ? 'Z' : /[-+]\d{2}(?::?\d{2})?$/.test(like) ? '+00:00' : '';
      return `${date}${like[10]}00:00:00${zone}`;
    }
  }
}

/** A whole number as Java's Double.toString writes it (BigQuery's default TIMESTAMP form: 1.7E9). */
function javaDouble(n: number): string {
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  if (abs < 1e7) return `${sign}${abs}.0`;
  const digits = String(abs);
  const mantissa = digits.slice(1).replace(/0+$/, '') || '0';
  return `${sign}${digits[0]}.${mantissa}E${digits.length - 1}`;
}
