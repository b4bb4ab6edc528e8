// Reading a statement the parser does not read whole (CREATE MODEL, CREATE PROCEDURE) from its tokens:
// the statement's text and tokens, and the checks every such reader makes on them.
import { unsupported } from '../ast.ts';
import type { Token } from '../lexer.ts';
import { readPath } from '../scan.ts';
import type { StatementSpan } from '../split.ts';
import type { StatementContext } from '../context.ts';

/** A statement as written: the whole text and the statement's span of it. */
export interface StatementSource {
  readonly text: string;
  readonly span: StatementSpan;
}

/** Words that would begin a query, which a name list or an OPTIONS value never holds. */
const QUERY_WORDS = new Set(['SELECT', 'WITH', 'FROM']);
const NAME_LIST_PUNCT = new Set([',', '<', '>', '(', ')']);
const OPTION_PUNCT = new Set(['=', ',', '[', ']', '(', ')', '-', '+', '.']);

export class StatementReader {
  readonly text: string;
  readonly span: StatementSpan;
  readonly tokens: readonly Token[];

  constructor(source: StatementSource) {
    this.text = source.text;
    this.span = source.span;
    this.tokens = source.span.tokens;
  }

  word(i: number, upper: string): boolean {
    const t = this.tokens[i];
    return t !== undefined && t.kind === 'word' && t.upper === upper;
  }

  punct(i: number, text: string): boolean {
    const t = this.tokens[i];
    return t !== undefined && t.kind === 'punct' && t.text === text;
  }

  /** Refuses `what` at token `i`, with its line:column in the statement (as the parser's positions are). */
  fail(what: string, i: number): never {
    const t = this.tokens[i];
    if (t === undefined) return unsupported(`${what} is not analysed at the end of the statement`);
    const before = this.text.slice(this.span.start, t.start).split('\n');
    return unsupported(`${what} is not analysed at line ${before.length}:${[...before.at(-1)!].length + 1}`);
  }

  /**
   * `CREATE [OR REPLACE] <kind> [IF NOT EXISTS] name`: the name's path (no wildcard) and the index
   * of the token after it. `what` names the object in refusals ("model", "procedure").
   */
  createdName(kind: string, what: string): { path: string[]; next: number } {
    let i = 1;
    if (this.word(i, 'OR') && this.word(i + 1, 'REPLACE')) i += 2;
    if (!this.word(0, 'CREATE') || !this.word(i, kind)) this.fail(`CREATE ${kind} of an unexpected form`, i);
    i++;
    if (this.word(i, 'IF') && this.word(i + 1, 'NOT') && this.word(i + 2, 'EXISTS')) i += 3;
    const name = readPath(this.tokens as Token[], i);
    if (name === undefined) return this.fail(`CREATE ${kind} without a ${what} name`, i);
    if (name.malformed !== undefined) this.fail(name.malformed, i);
    if (name.path.some((p) => p.includes('*'))) this.fail(`${what} name with a wildcard`, i);
    return { path: name.path, next: name.next };
  }

  /** The index of the `)` closing the `(` at `open`. */
  closing(open: number, what: string): number {
    if (!this.punct(open, '(')) this.fail(`${what} without a parenthesised list`, open);
    let depth = 0;
    for (let i = open; i < this.tokens.length; i++) {
      if (this.punct(i, '(')) depth++;
      else if (this.punct(i, ')') && --depth === 0) return i;
    }
    return this.fail(`${what} list that is not closed`, open);
  }

  /** `name type, …` (columns, parameters): names and types, which read nothing. */
  nameList(first: number, last: number, what: string): void {
    for (let i = first; i <= last; i++) {
      const t = this.tokens[i]!;
      if (t.kind === 'quoted' || t.kind === 'number' || (t.kind === 'word' && !QUERY_WORDS.has(t.upper))) continue;
      if (t.kind === 'punct' && NAME_LIST_PUNCT.has(t.text)) continue;
      this.fail(`${what} holding \`${t.text}\``, i);
    }
  }

  /** `key = value, …` of `statement`'s OPTIONS, with constant values and calls of `calls` only. */
  constantOptions(first: number, last: number, ctx: StatementContext, statement: string, calls: ReadonlySet<string>): void {
    for (let i = first; i <= last; i++) {
      const t = this.tokens[i]!;
      if (t.kind === 'string' || t.kind === 'number' || t.kind === 'param') continue;
      if (t.kind === 'punct' && OPTION_PUNCT.has(t.text)) continue;
      if (t.kind === 'word' && !QUERY_WORDS.has(t.upper)) {
        if (this.punct(i + 1, '(')) {
          if (!calls.has(t.upper)) this.fail(`call of ${t.upper} in ${statement} OPTIONS`, i);
          ctx.functions.add(t.upper);
        }
        continue;
      }
      this.fail(`${statement} OPTIONS value that is not a constant`, i);
    }
  }
}
