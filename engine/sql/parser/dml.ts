// INSERT, UPDATE, DELETE and MERGE statements, into the tree ../gsql/ reads.
// BigQuery's spellings only: INTO and FROM optional, WHERE required, no alias on an INSERT target,
// a MERGE source that is a table or a parenthesised query.
import type { Token } from '../lexer.ts';
import type { Cursor } from './cursor.ts';
import { list, parseExpression } from './expression.ts';
import type { StatementParser } from './index.ts';
import { ident, name, type Tree } from './nodes.ts';
import { fromClause, isQueryStart, mayBeQuery, parenthesisedQuery, parseQuery, tableName } from './query.ts';

/** `INSERT [INTO] t [(columns)] {VALUES (…), … | query}`. */
function insertStatement(c: Cursor): Tree {
  c.expectWord('INSERT');
  c.takeWord('INTO');
  const body: Record<string, unknown> = { table: tableName(c) };
  if (c.isPunct('(') && !mayBeQuery(c)) body.columns = columnList(c);
  if (c.takeWord('VALUES')) body.values = list(c, valuesRow);
  else if (isQueryStart(c) || mayBeQuery(c)) body.query = parseQuery(c);
  else if (c.isWord('FROM')) body.query = fromQuery(c);
  else c.fail('Expected VALUES or a query');
  return { insert: body };
}

/**
 * `FROM items` ending the statement: a pipe query without operators, read as `SELECT * FROM items`
 * as ../gsql/pipe.ts rewrites one. Over a value table (UNNEST alone, SELECT AS …) it returns the
 * values unexpanded, so that is refused, as pipe.ts refuses it.
 */
function fromQuery(c: Cursor): Tree {
  const start = c.i;
  c.expectWord('FROM');
  const body: Record<string, unknown> = { expressions: [{ star: {} }] };
  fromClause(c, body);
  if (!c.done) c.fail('Unsupported clause after a FROM query');
  const items = (body.from as { expressions: Tree[] }).expressions;
  if (items.length === 1 && body.joins === undefined && 'unnest' in items[0]!) c.failAt(c.tokens[start]!, 'Unsupported FROM query over UNNEST alone (a value table)');
  for (let i = start; i < c.i; i++) {
    if (!isWordToken(c.tokens[i], 'SELECT')) continue;
    const next = isWordToken(c.tokens[i + 1], 'DISTINCT') || isWordToken(c.tokens[i + 1], 'ALL') ? i + 2 : i + 1;
    if (isWordToken(c.tokens[next], 'AS')) c.failAt(c.tokens[start]!, 'Unsupported FROM query over a value table (SELECT AS …)');
  }
  return { select: body };
}

function isWordToken(t: Token | undefined, upper: string): boolean {
  return t !== undefined && t.kind === 'word' && t.upper === upper;
}

/** `(a, b)`: the columns an INSERT writes, single names each. */
function columnList(c: Cursor): Tree[] {
  c.expectPunct('(');
  const columns = list(c, (c) => name(c));
  c.expectPunct(')');
  return columns;
}

/** `(value, …)`: one row of VALUES. */
function valuesRow(c: Cursor): Tree[] {
  c.expectPunct('(');
  const row = list(c, valueOrDefault);
  c.expectPunct(')');
  return row;
}

/**
 * A value written to a column, or DEFAULT (the column's default: no value read). DEFAULT is
 * reserved: only a clause keyword, `,` or `)` may follow it there.
 */
function valueOrDefault(c: Cursor): Tree {
  if (c.isWord('DEFAULT')) {
    const after = c.peek(1);
    if (after === undefined || after.kind === 'word' || (after.kind === 'punct' && (after.text === ',' || after.text === ')'))) {
      c.i++;
      return { var: { this: 'DEFAULT' } };
    }
  }
  return parseExpression(c);
}

/** `UPDATE t [[AS] alias] SET path = value, … [FROM …] WHERE condition`. */
function updateStatement(c: Cursor): Tree {
  c.expectWord('UPDATE');
  const table = tableName(c);
  aliasInto(c, table);
  c.expectWord('SET');
  const body: Record<string, unknown> = { table, set: list(c, updateItem) };
  if (c.takeWord('FROM')) {
    const from: Record<string, unknown> = {};
    fromClause(c, from);
    body.from_clause = from.from;
    if (from.joins !== undefined) body.from_joins = from.joins;
  }
  body.where_clause = where(c);
  return { update: body };
}

/** `path = value` of UPDATE: the path as one identifier, its names joined with dots (../gsql/tree.ts `written` splits them back). */
function updateItem(c: Cursor): [Tree, Tree] {
  const names = path(c);
  let column: Tree;
  if (names.length === 1) column = ident(c, names[0]!);
  else {
    // Joined unquoted, a back-quoted name must hold no dot of its own, or it would be split apart.
    if (names.some((t) => t.kind === 'quoted' && t.text.includes('.'))) c.failAt(names[0]!, 'Unsupported back-quoted name holding a dot in an UPDATE column path');
    column = { name: names.map((t) => t.text).join('.'), quoted: false, span: c.span(names[0]!, names.at(-1)!) };
  }
  if (!c.takeOperator('=')) c.fail('Expected `=`');
  return [column, valueOrDefault(c)];
}

/** `name[.name…]`: the names of a column path. */
function path(c: Cursor): Token[] {
  const names = [c.takeName()];
  while (c.takePunct('.')) names.push(c.takeName());
  return names;
}

/** `DELETE [FROM] t [[AS] alias] WHERE condition`. */
function deleteStatement(c: Cursor): Tree {
  c.expectWord('DELETE');
  const noFrom = !c.takeWord('FROM');
  const body: Record<string, unknown> = { table: tableName(c) };
  aliasInto(c, body);
  body.where_clause = where(c);
  if (noFrom) body.no_from = true;
  return { delete: body };
}

/** WHERE, which BigQuery requires of UPDATE and DELETE. */
function where(c: Cursor): Tree {
  c.expectWord('WHERE');
  return { this: parseExpression(c) };
}

/** `MERGE [INTO] t [[AS] alias] USING source [[AS] alias] ON condition WHEN … [WHEN …]`. */
function mergeStatement(c: Cursor): Tree {
  c.expectWord('MERGE');
  c.takeWord('INTO');
  const target = aliasedTable(c);
  c.expectWord('USING');
  const using = mergeSource(c);
  c.expectWord('ON');
  const on = parseExpression(c);
  const whens: Tree[] = [];
  do whens.push(whenClause(c));
  while (c.isWord('WHEN'));
  return { merge: { this: target, using, on, whens: { whens: { expressions: whens } } } };
}

/** A table with an optional alias (a MERGE target or source): an alias wraps the table. */
function aliasedTable(c: Cursor): Tree {
  const table = { table: tableName(c) };
  const alias: Record<string, unknown> = {};
  aliasInto(c, alias);
  return alias.alias === undefined ? table : { alias: { this: table, alias: alias.alias } };
}

/** The rows MERGE reads: a table or a parenthesised query, with an optional alias. */
function mergeSource(c: Cursor): Tree {
  if (!c.isPunct('(')) return aliasedTable(c);
  c.i++;
  const query = isQueryStart(c) || mayBeQuery(c) ? parenthesisedQuery(c) : undefined;
  if (query === undefined) c.fail('Expected a query');
  const body: Record<string, unknown> = { this: query };
  aliasInto(c, body);
  delete body.alias_explicit_as;
  return { subquery: body };
}

/**
 * `WHEN MATCHED | NOT MATCHED [BY TARGET] | NOT MATCHED BY SOURCE [AND condition] THEN action`:
 * a row with a match, or of the source only, may be updated or deleted; one of the source only inserted.
 */
function whenClause(c: Cursor): Tree {
  c.expectWord('WHEN');
  const matched = !c.takeWord('NOT');
  c.expectWord('MATCHED');
  const body: Record<string, unknown> = { matched: { boolean: { value: matched } } };
  let insert = !matched;
  if (!matched && c.takeWord('BY')) {
    const bySource = c.takeWord('SOURCE');
    if (!bySource) c.expectWord('TARGET');
    body.source = { boolean: { value: bySource } };
    insert = !bySource;
  }
  if (c.takeWord('AND')) body.condition = parseExpression(c);
  c.expectWord('THEN');
  body.then = insert ? mergeInsert(c) : mergeUpdateOrDelete(c);
  return { when: body };
}

const action = (name: string): Tree => ({ var: { this: name } });

/** `DELETE`, or `UPDATE SET column = value, …`. */
function mergeUpdateOrDelete(c: Cursor): Tree {
  if (c.takeWord('DELETE')) return action('DELETE');
  c.expectWord('UPDATE');
  c.expectWord('SET');
  const items = list(c, mergeSetItem);
  return { tuple: { expressions: [action('UPDATE'), { tuple: { expressions: items } }] } };
}

/** `column = value` or `alias.column = value` of MERGE's UPDATE. */
function mergeSetItem(c: Cursor): Tree {
  const names = path(c);
  let left: Tree;
  if (names.length === 1) left = { identifier: ident(c, names[0]!) };
  else if (names.length === 2) left = { column: { name: ident(c, names[1]!), table: ident(c, names[0]!), span: c.span(names[0]!, names[1]!) } };
  else return c.failAt(names[2]!, 'Unsupported MERGE SET of a field');
  if (!c.takeOperator('=')) c.fail('Expected `=`');
  return { eq: { left, right: valueOrDefault(c) } };
}

/** `INSERT [(columns)] VALUES (values)` or `INSERT ROW`. */
function mergeInsert(c: Cursor): Tree {
  c.expectWord('INSERT');
  if (c.takeWord('ROW')) return { tuple: { expressions: [action('INSERT'), action('ROW')] } };
  const parts: Tree[] = [action('INSERT')];
  if (c.isPunct('(')) parts.push({ tuple: { expressions: columnList(c).map((column) => ({ identifier: column })) } });
  c.expectWord('VALUES');
  parts.push({ tuple: { expressions: valuesRow(c) } });
  return { tuple: { expressions: parts } };
}

/** `[AS] alias` into `body`: every word that may follow an alias in these statements is reserved. */
function aliasInto(c: Cursor, body: Record<string, unknown>): void {
  if (c.takeWord('AS')) {
    body.alias = name(c);
    body.alias_explicit_as = true;
  } else if (c.isName()) {
    body.alias = name(c);
  }
}


export const DML_STATEMENTS: Readonly<Record<string, StatementParser>> = {
  INSERT: insertStatement,
  UPDATE: updateStatement,
  DELETE: deleteStatement,
  MERGE: mergeStatement,
};
