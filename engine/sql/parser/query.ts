// GoogleSQL queries: WITH, set operations, SELECT and its clauses, FROM items and joins, into the
// tree ../gsql/ reads.
import type { Token } from '../lexer.ts';
import type { Cursor } from './cursor.ts';
import { gluedNumber, list, orderItems, parseExpression, windowSpec } from './expression.ts';
import { ident, type Tree } from './nodes.ts';

const SET_OPERATORS: Record<string, string> = { UNION: 'union', INTERSECT: 'intersect', EXCEPT: 'except' };
const JOIN_KINDS: Record<string, string> = { INNER: 'Inner', LEFT: 'Left', RIGHT: 'Right', FULL: 'Full', CROSS: 'Cross' };
/** Words that end a FROM item or a select item where an alias could stand. */
const NOT_ALIAS = new Set(['FROM', 'WHERE', 'GROUP', 'HAVING', 'QUALIFY', 'WINDOW', 'ORDER', 'LIMIT', 'UNION', 'INTERSECT', 'EXCEPT', 'JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS', 'ON', 'USING', 'TABLESAMPLE', 'FOR', 'PIVOT', 'UNPIVOT', 'WITH', 'OFFSET']);

/** `SELECT` or `WITH` at the cursor: a query begins. */
export function isQueryStart(c: Cursor): boolean {
  return c.isWord('SELECT') || c.isWord('WITH');
}

/** `(` then a query, possibly parenthesised again: `((SELECT …))` may also begin a join or a list of values. */
export function mayBeQuery(c: Cursor): boolean {
  let k = 0;
  while (c.isPunct('(', k)) k++;
  return k > 0 && (c.isWord('SELECT', k) || c.isWord('WITH', k));
}

/** A query in parentheses, `(` taken, with its `)`: the query, or undefined (cursor unmoved) when the text is no such query. */
export function parenthesisedQuery(c: Cursor): Tree | undefined {
  // Each start is tried once: `((((…` cannot make the attempts multiply.
  if (c.notQueries.has(c.i)) return undefined;
  // `(SELECT`, `(WITH` begin nothing but a query: its refusal is the statement's.
  if (isQueryStart(c)) {
    const query = parseQuery(c);
    c.expectPunct(')');
    return query;
  }
  const start = c.i;
  const query = c.attempt(() => {
    const query = parseQuery(c);
    c.expectPunct(')');
    return query;
  });
  if (query === undefined) c.notQueries.add(start);
  return query;
}

/** A query: `[WITH …] body [ORDER BY …] [LIMIT … [OFFSET …]]`. */
export function parseQuery(c: Cursor): Tree {
  return c.nested(() => query(c));
}

function query(c: Cursor): Tree {
  const withClause = c.isWord('WITH') ? ctes(c) : undefined;
  const query = setOperation(c);
  const kind = Object.keys(query)[0]!;
  const body = query[kind] as Record<string, unknown>;
  if (withClause !== undefined) {
    if (kind === 'subquery') c.fail('Unsupported WITH before a parenthesised query');
    body.with = withClause;
  }
  const single = kind === 'select';
  if (c.isWord('ORDER')) body.order_by = { expressions: orderItems(c) };
  if (c.takeWord('LIMIT')) {
    const count = parseExpression(c);
    body.limit = single ? { this: count } : count;
    if (c.takeWord('OFFSET')) {
      const offset = parseExpression(c);
      body.offset = single ? { this: offset } : offset;
    }
  }
  return query;
}

/** Set operations, left to right: `a UNION ALL b UNION ALL c` nests to the left. */
function setOperation(c: Cursor): Tree {
  let left = queryTerm(c);
  for (;;) {
    const t = c.peek();
    const kind = t?.kind === 'word' ? SET_OPERATORS[t.upper] : undefined;
    if (kind === undefined) return left;
    c.i++;
    // `all` is always a boolean: chains of one operator are read as one (../gsql/query.ts setBranches).
    const body: Record<string, unknown> = { left, all: c.takeWord('ALL') };
    if (body.all === false && !c.takeWord('DISTINCT')) c.fail('Expected ALL or DISTINCT');
    if (body.all === false) body.distinct = true;
    if (c.isWord('CORRESPONDING') || c.isWord('BY') || c.isWord('STRICT')) c.fail('Unsupported CORRESPONDING');
    body.right = queryTerm(c);
    left = { [kind]: body };
  }
}

/** A SELECT, or a parenthesised query. */
function queryTerm(c: Cursor): Tree {
  if (c.takePunct('(')) {
    const inner = parseQuery(c);
    c.expectPunct(')');
    return { subquery: { this: inner } };
  }
  return select(c);
}

function ctes(c: Cursor): Tree {
  c.expectWord('WITH');
  const recursive = c.takeWord('RECURSIVE');
  const entries = list(c, (c) => {
    if (!c.isName()) c.fail('Expected a name');
    const name = c.next();
    c.expectWord('AS');
    c.expectPunct('(');
    const body = parseQuery(c);
    c.expectPunct(')');
    return { alias: ident(c, name), this: body };
  });
  return recursive ? { ctes: entries, recursive: true } : { ctes: entries };
}

function select(c: Cursor): Tree {
  c.expectWord('SELECT');
  const body: Record<string, unknown> = {};
  const kind = () => {
    if (!(c.isWord('AS') && (c.isWord('STRUCT', 1) || c.isWord('VALUE', 1)))) return;
    c.i++;
    body.kind = c.next().upper;
  };
  kind();
  if (c.takeWord('DISTINCT')) body.distinct = true;
  else c.takeWord('ALL');
  if (body.kind === undefined) kind();
  body.expressions = [selectItem(c)];
  // BigQuery takes a trailing comma after the last select item.
  while (c.takePunct(',') && !selectListEnds(c)) (body.expressions as Tree[]).push(selectItem(c));
  if (c.takeWord('FROM')) fromClause(c, body);
  if (c.takeWord('WHERE')) body.where_clause = { this: parseExpression(c) };
  if (c.isWord('GROUP')) {
    c.i++;
    c.expectWord('BY');
    // `all`: true for ALL, false for DISTINCT (../gsql/ refuses both
    // followed by items, and DISTINCT, by name).
    const all = c.takeWord('ALL') ? true : c.takeWord('DISTINCT') ? false : undefined;
    const expressions = all === true && groupByEnds(c) ? [] : list(c, groupItem);
    body.group_by = all === undefined ? { expressions } : { expressions, all };
  }
  if (c.takeWord('HAVING')) body.having = { this: parseExpression(c) };
  if (c.takeWord('QUALIFY')) body.qualify = { this: parseExpression(c) };
  if (c.isWord('WINDOW')) windows(c, body);
  // BigQuery takes QUALIFY after WINDOW too.
  if (body.qualify === undefined && body.windows !== undefined && c.takeWord('QUALIFY')) {
    body.qualify = { this: parseExpression(c) };
    body.qualify_after_window = true;
  }
  return { select: body };
}

function windows(c: Cursor, body: Record<string, unknown>): void {
  c.expectWord('WINDOW');
  {
    body.windows = list(c, (c) => {
      const name = ident(c, c.next());
      c.expectWord('AS');
      // `w2 AS w1`: the window w1 names, as `w2 AS (w1)`.
      if (c.isName()) return { name, spec: { window_name: ident(c, c.next()) } };
      c.expectPunct('(');
      const spec = windowSpec(c);
      c.expectPunct(')');
      return { name, spec };
    });
  }
}

/** Where GROUP BY ALL ends: nothing but the next clause (or the statement's end) after it. */
function groupByEnds(c: Cursor): boolean {
  const t = c.peek();
  if (t === undefined) return true;
  if (t.kind === 'punct') return t.text === ')' || t.text === ';';
  return t.kind === 'word' && (GROUP_BY_END.has(t.upper));
}

const GROUP_BY_END = new Set(['HAVING', 'QUALIFY', 'WINDOW', 'ORDER', 'LIMIT', 'UNION', 'INTERSECT', 'EXCEPT']);

/** Where a select list ends: its clause keywords, `)`, `;` or the end of the statement. */
function selectListEnds(c: Cursor): boolean {
  const t = c.peek();
  if (t === undefined) return true;
  if (t.kind === 'punct') return t.text === ')' || t.text === ';';
  return t.kind === 'word' && SELECT_LIST_END.has(t.upper);
}

const SELECT_LIST_END = new Set(['FROM', 'WHERE', 'GROUP', 'HAVING', 'QUALIFY', 'WINDOW', 'ORDER', 'LIMIT', 'UNION', 'INTERSECT', 'EXCEPT']);

/** A GROUP BY item: a value, or ROLLUP / CUBE / GROUPING SETS as calls of those names. */
function groupItem(c: Cursor): Tree {
  if ((c.isWord('ROLLUP') || c.isWord('CUBE')) && c.isPunct('(', 1)) {
    const name = c.next().upper;
    c.expectPunct('(');
    const args = list(c, parseExpression);
    c.expectPunct(')');
    return { function: { name, args } };
  }
  if (c.isWord('GROUPING') && c.isWord('SETS', 1)) {
    c.i += 2;
    c.expectPunct('(');
    const args = list(c, (c) => {
      // `()`, `(a)`, `(a, b)`: a set; a bare value (ROLLUP, CUBE too) is a set of one.
      if (!c.isPunct('(')) return groupItem(c);
      c.i++;
      const expressions = c.isPunct(')') ? [] : list(c, parseExpression);
      c.expectPunct(')');
      return { tuple: { expressions } };
    });
    c.expectPunct(')');
    return { function: { name: 'GROUPING SETS', args } };
  }
  return parseExpression(c);
}

function selectItem(c: Cursor): Tree {
  if (c.isPunct('*')) {
    c.i++;
    return star(c, {});
  }
  // `t.*`, `t.f.*`: a path ending in `*` (a longer path's names joined with dots, ../gsql/tree.ts `written`).
  const start = c.i;
  const names: Token[] = [];
  while (c.peek()?.kind === 'word' || c.peek()?.kind === 'quoted') {
    if (!c.isPunct('.', 1)) break;
    names.push(c.next());
    c.i++;
    if (c.takePunct('*')) {
      if (names.length === 1) return star(c, { table: ident(c, names[0]!) });
      if (names.some((n) => n.kind === 'quoted')) c.fail('Unsupported back-quoted path before .*');
      return star(c, { table: { name: names.map((n) => n.text).join('.'), quoted: false, span: c.span(names[0]!, names.at(-1)!) } });
    }
  }
  c.i = start;
  const value = parseExpression(c);
  // `(…).*`, `f(x).*`: the fields of a value, as a field named `*` (../gsql/select-list.ts isDotStar).
  if (c.isPunct('.') && c.isPunct('*', 1)) {
    const t = c.peek(1)!;
    c.i += 2;
    if (c.isWord('EXCEPT') || c.isWord('REPLACE')) c.fail('Unsupported EXCEPT or REPLACE after .* over a value');
    return { dot: { this: value, field: { name: '*', quoted: false, span: c.span(t) } } };
  }
  return aliased(c, value);
}

/** `*` with its EXCEPT and REPLACE lists. */
function star(c: Cursor, body: Record<string, unknown>): Tree {
  if (c.takeWord('EXCEPT')) {
    c.expectPunct('(');
    body.except = list(c, (c) => ident(c, c.next()));
    c.expectPunct(')');
  }
  if (c.takeWord('REPLACE')) {
    c.expectPunct('(');
    body.replace = list(c, (c) => {
      const value = parseExpression(c);
      c.expectWord('AS');
      return { this: value, alias: ident(c, c.next()) };
    });
    c.expectPunct(')');
  }
  return { star: body };
}

/** `value [AS] alias`: the value wrapped in an `alias` node. */
function aliased(c: Cursor, value: Tree): Tree {
  if (c.takeWord('AS')) return { alias: { this: value, alias: ident(c, c.next()), alias_explicit_as: true } };
  const t = c.peek();
  if (t !== undefined && c.isName() && !(t.kind === 'word' && NOT_ALIAS.has(t.upper))) {
    c.i++;
    return { alias: { this: value, alias: ident(c, t) } };
  }
  return value;
}

/** FROM: items separated by commas go to `from`, joins after the first JOIN to `joins`. */
export function fromClause(c: Cursor, body: Record<string, unknown>): void {
  const items: Tree[] = [fromItem(c)];
  const joins: Tree[] = [];
  for (;;) {
    if (c.takePunct(',')) {
      if (joins.length === 0) items.push(fromItem(c));
      else joins.push({ this: fromItem(c), kind: 'Implicit', nesting_group: 0 });
      continue;
    }
    const join = joinClause(c);
    if (join === undefined) break;
    joins.push(join);
  }
  body.from = { expressions: items };
  if (joins.length > 0) body.joins = joins;
}

function joinClause(c: Cursor): Tree | undefined {
  const t = c.peek();
  if (t === undefined || t.kind !== 'word') return undefined;
  let kind: string;
  const join: Record<string, unknown> = {};
  if (t.upper === 'JOIN') {
    kind = 'Inner';
  } else if (JOIN_KINDS[t.upper] !== undefined) {
    kind = JOIN_KINDS[t.upper]!;
    c.i++;
    if (kind === 'Inner') join.use_inner_keyword = true;
    if ((kind === 'Left' || kind === 'Right' || kind === 'Full') && c.takeWord('OUTER')) join.use_outer_keyword = true;
    if (!c.isWord('JOIN')) c.fail('Expected JOIN');
  } else {
    return undefined;
  }
  c.expectWord('JOIN');
  join.this = fromItem(c);
  join.kind = kind;
  join.nesting_group = 0;
  if (kind !== 'Cross') {
    if (c.takeWord('ON')) join.on = parseExpression(c);
    else if (c.takeWord('USING')) {
      c.expectPunct('(');
      join.using = list(c, (c) => ident(c, c.next()));
      c.expectPunct(')');
    }
  }
  return join;
}

function fromItem(c: Cursor): Tree {
  let item: Tree;
  if (c.isPunct('(')) {
    const start = c.i;
    c.i++;
    const query = isQueryStart(c) || mayBeQuery(c) ? parenthesisedQuery(c) : undefined;
    if (query !== undefined) return derivedTable(c, query);
    c.i = start + 1;
    const inner: Record<string, unknown> = {};
    c.nested(() => fromClause(c, inner));
    c.expectPunct(')');
    const from = (inner.from as { expressions: Tree[] }).expressions;
    if (from.length !== 1) c.fail('Unsupported comma inside parentheses');
    if (inner.joins === undefined) return { paren: { this: from[0] } };
    item = { joined_table: { left: from[0], joins: inner.joins } };
    if (c.isWord('AS') || (c.isName() && !NOT_ALIAS.has(c.peek()!.upper))) c.fail('Unsupported alias of a parenthesised join');
    return item;
  }
  if (c.isWord('UNNEST') && c.isPunct('(', 1)) {
    c.i += 2;
    const value = parseExpression(c);
    c.expectPunct(')');
    const body: Record<string, unknown> = { this: value };
    aliasInto(c, body);
    delete body.alias_explicit_as;
    if (c.isWord('WITH') && c.isWord('OFFSET', 1)) {
      c.i += 2;
      body.with_ordinality = true;
      if (c.takeWord('AS')) body.offset_alias = ident(c, c.next());
      else if (c.isName() && !NOT_ALIAS.has(c.peek()!.upper)) body.offset_alias = ident(c, c.next());
    }
    return { unnest: body };
  }
  return table(c);
}

/** A table path: `t`, `ds.t`, `p.ds.t`, back-quoted parts, a project id with dashes. */
function table(c: Cursor): Tree {
  const parts = pathParts(c);
  if (c.isPunct('(')) return tableFunction(c, parts);
  const body = pathBody(c, parts);
  aliasInto(c, body);
  if (c.isWord('FOR') && c.isWord('SYSTEM_TIME', 1)) {
    c.i += 2;
    c.expectWord('AS');
    c.expectWord('OF');
    body.system_time = { as_of: parseExpression(c) };
  }
  if (c.isWord('TABLESAMPLE')) body.table_sample = sample(c);
  return tableOperators(c, { table: body });
}

/** A table name alone, no alias or clause after it (the target of INSERT, UPDATE, DELETE, MERGE): `{name, schema, catalog}`. */
export function tableName(c: Cursor): Record<string, unknown> {
  return pathBody(c, pathParts(c));
}

/** The names of a path, a dashed project id read as one. */
function pathParts(c: Cursor): Tree[] {
  const parts: Tree[] = [];
  do {
    const t = c.peek();
    if (t?.kind === 'number') gluedNumber(c, t);
    if (t === undefined || !(t.kind === 'quoted' || (t.kind === 'word' && c.isName()))) c.fail('Expected a table name');
    c.i++;
    if (parts.length === 0 && t.kind === 'word' && c.isPunct('-') && c.peek()!.start === t.end) {
      // `my-project.ds.t`: the project id, dashes and all.
      let end = t.end;
      while (c.isPunct('-') && c.peek()!.start === end && (c.peek(1)?.kind === 'word' || c.peek(1)?.kind === 'number') && c.peek(1)!.start === c.peek()!.end) {
        end = c.peek(1)!.end;
        c.i += 2;
      }
      parts.push({ name: c.text.slice(t.start, end), quoted: false, span: c.span(t, c.peek(-1)!) });
    } else {
      parts.push(ident(c, t));
    }
  } while (c.isPunct('.') && c.takePunct('.'));
  return parts;
}

/** A path's names placed as name, schema, catalog. */
function pathBody(c: Cursor, parts: readonly Tree[]): Record<string, unknown> {
  const body: Record<string, unknown> = { name: parts.at(-1) };
  if (parts.length >= 2) body.schema = parts.at(-2);
  if (parts.length === 3) body.catalog = parts[0];
  if (parts.length > 3) {
    // The leading names joined with dots, unquoted: ../gsql/tree.ts
    // `written` splits them back, so a back-quoted one may hold no dot of its own.
    const leading = parts.slice(0, -2);
    if (leading.some((p) => p.quoted === true && String(p.name).includes('.'))) c.fail('Unsupported back-quoted name holding a dot in a path of more than three names');
    body.catalog = { name: leading.map((p) => p.name).join('.'), quoted: false, span: parts[0]!.span };
  }
  return body;
}

/** `TABLESAMPLE SYSTEM (n PERCENT)`, and the reservoir sample (n ROWS) zetasql also takes. */
function sample(c: Cursor): Tree {
  c.expectWord('TABLESAMPLE');
  const method = c.takeWord('SYSTEM') ? 'System' : c.takeWord('RESERVOIR') ? 'Reservoir' : c.takeWord('BERNOULLI') ? 'Bernoulli' : c.fail('Expected SYSTEM');
  c.expectPunct('(');
  const size = parseExpression(c);
  const body: Record<string, unknown> = { method, size };
  if (c.takeWord('PERCENT')) body.is_percent = true;
  else c.expectWord('ROWS');
  c.expectPunct(')');
  if (c.takeWord('REPEATABLE')) {
    c.expectPunct('(');
    body.seed = parseExpression(c);
    c.expectPunct(')');
  }
  if (c.isWord('WITH') && c.isWord('WEIGHT', 1)) c.fail('Unsupported TABLESAMPLE WITH WEIGHT');
  return body;
}

/** A table-valued function call in FROM: `MODEL m` and `TABLE t` arguments, queries, values. */
function tableFunction(c: Cursor, parts: readonly Tree[]): Tree {
  if (parts.some((p) => p.quoted === true)) c.fail('Unsupported back-quoted table-valued function name');
  const name = parts.map((p) => p.name).join('.');
  c.expectPunct('(');
  const args = c.isPunct(')') ? [] : list(c, (c) => {
    if ((c.isWord('MODEL') || c.isWord('TABLE')) && (c.peek(1)?.kind === 'word' || c.peek(1)?.kind === 'quoted')) {
      const prefix = c.next().upper;
      const named = table(c);
      const body = named.table as Record<string, unknown> | undefined;
      if (body === undefined || body.alias !== undefined) c.fail(`Expected a ${prefix.toLowerCase()} name`);
      return { table_argument: { prefix, this: named } };
    }
    return parseExpression(c);
  });
  c.expectPunct(')');
  let item: Tree = { function: { name, args } };
  if (c.takeWord('AS')) item = { alias: { this: item, alias: ident(c, c.next()), alias_explicit_as: true, alias_keyword: 'AS' } };
  else if (c.isName() && !NOT_ALIAS.has(c.peek()!.upper)) item = { alias: { this: item, alias: ident(c, c.next()) } };
  return item;
}

/** PIVOT and UNPIVOT after a FROM item. */
function tableOperators(c: Cursor, item: Tree): Tree {
  let out = item;
  if (c.isWord('PIVOT') && c.isPunct('(', 1)) out = pivot(c, item);
  else if (c.isWord('UNPIVOT')) out = unpivot(c, item);
  else return item;
  return c.isWord('TABLESAMPLE') ? { table_sample: { this: out, sample: sample(c) } } : out;
}

/** `PIVOT (agg [AS a], … FOR expr IN (value [AS name], …)) [AS alias]`. */
function pivot(c: Cursor, input: Tree): Tree {
  c.expectWord('PIVOT');
  c.expectPunct('(');
  const expressions = list(c, (c) => {
    const value = parseExpression(c);
    if (c.takeWord('AS')) return { alias: { this: value, alias: ident(c, c.next()), alias_explicit_as: true } };
    if (c.isName() && !c.isWord('FOR')) return { alias: { this: value, alias: ident(c, c.next()) } };
    return value;
  });
  c.expectWord('FOR');
  const column = parseExpressionUntilIn(c);
  c.expectWord('IN');
  c.expectPunct('(');
  const values = list(c, (c) => {
    const value = parseExpression(c);
    const explicit = c.takeWord('AS');
    if (!explicit && !c.isName()) return value;
    const t = c.next();
    return { pivot_alias: { this: value, alias: { column: { name: ident(c, t), span: c.span(t) } } } };
  });
  c.expectPunct(')');
  c.expectPunct(')');
  const body: Record<string, unknown> = { this: input, expressions, fields: [{ in: { this: column, expressions: values } }] };
  aliasInto(c, body);
  delete body.alias_explicit_as;
  return { pivot: body };
}

/** The FOR expression of PIVOT, which IN ends (it is no IN operator there). */
function parseExpressionUntilIn(c: Cursor): Tree {
  const start = c.i;
  let depth = 0;
  let end = start;
  for (; end < c.end; end++) {
    const t = c.tokens[end]!;
    if (t.kind === 'punct' && (t.text === '(' || t.text === '[')) depth++;
    else if (t.kind === 'punct' && (t.text === ')' || t.text === ']')) depth--;
    else if (depth === 0 && t.kind === 'word' && t.upper === 'IN') break;
  }
  const value = c.before(end, () => parseExpression(c));
  if (c.i !== end) c.fail('Unexpected token before IN');
  return value;
}

/** `UNPIVOT [INCLUDE|EXCLUDE NULLS] (v FOR n IN (cols [AS label], …))`, v and cols single or parenthesised sets. */
function unpivot(c: Cursor, input: Tree): Tree {
  c.expectWord('UNPIVOT');
  const body: Record<string, unknown> = { this: input };
  if (c.takeWord('INCLUDE')) {
    c.expectWord('NULLS');
    body.include_nulls = true;
  } else if (c.takeWord('EXCLUDE')) {
    c.expectWord('NULLS');
  }
  c.expectPunct('(');
  if (c.takePunct('(')) {
    const names = list(c, (c) => ident(c, c.next()));
    c.expectPunct(')');
    body.value_column = names[0];
    if (names.length > 1) body.extra_value_columns = names.slice(1);
    body.value_column_parenthesized = true;
  } else {
    body.value_column = ident(c, c.next());
  }
  c.expectWord('FOR');
  body.name_column = ident(c, c.next());
  c.expectWord('IN');
  c.expectPunct('(');
  body.columns = list(c, (c) => {
    const set = parseExpression(c);
    if (!c.takeWord('AS') && !(c.peek()?.kind === 'string' || c.peek()?.kind === 'number')) return set;
    return { pivot_alias: { this: set, alias: parseExpression(c) } };
  });
  c.expectPunct(')');
  c.expectPunct(')');
  aliasInto(c, body);
  delete body.alias_explicit_as;
  return { unpivot: body };
}

function aliasInto(c: Cursor, body: Record<string, unknown>): void {
  if (c.takeWord('AS')) {
    body.alias = ident(c, c.next());
    body.alias_explicit_as = true;
  } else if (c.isName() && !NOT_ALIAS.has(c.peek()!.upper)) {
    body.alias = ident(c, c.next());
  }
}

/** A parenthesised query in FROM, with its alias and the operators after it. */
function derivedTable(c: Cursor, query: Tree): Tree {
  const body: Record<string, unknown> = { this: query };
  aliasInto(c, body);
  const item: Tree = { subquery: body };
  // `(…) TABLESAMPLE …` comes wrapped around the item it samples (../gsql/from.ts).
  if (c.isWord('TABLESAMPLE')) return tableOperators(c, { table_sample: { this: item, sample: sample(c) } });
  return tableOperators(c, item);
}
