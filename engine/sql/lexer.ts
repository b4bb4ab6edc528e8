// BigQuery (GoogleSQL) tokenizer. Statement splitting, classification and the table scan read
// these tokens, so string, comment and quoted-identifier boundaries follow BigQuery's rules
// exactly: a `;` or keyword inside a literal or comment must never count.
import { RESERVED } from './keywords.ts';

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'param' | 'punct' | 'error';

export interface Token {
  kind: TokenKind;
  /** Raw text for punctuation and numbers; identifier text for words and quoted names. */
  text: string;
  /** Upper-case text for words (keyword comparisons), '' otherwise. */
  upper: string;
  start: number;
  end: number;
}

export interface LexResult {
  tokens: Token[];
  /** Set when a literal, quoted name or comment is not terminated. */
  error?: string;
  /** The text holds a triple-quoted literal. */
  tripleQuoted: boolean;
}

const CH_SPACE = 32;
const CH_DQ = 34;
const CH_HASH = 35;
const CH_SQ = 39;
const CH_STAR = 42;
const CH_DASH = 45;
const CH_DOT = 46;
const CH_SLASH = 47;
const CH_0 = 48;
const CH_9 = 57;
const CH_QMARK = 63;
const CH_AT = 64;
const CH_BACKSLASH = 92;
const CH_BACKTICK = 96;

function isWordStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128;
}

function isWordPart(c: number): boolean {
  return isWordStart(c) || (c >= CH_0 && c <= CH_9);
}

function isDigit(c: number): boolean {
  return c >= CH_0 && c <= CH_9;
}

function isSpace(c: number): boolean {
  return c === CH_SPACE || (c >= 9 && c <= 13);
}

/**
 * Whether a `.` after `prev` separates the parts of a path rather than starting a number. As in
 * GoogleSQL's tokenizer, a dot after a name (unquoted and not reserved, or back-quoted), a
 * parameter, `)` or `]` is a path dot, and the part after it may begin with a digit:
 * `bigquery-public-data.austin_311.311_service_requests` names the table `311_service_requests`,
 * where reading `.311_service_requests` as a number would lose it.
 */
function pathDotAfter(prev: Token | undefined): boolean {
  if (prev === undefined) return false;
  if (prev.kind === 'word') return !RESERVED.has(prev.upper);
  if (prev.kind === 'punct') return prev.text === ')' || prev.text === ']';
  return prev.kind === 'quoted' || prev.kind === 'param';
}

/** Length of a string-literal prefix (r, b, rb, br in any case) directly before a quote, or 0. */
function literalPrefix(text: string, i: number): number {
  const lower = (n: number) => text.charCodeAt(i + n) | 0x20;
  const quoteAt = (n: number) => {
    const c = text.charCodeAt(i + n);
    return c === CH_SQ || c === CH_DQ;
  };
  const a = lower(0);
  if ((a === 114 || a === 98) && quoteAt(1)) return 1; // r' b'
  const b = lower(1);
  if (((a === 114 && b === 98) || (a === 98 && b === 114)) && quoteAt(2)) return 2; // rb' br'
  return 0;
}

/** Index just past a quoted literal or name starting at `i`, or -1 when unterminated. */
function skipQuoted(text: string, i: number, quote: number, triple: boolean): number {
  const n = text.length;
  let j = i + (triple ? 3 : 1);
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c === CH_BACKSLASH) {
      j += 2;
      continue;
    }
    if (c === quote) {
      if (!triple) return j + 1;
      if (text.charCodeAt(j + 1) === quote && text.charCodeAt(j + 2) === quote) return j + 3;
    }
    j++;
  }
  return -1;
}

/** One escape sequence of a quoted body: its offsets in the body and the text it stands for. */
export interface Escape {
  start: number;
  end: number;
  value: string;
}

export type Unescaped = { value: string; escapes: Escape[]; error?: undefined } | { value?: undefined; escapes?: undefined; error: string };

/** The escapes of one character after a backslash, by that character. */
const SIMPLE_ESCAPES: ReadonlyMap<string, string> = new Map([
  ['a', '\x07'], ['b', '\b'], ['f', '\f'], ['n', '\n'], ['r', '\r'], ['t', '\t'], ['v', '\v'],
  ['\\', '\\'], ['?', '?'], ['"', '"'], ["'", "'"], ['`', '`'],
]);

const OCTAL3 = /^[0-3][0-7]{2}$/;
const HEX = /^[0-9a-fA-F]+$/;

/**
 * The body of a quoted string literal (not raw) or of a back-quoted name, as GoogleSQL reads it:
 * both take the same escapes (zetasql/public/strings.cc, CUnescapeInternal). `\a \b \f \n \r
 * \t \v \\ \? \" \' \``; `\ooo`, exactly three octal digits up to \377; `\xhh` or `\Xhh`,
 * exactly two hex digits; `\uhhhh` and `\Uhhhhhhhh`, a code point that is no surrogate, at most
 * U+10FFFF. An octal or hex escape is the code point of that value (`\163` is `s`, `\xe9` is
 * `é`). A line break in the body (CR, LF or CRLF) reads as LF. Any other escape, an escaped line
 * break or a trailing backslash is an error, as in BigQuery.
 */
export function unescapeQuoted(body: string): Unescaped {
  if (!body.includes('\\') && !body.includes('\r')) return { value: body, escapes: [] };
  let value = '';
  const escapes: Escape[] = [];
  const n = body.length;
  let i = 0;
  while (i < n) {
    const c = body[i]!;
    if (c === '\r') {
      value += '\n';
      i += body[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    if (c !== '\\') {
      value += c;
      i++;
      continue;
    }
    if (i + 1 >= n) return { error: 'a trailing backslash' };
    const e = body[i + 1]!;
    let length = 2;
    let char: string;
    const simple = SIMPLE_ESCAPES.get(e);
    if (simple !== undefined) {
      char = simple;
    } else if (e >= '0' && e <= '3') {
      const digits = body.slice(i + 1, i + 4);
      if (!OCTAL3.test(digits)) return { error: `\\${digits}: an octal escape takes exactly three octal digits` };
      char = String.fromCodePoint(parseInt(digits, 8));
      length = 4;
    } else if (e === 'x' || e === 'X' || e === 'u' || e === 'U') {
      const count = e === 'u' ? 4 : e === 'U' ? 8 : 2;
      const digits = body.slice(i + 2, i + 2 + count);
      if (digits.length !== count || !HEX.test(digits)) return { error: `\\${e}${digits}: \\${e} takes exactly ${count} hex digits` };
      const cp = parseInt(digits, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return { error: `\\${e}${digits} is not a Unicode character` };
      char = String.fromCodePoint(cp);
      length = 2 + count;
    } else if (e === '\n' || e === '\r') {
      return { error: 'an escaped line break' };
    } else {
      return { error: `\\${e} is no escape sequence` };
    }
    escapes.push({ start: i, end: i + length, value: char });
    value += char;
    i += length;
  }
  return { value, escapes };
}

/** A back-quoted name's body as GoogleSQL reads it; verbatim when its escapes are invalid (the parser then refuses the name). */
function unquoteName(body: string): string {
  return unescapeQuoted(body).value ?? body;
}

export function lex(text: string): LexResult {
  const tokens: Token[] = [];
  const n = text.length;
  let tripleQuoted = false;
  let i = 0;
  const push = (kind: TokenKind, start: number, end: number, value?: string) => {
    const raw = value ?? text.slice(start, end);
    tokens.push({ kind, text: raw, upper: kind === 'word' ? raw.toUpperCase() : '', start, end });
  };
  const fail = (start: number, message: string): LexResult => {
    push('error', start, n);
    return { tokens, error: message, tripleQuoted };
  };

  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    // Comments: --, # and /* */ (not nested in BigQuery). A line comment ends at a carriage
    // return as at a line feed: what follows one is read, and runs.
    if ((c === CH_DASH && text.charCodeAt(i + 1) === CH_DASH) || c === CH_HASH) {
      while (i < n && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
      continue;
    }
    if (c === CH_SLASH && text.charCodeAt(i + 1) === CH_STAR) {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) return fail(i, 'unterminated /* comment');
      i = close + 2;
      continue;
    }
    const prefix = isWordStart(c) ? literalPrefix(text, i) : 0;
    const q = text.charCodeAt(i + prefix);
    if (c === CH_SQ || c === CH_DQ || prefix > 0) {
      const triple = text.charCodeAt(i + prefix + 1) === q && text.charCodeAt(i + prefix + 2) === q;
      const end = skipQuoted(text, i + prefix, q, triple);
      if (end < 0) return fail(i, 'unterminated string literal');
      if (triple) tripleQuoted = true;
      push('string', i, end);
      i = end;
      continue;
    }
    if (c === CH_BACKTICK) {
      const end = skipQuoted(text, i, CH_BACKTICK, false);
      if (end < 0) return fail(i, 'unterminated quoted identifier');
      push('quoted', i, end, unquoteName(text.slice(i + 1, end - 1)));
      i = end;
      continue;
    }
    if (isWordStart(c)) {
      // Whether any character may change in upper case (a-z, or not ASCII): a word without one
      // (a keyword written in capitals) is its own upper case, and toUpperCase (~80 ns a call)
      // is skipped.
      let mayChange = c >= 97;
      let j = i + 1;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (!isWordPart(d)) break;
        if (d >= 97) mayChange = true;
      }
      const raw = text.slice(i, j);
      tokens.push({ kind: 'word', text: raw, upper: mayChange ? raw.toUpperCase() : raw, start: i, end: j });
      i = j;
      continue;
    }
    const last = tokens[tokens.length - 1];
    // A path part after a path dot (`ds.311_requests`, `ds.2024`): a name, whatever it starts with.
    if (isDigit(c) && last?.kind === 'punct' && last.text === '.' && pathDotAfter(tokens[tokens.length - 2])) {
      let j = i + 1;
      while (j < n && isWordPart(text.charCodeAt(j))) j++;
      push('word', i, j);
      i = j;
      continue;
    }
    if (isDigit(c) || (c === CH_DOT && isDigit(text.charCodeAt(i + 1)) && !pathDotAfter(last))) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        const exponentSign = (d === 43 || d === CH_DASH) && (text.charCodeAt(j - 1) | 0x20) === 101;
        if (isWordPart(d) || d === CH_DOT || exponentSign) j++;
        else break;
      }
      push('number', i, j);
      i = j;
      continue;
    }
    if (c === CH_AT || c === CH_QMARK) {
      let j = i + 1;
      if (c === CH_AT && text.charCodeAt(j) === CH_AT) j++;
      while (j < n && isWordPart(text.charCodeAt(j))) j++;
      push('param', i, j);
      i = j;
      continue;
    }
    push('punct', i, i + 1);
    i++;
  }
  return { tokens, tripleQuoted };
}

/** True when `b` starts exactly where `a` ends (no space or comment between). */
export function adjacent(a: Token, b: Token): boolean {
  return a.end === b.start;
}
