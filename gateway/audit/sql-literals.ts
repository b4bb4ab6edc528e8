// Literal values and comments are data, not query shape: `WHERE ssn = '123-45-6789'` carries the
// very value masking keeps from the agent. The audit trail keeps the statement's shape (and its
// hash, computed by the normalizer over the original text) and replaces every string, bytes and
// numeric literal and every comment with `?`.
//
// A small scanner following GoogleSQL's lexical rules, only as far as redaction needs: string
// literals in all quote forms with r/b prefixes and backslash escapes, quoted identifiers
// (backticks, left alone), `--`, `#` and `/* */` comments, and numbers that are not part of a name
// (`table_2024`, `my-project-123.sales.orders`).

export const PLACEHOLDER = '?';

export interface RedactedSql {
  text: string;
  /** The literal values and comment texts taken out, to scrub from messages that may quote them. */
  removed: string[];
}

function isWordChar(c: string | undefined): boolean {
  if (c === undefined) return false;
  const code = c.charCodeAt(0);
  if (code < 128) return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
  return /[\p{L}\p{N}]/u.test(c);
}
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

export function redactSqlLiterals(sql: string): RedactedSql {
  let out = '';
  const removed: string[] = [];
  let i = 0;
  const n = sql.length;
  const take = (end: number, value: string) => {
    removed.push(value);
    out += PLACEHOLDER;
    i = end;
  };
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if ((c === '-' && next === '-') || c === '#') {
      const marker = c === '#' ? '#' : '--';
      const end = lineEnd(sql, i);
      removed.push(sql.slice(i + marker.length, end));
      out += `${marker} ${PLACEHOLDER}`;
      i = end;
      continue;
    }
    if (c === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      const end = close < 0 ? n : close + 2;
      const body = sql.slice(i + 2, close < 0 ? n : close);
      removed.push(body);
      out += `/* ${PLACEHOLDER} */`;
      i = end;
      continue;
    }
    if (c === '`') {
      const end = quotedEnd(sql, i, '`', false);
      out += sql.slice(i, end);
      i = end;
      continue;
    }
    const prefix = literalPrefixLength(sql, i);
    if (prefix >= 0) {
      const quoteAt = i + prefix;
      const quote = sql[quoteAt] as "'" | '"';
      const triple = sql.startsWith(quote.repeat(3), quoteAt);
      const end = quotedEnd(sql, quoteAt, quote, triple);
      const open = triple ? 3 : 1;
      take(end, sql.slice(quoteAt + open, Math.max(quoteAt + open, end - open)));
      continue;
    }
    if (isWordChar(c) && !isDigit(c)) {
      let end = i + 1;
      while (end < n && isWordChar(sql[end])) end++;
      out += sql.slice(i, end);
      i = end;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(next) && !isWordChar(sql[i - 1]) && sql[i - 1] !== '`')) {
      const end = numberEnd(sql, i);
      if (partOfName(sql, i, end)) {
        let nameEnd = end;
        while (nameEnd < n && isWordChar(sql[nameEnd])) nameEnd++;
        out += sql.slice(i, nameEnd);
        i = nameEnd;
      } else {
        take(end, sql.slice(i, end));
      }
      continue;
    }
    out += c;
    i++;
  }
  return { text: out, removed };
}

function lineEnd(sql: string, from: number): number {
  const nl = sql.slice(from).search(/[\r\n]/);
  return nl < 0 ? sql.length : from + nl;
}

/** Index just past the closing quote (or the end of the text for an unterminated one). */
function quotedEnd(sql: string, start: number, quote: string, triple: boolean): number {
  const closing = triple ? quote.repeat(3) : quote;
  let i = start + closing.length;
  while (i < sql.length) {
    if (sql[i] === '\\') {
      i += 2; // an escaped character, also in raw literals: r'\'' is one quote long
      continue;
    }
    if (sql.startsWith(closing, i)) return i + closing.length;
    if (!triple && (sql[i] === '\n' || sql[i] === '\r') && quote !== '`') return i; // single-quoted literals end at a line break
    i++;
  }
  return sql.length;
}

/** Length of an r/b/rb/br prefix directly before a quote at `i` (0 for a bare quote), or -1. */
function literalPrefixLength(sql: string, i: number): number {
  if (isWordChar(sql[i - 1])) return -1;
  for (let len = 0; len <= 2; len++) {
    const q = sql[i + len];
    if (q === "'" || q === '"') {
      const prefix = sql.slice(i, i + len).toLowerCase();
      return ['', 'r', 'b', 'rb', 'br'].includes(prefix) ? len : -1;
    }
    if (!/[rRbB]/.test(q ?? '')) return -1;
  }
  return -1;
}

function numberEnd(sql: string, start: number): number {
  if (/^0[xX][0-9a-fA-F]/.test(sql.slice(start, start + 3))) {
    let i = start + 2;
    while (/[0-9a-fA-F]/.test(sql[i] ?? '')) i++;
    return i;
  }
  let i = start;
  while (isDigit(sql[i])) i++;
  if (sql[i] === '.' && (isDigit(sql[i + 1]) || !isWordChar(sql[i + 1]))) {
    i++;
    while (isDigit(sql[i])) i++;
  }
  if ((sql[i] === 'e' || sql[i] === 'E') && (isDigit(sql[i + 1]) || ((sql[i + 1] === '+' || sql[i + 1] === '-') && isDigit(sql[i + 2])))) {
    i += 2;
    while (isDigit(sql[i])) i++;
  }
  return i;
}

/**
 * Digits that belong to a name rather than being a value: followed by letters (`1st_half`),
 * after a dot of a path (`dataset.2024_sales`), or in a dashed project id (`acme-123.sales`).
 */
function partOfName(sql: string, start: number, end: number): boolean {
  if (isWordChar(sql[end]) && sql[end] !== 'e' && sql[end] !== 'E') return true;
  const before = sql[start - 1];
  if (before === '.' && (isWordChar(sql[start - 2]) || sql[start - 2] === '`')) return true;
  if (before === '-' && isWordChar(sql[start - 2])) {
    // `acme-123.sales.orders`: an unquoted project id; `a-1` (no dot follows) stays arithmetic
    return sql[end] === '.' || sql[end] === '-';
  }
  return false;
}
