// Lineage of queries: WITH, set operations and the clauses of each SELECT. A query's result
// is a list of derived columns; the statement turns the outermost one into outputs. FROM items
// are in from.ts, the select list (and `*`) in select-list.ts.
import { asNode, expectKeys, identifier, isNode, list, present, unsupported, type Node } from './ast.ts';
import type { StatementContext } from './context.ts';
import { evalAll, evalExpr, evalWindowSpec, type ExprEnv } from './expr.ts';
import { addFromItem } from './from.ts';
import { CONSTANT, passedThrough, transformed, unknownLineage, type Lineage } from './lineage.ts';
import { CteEnv, Scope, type DerivedColumn } from './scope.ts';
import { selectList } from './select-list.ts';
import { writtenKey } from './tables.ts';

export interface QueryResult {
  readonly columns: readonly DerivedColumn[];
  /** SELECT AS STRUCT / SELECT AS VALUE: a value table rather than named columns. */
  readonly valueTable: 'struct' | 'value' | undefined;
  /** Base tables the query reads. */
  readonly tables: ReadonlySet<string>;
}

const SELECT_KEYS = new Set([
  'type', 'as_struct_val', 'distinct', 'columns', 'from', 'for_sys_time_as_of', 'where', 'with', 'groupby',
  'having', 'qualify', 'orderby', 'limit', 'window', '_orderby', '_limit', '_next', 'set_op',
  'parentheses_symbol', 'loc', 'collate',
]);
const SET_OPERATIONS = new Set(['union', 'union all', 'union distinct', 'intersect', 'intersect distinct', 'except', 'except distinct']);

/** The value of a query used as an expression (scalar subquery, ARRAY(…), IN (…), EXISTS). */
export function queryValue(result: QueryResult): Lineage {
  const [only, ...more] = result.columns;
  if (only !== undefined && more.length === 0 && result.valueTable === undefined && only.lookup === undefined) return only.lineage;
  return transformed(result.columns.map((c) => c.lineage));
}

/** Columns a query offers as a FROM item. */
export function relationColumns(result: QueryResult): readonly DerivedColumn[] {
  if (result.valueTable !== 'value') return result.columns;
  const lineage = unknownLineage('SELECT AS VALUE returns a value table whose columns are not named', result.tables, result.columns.map((c) => c.lineage));
  return [{ name: '*', lineage, lookup: () => lineage }];
}

function defineCtes(withList: unknown, ctes: CteEnv | undefined, ctx: StatementContext): CteEnv {
  const env = new CteEnv(ctes);
  for (const entry of list(withList)) {
    const w = asNode(entry, 'WITH entry');
    const name = identifier(w.name);
    if (name === undefined) unsupported('WITH entry without a name');
    if (list(w.columns).length > 0) unsupported('WITH column lists are not analysed');
    const stmt = asNode(w.stmt, 'WITH query');
    const ast = isNode(stmt.ast) ? stmt.ast : unsupported('WITH entry without a query');
    const result = analyzeQuery(ast, undefined, env, ctx);
    env.define(name.toLowerCase(), { kind: 'derived', alias: name.toLowerCase(), columns: relationColumns(result), tables: result.tables });
    ctx.explained.add(writtenKey([name]));
  }
  return env;
}

/** Set operations align columns by position; the first branch names them. */
function combineBranches(branches: readonly QueryResult[]): QueryResult {
  const first = branches[0]!;
  if (branches.length === 1) return first;
  const tables = new Set<string>();
  for (const b of branches) for (const t of b.tables) tables.add(t);
  const aligned = branches.every(
    (b) => b.valueTable === undefined && b.columns.length === first.columns.length && b.columns.every((c) => c.lookup === undefined),
  );
  if (aligned) {
    const columns = first.columns.map((c, i) => ({ name: c.name, lineage: passedThrough(branches.map((b) => b.columns[i]!.lineage)) }));
    return { columns, valueTable: undefined, tables };
  }
  const everything = transformed(branches.flatMap((b) => b.columns.map((c) => c.lineage)));
  const lineage = unknownLineage('set operation over branches whose columns cannot be aligned', tables, [everything]);
  return { columns: first.columns.map((c) => ({ name: c.name, lineage })), valueTable: first.valueTable, tables };
}

/** A query: WITH, then one SELECT or a chain of set operations. */
export function analyzeQuery(node: Node, outer: Scope | undefined, ctes: CteEnv | undefined, ctx: StatementContext): QueryResult {
  if (node.type !== 'select') unsupported(`query of type ${String(node.type)} is not analysed`);
  const env = present(node.with) ? defineCtes(node.with, ctes, ctx) : ctes;
  const branches: QueryResult[] = [];
  const chain: Node[] = [];
  for (let branch: Node | undefined = node; branch !== undefined; branch = isNode(branch._next) ? branch._next : undefined) {
    if (branch !== node && branch.type !== 'select') unsupported('set operation branch is not a query');
    if (branch._next !== undefined && branch._next !== null && !SET_OPERATIONS.has(String(branch.set_op).toLowerCase())) {
      unsupported(`set operation ${String(branch.set_op)} is not analysed`);
    }
    chain.push(branch);
  }
  const firstNames: string[] = [];
  for (const branch of chain) {
    const branchEnv = branch !== node && present(branch.with) ? defineCtes(branch.with, env, ctx) : env;
    // ORDER BY after a set operation is filed under the last branch and names the result's columns.
    const result = analyzeSelect(branch, outer, branchEnv, ctx, branch === chain[chain.length - 1] ? firstNames : []);
    if (branch === node) firstNames.push(...result.columns.map((c) => c.name));
    branches.push(result);
  }
  return combineBranches(branches);
}

function analyzeSelect(node: Node, outer: Scope | undefined, ctes: CteEnv | undefined, ctx: StatementContext, resultNames: readonly string[]): QueryResult {
  expectKeys(node, SELECT_KEYS, 'SELECT');
  const scope = new Scope(outer, ctes);
  for (const item of list(node.from)) addFromItem(scope, asNode(item, 'FROM item'), ctx);
  const env: ExprEnv = { scope, ctx };
  if (isNode(node.for_sys_time_as_of)) evalExpr(node.for_sys_time_as_of.expr, env);
  ctx.predicate(evalExpr(node.where, env));

  const { columns, aliases } = selectList(list(node.columns), env);
  for (const name of resultNames) if (!aliases.has(name)) aliases.set(name, CONSTANT);
  const late: ExprEnv = { scope, ctx, aliases };
  // What chooses and orders the rows is a predicate: its values shape the result without being
  // returned (ctx.predicate). Named windows too: an output using `OVER w` does not carry w's
  // columns in its own lineage. GROUP BY is not: like DISTINCT it shows which rows share a
  // value, never the value, and HAVING (a predicate) is where groups are compared with values.
  if (isNode(node.groupby)) evalAll(list(node.groupby.columns), late);
  else if (node.groupby != null) unsupported('GROUP BY has an unexpected shape');
  ctx.predicate(evalExpr(node.having, late));
  ctx.predicate(evalExpr(node.qualify, late));
  if (isNode(node.window)) {
    for (const w of list(node.window.expr)) evalWindowSpec(isNode(w) ? w.as_window_specification : undefined, env).forEach((l) => ctx.predicate(l));
  }
  for (const o of [...list(node.orderby), ...list(node._orderby)]) ctx.predicate(evalExpr(isNode(o) ? o.expr : o, late));
  for (const l of [node.limit, node._limit]) if (isNode(l)) evalAll(list(l.value), env);

  const kind = node.as_struct_val == null ? undefined : String(node.as_struct_val).toLowerCase();
  const valueTable = kind === undefined ? undefined : kind === 'as struct' ? 'struct' : kind === 'as value' ? 'value' : unsupported(`SELECT ${kind} is not analysed`);
  return { columns, valueTable, tables: scope.tables() };
}
