// A cursor over one statement's tokens (../lexer.ts), with the positions the syntax tree and the
// refusals carry. Operators the lexer splits into single characters (`<=`, `||`, `=>`) are read
// here from adjacent punctuation.
import { RESERVED } from '../keywords.ts';
import type { Token } from '../lexer.ts';

/** The text does not read as GoogleSQL this parser knows; `offset` is where it stopped (in the text). */
export class ParseRefusal extends Error {
  override name = 'ParseRefusal';
  readonly reason: string;
  /** Just past the token the parser stopped at, where a refusal is placed (../gsql/parse.ts reads the token back). */
  readonly offset: number;
  /** Where a refusal that explains itself (`said`) begins: it is reported as it is, with this position. */
  readonly said: number | undefined;
  constructor(reason: string, offset: number, said?: number) {
    super(reason);
    this.reason = reason;
    this.offset = offset;
    this.said = said;
  }
}

/** A position in the statement: offsets, line, and the column just after. */
export interface Span {
  start: number;
  end: number;
  line: number;
  column: number;
}

// `|>` is the pipe operator: outside a query rewritten from pipe syntax (../gsql/pipe.ts) it ends a value.
const TWO_CHAR = new Set(['<=', '>=', '<>', '!=', '||', '<<', '>>', '=>', '->', '|>']);

/** How deep expressions and queries may nest: deeper is refused, never a stack overflow. */
const MAX_DEPTH = 256;

export class Cursor {
  i = 0;
  #depth = 0;
  /** Token indexes where a parenthesised query was tried and is none (query.ts parenthesisedQuery). */
  readonly notQueries = new Set<number>();
  /** Tokens from here on are out of reach (a sub-range being parsed on its own). */
  end: number;
  readonly #lineStarts: number[] = [];
  /** The statement's text is ASCII: a column is an offset on its line. */
  readonly #ascii: boolean;

  readonly text: string;
  readonly tokens: readonly Token[];
  /** The statement's offset in the text: spans count from it. */
  readonly base: number;

  constructor(text: string, tokens: readonly Token[], base: number) {
    this.text = text;
    this.tokens = tokens;
    this.base = base;
    this.end = tokens.length;
    // Line starts inside the statement, for spans (lines count from the statement's start).
    const last = tokens.at(-1)?.end ?? base;
    for (let at = text.indexOf('\n', base); at >= 0 && at < last; at = text.indexOf('\n', at + 1)) this.#lineStarts.push(at + 1);
    this.#ascii = NON_ASCII.exec(text.slice(base, last)) === null;
  }

  peek(k = 0): Token | undefined {
    const at = this.i + k;
    return at < this.end ? this.tokens[at] : undefined;
  }

  get done(): boolean {
    return this.i >= this.end;
  }

  /**
   * `read`, or undefined with the cursor back where it was when `read` refuses: for the few places
   * where `((` begins either a query or something else (a join, a list of values).
   */
  attempt<T>(read: () => T): T | undefined {
    const at = this.i;
    const depth = this.#depth;
    try {
      return read();
    } catch (e) {
      if (!(e instanceof ParseRefusal)) throw e;
      this.i = at;
      this.#depth = depth;
      return undefined;
    }
  }

  /** Runs `read` one nesting level deeper. */
  nested<T>(read: () => T): T {
    if (++this.#depth > MAX_DEPTH) this.fail('Nested too deeply');
    try {
      return read();
    } finally {
      this.#depth--;
    }
  }

  /** Runs `read` with the tokens from `end` on out of reach. */
  before<T>(end: number, read: () => T): T {
    const outer = this.end;
    this.end = end;
    try {
      return read();
    } finally {
      this.end = outer;
    }
  }

  isWord(upper: string, k = 0): boolean {
    const t = this.peek(k);
    return t !== undefined && t.kind === 'word' && t.upper === upper;
  }

  isPunct(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t !== undefined && t.kind === 'punct' && t.text === text;
  }

  /** The operator at the cursor: one punctuation character, or two adjacent ones that form one. */
  operator(): string | undefined {
    const t = this.peek();
    if (t === undefined || t.kind !== 'punct') return undefined;
    const next = this.peek(1);
    if (next !== undefined && next.kind === 'punct' && next.start === t.end && TWO_CHAR.has(t.text + next.text)) return t.text + next.text;
    return t.text;
  }

  takeOperator(op: string): boolean {
    if (this.operator() !== op) return false;
    this.i += op.length;
    return true;
  }

  takeWord(upper: string): boolean {
    if (!this.isWord(upper)) return false;
    this.i++;
    return true;
  }

  takePunct(text: string): boolean {
    if (!this.isPunct(text)) return false;
    this.i++;
    return true;
  }

  expectWord(upper: string): void {
    if (!this.takeWord(upper)) this.fail(`Expected ${upper}`);
  }

  expectPunct(text: string): void {
    if (!this.takePunct(text)) this.fail(`Expected \`${text}\``);
  }

  next(): Token {
    const t = this.peek();
    if (t === undefined) return this.fail('Unexpected end of statement');
    this.i++;
    return t;
  }

  /** An unreserved word or a back-quoted name at the cursor. */
  isName(k = 0): boolean {
    const t = this.peek(k);
    return t !== undefined && (t.kind === 'quoted' || (t.kind === 'word' && !RESERVED.has(t.upper)));
  }

  /** Refuses `t` with a reason that needs no token quoted beside it. */
  refuse(t: Token, reason: string): never {
    throw new ParseRefusal(reason, t.end, t.start);
  }

  /** Refuses at `t`, a token already taken. */
  failAt(t: Token, reason: string): never {
    throw new ParseRefusal(reason, t.end);
  }

  /** An unreserved word or a back-quoted name, taken; refused as `Expected <what>` otherwise. */
  takeName(what = 'a name'): Token {
    if (!this.isName()) this.fail(`Expected ${what}`);
    return this.next();
  }

  fail(reason: string): never {
    // A two-character operator is refused whole: just past its second character.
    const at = Math.min(this.i, this.end) + (this.operator()?.length === 2 ? 1 : 0);
    const t = this.tokens[at] ?? this.tokens.at(-1);
    throw new ParseRefusal(reason, t === undefined ? this.base : t.end);
  }

  /** A token's span, in the statement's offsets and lines. */
  span(t: Token, last: Token = t): Span {
    const line = this.#lineOf(last.start);
    const lineStart = line === 0 ? this.base : this.#lineStarts[line - 1]!;
    return { start: t.start - this.base, end: last.end - this.base, line: line + 1, column: this.#characters(lineStart, last.end) + 1 };
  }

  /** The line and column (1-based, in characters) of a text offset, as the refusal names it. */
  lineColumn(offset: number): { line: number; column: number } {
    const line = this.#lineOf(offset);
    const lineStart = line === 0 ? this.base : this.#lineStarts[line - 1]!;
    return { line: line + 1, column: this.#characters(lineStart, offset) + 1 };
  }

  /** How many line breaks of the statement come before `offset` (a binary search: statements may be long). */
  #lineOf(offset: number): number {
    let lo = 0;
    let hi = this.#lineStarts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#lineStarts[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Characters in text[from, to): code units where the statement is ASCII, as most are. */
  #characters(from: number, to: number): number {
    return this.#ascii ? to - from : codePoints(this.text, from, to);
  }
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Characters (code points) in text[from, to). */
function codePoints(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}
