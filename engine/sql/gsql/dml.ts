// INSERT, UPDATE and DELETE: the target is written; UPDATE and DELETE read its rows (their WHERE is
// a predicate, SET columns are referenced); INSERT … SELECT reports the query's columns under the
// names of the column list.
import type { Output } from '../../schema-types.ts';
import type { StatementContext } from '../context.ts';
import { Scope } from '../scope.ts';
import { queryOutputs } from '../relation.ts';
import { evalExpr, type ExprEnv } from './expr.ts';
import { addFromClause } from './from.ts';
import { analyzeQuery } from './query.ts';
import { targetTable } from './target.ts';
import { expectFields, ident, isNode, items, refuse, written, type Variant } from './tree.ts';

const INSERT_FIELDS = new Set(['table', 'columns', 'values', 'query']);
const UPDATE_FIELDS = new Set(['table', 'set', 'from_clause', 'from_joins', 'where_clause', 'from_before_set']);
const DELETE_FIELDS = new Set(['table', 'alias', 'alias_explicit_as', 'where_clause', 'no_from']);

/** WHERE of UPDATE and DELETE: `{this: condition}`. */
function where(node: unknown, env: ExprEnv): void {
  if (node == null) return;
  if (!isNode(node) || !('this' in node)) refuse('WHERE of an unexpected shape', node);
  env.ctx.predicate(evalExpr(node.this, env));
}

export function insertStatement(v: Variant, outer: Scope | undefined, ctx: StatementContext): Output[] {
  expectFields(v, INSERT_FIELDS, 'INSERT');
  targetTable(v.body.table, 'write', ctx, 'INSERT target');
  const names = items(v.body.columns).map((c) => ident(c, 'INSERT column').name.toLowerCase());
  if (v.body.query != null) {
    if (items(v.body.values).length > 0) refuse('INSERT with both VALUES and a query', v.node);
    return queryOutputs(analyzeQuery(v.body.query, outer, undefined, ctx), names);
  }
  const env: ExprEnv = { scope: new Scope(outer, undefined), ctx };
  for (const row of items(v.body.values)) {
    if (!Array.isArray(row)) refuse('INSERT VALUES row of an unexpected shape', v.node);
    for (const value of row) evalExpr(value, env);
  }
  return [];
}

export function updateStatement(v: Variant, outer: Scope | undefined, ctx: StatementContext): Output[] {
  expectFields(v, UPDATE_FIELDS, 'UPDATE');
  // SET names a column of the target only; its values see the FROM tables too.
  const target = new Scope(undefined, undefined);
  targetTable(v.body.table, 'write', ctx, 'UPDATE target', target);
  const scope = new Scope(outer, undefined);
  scope.relations.push(...target.relations);
  // UPDATE … FROM: the joined rows are read like a SELECT's FROM; the join condition is in WHERE.
  addFromClause(scope, v.body.from_clause, v.body.from_joins, ctx);
  const env: ExprEnv = { scope, ctx };
  for (const item of items(v.body.set)) {
    if (!Array.isArray(item) || item.length !== 2) refuse('SET item of an unexpected shape', v.node);
    const column = written([ident(item[0], 'SET column')]).map((p) => p.toLowerCase());
    target.resolve(column, ctx);
    evalExpr(item[1], env);
  }
  where(v.body.where_clause, env);
  return [];
}

export function deleteStatement(v: Variant, outer: Scope | undefined, ctx: StatementContext): Output[] {
  expectFields(v, DELETE_FIELDS, 'DELETE');
  const scope = new Scope(outer, undefined);
  const alias = v.body.alias == null ? undefined : ident(v.body.alias, 'DELETE alias').name.toLowerCase();
  targetTable(v.body.table, 'write', ctx, 'DELETE target', scope, alias);
  where(v.body.where_clause, { scope, ctx });
  return [];
}
