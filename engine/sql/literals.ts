// The shape of a SQL text: the text with its plain value literals replaced by placeholders, so
// that `WHERE id = 42` and `WHERE id = 43` share one analysis. The analysis (tables, columns,
// lineage, categories) of a parsed statement never depends on a value literal's content, but a
// literal can stand where a name belongs (a parser may read `AS 'x'`, `FROM 'p.d.t'`,
// `USING ('a')`, `NUMERIC 'abc'` as names), so two guards apply:
//
//  1. Only literals in value positions are replaced (after an operator, a value keyword, or
//     inside a call's or IN's parentheses), only plain spellings (no prefix, no escapes, no
//     quotes or control characters inside, no triple quotes; decimal digits), and never a number
//     that is part of a dashed project name (`my-project-123`).
//  2. An analysis is shared by shape only when every literal token of every statement reached
//     the expression analysis as a value (analyze.ts checks the count): a literal read as a
//     name, or not read at all, keeps the text to its exact-match cache entry.
//
// Everything else (names with their quoting, keywords, punctuation, whitespace, comments) stays
// verbatim in the shape.
import type { Token } from './lexer.ts';

/** Punctuation after which a literal is an operand. */
const VALUE_PUNCT = new Set(['=', '<', '>', '!', '+', '-', '*', '/', '%', '|', '&', '^', '~', '[']);
/** Keywords after which a literal is a value. */
const VALUE_WORDS = new Set([
  'AND', 'OR', 'NOT', 'LIKE', 'BETWEEN', 'WHEN', 'THEN', 'ELSE', 'IN', 'DATE', 'DATETIME', 'TIMESTAMP', 'TIME',
  'INTERVAL', 'JSON', 'SELECT', 'DISTINCT', 'WHERE', 'HAVING', 'QUALIFY', 'ON', 'LIMIT', 'OFFSET', 'BY', 'ESCAPE',
]);
/** Keywords whose parenthesised lists hold names, not values. */
const NAME_LISTS = new Set(['USING', 'EXCEPT', 'REPLACE', 'PIVOT', 'UNPIVOT', 'FROM', 'JOIN', 'WITH', 'AS', 'TABLE', 'INTO', 'OPTIONS']);
/** Clause keywords that start a comma-separated list at the top level. */
const CLAUSES = new Set(['SELECT', 'FROM', 'JOIN', 'WHERE', 'GROUP', 'ORDER', 'HAVING', 'QUALIFY', 'WINDOW', 'LIMIT', 'SET', 'VALUES', 'USING', 'ON', 'WITH', 'INTO', 'UNNEST']);

const PLAIN_STRING = /^(['"])[^'"\\\x00-\x1f\x7f]*\1$/;
const INTEGER = /^[0-9]+$/;
const DECIMAL = /^[0-9]+\.[0-9]+$/;

function isPunct(t: Token | undefined, text: string): boolean {
  return t !== undefined && t.kind === 'punct' && t.text === text;
}

/** Index of the `(` enclosing token i, or -1 at the top level. */
function opener(tokens: readonly Token[], i: number): number {
  let depth = 0;
  for (let j = i - 1; j >= 0; j--) {
    const t = tokens[j]!;
    if (t.kind !== 'punct') continue;
    if (t.text === ')') depth++;
    else if (t.text === '(') {
      if (depth === 0) return j;
      depth--;
    }
  }
  return -1;
}

/** The nearest clause keyword before token i at its own parenthesis depth. */
function clause(tokens: readonly Token[], i: number): string | undefined {
  let depth = 0;
  for (let j = i - 1; j >= 0; j--) {
    const t = tokens[j]!;
    if (t.kind === 'punct' && t.text === ')') depth++;
    else if (t.kind === 'punct' && t.text === '(') {
      if (depth === 0) return undefined;
      depth--;
    } else if (depth === 0 && t.kind === 'word' && CLAUSES.has(t.upper)) {
      return t.upper;
    }
  }
  return undefined;
}

/**
 * True when the list or call whose `(` is at `open` holds values. A loop, not recursion, out
 * through the enclosing parentheses: a text may nest them deeper than the stack goes.
 */
function valueParens(tokens: readonly Token[], open: number): boolean {
  for (;;) {
    const before = tokens[open - 1];
    if (before === undefined) return false;
    if (before.kind === 'word') return !NAME_LISTS.has(before.upper);
    if (before.kind === 'quoted') return true; // a call of a quoted (user-defined) function
    if (before.kind !== 'punct') return false;
    if (before.text === '(') {
      open -= 1;
    } else if (before.text === ',') {
      const enclosing = opener(tokens, open - 1);
      if (enclosing < 0) return commaClauseHoldsValues(tokens, open - 1);
      open = enclosing;
    } else {
      return VALUE_PUNCT.has(before.text);
    }
  }
}

/** A comma outside parentheses: a list of values in a SELECT list, ORDER BY or GROUP BY. */
function commaClauseHoldsValues(tokens: readonly Token[], comma: number): boolean {
  const c = clause(tokens, comma);
  return c === 'SELECT' || c === 'BY';
}

function valueAfterComma(tokens: readonly Token[], comma: number): boolean {
  const open = opener(tokens, comma);
  return open >= 0 ? valueParens(tokens, open) : commaClauseHoldsValues(tokens, comma);
}

/** Whether the literal at token i stands in a value position. */
function valuePosition(tokens: readonly Token[], i: number): boolean {
  const next = tokens[i + 1];
  if (isPunct(next, '.')) return false;
  const prev = tokens[i - 1];
  if (prev === undefined) return false;
  if (prev.kind === 'word') return VALUE_WORDS.has(prev.upper);
  if (prev.kind !== 'punct') return false;
  if (prev.text === '(') return valueParens(tokens, i - 1);
  if (prev.text === ',') return valueAfterComma(tokens, i - 1);
  return VALUE_PUNCT.has(prev.text);
}

/** A number glued to a dash or dot (a piece of `my-project-123` or of a dotted path). */
function gluedNumber(tokens: readonly Token[], i: number): boolean {
  const t = tokens[i]!;
  const prev = tokens[i - 1];
  const next = tokens[i + 1];
  if (next !== undefined && next.start === t.end && (next.kind !== 'punct' || next.text === '.' || next.text === '-')) return true;
  if (prev === undefined || prev.end !== t.start) return false;
  if (prev.kind !== 'punct') return true;
  if (prev.text === '.') return true;
  const before = tokens[i - 2];
  return prev.text === '-' && before !== undefined && before.end === prev.start && before.kind !== 'punct';
}

/** Placeholder class of a literal token that may be abstracted, or undefined. */
function literalClass(tokens: readonly Token[], i: number): 's' | 'd' | 'i' | 'f' | undefined {
  const t = tokens[i]!;
  let cls: 's' | 'd' | 'i' | 'f' | undefined;
  if (t.kind === 'string') {
    const m = PLAIN_STRING.exec(t.text);
    if (m === null) return undefined;
    cls = m[1] === "'" ? 's' : 'd';
  } else if (t.kind === 'number') {
    cls = INTEGER.test(t.text) ? 'i' : DECIMAL.test(t.text) ? 'f' : undefined;
    if (cls === undefined || gluedNumber(tokens, i)) return undefined;
  } else {
    return undefined;
  }
  return valuePosition(tokens, i) ? cls : undefined;
}

/**
 * The text with its value literals replaced, or undefined when it has none (its exact text is
 * then its shape). A NUL in the text is doubled, so a placeholder (NUL and a class letter) can
 * never be spelled by the text itself.
 */
export function literalShape(text: string, tokens: readonly Token[]): string | undefined {
  let out = '';
  let from = 0;
  for (const { token, cls } of valueLiterals(tokens)) {
    out += text.slice(from, token.start).replaceAll('\0', '\0\0') + '\0' + cls;
    from = token.end;
  }
  if (from === 0) return undefined;
  return out + text.slice(from).replaceAll('\0', '\0\0');
}

/** The literal tokens a shape abstracts, in order, with their placeholder class. */
export function valueLiterals(tokens: readonly Token[]): { token: Token; cls: 's' | 'd' | 'i' | 'f' }[] {
  const out: { token: Token; cls: 's' | 'd' | 'i' | 'f' }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'string' && t.kind !== 'number') continue;
    const cls = literalClass(tokens, i);
    if (cls !== undefined) out.push({ token: t, cls });
  }
  return out;
}

/** How many literal tokens (strings and numbers) a statement holds. */
export function literalTokens(tokens: readonly Token[]): number {
  let n = 0;
  for (const t of tokens) if (t.kind === 'string' || t.kind === 'number') n++;
  return n;
}
