// Lineage of queries: WITH (and WITH RECURSIVE), set operations, and the clauses of each SELECT.
// The outermost result becomes the statement's outputs (../relation.ts queryOutputs).
import type { StatementContext } from '../context.ts';
import { transformed, type Lineage } from '../lineage.ts';
import { relationColumns, type QueryResult } from '../relation.ts';
import { CteEnv, Scope, type DerivedColumn } from '../scope.ts';
import { writtenKey } from '../tables.ts';
import { combineBranches, sameColumns } from './branches.ts';
import { evalExpr, evalOrdered, evalWindowSpec, type ExprEnv } from './expr.ts';
import { addFromClause } from './from.ts';
import { selectList } from './select-list.ts';
import { variablesOf } from './statement-facts.ts';
import { expectFields, ident, isNode, items, refuse, variant, type Variant } from './tree.ts';

const SET_OPERATIONS = new Set(['union', 'intersect', 'except']);
const SELECT_FIELDS = new Set([
  'expressions', 'from', 'joins', 'where_clause', 'group_by', 'having', 'qualify', 'order_by', 'limit', 'offset', 'distinct',
  'with', 'windows', 'kind', 'qualify_after_window',
]);
const SET_FIELDS = new Set(['left', 'right', 'all', 'distinct', 'with', 'order_by', 'limit', 'offset']);
/** A parenthesised query used as a query (a set operation branch, a WITH body). */
const WRAPPED_QUERY_FIELDS = new Set(['this', 'alias_explicit_as', 'lateral', 'modifiers_inside', 'order_by', 'limit', 'offset']);
/** How many rounds a recursive WITH query is re-read for its lineage to settle. */
const RECURSION_ROUNDS = 8;

export function isQuery(v: Variant): boolean {
  return v.kind === 'select' || SET_OPERATIONS.has(v.kind);
}

/** A SELECT's scope and select aliases, where an ORDER BY written after a set operation resolves names. */
interface SelectTail {
  readonly env: ExprEnv;
}

interface Analysed {
  readonly result: QueryResult;
  /** The last SELECT of the query, where ORDER BY after a set operation is resolved. */
  readonly last: SelectTail | undefined;
}

export function analyzeQuery(node: unknown, outer: Scope | undefined, ctes: CteEnv | undefined, ctx: StatementContext): QueryResult {
  return query(node, outer, ctes, ctx).result;
}

function query(node: unknown, outer: Scope | undefined, ctes: CteEnv | undefined, ctx: StatementContext): Analysed {
  const v = variant(node, 'query');
  if (v.kind === 'subquery') {
    expectFields(v, WRAPPED_QUERY_FIELDS, 'parenthesised query');
    if (v.body.lateral === true) refuse('LATERAL', v.node);
    const inner = query(v.body.this, outer, ctes, ctx);
    // `(SELECT …) ORDER BY … LIMIT …`: the clauses order and cut the parenthesised query's rows.
    queryTail(v, inner.result, inner.last, new Scope(outer, ctes), ctx);
    return inner;
  }
  if (v.kind === 'select') return select(v, outer, ctes, ctx);
  if (SET_OPERATIONS.has(v.kind)) return setOperation(v, outer, ctes, ctx);
  return refuse(`query of kind ${v.kind}`, v.node);
}

/** `a UNION ALL b UNION ALL c` as its branches, left to right (the tree nests to the left). */
function setBranches(v: Variant, kind: string, all: boolean, out: unknown[]): void {
  const left = variant(v.body.left, 'set operation branch');
  const plain = left.kind === kind && left.body.all === all && !hasTail(left);
  // A branch read as one of the chain's is checked as the chain is: `a UNION ALL CORRESPONDING b
  // UNION ALL c` matches a and b by name, which reading the chain by position would miss.
  if (plain) expectFields(left, SET_FIELDS, `${left.kind.toUpperCase()}`);
  if (plain) setBranches(left, kind, all, out);
  else out.push(v.body.left);
  out.push(v.body.right);
}

function hasTail(v: Variant): boolean {
  return v.body.with != null || v.body.order_by != null || v.body.limit != null || v.body.offset != null;
}

function setOperation(v: Variant, outer: Scope | undefined, ctes: CteEnv | undefined, ctx: StatementContext): Analysed {
  expectFields(v, SET_FIELDS, `${v.kind.toUpperCase()}`);
  const env = v.body.with != null ? defineCtes(v.body.with, ctes, ctx) : ctes;
  const branches: unknown[] = [];
  setBranches(v, v.kind, v.body.all === true, branches);
  const results: QueryResult[] = [];
  let last: SelectTail | undefined;
  for (const branch of branches) {
    const analysed = query(branch, outer, env, ctx);
    results.push(analysed.result);
    last = analysed.last;
  }
  const result = combineBranches(results);
  // Every set operation but UNION ALL compares whole rows: which rows come back (or how many)
  // answers whether a value is among the other branch's, so every column steers the result.
  if (v.kind !== 'union' || v.body.all !== true) for (const r of results) for (const c of r.columns) ctx.predicate(c.lineage);
  queryTail(v, result, last, new Scope(outer, env), ctx);
  return { result, last };
}

/**
 * ORDER BY, LIMIT and OFFSET after a set operation or a parenthesised query. ORDER BY names the
 * result's columns, each with its lineage over every branch (`… UNION ALL … ORDER BY x` orders by
 * every branch's x); any other name is resolved where the last SELECT resolves it.
 */
function queryTail(v: Variant, result: QueryResult, last: SelectTail | undefined, scope: Scope, ctx: StatementContext): void {
  if (v.body.order_by != null) {
    const named = new Set<string>();
    const columns: DerivedColumn[] = [];
    for (const c of result.columns) {
      const name = c.name.toLowerCase();
      if (c.lookup !== undefined || c.name === '*' || named.has(name)) continue;
      named.add(name);
      columns.push({ name, lineage: c.lineage });
    }
    const late: ExprEnv = { scope: aliasScope(last?.env.scope ?? scope, columns), ctx };
    orderBy(v.body.order_by, late, result.columns);
  }
  limit(v.body.limit, v.body.offset, { scope, ctx });
}

function orderBy(node: unknown, env: ExprEnv, columns: readonly DerivedColumn[]): void {
  if (!isNode(node)) refuse('ORDER BY of an unexpected shape', node);
  for (const key of Object.keys(node)) if (key !== 'expressions' && node[key] != null && node[key] !== false) refuse(`ORDER BY with ${key}`, node);
  for (const item of items(node.expressions)) {
    const position = isNode(item) ? byPosition(item.this, columns) : undefined;
    env.ctx.predicate(position ?? evalOrdered([item], env)[0]!);
  }
}

/**
 * `ORDER BY 2`, `GROUP BY 1`: an integer literal names the select-list column at that position
 * (1-based), whose value then steers the result; undefined for any other expression. BigQuery
 * takes any item that resolves to an INT64 literal so: in parentheses (`ORDER BY (2)`), in hex
 * (`0x2`), with a COLLATE (`ORDER BY 2 COLLATE 'und:ci'`). Behind a `*` of a table whose columns
 * are not known, the position is not known either: every column.
 */
function byPosition(node: unknown, columns: readonly DerivedColumn[]): Lineage | undefined {
  let v = variant(node, 'expression');
  while ((v.kind === 'paren' || v.kind === 'collation') && isNode(v.body.this)) v = variant(v.body.this, 'expression');
  if (v.kind !== 'literal') return undefined;
  const digits = String(v.body.value);
  const decimal = v.body.literal_type === 'number' && /^[0-9]+$/.test(digits);
  const hex = v.body.literal_type === 'hex_number' && /^[0-9a-fA-F]+$/.test(digits);
  if (!decimal && !hex) return undefined;
  const position = decimal ? Number(digits) : parseInt(digits, 16);
  if (columns.slice(0, position).some((c) => c.lookup !== undefined || c.name === '*')) return transformed(columns.map((c) => c.lineage));
  const column = columns[position - 1];
  return column === undefined ? refuse(`position ${position} past the select list`, v.node) : column.lineage;
}

function limit(count: unknown, offset: unknown, env: ExprEnv): void {
  for (const clause of [count, offset]) {
    if (clause == null) continue;
    // A set operation's LIMIT is the value itself; a SELECT's is `{this}`.
    if (isNode(clause) && 'this' in clause) evalExpr(clause.this, env);
    else evalExpr(clause, env);
  }
}

function defineCtes(withNode: unknown, ctes: CteEnv | undefined, ctx: StatementContext): CteEnv {
  if (!isNode(withNode)) return refuse('WITH of an unexpected shape', withNode);
  if (withNode.search != null) refuse('WITH … SEARCH', withNode);
  const env = new CteEnv(ctes);
  const entries = items(withNode.ctes).map((entry) => {
    if (!isNode(entry)) refuse('WITH entry of an unexpected shape', entry);
    const name = ident(entry.alias, 'WITH name').name;
    if (items(entry.columns).length > 0 || items(entry.key_expressions).length > 0) refuse('WITH column lists', entry);
    const key = name.toLowerCase();
    const read = () => {
      const result = withNode.recursive === true ? recursiveQuery(key, entry.this, env, ctx) : analyzeQuery(entry.this, variablesOf(ctx), env, ctx);
      env.define(key, { kind: 'derived', alias: key, columns: relationColumns(result), tables: result.tables });
      ctx.explained.add(writtenKey([name]));
    };
    return { key, read };
  });
  if (withNode.recursive === true) {
    // Every name is visible to every query of the clause, a later one's included (BigQuery): a
    // query naming a later one has it read first. Before, it was read as the table of that name.
    for (const { key, read } of entries) env.declare(key, read);
    for (const { key } of entries) env.find(key);
  } else {
    for (const { read } of entries) read();
  }
  return env;
}

/**
 * A WITH RECURSIVE entry: its name is visible in its own body, standing for the rows found so
 * far. The body is read again with the lineage found so far until that lineage stops growing.
 */
function recursiveQuery(name: string, body: unknown, env: CteEnv, ctx: StatementContext): QueryResult {
  const base = baseBranch(body);
  let result = analyzeQuery(base, variablesOf(ctx), env, ctx);
  for (let round = 0; round < RECURSION_ROUNDS; round++) {
    const inner = new CteEnv(env);
    inner.define(name, { kind: 'derived', alias: name, columns: relationColumns(result), tables: result.tables });
    const next = analyzeQuery(body, variablesOf(ctx), inner, ctx);
    if (sameColumns(next, result)) return next;
    result = next;
  }
  return refuse(`recursive WITH query ${name} whose lineage does not settle`, body);
}

/** The non-recursive first branch of a recursive body (`base UNION ALL step`), or the body. */
function baseBranch(body: unknown): unknown {
  let v = variant(body, 'query');
  for (;;) {
    if (v.kind === 'subquery') v = variant(v.body.this, 'query');
    else if (SET_OPERATIONS.has(v.kind)) v = variant(v.body.left, 'query');
    else return v.node;
  }
}

/**
 * The scope GROUP BY (a key that is a name or path), HAVING, QUALIFY and ORDER BY resolve names in:
 * the select list's named columns (`named`, selectList) before the FROM clause's names, range
 * variables included, as BigQuery's select-list aliases override them (`SELECT c.address.street
 * FROM crm.customers c, (SELECT 'x' AS street) d ORDER BY street` orders by the street; `SELECT
 * c.address AS d … ORDER BY d.street` too). A name two columns share is ambiguous. Subqueries
 * there see the same names. Before, only explicit aliases were seen, and only as a whole name.
 */
function aliasScope(scope: Scope, named: readonly DerivedColumn[]): Scope {
  const names = new Scope(scope, scope.ctes);
  names.relations.push({ kind: 'derived', alias: undefined, columns: named, tables: scope.tables() });
  return names;
}

function select(v: Variant, outer: Scope | undefined, ctes: CteEnv | undefined, ctx: StatementContext): Analysed {
  expectFields(v, SELECT_FIELDS, 'SELECT');
  const body = v.body;
  const env0 = body.with != null ? defineCtes(body.with, ctes, ctx) : ctes;
  const scope = new Scope(outer, env0);
  addFromClause(scope, body.from, body.joins, ctx);
  const env: ExprEnv = { scope, ctx, windows: namedWindows(items(body.windows), { scope, ctx }) };
  if (body.where_clause != null) ctx.predicate(clauseValue(body.where_clause, 'WHERE', env));

  // A bare `SELECT`, which BigQuery refuses.
  if (items(body.expressions).length === 0) refuse('SELECT without a select list', v.node);
  const { columns, named, groupAll } = selectList(items(body.expressions), env, isNode(body.group_by) && body.group_by.all === true);
  const late: ExprEnv = { scope: aliasScope(scope, named), ctx, windows: env.windows, windowSpecs: windowSpecs(items(body.windows)) };
  // Predicates: what chooses, groups or orders rows. WHERE, HAVING, QUALIFY and ORDER BY choose
  // or order them; GROUP BY and DISTINCT compare values, so counts over the groups answer
  // whether a value is present (a guessed value UNIONed in shows up as a group of two); windows
  // record theirs (evalWindowSpec).
  if (body.group_by != null) groupBy(body.group_by, env, late, columns, named, groupAll);
  if (body.distinct === true) for (const c of columns) ctx.predicate(c.lineage);
  if (body.having != null) ctx.predicate(clauseValue(body.having, 'HAVING', late));
  if (body.qualify != null) ctx.predicate(clauseValue(body.qualify, 'QUALIFY', late));
  if (body.order_by != null) orderBy(body.order_by, late, columns);
  limit(body.limit, body.offset, env);

  const kind = body.kind == null ? undefined : String(body.kind).toUpperCase();
  const valueTable = kind === undefined ? undefined : kind === 'STRUCT' ? 'struct' : kind === 'VALUE' ? 'value' : refuse(`SELECT AS ${kind}`, v.node);
  return { result: { columns, valueTable, tables: scope.tables() }, last: { env: late } };
}

/**
 * The WINDOW clause: each named window's lineage (what it partitions and orders by, with the
 * window it names, in any order BigQuery takes them); each is a predicate (evalWindowSpec).
 */
function namedWindows(entries: readonly unknown[], base: ExprEnv): Map<string, readonly Lineage[]> {
  const specs = new Map<string, unknown>();
  for (const w of entries) {
    if (!isNode(w)) return refuse('WINDOW entry of an unexpected shape', w);
    const name = ident(w.name, 'WINDOW name').name.toLowerCase();
    if (specs.has(name)) refuse(`WINDOW ${name} defined twice`, w);
    specs.set(name, w.spec);
  }
  const windows = new Map<string, readonly Lineage[]>();
  const env: ExprEnv = { ...base, windows };
  const resolving = new Set<string>();
  const resolve = (name: string, at: unknown): void => {
    if (windows.has(name)) return;
    const spec = specs.get(name);
    if (spec === undefined) return refuse(`window ${name} that the WINDOW clause does not define`, at);
    if (resolving.has(name)) return refuse(`WINDOW ${name} defined through itself`, at);
    resolving.add(name);
    if (isNode(spec) && spec.window_name != null) resolve(ident(spec.window_name, 'window name').name.toLowerCase(), spec);
    windows.set(name, evalWindowSpec(spec, env));
  };
  for (const [name, spec] of specs) resolve(name, spec);
  return windows;
}

/** The WINDOW clause's specifications by name (namedWindows checked their shape). */
function windowSpecs(entries: readonly unknown[]): Map<string, unknown> {
  const specs = new Map<string, unknown>();
  for (const w of entries) if (isNode(w)) specs.set(ident(w.name, 'WINDOW name').name.toLowerCase(), w.spec);
  return specs;
}

/** WHERE, HAVING, QUALIFY: `{this: condition}`. */
function clauseValue(node: unknown, what: string, env: ExprEnv): Lineage {
  if (!isNode(node) || !('this' in node)) return refuse(`${what} of an unexpected shape`, node);
  return evalExpr(node.this, env);
}

/**
 * GROUP BY: each key is a predicate. `GROUP BY ALL` groups by every select-list column whose item
 * holds no aggregate or window function (`groupAll`, select-list.ts); BigQuery takes it alone,
 * and has no `GROUP BY DISTINCT`. Before, ALL was passed over and its keys were no predicates.
 */
function groupBy(node: unknown, env: ExprEnv, late: ExprEnv, columns: readonly DerivedColumn[], named: readonly DerivedColumn[], groupAll: readonly Lineage[]): void {
  if (!isNode(node)) return refuse('GROUP BY of an unexpected shape', node);
  if (node.totals === true) refuse('GROUP BY … WITH TOTALS', node);
  if (node.all === false) refuse('GROUP BY DISTINCT', node);
  if (node.all === true) {
    if (items(node.expressions).length > 0) refuse('GROUP BY ALL followed by grouping items', node);
    for (const lineage of groupAll) env.ctx.predicate(lineage);
    return;
  }
  if (node.all != null) refuse('GROUP BY of an unexpected shape', node);
  const keys: unknown[] = [];
  for (const item of items(node.expressions)) groupingKeys(item, keys);
  // A key that is a name or path names a select-list column first (BigQuery matches it against
  // the aliases); any other key reads the FROM clause's names only, as BigQuery resolves it there
  // (`SELECT ANY_VALUE(customer_id) AS ssn … GROUP BY CONCAT(ssn, '')` groups by the column ssn).
  // A path into a select-list column (`SELECT STRUCT(1 AS ssn) AS c … FROM crm.customers c GROUP
  // BY c.ssn`) BigQuery refuses, whatever else the first name may be.
  const selectNames = new Set(named.map((c) => c.name.toLowerCase()));
  for (const key of keys) {
    const head = pathHead(key);
    if (head !== undefined && selectNames.has(head)) refuse(`GROUP BY a field of the select-list column ${head} (BigQuery refuses it)`, key);
    env.ctx.predicate(byPosition(key, columns) ?? evalExpr(key, isPath(key) ? late : env));
  }
}

/** The first name of a path of two or more names (`c.ssn`), lower-case; undefined for anything else. */
function pathHead(node: unknown): string | undefined {
  let v = variant(node, 'GROUP BY item');
  let names = 0;
  while (v.kind === 'dot') {
    names++;
    v = variant(v.body.this, 'GROUP BY item');
  }
  if (v.kind !== 'column') return undefined;
  names += v.body.table == null ? 1 : 2;
  return names >= 2 ? ident(v.body.table ?? v.body.name, 'column reference').name.toLowerCase() : undefined;
}

/** A name or a path of names. */
function isPath(node: unknown): boolean {
  let v = variant(node, 'GROUP BY item');
  while (v.kind === 'dot') v = variant(v.body.this, 'GROUP BY item');
  return v.kind === 'column';
}

/** ROLLUP, CUBE and GROUPING SETS as the parser names them. */
const GROUPING_CONSTRUCTS = new Set(['ROLLUP', 'CUBE', 'GROUPING SETS']);

/**
 * The keys a GROUP BY item groups by: ROLLUP(…), CUBE(…), GROUPING SETS(…) and a parenthesised
 * list `(a, b)` group by each item they list, where a position (`ROLLUP(1, 2)`) names a
 * select-list column as it does in a plain GROUP BY; `()` groups by nothing. Before, ROLLUP(1, 2)
 * read its positions as constants: no predicate.
 */
function groupingKeys(node: unknown, out: unknown[]): void {
  const v = variant(node, 'GROUP BY item');
  if (v.kind === 'function' && v.body.quoted !== true && GROUPING_CONSTRUCTS.has(String(v.body.name))) {
    expectFields(v, new Set(['name', 'args']), String(v.body.name));
    for (const arg of items(v.body.args)) groupingKeys(arg, out);
  } else if (v.kind === 'tuple') {
    expectFields(v, new Set(['expressions']), 'GROUP BY list');
    for (const e of items(v.body.expressions)) groupingKeys(e, out);
  } else if (v.kind === 'paren') {
    // `GROUPING SETS ((1), …)`: a set of one key, which may be a position (read as one even where it is a constant: wider, never narrower).
    expectFields(v, new Set(['this']), 'parentheses');
    groupingKeys(v.body.this, out);
  } else {
    out.push(node);
  }
}

