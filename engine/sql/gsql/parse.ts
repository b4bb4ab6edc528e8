// polyglot-sql (Rust compiled to WebAssembly), BigQuery dialect, for one statement at a time. The
// module initialises its WebAssembly on import. Any refusal or crash becomes an error string;
// describeParseError then names the token the parser stopped at, as written, at its line:column.
// polyglot decodes only some of GoogleSQL's escapes in a back-quoted name (`\x73`, `\n`, not
// `\163`, `\u0073`, `\U00000073`, `\X73`, `\?`): each name holding an escape is handed to it
// decoded by the lexer's decoder (plainNames), so `s\163n` is the column ssn there as in BigQuery.
import { Dialect, parse } from '@polyglot-sql/sdk';
import { lex, unescapeQuoted, type Token } from '../lexer.ts';
import type { StatementSpan } from '../split.ts';

export type ParseResult = { ast: unknown; error?: undefined } | { ast?: undefined; error: string };

/** polyglot's spelling of one character of a name: escaped as it reads escapes (as GoogleSQL does), or as it is. */
function polyglotSpelling(char: string): string {
  const cp = char.codePointAt(0)!;
  switch (char) {
    case '\\': return '\\\\';
    case '`': return '\\`';
    case '\x07': return '\\a';
    case '\b': return '\\b';
    case '\f': return '\\f';
    case '\n': return '\\n';
    case '\r': return '\\r';
    case '\t': return '\\t';
    case '\v': return '\\v';
  }
  return cp < 0x20 || cp === 0x7f ? `\\x${cp.toString(16).padStart(2, '0')}` : char;
}

/** Length in code points, as polyglot counts offsets and columns. */
function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * `sql` with each back-quoted name that holds an escape spelled so polyglot reads the name
 * GoogleSQL does: each escape replaced by the character it stands for (or the escape polyglot
 * decodes alike), spaces after the closing backquote keeping every later position. A decoded
 * escape is never longer than the escape, so the name always fits. An invalid escape (BigQuery
 * refuses the text) or a carriage return in a name is an error.
 */
export function plainNames(sql: string): string | { error: string } {
  if (!sql.includes('\\')) return sql;
  const lexed = lex(sql);
  let out = '';
  let from = 0;
  for (const t of lexed.tokens) {
    if (t.kind !== 'quoted') continue;
    const body = sql.slice(t.start + 1, t.end - 1);
    if (!body.includes('\\')) continue;
    const written = sql.slice(t.start, t.end);
    if (body.includes('\r')) return { error: `the back-quoted name ${written} holds a carriage return` };
    const decoded = unescapeQuoted(body);
    if (decoded.error !== undefined) return { error: `the back-quoted name ${written} holds an invalid escape (${decoded.error})` };
    let name = '`';
    let at = 0;
    for (const e of decoded.escapes) {
      name += body.slice(at, e.start) + polyglotSpelling(e.value);
      at = e.end;
    }
    name += `${body.slice(at)}\``;
    const pad = codePoints(written) - codePoints(name);
    if (pad < 0) return { error: `the back-quoted name ${written} could not be handed to the parser` };
    out += sql.slice(from, t.start) + name + ' '.repeat(pad);
    from = t.end;
  }
  return from === 0 ? sql : out + sql.slice(from);
}

export function parseStatement(written: string): ParseResult {
  const sql = plainNames(written);
  if (typeof sql !== 'string') return { error: `parser: ${sql.error}` };
  let result: ReturnType<typeof parse>;
  try {
    result = parse(sql, Dialect.BigQuery);
  } catch (e) {
    return { error: `parser crashed: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!result.success) {
    // polyglot's message names the line and column (of the statement's text) just after the token
    // it stopped at; describeParseError turns it into the token as written.
    return { error: `parser: ${(result.error ?? 'syntax error').split('\n', 1)[0]}` };
  }
  // The splitter found one statement; the parser reading several means they disagree.
  if (result.ast.length !== 1) return { error: `parser read ${result.ast.length} statements where the splitter found one` };
  return { ast: result.ast[0] };
}

/** polyglot's message: its position (1-based line; column just after the token, in characters) and reason. */
const POLYGLOT_ERROR = /^parser: (?:Parse|Tokenization) error at line (\d+), column (\d+): (.*)$/s;

/** polyglot's token kinds as written in SQL. */
const TOKEN_SPELLING: Record<string, string> = {
  LParen: '(', RParen: ')', LBracket: '[', RBracket: ']', LBrace: '{', RBrace: '}', Comma: ',', Colon: ':', Semicolon: ';',
  Dot: '.', Eq: '=', Lt: '<', Gt: '>', Plus: '+', Minus: '-', Star: '*', PipeGt: '|>', DPipe: '||', Arrow: '=>',
};

/** polyglot's reason, short: what it expected, without the token (named separately) or its excerpt of the text. */
export function shortReason(reason: string): string {
  const text = reason.replace(/\s+near \[[\s\S]*\]\s*$/, '').trim();
  const expected = /^Expected (.+?)(?:, got [\s\S]*)?$/.exec(text);
  if (expected !== null) {
    const what = expected[1]!;
    if (TOKEN_SPELLING[what] !== undefined) return `expected \`${TOKEN_SPELLING[what]}\``;
    // A keyword token kind (Select, In): the keyword.
    return /^[A-Z][a-z]+$/.test(what) ? `expected ${what.toUpperCase()}` : `expected ${what}`;
  }
  if (/^Invalid expression/.test(text)) return 'invalid expression';
  if (/^Unexpected token/.test(text)) return 'unexpected token';
  if (/^Unexpected character/.test(text)) return 'unexpected character';
  // polyglot's guards: E_GUARD_NESTING_DEPTH_EXCEEDED, E_GUARD_PARSER_DEPTH_EXCEEDED.
  if (/^E_GUARD_\w*DEPTH_EXCEEDED/.test(text)) return 'nested too deeply';
  const short = text.length > 60 ? `${text.slice(0, 59)}…` : text;
  // "Failed to parse …" reads as "failed to parse …"; a code (E_…) stays as written.
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

/** Operators the lexer reads as two punctuation tokens and polyglot as one. */
const OPERATORS = new Set(['|>', '||', '=>', '->', '<=', '>=', '<>', '!=', '<<', '>>']);

/** The token polyglot stopped at: the one ending just before `end`, else the one holding it, else the last before it. */
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
 * polyglot's refusal of the statement `span` of `text` (positions already those of the statement
 * as written: parser-text.ts restorePositions) as "syntax not understood near `<token>` at L:C
 * (parser: <reason>)", the token as written and its line:column in `text`. Any other error, or one
 * whose position falls outside the statement, is returned as it is. Never throws.
 */
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

export function describeParseError(error: string, text: string, span: StatementSpan): string {
  try {
    const m = POLYGLOT_ERROR.exec(error);
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
