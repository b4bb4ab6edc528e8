// A parser refusal (../parser/index.ts) as the user reads it: "syntax not understood near `<token>`
// at L:C (parser: <reason>)", the token as written and its line:column in the whole text. The
// parser gives its refusals as `parser: Parse error at line L, column C: <reason>`, the position
// that of the statement it read (a pipe query's rewrite places it back first, gsql/pipe.ts).
import type { Token } from '../lexer.ts';
import type { StatementSpan } from '../split.ts';

export type ParseResult = { ast: unknown; error?: undefined } | { ast?: undefined; error: string };

/** The parser's message: its position (1-based line; column just after the token, in characters) and reason. */
const PARSE_ERROR = /^parser: Parse error at line (\d+), column (\d+): (.*)$/s;

/** The parser's reason (../parser/), short, as the sentence goes on: `expected \`)\``, `invalid expression`. */
export function shortReason(reason: string): string {
  const short = reason.length > 60 ? `${reason.slice(0, 59)}…` : reason;
  return /^[A-Z][a-z]/.test(short) ? short.charAt(0).toLowerCase() + short.slice(1) : short;
}

/** `offset` in `text` as line:column, both 1-based, the column in characters. */
export function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return `${before.split('\n').length}:${[...before.slice(lineStart)].length + 1}`;
}

/** The offset in `statement` of 1-based `line` and `column` (in characters), or undefined past its end. */
function offsetOf(statement: string, line: number, column: number): number | undefined {
  let lineStart = 0;
  for (let l = 1; l < line; l++) {
    const next = statement.indexOf('\n', lineStart);
    if (next < 0) return undefined;
    lineStart = next + 1;
  }
  const lineEnd = statement.indexOf('\n', lineStart);
  const chars = [...statement.slice(lineStart, lineEnd < 0 ? undefined : lineEnd)];
  return lineStart + chars.slice(0, Math.max(0, column - 1)).join('').length;
}

/** Operators the lexer reads as two punctuation tokens. */
const OPERATORS = new Set(['|>', '||', '=>', '->', '<=', '>=', '<>', '!=', '<<', '>>']);

/** The token the parser stopped at: the one ending just before `end`, else the one holding it, else the last before it. */
function tokenAt(tokens: readonly Token[], end: number): Token | undefined {
  let i = tokens.findIndex((t) => t.end === end);
  if (i < 0) i = tokens.findLastIndex((t) => t.start < end);
  const t = tokens[i];
  if (t === undefined) return undefined;
  const prev = tokens[i - 1];
  // `|>` ends at its `>`: the operator is the construct.
  if (t.kind === 'punct' && prev?.kind === 'punct' && prev.end === t.start && OPERATORS.has(prev.text + t.text)) return { ...t, text: prev.text + t.text, start: prev.start };
  return t;
}

/** A token as written, on one line and at most 40 characters, back-quoted unless it is a back-quoted name. */
function written(text: string, t: Token): string {
  let raw = text.slice(t.start, t.end).replace(/\s+/g, ' ');
  if ([...raw].length > 40) raw = `${[...raw].slice(0, 39).join('')}…`;
  return t.kind === 'quoted' || raw.includes('`') ? raw : `\`${raw}\``;
}

/**
 * A refusal of the tree analysis (`… at line L:C`, counted in the statement as parsed: ./tree.ts
 * `position`) with its position in the whole text, as the parser's errors give theirs (`at L:C`).
 */
export function placeRefusal(message: string, text: string, span: StatementSpan): string {
  const m = / at line (\d+):(\d+)$/.exec(message);
  if (m === null) return message;
  const offset = offsetOf(text.slice(span.start, span.end), Number(m[1]), Number(m[2]));
  return offset === undefined ? message : `${message.slice(0, m.index)} at ${lineColumn(text, span.start + offset)}`;
}

/**
 * The parser's refusal of the statement `span` of `text` as "syntax not understood near `<token>`
 * at L:C (parser: <reason>)", the token as written and its line:column in `text`. Any other error,
 * or one whose position falls outside the statement, is returned as it is. Never throws.
 */
export function describeParseError(error: string, text: string, span: StatementSpan): string {
  try {
    const m = PARSE_ERROR.exec(error);
    if (m === null) return error;
    const statement = text.slice(span.start, span.end);
    const offset = offsetOf(statement, Number(m[1]), Number(m[2]));
    if (offset === undefined) return error;
    const reason = shortReason(m[3]!);
    const token = tokenAt(span.tokens, span.start + offset);
    if (token === undefined) return `syntax not understood at the start of the statement, ${lineColumn(text, span.start)} (parser: ${reason})`;
    return `syntax not understood near ${written(text, token)} at ${lineColumn(text, token.start)} (parser: ${reason})`;
  } catch {
    return error;
  }
}
