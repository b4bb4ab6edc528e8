// Equivalent spellings polyglot-sql reads, for what BigQuery accepts and it refuses or misreads.
// Only the spelling changes, never the meaning, and only by inserting text:
//   `INSERT t …`          → `INSERT INTO t …` (INTO is optional in BigQuery)
//   `ds.311_requests`     → ds.`311_requests` (a path part after a dot may begin with a digit;
//                           polyglot reads `311` as a number and `_requests` as an alias)
//   `UPDATE p-1.ds.t`     → UPDATE `p-1.ds.t` (a dashed project in an UPDATE or INSERT target)
//   `UNNEST(x) table`, `table.a` → UNNEST(x) `table`, `table`.a (TABLE is not reserved in BigQuery;
//                           polyglot reads it only as the keyword). Only where it cannot be the
//                           keyword: glued to a dot after it, or an alias (after AS, `)` or a name,
//                           before a comma, `)`, the end or a clause keyword)
//   `DECLARE pattern STRING` → DECLARE `pattern` STRING (a name BigQuery does not reserve that
//                           polyglot reads as its keyword in a DECLARE, and as a name elsewhere)
//   `WINDOW w2 AS w1`     → WINDOW w2 AS (w1) (a named window that is another, unchanged; polyglot
//                           reads only the parenthesised form)
//   `CREATE MATERIALIZED VIEW mv AS REPLICA OF src` → `… AS SELECT * FROM            src` (the
//                           text inserted, `REPLICA OF` blanked: a replica holds the source
//                           materialized view's rows and columns as they are)
//   `PIVOT(… FOR a + b IN (…))` → PIVOT(… FOR (a + b) IN (…)) (polyglot reads only a column or a
//                           parenthesised expression there)
//   `FROM (SELECT …) UNION ALL …` → FROM (SELECT …) AS sluice_from_0 UNION ALL … (polyglot reads an
//                           unaliased parenthesised query in FROM followed by a set operator as
//                           a derived table of the set operation; BigQuery as the first branch's
//                           FROM item. The alias is named nowhere in the statement)
//   `f(x) OVER (…)[OFFSET(0)]`, `f(x) OVER (…).a` → (f(x) OVER (…))[OFFSET(0)], (f(x) OVER (…)).a
//                           (polyglot reads no subscript or field after a window call; the
//                           subscript applies to the call's value either way)
// and, text of the same length in its place (no position moves):
//   `FOR SYSTEM_TIME AS OF f(x)` → `… AS OF '#0  '` (polyglot keeps the clause as text and stops
//                           at a call's parenthesis); the analysis reads the expression as written
//                           through `masked` (from.ts).
//   `r"\d+"`, `rb'''1'''`  → `"    "`, `b'''  '''` (a raw literal with a backslash: polyglot stops
//                           at `\"`; raw bytes in any quoting, which it refuses); the analysis
//                           reads a literal as a constant whatever its content, so only the
//                           content is blanked.
//   `CREATE TABLE t … WITH CONNECTION c …` → the clause blanked (a BigLake table: the connection
//                           is no table, the statement creates t as any CREATE TABLE does).
//   `DROP EXTERNAL TABLE t` → `DROP          TABLE t` (it drops t as DROP TABLE does; the
//                           statement keeps its type, DROP_EXTERNAL_TABLE, from its tokens).
//   `RETURNS STRUCT<a INT64>` → `RETURNS INT64          ` in CREATE FUNCTION (polyglot reads no
//                           parameterised return type; the analysis does not read the type).
// Every position polyglot reports (its error message, the spans in its tree) is moved back to the
// statement as written. The token scan still checks the original text.
import { lex, type Token } from '../lexer.ts';
import { RESERVED } from '../keywords.ts';
import { readPath } from '../scan.ts';
import type { StatementSpan } from '../split.ts';
import { parseStatement, type ParseResult } from './parse.ts';
import { isSpan } from './tree.ts';

/** Text inserted before `at`, an offset in the statement as written. */
interface Insertion {
  at: number;
  text: string;
}

/** Where an insertion lies in the parser's text: offset, and line with 0-based column. */
interface Placed {
  offset: number;
  line: number;
  column: number;
  length: number;
}

export interface ParserText {
  sql: string;
  placed: readonly Placed[];
  /** Placeholder string literals (with their quotes) and the expressions written in their place. */
  masked: ReadonlyMap<string, string>;
}

function isWord(t: Token | undefined, upper: string): boolean {
  return t !== undefined && t.kind === 'word' && t.upper === upper;
}

/** A word that begins with a digit: the lexer makes one only of a path part after a dot. */
function isDigitPart(t: Token): boolean {
  const c = t.text.charCodeAt(0);
  return t.kind === 'word' && c >= 48 && c <= 57;
}

/** Number spellings BigQuery reads: decimal (with fraction and exponent) and hexadecimal. */
const NUMBER = /^(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|0[xX][0-9a-fA-F]+)$/;

/** A number glued after a dash glued to a name: a piece of `my-project-123.ds.t` (../scan.ts checks it). */
function dashedPiece(tokens: readonly Token[], i: number): boolean {
  const dash = tokens[i - 1];
  const before = tokens[i - 2];
  return dash !== undefined && before !== undefined && dash.kind === 'punct' && dash.text === '-' && before.end === dash.start && dash.end === tokens[i]!.start;
}

/**
 * The token range of an UPDATE or INSERT target whose first name holds dashes (`acme-analytics.sales.orders`):
 * polyglot reads dashed names in FROM but not there. Back-quoted whole, the path means the same.
 */
function dashedTarget(tokens: readonly Token[]): { first: number; last: number } | undefined {
  let at: number;
  if (isWord(tokens[0], 'UPDATE')) at = 1;
  else if (isWord(tokens[0], 'INSERT')) at = isWord(tokens[1], 'INTO') ? 2 : 1;
  else return undefined;
  const read = readPath(tokens as Token[], at);
  if (read === undefined || read.malformed !== undefined || !read.path[0]!.includes('-')) return undefined;
  for (let i = at; i < read.next; i++) if (tokens[i]!.kind === 'quoted') return undefined;
  return { first: at, last: read.next - 1 };
}

function isPunct(t: Token | undefined, text: string): boolean {
  return t !== undefined && t.kind === 'punct' && t.text === text;
}

/**
 * In each WINDOW clause (WINDOW is reserved: it begins one, unless it is the pipe operator
 * `|> WINDOW`), the names of windows defined as another window without parentheses: `w1` in
 * `WINDOW w1 AS (…), w2 AS w1`.
 */
function windowReferences(tokens: readonly Token[]): Token[] {
  const out: Token[] = [];
  tokens.forEach((t, i) => {
    if (!isWord(t, 'WINDOW') || (isPunct(tokens[i - 1], '>') && isPunct(tokens[i - 2], '|'))) return;
    let j = i + 1;
    for (;;) {
      const name = tokens[j];
      if (name === undefined || (name.kind !== 'word' && name.kind !== 'quoted') || !isWord(tokens[j + 1], 'AS')) return;
      const spec = tokens[j + 2];
      if (isPunct(spec, '(')) {
        // Past the parenthesised specification.
        let depth = 0;
        let k = j + 2;
        for (; k < tokens.length; k++) {
          if (isPunct(tokens[k], '(')) depth++;
          else if (isPunct(tokens[k], ')') && --depth === 0) break;
        }
        j = k + 1;
      } else if (spec !== undefined && (spec.kind === 'word' || spec.kind === 'quoted')) {
        out.push(spec);
        j += 3;
      } else {
        return;
      }
      if (!isPunct(tokens[j], ',')) return;
      j++;
    }
  });
  return out;
}

/** The index of the bracket that closes the one at `open`, or -1. */
function closing(tokens: readonly Token[], open: number): number {
  const [o, c] = tokens[open]!.text === '(' ? ['(', ')'] : ['[', ']'];
  for (let depth = 0, i = open; i < tokens.length; i++) {
    if (isPunct(tokens[i], o)) depth++;
    else if (isPunct(tokens[i], c) && --depth === 0) return i;
  }
  return -1;
}

/**
 * Window calls followed by a subscript or a field (`ANY_VALUE(x) OVER () [OFFSET(0)].*`): the
 * first token of the call's name and the `)` that ends its OVER (…). polyglot reads neither after
 * OVER (…); parenthesised, `(f(x) OVER ())[OFFSET(0)]`, the subscript applies to the same value.
 */
function windowCallsSubscripted(tokens: readonly Token[]): { first: Token; last: Token }[] {
  const out: { first: Token; last: Token }[] = [];
  tokens.forEach((t, i) => {
    if (!isWord(t, 'OVER') || !isPunct(tokens[i - 1], ')') || !isPunct(tokens[i + 1], '(')) return;
    const end = closing(tokens, i + 1);
    const after = tokens[end + 1];
    if (end < 0 || !(isPunct(after, '[') || isPunct(after, '.'))) return;
    // Back from the call's `)` to its `(`, then over its name's dotted path (`SAFE.f`, `ds.f`).
    let open = -1;
    for (let depth = 0, j = i - 1; j >= 0; j--) {
      if (isPunct(tokens[j], ')')) depth++;
      else if (isPunct(tokens[j], '(') && --depth === 0) {
        open = j;
        break;
      }
    }
    let first = open - 1;
    if (first < 0 || (tokens[first]!.kind !== 'word' && tokens[first]!.kind !== 'quoted')) return;
    while (isPunct(tokens[first - 1], '.') && (tokens[first - 2]?.kind === 'word' || tokens[first - 2]?.kind === 'quoted')) first -= 2;
    out.push({ first: tokens[first]!, last: tokens[end]! });
  });
  return out;
}

/**
 * The index of REPLICA in `CREATE MATERIALIZED VIEW mv [OPTIONS(…)] AS REPLICA OF source`, the
 * source's path ending the statement. A replica holds the source materialized view's rows and
 * columns as they are: it reads as `AS SELECT * FROM source`, which polyglot parses.
 */
function replicaOf(tokens: readonly Token[]): number | undefined {
  let i = 1;
  if (isWord(tokens[i], 'OR') && isWord(tokens[i + 1], 'REPLACE')) i += 2;
  if (!isWord(tokens[0], 'CREATE') || !isWord(tokens[i], 'MATERIALIZED') || !isWord(tokens[i + 1], 'VIEW')) return undefined;
  for (let depth = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (isPunct(t, '(')) depth++;
    else if (isPunct(t, ')')) depth--;
    else if (depth === 0 && isWord(t, 'AS')) {
      if (!isWord(tokens[i + 1], 'REPLICA') || !isWord(tokens[i + 2], 'OF')) return undefined;
      const source = readPath(tokens as Token[], i + 3);
      const end = source === undefined ? undefined : tokens[source.next];
      if (source === undefined || source.malformed !== undefined || !(end === undefined || (isPunct(end, ';') && source.next === tokens.length - 1))) return undefined;
      return i + 1;
    }
  }
  return undefined;
}

/** `statement` with `REPLICA OF` blanked: SELECT * FROM is inserted before it (insertions). */
function blankReplica(statement: string, span: StatementSpan): string {
  const at = replicaOf(span.tokens);
  if (at === undefined) return statement;
  return blank(statement, span.tokens[at]!.start - span.start, span.tokens[at + 1]!.end - span.start);
}

/**
 * The FOR expression of each `PIVOT(… FOR a + b IN (…))` that is more than a name or a path: its
 * first and last tokens. polyglot reads only a column there, and any expression parenthesised,
 * `FOR (a + b) IN`, which is the same expression.
 */
function pivotForExpressions(tokens: readonly Token[]): { first: Token; last: Token }[] {
  const out: { first: Token; last: Token }[] = [];
  tokens.forEach((t, i) => {
    if (!isWord(t, 'PIVOT') || !isPunct(tokens[i + 1], '(')) return;
    const close = closing(tokens, i + 1);
    let forAt = -1;
    for (let depth = 0, j = i + 2; j < close; j++) {
      const u = tokens[j]!;
      if (isPunct(u, '(') || isPunct(u, '[')) depth++;
      else if (isPunct(u, ')') || isPunct(u, ']')) depth--;
      else if (depth === 0 && isWord(u, 'FOR')) forAt = j;
      else if (depth === 0 && isWord(u, 'IN') && forAt >= 0) {
        const [first, last] = [forAt + 1, j - 1];
        const path = readPath(tokens as Token[], first);
        const parenthesised = isPunct(tokens[first], '(') && closing(tokens, first) === last;
        if (last >= first && path?.next !== j && !parenthesised) out.push({ first: tokens[first]!, last: tokens[last]! });
        return;
      }
    }
  });
  return out;
}

/**
 * The unquoted names a DECLARE declares (`DECLARE a, pattern STRING`): polyglot reads no keyword of
 * its own (PATTERN, MATCH_RECOGNIZE) as a name there, though it does where the variable is used.
 */
function declaredNames(tokens: readonly Token[]): Token[] {
  const out: Token[] = [];
  if (!isWord(tokens[0], 'DECLARE')) return out;
  for (let i = 1; tokens[i]?.kind === 'word' || tokens[i]?.kind === 'quoted'; i += 2) {
    if (tokens[i]!.kind === 'word') out.push(tokens[i]!);
    if (!isPunct(tokens[i + 1], ',')) break;
  }
  return out;
}

/** Words after an alias that end it: clause and join keywords. */
const AFTER_ALIAS = new Set([
  'FROM', 'WHERE', 'GROUP', 'HAVING', 'QUALIFY', 'WINDOW', 'ORDER', 'LIMIT', 'UNION', 'INTERSECT', 'EXCEPT', 'JOIN', 'INNER', 'LEFT',
  'RIGHT', 'FULL', 'CROSS', 'ON', 'USING', 'WITH', 'TABLESAMPLE', 'PIVOT', 'UNPIVOT',
]);

/**
 * The word `table` where BigQuery reads a name and polyglot the keyword TABLE: glued to a dot that
 * a name follows (`table.a`; the keyword is followed by a name or `<`, never a dot), or an alias
 * (after AS, a `)` or a name that is not reserved, and before a comma, a `)`, a `;`, the end of the
 * statement or a clause keyword, where the keyword never stands).
 */
function tableNames(tokens: readonly Token[]): Token[] {
  const out: Token[] = [];
  tokens.forEach((t, i) => {
    if (!isWord(t, 'TABLE')) return;
    const before = tokens[i - 1];
    const after = tokens[i + 1];
    if (isPunct(before, '.')) return;
    if (isPunct(after, '.') && after!.start === t.end && (tokens[i + 2]?.kind === 'word' || tokens[i + 2]?.kind === 'quoted')) {
      out.push(t);
      return;
    }
    const ends = after === undefined || isPunct(after, ',') || isPunct(after, ')') || isPunct(after, ';') || (after.kind === 'word' && AFTER_ALIAS.has(after.upper));
    const aliasPlace = isWord(before, 'AS') || isPunct(before, ')') || before?.kind === 'quoted' || (before?.kind === 'word' && !RESERVED.has(before.upper));
    if (ends && aliasPlace) out.push(t);
  });
  return out;
}

const SET_OPERATORS = new Set(['UNION', 'INTERSECT', 'EXCEPT']);
const QUERY_STARTS = new Set(['SELECT', 'WITH', 'FROM']);
const JOIN_WORDS = new Set(['JOIN', 'CROSS', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'OUTER']);

/** Whether the `,` at `i` separates FROM items: the nearest clause keyword before it at its depth is FROM. */
function fromComma(tokens: readonly Token[], i: number): boolean {
  for (let depth = 0, j = i - 1; j >= 0; j--) {
    const t = tokens[j]!;
    if (isPunct(t, ')') || isPunct(t, ']')) depth++;
    else if (isPunct(t, '(') || isPunct(t, '[')) {
      if (depth === 0) return false;
      depth--;
    } else if (depth === 0 && t.kind === 'word' && (t.upper === 'FROM' || JOIN_WORDS.has(t.upper))) return true;
    else if (depth === 0 && t.kind === 'word' && (t.upper === 'SELECT' || t.upper === 'WHERE' || t.upper === 'GROUP' || t.upper === 'ORDER' || t.upper === 'BY' || t.upper === 'SET' || t.upper === 'VALUES')) return false;
  }
  return false;
}

/**
 * The `)` of each unaliased parenthesised query in FROM (after FROM, a FROM-clause comma or a join
 * keyword) that a set operator follows: `SELECT b FROM (SELECT …) UNION ALL SELECT …`. BigQuery
 * reads the set operation as the query's, the parenthesised query as its first branch's FROM
 * item; polyglot reads `(SELECT …) UNION ALL SELECT …` as the FROM item, a derived table of the
 * set operation, and the select list then picks the union's columns by name, not by position.
 * An alias named nowhere in the statement ends the FROM item there, for polyglot as for BigQuery.
 */
function derivedBeforeSetOperation(tokens: readonly Token[]): Token[] {
  const out: Token[] = [];
  tokens.forEach((t, i) => {
    if (!isPunct(t, '(')) return;
    const next = tokens[i + 1];
    if (next === undefined || next.kind !== 'word' || !QUERY_STARTS.has(next.upper)) return;
    const before = tokens[i - 1];
    // `IS [NOT] DISTINCT FROM (SELECT …)` compares with a subquery: no FROM clause.
    const clauseFrom = isWord(before, 'FROM') && !isWord(tokens[i - 2], 'DISTINCT');
    const inFrom = clauseFrom || (before?.kind === 'word' && JOIN_WORDS.has(before.upper)) || (isPunct(before, ',') && fromComma(tokens, i - 1));
    if (!inFrom) return;
    const close = closing(tokens, i);
    const after = tokens[close + 1];
    if (close < 0 || after === undefined || after.kind !== 'word' || !SET_OPERATORS.has(after.upper)) return;
    out.push(tokens[close]!);
  });
  return out;
}

/** An alias no token of the statement spells, in any case or quoting. */
function freshAlias(tokens: readonly Token[]): string {
  const taken = new Set(tokens.filter((t) => t.kind === 'word' || t.kind === 'quoted').map((t) => t.text.replace(/`/g, '').toLowerCase()));
  let n = 0;
  while (taken.has(`sluice_from_${n}`)) n++;
  return `sluice_from_${n}`;
}

function insertions(span: StatementSpan): Insertion[] {
  const out: Insertion[] = [];
  const tokens = span.tokens;
  const [first, second] = tokens;
  if (isWord(first, 'INSERT') && second !== undefined && !isWord(second, 'INTO')) out.push({ at: second.start - span.start, text: 'INTO ' });
  const target = dashedTarget(tokens);
  if (target !== undefined) out.push({ at: tokens[target.first]!.start - span.start, text: '`' }, { at: tokens[target.last]!.end - span.start, text: '`' });
  tokens.forEach((t, i) => {
    if (!isDigitPart(t) || (target !== undefined && i >= target.first && i <= target.last)) return;
    out.push({ at: t.start - span.start, text: '`' }, { at: t.end - span.start, text: '`' });
  });
  for (const name of declaredNames(tokens)) out.push({ at: name.start - span.start, text: '`' }, { at: name.end - span.start, text: '`' });
  for (const name of tableNames(tokens)) out.push({ at: name.start - span.start, text: '`' }, { at: name.end - span.start, text: '`' });
  for (const name of windowReferences(tokens)) out.push({ at: name.start - span.start, text: '(' }, { at: name.end - span.start, text: ')' });
  const replica = replicaOf(tokens);
  if (replica !== undefined) out.push({ at: tokens[replica]!.start - span.start, text: 'SELECT * FROM ' });
  for (const e of pivotForExpressions(tokens)) out.push({ at: e.first.start - span.start, text: '(' }, { at: e.last.end - span.start, text: ')' });
  for (const call of windowCallsSubscripted(tokens)) out.push({ at: call.first.start - span.start, text: '(' }, { at: call.last.end - span.start, text: ')' });
  const derived = derivedBeforeSetOperation(tokens);
  if (derived.length > 0) {
    const alias = freshAlias(tokens);
    for (const close of derived) out.push({ at: close.end - span.start, text: ` AS ${alias}` });
  }
  // Stable: INTO goes before a target's opening back-quote at the same place.
  return out.sort((a, b) => a.at - b.at);
}

/** Clause and join keywords that end a FOR SYSTEM_TIME expression at its own depth. */
const AFTER_FROM_ITEM = new Set([
  'AS', 'JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS', 'NATURAL', 'LATERAL', 'ON', 'USING', 'WHERE', 'GROUP', 'HAVING',
  'QUALIFY', 'WINDOW', 'ORDER', 'LIMIT', 'UNION', 'INTERSECT', 'EXCEPT', 'TABLESAMPLE', 'FOR', 'PIVOT', 'UNPIVOT',
]);

/** Token range of each `FOR SYSTEM_TIME AS OF` expression that holds a parenthesis. */
function systemTimeExpressions(tokens: readonly Token[]): { first: number; last: number }[] {
  const out: { first: number; last: number }[] = [];
  for (let i = 0; i + 4 < tokens.length; i++) {
    if (!(isWord(tokens[i], 'FOR') && isWord(tokens[i + 1], 'SYSTEM_TIME') && isWord(tokens[i + 2], 'AS') && isWord(tokens[i + 3], 'OF'))) continue;
    const first = i + 4;
    let depth = 0;
    let parens = false;
    let j = first;
    for (; j < tokens.length; j++) {
      const t = tokens[j]!;
      if (t.kind === 'punct' && (t.text === '(' || t.text === '[')) {
        depth++;
        parens = true;
      } else if (t.kind === 'punct' && (t.text === ')' || t.text === ']')) {
        if (depth === 0) break;
        depth--;
      } else if (depth === 0 && ((t.kind === 'punct' && (t.text === ',' || t.text === ';')) || (t.kind === 'word' && AFTER_FROM_ITEM.has(t.upper)))) {
        break;
      }
    }
    if (parens && j > first) out.push({ first, last: j - 1 });
  }
  return out;
}

/**
 * `statement` with each FOR SYSTEM_TIME expression that polyglot does not read replaced by a
 * string literal of the same length, when it fits on its line.
 */
function maskSystemTimes(statement: string, span: StatementSpan): { sql: string; masked: Map<string, string> } {
  const masked = new Map<string, string>();
  let sql = statement;
  for (const range of systemTimeExpressions(span.tokens)) {
    const start = span.tokens[range.first]!.start - span.start;
    const end = span.tokens[range.last]!.end - span.start;
    const written = statement.slice(start, end);
    const tag = `#${masked.size}`;
    if (written.includes('\n') || written.length < tag.length + 2) continue;
    const placeholder = `'${tag}${' '.repeat(written.length - tag.length - 2)}'`;
    masked.set(placeholder, written);
    sql = sql.slice(0, start) + placeholder + sql.slice(end);
  }
  return { sql, masked };
}

/** A raw string or bytes literal: prefix, quote (single or triple) and body. */
const RAW = /^([rR][bB]?|[bB][rR])('''|"""|'|")([\s\S]*)\2$/;

/**
 * `statement` with each raw literal polyglot refuses or may misread blanked to a plain one of the
 * same length, quotes and line breaks kept: raw bytes (polyglot reads no `rb`/`br` prefix) and raw
 * literals holding a backslash (polyglot stops at `\'`). Not under PIVOT, whose IN values name
 * output columns.
 */
function blankRawLiterals(statement: string, span: StatementSpan): string {
  if (span.tokens.some((t) => isWord(t, 'PIVOT'))) return statement;
  let sql = statement;
  for (const t of span.tokens) {
    const raw = t.kind === 'string' ? RAW.exec(t.text) : null;
    if (raw === null) continue;
    const [, prefix, quote, body] = raw as unknown as [string, string, string, string];
    if (prefix.length === 1 && !body.includes('\\')) continue;
    // The `r` dropped, a space in its place inside the quotes.
    const plain = `${prefix.length === 2 ? 'b' : ''}${quote} ${body.replace(/[^\n]/g, ' ')}${quote}`;
    sql = sql.slice(0, t.start - span.start) + plain + sql.slice(t.end - span.start);
  }
  return sql;
}

/**
 * `statement` with its comments blanked, as the lexer found them by BigQuery's rules: a block
 * comment ends at the first `*\/` (polyglot nests them), a line comment at a carriage return
 * too (polyglot reads on to the line feed). Read any other way, a comment could hide a clause
 * or a statement from the analysis that BigQuery runs. Only the text between tokens is read
 * (a caller may have put its own text there, as ml.ts does: it stays).
 */
function blankComments(statement: string, span: StatementSpan): string {
  let out = '';
  let from = 0;
  for (const t of span.tokens) {
    const start = t.start - span.start;
    out += blankGapComments(statement.slice(from, start)) + statement.slice(start, t.end - span.start);
    from = t.end - span.start;
  }
  return out + blankGapComments(statement.slice(from));
}

/** `gap` with the comments in it blanked: everything the lexer reads as no token, line breaks kept. */
function blankGapComments(gap: string): string {
  if (!/--|#|\/\*/.test(gap)) return gap;
  let out = '';
  let from = 0;
  for (const t of lex(gap).tokens) {
    out += gap.slice(from, t.start).replace(/[^\n]/g, ' ') + gap.slice(t.start, t.end);
    from = t.end;
  }
  return out + gap.slice(from).replace(/[^\n]/g, ' ');
}

/** `text` with `start`..`end` blanked to spaces, line breaks kept: no position moves. */
function blank(text: string, start: number, end: number): string {
  return text.slice(0, start) + text.slice(start, end).replace(/[^\n]/g, ' ') + text.slice(end);
}

/**
 * `statement` with the `WITH CONNECTION name` of a CREATE TABLE blanked (polyglot reads none). The
 * connection is no table: the statement creates its table as any CREATE TABLE does. Only before
 * the statement's query (its first `AS` at depth 0), where a WITH cannot open a query's CTEs.
 */
function blankTableConnection(statement: string, span: StatementSpan): string {
  const tokens = span.tokens;
  let i = 1;
  if (isWord(tokens[i], 'OR') && isWord(tokens[i + 1], 'REPLACE')) i += 2;
  if (!isWord(tokens[0], 'CREATE') || !isWord(tokens[i], 'TABLE') || isWord(tokens[i + 1], 'FUNCTION')) return statement;
  for (let depth = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (isPunct(t, '(')) depth++;
    else if (isPunct(t, ')')) depth--;
    else if (depth === 0 && isWord(t, 'AS')) break;
    else if (depth === 0 && isWord(t, 'WITH') && isWord(tokens[i + 1], 'CONNECTION')) {
      // `DEFAULT`, the project's default connection, or a connection's path.
      const name = isWord(tokens[i + 2], 'DEFAULT') ? { next: i + 3 } : readPath(tokens as Token[], i + 2);
      if (name === undefined || ('malformed' in name && name.malformed !== undefined)) break;
      return blank(statement, t.start - span.start, tokens[name.next - 1]!.end - span.start);
    }
  }
  return statement;
}

/** `statement` with the EXTERNAL of `DROP EXTERNAL TABLE` blanked: polyglot reads it as the DROP TABLE it is. */
function blankDropExternal(statement: string, span: StatementSpan): string {
  const [drop, external, table] = span.tokens;
  if (!isWord(drop, 'DROP') || !isWord(external, 'EXTERNAL') || !isWord(table, 'TABLE')) return statement;
  return blank(statement, external!.start - span.start, external!.end - span.start);
}

/** Words that end a function's return type at its own depth. */
const AFTER_RETURN_TYPE = new Set(['AS', 'LANGUAGE', 'OPTIONS', 'DETERMINISTIC', 'NOT', 'REMOTE']);

/** `statement` with a CREATE FUNCTION's parameterised return type blanked to INT64 of the same length. */
function blankReturnType(statement: string, span: StatementSpan): string {
  const tokens = span.tokens;
  if (!isWord(tokens[0], 'CREATE')) return statement;
  const returns = tokens.findIndex((t) => isWord(t, 'RETURNS'));
  if (returns < 0 || !tokens.slice(1, returns).some((t) => isWord(t, 'FUNCTION'))) return statement;
  let last = returns;
  let angled = false;
  for (let depth = 0, i = returns + 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (depth === 0 && t.kind === 'word' && AFTER_RETURN_TYPE.has(t.upper)) break;
    if (t.kind === 'punct' && (t.text === '<' || t.text === '(')) {
      depth++;
      angled ||= t.text === '<';
    } else if (t.kind === 'punct' && (t.text === '>' || t.text === ')')) depth--;
    last = i;
  }
  if (!angled) return statement;
  return typeAsInt64(statement, tokens[returns + 1]!.start - span.start, tokens[last]!.end - span.start);
}

/**
 * `text` with the type written at `start`..`end` replaced by INT64 and spaces to the same length
 * (line breaks kept): a type polyglot does not read, where the analysis reads none or reads it
 * from the tokens. Every type this replaces is longer than INT64 (it holds `<…>`).
 */
export function typeAsInt64(text: string, start: number, end: number): string {
  const blank = text.slice(start, end).replace(/[^\n]/g, ' ');
  return text.slice(0, start) + 'INT64' + blank.slice(5) + text.slice(end);
}

/**
 * The statement as handed to polyglot-sql, or why it is not: a spelling BigQuery refuses, or
 * positions that could not be moved back (text before an insertion must be ASCII, where
 * polyglot's offsets and columns count as strings do).
 */
function parserText(text: string, span: StatementSpan): ParserText | { error: string } {
  // BigQuery refuses a number glued to a name (`2024_sales.orders`, `1x`); polyglot reads a name.
  const glued = span.tokens.find((t, i) => t.kind === 'number' && !NUMBER.test(t.text) && !dashedPiece(span.tokens, i));
  if (glued !== undefined) return { error: `\`${glued.text}\` is neither a number nor a name BigQuery reads (a name cannot begin with a digit)` };
  const blanked = [blankComments, blankRawLiterals, blankReturnType, blankTableConnection, blankDropExternal, blankReplica].reduce((sql, f) => f(sql, span), text.slice(span.start, span.end));
  const { sql: statement, masked } = maskSystemTimes(blanked, span);
  const edits = insertions(span);
  if (edits.length === 0) return { sql: statement, placed: [], masked };
  const last = edits.at(-1)!.at;
  if (!/^[\x00-\x7f]*$/.test(statement.slice(0, last))) return { error: 'a spelling the parser is handed rewritten (INSERT without INTO, a path part beginning with a digit, `table` or a declared variable as a name, WINDOW w2 AS w1, a subscript after a window call, PIVOT … FOR an expression, AS REPLICA OF) after non-ASCII text is not read' };
  let sql = '';
  let from = 0;
  const placed: Placed[] = [];
  for (const e of edits) {
    sql += statement.slice(from, e.at);
    from = e.at;
    const lineStart = sql.lastIndexOf('\n') + 1;
    placed.push({ offset: sql.length, line: sql.split('\n').length, column: sql.length - lineStart, length: e.text.length });
    sql += e.text;
  }
  return { sql: sql + statement.slice(from), placed, masked };
}

/** A 0-based index in the parser's text (or line) as written: inserted text before it removed. */
function written(index: number, inserted: readonly { at: number; length: number }[]): number {
  let shift = 0;
  for (const i of inserted) {
    if (index >= i.at + i.length) shift += i.length;
    else if (index > i.at) shift += index - i.at;
  }
  return index - shift;
}

function onLine(placed: readonly Placed[], line: number): { at: number; length: number }[] {
  return placed.filter((p) => p.line === line).map((p) => ({ at: p.column, length: p.length }));
}


function restoreSpans(value: unknown, placed: readonly Placed[], offsets: readonly { at: number; length: number }[]): void {
  if (Array.isArray(value)) {
    for (const v of value) restoreSpans(v, placed, offsets);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, v] of Object.entries(value)) {
    if (key === 'span' && isSpan(v)) {
      v.start = written(v.start, offsets);
      v.end = written(v.end, offsets);
      v.column = written(v.column - 1, onLine(placed, v.line)) + 1;
    } else {
      restoreSpans(v, placed, offsets);
    }
  }
}

const POSITION = /line (\d+), column (\d+)/;

/** The parse result with its positions moved back to the statement as written. */
function restorePositions(result: ParseResult, text: ParserText): ParseResult {
  if (text.placed.length === 0) return result;
  if (result.error === undefined) {
    restoreSpans(result.ast, text.placed, text.placed.map((p) => ({ at: p.offset, length: p.length })));
    return result;
  }
  const error = result.error.replace(POSITION, (_whole, line: string, column: string) => {
    const l = Number(line);
    return `line ${l}, column ${written(Number(column) - 1, onLine(text.placed, l)) + 1}`;
  });
  return { error };
}

/** The statement parsed as written: handed to polyglot-sql in a spelling it reads, its positions moved back. */
export function parseWritten(text: string, span: StatementSpan): { parsed: ParseResult; masked: ReadonlyMap<string, string> } {
  const input = parserText(text, span);
  if ('error' in input) return { parsed: { error: input.error }, masked: new Map() };
  return { parsed: restorePositions(parseStatement(input.sql), input), masked: input.masked };
}
