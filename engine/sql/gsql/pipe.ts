// Pipe query syntax (`FROM t |> WHERE x > 1 |> AGGREGATE COUNT(*) AS n GROUP BY y`), which the
// parser does not read, rewritten into the equivalent standard GoogleSQL query before parsing,
// so that one analysis reads both. Only rewrites that keep every name resolving as BigQuery resolves
// it are made; any other pipe operator is refused with its name and line:column.
//
// A pipeline's state is either a finished query (its output has no range variable: a standard
// query, or one ending in |> SELECT, |> AGGREGATE or a set operation), or an open
// `SELECT … FROM <from> WHERE … ORDER BY … LIMIT …` whose FROM range variables stay visible, as
// they do in BigQuery after WHERE, JOIN, EXTEND, SET, DROP, ORDER BY, LIMIT and DISTINCT. An
// operator goes into the open SELECT while standard clause order allows it with the same meaning:
//   FROM t                        → SELECT * FROM t
//   |> WHERE c                    → … WHERE c            (… WHERE (c1) AND (c2) for two)
//   |> WHERE <window function>    → … [WHERE TRUE] QUALIFY …  (windows over the rows WHERE keeps)
//   |> [LEFT|…] JOIN u ON …       → … FROM t [LEFT|…] JOIN u ON …
//   |> EXTEND e AS x              → SELECT *, e AS x …   (|> WINDOW likewise)
//   |> SET x = e / |> DROP x      → SELECT * REPLACE (e AS x) … / SELECT * EXCEPT (x) …
//   |> SELECT list                → SELECT list …        (then a finished query)
//   |> SELECT AS STRUCT list      → SELECT AS STRUCT list … (AS VALUE likewise; the last operator only)
//   |> AGGREGATE a GROUP BY k     → SELECT k, a … GROUP BY 1, …, n (positions: a GROUP BY name
//                                   never resolves to an output alias)
//   |> AGGREGATE a GROUP BY ()    → SELECT a …
//   |> AGGREGATE a GROUP BY ROLLUP(x, y, x) (CUBE, GROUPING SETS likewise)
//                                 → SELECT x, y, a … GROUP BY ROLLUP(x, y, x) (one output column
//                                   per distinct column, as BigQuery gives; no aggregate named x)
//   |> DISTINCT / ORDER BY / LIMIT → SELECT DISTINCT … / ORDER BY … / LIMIT … OFFSET …
//   |> TABLESAMPLE …              → FROM t TABLESAMPLE … (a single table only)
// Otherwise the SELECT so far is finished and wrapped, `SELECT * FROM (<q>) …`, without an alias:
// no range variable of the input stays visible. Where BigQuery keeps one (after EXTEND, WHERE, …),
// the rewrite is made only when no later operator names it (nor a pseudo-column, `_…`): a
// reference could read something else. `|> AS a` wraps as `(<q>) AS a`, `|> PIVOT (…)` as
// `(<q>) PIVOT (…)`, `|> UNION ALL (q1), (q2)` as `SELECT * FROM (<q>) UNION ALL (q1) UNION ALL (q2)`.
// Refused: CALL, RENAME (it keeps the column's place, which no SELECT * form does), WITH, IF,
// ASSERT, DESCRIBE, FORK, TEE, the terminal operators, RECURSIVE UNION, MATCH_RECOGNIZE, BY NAME
// set operations, AGGREGATE with ordering suffixes, with ROLLUP, CUBE, GROUPING SETS of anything
// but column names, or with GROUP BY ALL or a position (BigQuery takes neither there), SELECT AS
// STRUCT / AS VALUE followed by another operator, a pipe after a WITH clause, and a value table
// as input (SELECT AS …, FROM UNNEST(…) alone).
//
// Positions: the rewritten text is built of pieces copied from the statement and pieces written
// here; a position in a copied piece maps back to where it is written, one in a written piece to
// the pipe operator (or query start) it stands for. The token scan and the cross-check still read
// the original text.
import { lex, type Token } from '../lexer.ts';
import { RESERVED } from '../keywords.ts';
import { readPath } from '../scan.ts';
import type { StatementSpan } from '../split.ts';
import { lineColumn, shortReason, type ParseResult } from './parse.ts';

/** Text of the rewritten statement: copied from `at` (an offset in the original text), or written for the operator at `op`. */
interface Piece {
  text: string;
  at?: number;
  op: number;
  label: string;
}

export interface PipeRewrite {
  /** The rewritten statement and its span (offsets in `sql`). */
  sql: string;
  span: StatementSpan;
  /** The parse result with its positions moved back to the statement as written. */
  restore(result: ParseResult): ParseResult;
}

class Refusal extends Error {}

function isWord(t: Token | undefined, upper: string): boolean {
  return t !== undefined && t.kind === 'word' && t.upper === upper;
}

function isPunct(t: Token | undefined, text: string): boolean {
  return t !== undefined && t.kind === 'punct' && t.text === text;
}

const QUERY_START = new Set(['SELECT', 'WITH', 'FROM']);
const JOIN_WORDS = new Set(['JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS', 'OUTER']);
const SET_OPERATIONS = new Set(['UNION', 'INTERSECT', 'EXCEPT']);
const TWO_WORD_OPERATORS = new Set(['ORDER', 'CREATE', 'EXPORT', 'RECURSIVE', 'INSERT']);

interface Open {
  kind: 'open';
  from: Piece[];
  /** Every name that may be a range variable of the FROM clause (lower case); empty for an unaliased subquery. */
  names: Set<string>;
  /** The FROM clause joins with a comma at its own depth (a JOIN appended would bind differently). */
  comma: boolean;
  /** The FROM clause is one table path, nothing else. */
  single: boolean;
  /**
   * The FROM clause is one UNNEST: a value table, whose rows a pipe query returns unexpanded
   * where `SELECT *` expands a STRUCT's fields.
   */
  unnest: boolean;
  where: Piece[][];
  /** A WHERE with a window function, as QUALIFY: its windows see the rows the WHERE clause keeps. */
  qualify?: Piece[];
  list: 'star' | 'extend' | 'modified';
  items: Piece[][];
  /** `* REPLACE (…)` or `* EXCEPT (…)`. */
  star: Piece[];
  extendNames: Set<string>;
  /** An EXTEND item holds a window function (its value depends on the rows a WHERE would remove). */
  extendOver: boolean;
  distinct: boolean;
  window?: Piece[];
  order?: Piece[];
  limit?: Piece[];
}

/** A SELECT over `from`, with nothing written after its FROM clause yet. */
function openSelect(from: Piece[], clause: Pick<Open, 'names' | 'comma' | 'single' | 'unnest'>): Open {
  return { kind: 'open', from, ...clause, where: [], list: 'star', items: [], star: [], extendNames: new Set(), extendOver: false, distinct: false };
}

interface Finished {
  kind: 'query';
  q: Piece[];
}

type State = Open | Finished;

class Rewriter {
  readonly text: string;
  readonly tokens: readonly Token[];
  /** Index of the matching bracket of each `(` / `[`. */
  readonly match = new Map<number, number>();
  /** Token indexes of the `|` of each `|>`. */
  readonly pipes = new Set<number>();

  constructor(text: string, tokens: readonly Token[]) {
    this.text = text;
    this.tokens = tokens;
    const stack: number[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t.kind !== 'punct') continue;
      if (t.text === '(' || t.text === '[') stack.push(i);
      else if (t.text === ')' || t.text === ']') {
        const open = stack.pop();
        if (open === undefined) throw new Refusal('unbalanced brackets in a pipe query');
        this.match.set(open, i);
      } else if (t.text === '|') {
        const next = tokens[i + 1];
        if (next?.kind === 'punct' && next.start === t.end && next.text === '|') i++; // `||`
        else if (next?.kind === 'punct' && next.start === t.end && next.text === '>') this.pipes.add(i);
      }
    }
    if (stack.length > 0) throw new Refusal('unbalanced brackets in a pipe query');
  }

  at(i: number): string {
    return lineColumn(this.text, this.tokens[i]!.start);
  }

  /** The operator's name as written in a refusal: `|> CALL`, `|> ORDER BY`. */
  operatorName(i: number): string {
    const t = this.tokens[i];
    if (t === undefined) return '|>';
    const next = this.tokens[i + 1];
    if (t.kind === 'word' && TWO_WORD_OPERATORS.has(t.upper) && next?.kind === 'word') return `|> ${t.upper} ${next.upper}`;
    return `|> ${t.kind === 'word' ? t.upper : t.text}`;
  }

  refuse(what: string, pipe: number): never {
    throw new Refusal(`${what} is not analysed at ${this.at(pipe)}`);
  }

  written(text: string, op: number, label: string): Piece {
    return { text, op, label };
  }

  /** Tokens a..b as written, each parenthesised query in them rewritten. */
  copy(a: number, b: number): Piece[] {
    const out: Piece[] = [];
    let from = a;
    for (let i = a; i <= b; i++) {
      const t = this.tokens[i]!;
      if (!isPunct(t, '(')) continue;
      const close = this.match.get(i)!;
      if (close > b || close === i + 1 || !this.needsRewrite(i + 1, close - 1)) continue;
      out.push(this.slice(from, i));
      out.push(...this.query(i + 1, close - 1));
      from = close;
      i = close;
    }
    if (from <= b) out.push(this.slice(from, b));
    return out;
  }

  slice(a: number, b: number): Piece {
    const start = this.tokens[a]!.start;
    return { text: this.text.slice(start, this.tokens[b]!.end), at: start, op: start, label: 'the query' };
  }

  /** Pipe tokens at the depth of a..b. */
  topPipes(a: number, b: number): number[] {
    const out: number[] = [];
    for (let i = a; i <= b; i++) {
      if (this.pipes.has(i)) out.push(i);
      const close = this.match.get(i);
      if (close !== undefined) i = close;
    }
    return out;
  }

  needsRewrite(a: number, b: number): boolean {
    const first = this.tokens[a]!;
    if (isWord(first, 'FROM')) return true;
    if (!(first.kind === 'word' && QUERY_START.has(first.upper)) && !isPunct(first, '(')) return false;
    return this.topPipes(a, b).length > 0;
  }

  /** Depth-0 items of a..b split at commas (a trailing comma ends the list), as token ranges. */
  items(a: number, b: number): [number, number][] {
    const out: [number, number][] = [];
    let start = a;
    for (let i = a; i <= b; i++) {
      const close = this.match.get(i);
      if (close !== undefined) {
        i = close;
        continue;
      }
      if (isPunct(this.tokens[i], ',')) {
        out.push([start, i - 1]);
        start = i + 1;
      }
    }
    if (start <= b) out.push([start, b]);
    return out;
  }

  /** First depth-0 index in a..b of a word in `words`, or -1. */
  find(a: number, b: number, words: ReadonlySet<string>): number {
    for (let i = a; i <= b; i++) {
      const t = this.tokens[i]!;
      if (t.kind === 'word' && words.has(t.upper)) return i;
      const close = this.match.get(i);
      if (close !== undefined) i = close;
    }
    return -1;
  }

  /** Every name in a..b outside subqueries that may be a range variable (lower case, each part of a quoted path). */
  rangeNames(a: number, b: number, into: Set<string>): Set<string> {
    for (let i = a; i <= b; i++) {
      const t = this.tokens[i]!;
      const close = this.match.get(i);
      if (close !== undefined && this.isSubquery(i)) {
        i = close;
        continue;
      }
      if (t.kind === 'word' && !RESERVED.has(t.upper)) into.add(t.text.toLowerCase());
      else if (t.kind === 'quoted') for (const part of t.text.split('.')) into.add(part.toLowerCase());
    }
    return into;
  }

  isSubquery(open: number): boolean {
    const t = this.tokens[open + 1];
    return t !== undefined && t.kind === 'word' && QUERY_START.has(t.upper);
  }

  /** Whether a..b names any of `names` (or a pseudo-column `_…` when `pseudo`). */
  names(a: number, b: number, names: ReadonlySet<string>, pseudo: boolean): string | undefined {
    for (let i = a; i <= b; i++) {
      const t = this.tokens[i]!;
      if (t.kind !== 'word' && t.kind !== 'quoted') continue;
      const parts = t.kind === 'quoted' ? t.text.split('.') : [t.text];
      for (const part of parts) {
        const lower = part.toLowerCase();
        if (names.has(lower)) return part;
        if (pseudo && t.kind === 'word' && lower.startsWith('_')) return part;
      }
    }
    return undefined;
  }

  /** A query in tokens a..b, its pipe operators rewritten. */
  query(a: number, b: number): Piece[] {
    const pipes = this.topPipes(a, b);
    const first = this.tokens[a]!;
    if (pipes.length === 0 && !isWord(first, 'FROM')) return this.copy(a, b);
    if (isWord(first, 'WITH') && pipes.length > 0) this.refuse(`pipe operator ${this.operatorName(pipes[0]! + 2)} after a WITH clause`, pipes[0]!);
    const initialEnd = pipes.length > 0 ? pipes[0]! - 1 : b;
    let state: State;
    if (isWord(first, 'FROM')) {
      if (initialEnd <= a) throw new Refusal(`a FROM query without a FROM item is not analysed at ${this.at(a)}`);
      this.refuseValueTable(a + 1, initialEnd, a, 'a FROM query');
      state = this.openFrom(a + 1, initialEnd);
    } else {
      if (initialEnd < a) throw new Refusal(`a pipe operator without an input query is not analysed at ${this.at(a)}`);
      this.refuseValueTable(a, initialEnd, pipes[0]!, `pipe operator ${this.operatorName(pipes[0]! + 2)}`);
      state = { kind: 'query', q: this.copy(a, initialEnd) };
    }
    pipes.forEach((pipe, k) => {
      const end = k + 1 < pipes.length ? pipes[k + 1]! - 1 : b;
      if (end < pipe + 2) this.refuse('a pipe `|>` without an operator', pipe);
      state = this.operator(state, pipe, pipe + 2, end, b);
    });
    return this.finish(state, this.tokens[a]!.start, 'the pipe query');
  }

  openFrom(a: number, b: number): Open {
    const path = readPath(this.tokens as Token[], a);
    return openSelect(this.copy(a, b), {
      names: this.rangeNames(a, b, new Set()),
      comma: this.items(a, b).length > 1,
      single: path !== undefined && path.malformed === undefined && path.next === b + 1,
      unnest: isWord(this.tokens[a], 'UNNEST') && this.items(a, b).length === 1 && this.find(a, b, new Set(['JOIN'])) < 0,
    });
  }

  /** SELECT AS STRUCT / AS VALUE at the query's depth: a value table, which pipe operators read unexpanded. */
  refuseValueTable(a: number, b: number, at: number, what: string): void {
    // At any depth (a parenthesised operand may hold it): wider than needed, never narrower.
    for (let i = a; i <= b; i++) {
      if (!isWord(this.tokens[i], 'SELECT')) continue;
      let j = i + 1;
      if (isWord(this.tokens[j], 'DISTINCT') || isWord(this.tokens[j], 'ALL')) j++;
      if (isWord(this.tokens[j], 'AS')) this.refuse(`${what} on a value table (SELECT AS …)`, at);
    }
  }

  /** The open SELECT as a query. */
  close(s: Open, op: number, label: string, star = true): Piece[] {
    const w = (text: string) => this.written(text, op, label);
    if (star && s.unnest) throw new Refusal(`a pipe query FROM UNNEST(…) alone (a value table) without |> SELECT or |> AGGREGATE is not analysed at ${lineColumn(this.text, s.from[0]!.op)}`);
    const out: Piece[] = [w(s.distinct ? 'SELECT DISTINCT ' : 'SELECT ')];
    if (s.list === 'modified') out.push(...s.star);
    else out.push(w('*'));
    for (const item of s.items) out.push(w(', '), ...item);
    out.push(w(' FROM '), ...s.from);
    if (s.where.length === 1) out.push(w(' WHERE '), ...s.where[0]!);
    else if (s.where.length > 1) {
      s.where.forEach((c, k) => out.push(w(k === 0 ? ' WHERE (' : ') AND ('), ...c));
      out.push(w(')'));
    }
    if (s.qualify !== undefined) out.push(w(s.where.length === 0 ? ' WHERE TRUE QUALIFY ' : ' QUALIFY '), ...s.qualify);
    if (s.window !== undefined) out.push(w(' '), ...s.window);
    if (s.order !== undefined) out.push(w(' ORDER BY '), ...s.order);
    if (s.limit !== undefined) out.push(w(' LIMIT '), ...s.limit);
    return out;
  }

  finish(s: State, op: number, label: string): Piece[] {
    return s.kind === 'query' ? s.q : this.close(s, op, label);
  }

  /** An open SELECT reading `(q)` [suffix]: no range variable but those `names`. */
  wrap(q: Piece[], op: number, label: string, suffix: Piece[] = [], names = new Set<string>()): Open {
    const from = [this.written('(', op, label), ...q, this.written(')', op, label), ...(suffix.length > 0 ? [this.written(' ', op, label), ...suffix] : [])];
    return openSelect(from, { names, comma: false, single: false, unnest: false });
  }

  /**
   * The state as an open SELECT an operator can go into, when `fits` it; else the SELECT so far
   * finished and wrapped, refused when a later operator may name a range variable it hides.
   */
  reopen(s: State, fits: (o: Open) => boolean, pipe: number, first: number, end: number, label: string): Open {
    const op = this.tokens[pipe]!.start;
    if (s.kind === 'query') return this.wrap(s.q, op, label);
    if (fits(s)) return s;
    if (s.names.size > 0) {
      const named = this.names(first, end, s.names, true);
      if (named !== undefined) {
        this.refuse(`pipe operator ${this.operatorName(first)} after EXTEND, SET, DROP, ORDER BY, LIMIT or DISTINCT, with \`${named}\` named after it (a range variable or pseudo-column it keeps),`, pipe);
      }
    }
    return this.wrap(this.close(s, op, label), op, label);
  }

  operator(s: State, pipe: number, first: number, last: number, end: number): State {
    const t = this.tokens[first]!;
    const op = this.tokens[pipe]!.start;
    const label = `pipe operator ${this.operatorName(first)}`;
    const w = (text: string) => this.written(text, op, label);
    const args = (a: number) => (a <= last ? this.copy(a, last) : []);
    const plain = plainFrom;
    const word = t.kind === 'word' ? t.upper : '';
    if (isPunct(t, '(') || t.kind !== 'word') this.refuse(label, pipe);
    switch (word) {
      case 'WHERE': {
        if (first === last) this.refuse(label, pipe);
        if (this.tokens.slice(first + 1, last + 1).some((x) => isWord(x, 'OVER'))) {
          // A window function filters as QUALIFY does: over the rows the SELECT's WHERE keeps.
          const o = this.reopen(s, plain, pipe, first, end, label);
          o.qualify = args(first + 1);
          return o;
        }
        // After EXTEND: when the condition names no added column and no added column is a window
        // function's, filtering before the new columns are computed gives the same rows.
        const fits = (x: Open) =>
          (x.list === 'star' || (x.list === 'extend' && !x.extendOver && !x.extendNames.has('*') && this.names(first, last, x.extendNames, false) === undefined)) &&
          !x.distinct && x.qualify === undefined && x.order === undefined && x.limit === undefined && x.window === undefined;
        const o = this.reopen(s, fits, pipe, first, end, label);
        o.where.push(args(first + 1));
        return o;
      }
      case 'SELECT': {
        let a = first + 1;
        let distinct = false;
        if (isWord(this.tokens[a], 'DISTINCT')) {
          distinct = true;
          a++;
        } else if (isWord(this.tokens[a], 'ALL')) a++;
        // SELECT AS STRUCT / AS VALUE makes a value table, which later pipe operators would read
        // unexpanded where the standard form's `SELECT *` expands it: only as the last operator.
        let valueTable = '';
        if (isWord(this.tokens[a], 'AS')) {
          const kind = this.tokens[a + 1];
          if (!(isWord(kind, 'STRUCT') || isWord(kind, 'VALUE')) || last !== end) this.refuse(`pipe operator |> SELECT AS … (a value table)${last !== end ? ' followed by another operator' : ''}`, pipe);
          valueTable = `AS ${kind!.upper} `;
          a += 2;
        }
        if (a > last) this.refuse(label, pipe);
        const window = this.find(a, last, new Set(['WINDOW']));
        const o = this.reopen(s, plain, pipe, first, end, label);
        const listEnd = this.trailingComma(a, window >= 0 ? window - 1 : last);
        const q = this.close(o, op, label, false);
        // Replace `SELECT *` (the open SELECT's head) by the list.
        const head = q.findIndex((p) => p.text === ' FROM ');
        const select = [w(`${distinct ? 'SELECT DISTINCT ' : 'SELECT '}${valueTable}`), ...this.copy(a, listEnd), ...q.slice(head)];
        // The open SELECT had no ORDER BY or LIMIT (plain): WINDOW goes last.
        if (window >= 0) select.push(w(' '), ...this.copy(window, last));
        return { kind: 'query', q: select };
      }
      case 'EXTEND':
      case 'WINDOW': {
        const window = word === 'EXTEND' ? this.find(first + 1, last, new Set(['WINDOW'])) : -1;
        const listEnd = this.trailingComma(first + 1, window >= 0 ? window - 1 : last);
        if (listEnd < first + 1) this.refuse(label, pipe);
        const fits = (o: Open) =>
          (o.list === 'star' || (o.list === 'extend' && !o.extendNames.has('*') && this.names(first, last, o.extendNames, false) === undefined)) &&
          !o.distinct && o.qualify === undefined && o.order === undefined && o.limit === undefined && (window < 0 || o.window === undefined);
        const o = this.reopen(s, fits, pipe, first, end, label);
        for (const [x, y] of this.items(first + 1, listEnd)) {
          o.items.push(this.copy(x, y));
          const lastToken = this.tokens[y]!;
          if (lastToken.kind === 'word' || lastToken.kind === 'quoted') o.extendNames.add(lastToken.text.toLowerCase());
          // A `*` (a star expansion, or a product: wider than needed) adds names not known here.
          if (this.tokens.slice(x, y + 1).some((t) => isPunct(t, '*'))) o.extendNames.add('*');
          if (this.tokens.slice(x, y + 1).some((t) => isWord(t, 'OVER'))) o.extendOver = true;
        }
        if (o.list === 'star') o.list = 'extend';
        if (window >= 0) {
          o.window = this.copy(window, last);
          o.extendOver = true;
        }
        return o;
      }
      case 'SET':
      case 'DROP': {
        if (first === last) this.refuse(label, pipe);
        const items = this.items(first + 1, this.trailingComma(first + 1, last));
        const pieces: Piece[] = [w(word === 'SET' ? '* REPLACE (' : '* EXCEPT (')];
        items.forEach(([x, y], k) => {
          if (k > 0) pieces.push(w(', '));
          const name = this.tokens[x]!;
          const named = name.kind === 'quoted' || (name.kind === 'word' && !RESERVED.has(name.upper));
          if (word === 'DROP') {
            if (!named || x !== y) this.refuse(`pipe operator |> DROP of anything but a column name`, pipe);
            pieces.push(this.slice(x, x));
          } else {
            if (!named || !isPunct(this.tokens[x + 1], '=') || x + 2 > y) this.refuse(`pipe operator |> SET of anything but a column name`, pipe);
            pieces.push(...this.copy(x + 2, y), w(' AS '), this.slice(x, x));
          }
        });
        pieces.push(w(')'));
        const o = this.reopen(s, plain, pipe, first, end, label);
        o.list = 'modified';
        o.star = pieces;
        return o;
      }
      case 'AGGREGATE':
        return this.aggregate(s, pipe, first, last, end, label);
      case 'ORDER': {
        if (!isWord(this.tokens[first + 1], 'BY') || first + 2 > last) this.refuse(label, pipe);
        const fits = (o: Open) => (o.list === 'star' || o.list === 'extend') && o.qualify === undefined && o.order === undefined && o.limit === undefined;
        const o = this.reopen(s, fits, pipe, first, end, label);
        o.order = args(first + 2);
        return o;
      }
      case 'LIMIT': {
        if (first === last) this.refuse(label, pipe);
        const o = this.reopen(s, (x) => x.limit === undefined, pipe, first, end, label);
        o.limit = args(first + 1);
        return o;
      }
      case 'DISTINCT': {
        if (first !== last) this.refuse(label, pipe);
        const o = this.reopen(s, (x) => !x.distinct && x.order === undefined && x.limit === undefined, pipe, first, end, label);
        o.distinct = true;
        return o;
      }
      case 'AS': {
        const alias = this.tokens[first + 1];
        if (first + 1 !== last || alias === undefined || !(alias.kind === 'quoted' || (alias.kind === 'word' && !RESERVED.has(alias.upper)))) this.refuse(label, pipe);
        const names = new Set([alias.text.toLowerCase()]);
        return this.wrap(this.finish(s, op, label), op, label, [w('AS '), this.slice(last, last)], names);
      }
      case 'PIVOT':
      case 'UNPIVOT': {
        if (first === last) this.refuse(label, pipe);
        const names = this.rangeNames(first + 1, last, new Set());
        return this.wrap(this.finish(s, op, label), op, label, args(first), names);
      }
      case 'TABLESAMPLE': {
        if (s.kind !== 'open' || !s.single || s.where.length > 0 || !plainFrom(s)) this.refuse(`${label} on anything but a single table`, pipe);
        s.from.push(w(' '), ...args(first));
        s.single = false;
        return s;
      }
      default:
        if (JOIN_WORDS.has(word)) return this.join(s, pipe, first, last, end, label);
        if (SET_OPERATIONS.has(word)) return this.setOperation(s, pipe, first, last, label);
        return this.refuse(label, pipe);
    }
  }

  /** The end of a list that may end in a comma. */
  trailingComma(a: number, b: number): number {
    return b >= a && isPunct(this.tokens[b], ',') ? b - 1 : b;
  }

  join(s: State, pipe: number, first: number, last: number, end: number, label: string): State {
    let j = first;
    while (j <= last && this.tokens[j]!.kind === 'word' && JOIN_WORDS.has(this.tokens[j]!.upper) && !isWord(this.tokens[j], 'JOIN')) j++;
    if (!isWord(this.tokens[j], 'JOIN') || j === last) this.refuse(label, pipe);
    const op = this.tokens[pipe]!.start;
    const fits = (o: Open) => plainFrom(o) && o.where.length === 0 && !o.comma;
    const o = this.reopen(s, fits, pipe, first, end, label);
    o.from.push(this.written(' ', op, label), ...this.copy(first, last));
    this.rangeNames(j + 1, last, o.names);
    o.single = false;
    o.unnest = false;
    return o;
  }

  setOperation(s: State, pipe: number, first: number, last: number, label: string): State {
    const kind = this.tokens[first + 1];
    if (!isWord(kind, 'ALL') && !isWord(kind, 'DISTINCT')) this.refuse(label + (kind?.kind === 'word' ? ` ${kind.upper}` : ''), pipe);
    const op = this.tokens[pipe]!.start;
    const w = (text: string) => this.written(text, op, label);
    const keyword = `${this.tokens[first]!.upper} ${kind!.upper}`;
    const out: Piece[] = [w('SELECT * FROM ('), ...this.finish(s, op, label), w(')')];
    const items = this.items(first + 2, last);
    if (items.length === 0) this.refuse(label, pipe);
    for (const [x, y] of items) {
      if (!isPunct(this.tokens[x], '(') || this.match.get(x) !== y || y === x + 1) this.refuse(`${label} of anything but parenthesised queries`, pipe);
      out.push(w(` ${keyword} (`), ...this.query(x + 1, y - 1), w(')'));
    }
    return { kind: 'query', q: out };
  }

  aggregate(s: State, pipe: number, first: number, last: number, end: number, label: string): State {
    const op = this.tokens[pipe]!.start;
    const w = (text: string) => this.written(text, op, label);
    const group = this.find(first + 1, last, new Set(['GROUP']));
    if (group >= 0 && !isWord(this.tokens[group + 1], 'BY')) this.refuse(`pipe operator |> AGGREGATE … GROUP AND ORDER BY`, pipe);
    const aggEnd = this.trailingComma(first + 1, group >= 0 ? group - 1 : last);
    const aggregates = aggEnd >= first + 1 ? this.items(first + 1, aggEnd) : [];
    let keys = group >= 0 ? this.items(group + 2, this.trailingComma(group + 2, last)) : [];
    if (group >= 0 && keys.length === 0) this.refuse(label, pipe);
    // BigQuery's pipe AGGREGATE takes no GROUP BY ALL and no position ("GROUP BY ordinal not
    // allowed"); the standard form written below would read `GROUP BY 1` as the constant 1.
    if (keys.some(([x, y]) => x === y && isWord(this.tokens[x], 'ALL'))) this.refuse(`pipe operator |> AGGREGATE … GROUP BY ALL`, pipe);
    if (keys.some(([x, y]) => this.integerLiteral(x, y))) this.refuse(`pipe operator |> AGGREGATE … GROUP BY a position`, pipe);
    const ordering = new Set(['ASC', 'DESC', 'NULLS']);
    for (const [x, y] of [...aggregates, ...keys]) {
      if (this.find(x, y, ordering) >= 0) this.refuse(`pipe operator |> AGGREGATE with an ordering suffix (ASC, DESC)`, pipe);
    }
    // `GROUP BY ()` alone groups all rows into one, as no GROUP BY does (BigQuery takes it alone only).
    const empty = ([x, y]: [number, number]) => isPunct(this.tokens[x], '(') && this.match.get(x) === x + 1 && y === x + 1;
    if (keys.some(empty)) {
      if (keys.length > 1) this.refuse(`pipe operator |> AGGREGATE … GROUP BY () among other keys`, pipe);
      keys = [];
    }
    if (aggregates.length === 0 && keys.length === 0) this.refuse(label, pipe);
    const sets = keys.some(([x]) => this.groupingConstruct(x) !== undefined);
    // ROLLUP, CUBE, GROUPING SETS: one output column per distinct column they name, first come first.
    const columns = new Map<string, number>();
    if (sets) {
      for (const [x, y] of keys) this.groupingColumns(x, y, columns, pipe);
      // The standard form's GROUP BY names its keys, which a select-list alias would take over.
      for (const [, y] of aggregates) {
        const t = this.tokens[y]!;
        if ((t.kind === 'word' || t.kind === 'quoted') && columns.has(t.text.toLowerCase())) this.refuse(`pipe operator |> AGGREGATE with an aggregate named as a grouping column`, pipe);
      }
    }
    const o = this.reopen(s, plainFrom, pipe, first, end, label);
    const q = this.close(o, op, label, false);
    const from = q.findIndex((p) => p.text === ' FROM ');
    const list: Piece[] = [w('SELECT ')];
    const outputs = sets ? [...columns.values()].map((i): [number, number] => [i, i]) : keys;
    [...outputs, ...aggregates].forEach(([x, y], k) => {
      if (k > 0) list.push(w(', '));
      list.push(...this.copy(x, y));
    });
    const out = [...list, ...q.slice(from)];
    if (sets) keys.forEach(([x, y], k) => out.push(w(k === 0 ? ' GROUP BY ' : ', '), ...this.copy(x, y)));
    else if (keys.length > 0) out.push(w(` GROUP BY ${keys.map((_, k) => k + 1).join(', ')}`));
    return { kind: 'query', q: out };
  }

  /** Whether x..y is an integer literal, signed or parenthesised, with or without an alias: `1`, `(-2) AS k`. */
  integerLiteral(x: number, y: number): boolean {
    let [a, b] = [x, y];
    const t = this.tokens[b]!;
    if (b > a && (t.kind === 'quoted' || (t.kind === 'word' && !RESERVED.has(t.upper)))) b -= isWord(this.tokens[b - 1], 'AS') ? 2 : 1;
    for (;;) {
      if (b > a && (isPunct(this.tokens[a], '-') || isPunct(this.tokens[a], '+'))) a++;
      else if (isPunct(this.tokens[a], '(') && this.match.get(a) === b && b > a + 1) [a, b] = [a + 1, b - 1];
      else break;
    }
    return a === b && this.tokens[a]!.kind === 'number' && /^(?:[0-9]+|0x[0-9a-f]+)$/i.test(this.tokens[a]!.text);
  }

  /** At x: `ROLLUP (`, `CUBE (` or `GROUPING SETS (`, as the index of that `(`; else undefined. */
  groupingConstruct(x: number): number | undefined {
    const open = isWord(this.tokens[x], 'ROLLUP') || isWord(this.tokens[x], 'CUBE') ? x + 1 : isWord(this.tokens[x], 'GROUPING') && isWord(this.tokens[x + 1], 'SETS') ? x + 2 : -1;
    return open >= 0 && isPunct(this.tokens[open], '(') ? open : undefined;
  }

  /**
   * The columns a grouping item x..y names, into `columns` (lower-case name → its token): ROLLUP,
   * CUBE, GROUPING SETS and parenthesised sets list items; each item must be a column name. An
   * expression is refused: which two expressions BigQuery takes as the same column is not decided here.
   */
  groupingColumns(x: number, y: number, columns: Map<string, number>, pipe: number): void {
    const open = this.groupingConstruct(x) ?? (isPunct(this.tokens[x], '(') ? x : undefined);
    if (open !== undefined) {
      if (this.match.get(open) !== y) this.refuse(`pipe operator |> AGGREGATE … GROUP BY with a grouping item of an unexpected form`, pipe);
      for (const [a, b] of open + 1 <= y - 1 ? this.items(open + 1, y - 1) : []) this.groupingColumns(a, b, columns, pipe);
      return;
    }
    const t = this.tokens[x]!;
    const name = x === y && ((t.kind === 'word' && !RESERVED.has(t.upper)) || (t.kind === 'quoted' && !t.text.includes('.')));
    if (!name) this.refuse(`pipe operator |> AGGREGATE … GROUP BY ROLLUP, CUBE or GROUPING SETS of anything but column names`, pipe);
    const key = t.text.toLowerCase();
    if (!columns.has(key)) columns.set(key, x);
  }
}

/**
 * The tokens for the token scan (../scan.ts): each `|>` read as a clause that ends a FROM clause
 * (a `SELECT` word in its place), so that a comma in an operator after it is not read as a FROM
 * item's. A pipe JOIN opens a FROM clause of its own.
 */
export function scanTokens(tokens: Token[]): Token[] {
  if (!tokens.some((t, i) => isPunct(t, '|') && isPunct(tokens[i + 1], '>'))) return tokens;
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1];
    if (isPunct(t, '|') && isPunct(next, '|') && next!.start === t.end) {
      out.push(t, next!);
      i++;
    } else if (isPunct(t, '|') && isPunct(next, '>') && next!.start === t.end) {
      out.push({ kind: 'word', text: 'SELECT', upper: 'SELECT', start: t.start, end: next!.end });
      i++;
    } else out.push(t);
  }
  return out;
}

/** The open SELECT is still `SELECT * FROM … [WHERE …]`: a clause of the standard order can follow. */
function plainFrom(o: Open): boolean {
  return o.list === 'star' && !o.distinct && o.qualify === undefined && o.order === undefined && o.limit === undefined && o.window === undefined;
}

/** Whether the statement holds pipe syntax: a `|>`, or a query that starts with FROM. */
function hasPipeSyntax(tokens: readonly Token[]): boolean {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (isWord(t, 'FROM') && (i === 0 || isPunct(tokens[i - 1], '('))) return true;
    if (isPunct(t, '|') && isPunct(tokens[i + 1], '>') && tokens[i + 1]!.start === t.end && !isPunct(tokens[i - 1], '|')) return true;
  }
  return false;
}

/** Statement-relative line (1-based) and column (1-based, in characters) of `offset` in `statement`. */
function place(statement: string, offset: number): { line: number; column: number } {
  const before = statement.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: before.length - lineStart + 1 };
}

/**
 * The query statement `span` of `text` rewritten into standard syntax when it holds pipe syntax;
 * undefined when it holds none; `{ error }` naming the operator and its line:column when the
 * rewrite would not be exact.
 */
export function pipeQuery(text: string, span: StatementSpan): PipeRewrite | { error: string } | undefined {
  const tokens = span.tokens;
  if (!hasPipeSyntax(tokens)) return undefined;
  const statement = text.slice(span.start, span.end);
  // The parser's columns count characters, the positions here code units: they agree in ASCII text only.
  if (!/^[\x00-\x7f]*$/.test(statement)) return { error: `a pipe query holding non-ASCII text is not analysed at ${lineColumn(text, span.start)}` };
  let pieces: Piece[];
  try {
    const rewriter = new Rewriter(text, tokens);
    pieces = rewriter.query(0, tokens.length - 1);
  } catch (e) {
    if (e instanceof Refusal) return { error: e.message };
    throw e;
  }
  let sql = '';
  const placed: { start: number; end: number; piece: Piece }[] = [];
  for (const piece of pieces) {
    placed.push({ start: sql.length, end: sql.length + piece.text.length, piece });
    sql += piece.text;
  }
  const lexed = lex(sql);
  if (lexed.error !== undefined) return { error: `the standard form of the pipe query does not read (${lexed.error}) at ${lineColumn(text, span.start)}` };
  const rewritten: StatementSpan = { tokens: lexed.tokens, start: 0, end: sql.length, unterminatedBlock: false };

  /** A rewritten offset in the statement as written (statement-relative), or the piece it was written for. */
  const back = (offset: number, isEnd: boolean): { at: number } | { piece: Piece } => {
    const found = placed.find((p) => (isEnd ? offset > p.start && offset <= p.end : offset >= p.start && offset < p.end)) ?? placed.at(-1)!;
    const { piece } = found;
    if (piece.at === undefined) return { piece };
    return { at: piece.at - span.start + (offset - found.start) };
  };
  const opOffset = (piece: Piece) => piece.op - span.start;

  const restoreSpans = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) restoreSpans(v);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    for (const [key, v] of Object.entries(value)) {
      if (key === 'span' && typeof v === 'object' && v !== null && typeof (v as { start?: unknown }).start === 'number') {
        const s = v as { start: number; end: number; line: number; column: number };
        const startBack = back(s.start, false);
        let start: number;
        let end: number;
        if ('at' in startBack) {
          start = startBack.at;
          const endBack = back(s.end, true);
          end = 'at' in endBack && endBack.at >= start ? endBack.at : start;
        } else {
          start = opOffset(startBack.piece);
          end = start + 2;
        }
        const p = place(statement, start);
        s.start = start;
        s.end = end;
        s.line = p.line;
        s.column = p.column + (end - start);
      } else {
        restoreSpans(v);
      }
    }
  };

  const restore = (result: ParseResult): ParseResult => {
    if (result.error === undefined) {
      restoreSpans(result.ast);
      return result;
    }
    const m = /^parser: Parse error at line (\d+), column (\d+): (.*)$/s.exec(result.error);
    if (m === null) return result;
    // The offset just after the token the parser stopped at.
    let offset = 0;
    for (let l = 1; l < Number(m[1]); l++) offset = sql.indexOf('\n', offset) + 1;
    offset += Number(m[2]) - 1;
    const found = back(offset, true);
    if ('at' in found) {
      const p = place(statement, found.at);
      return { error: result.error.replace(/line \d+, column \d+/, `line ${p.line}, column ${p.column}`) };
    }
    return { error: `syntax not understood in the standard form of ${found.piece.label} at ${lineColumn(text, found.piece.op)} (parser: ${shortReason(m[3]!)})` };
  };
  return { sql, span: rewritten, restore };
}
