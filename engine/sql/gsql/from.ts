// FROM items: tables (every name form ../tables.ts qualifies), WITH names, derived tables, UNNEST
// and array paths through a range variable, parenthesised joins, PIVOT and UNPIVOT, ML.PREDICT,
// and the JOIN conditions and USING columns that tie them together.
import type { StatementContext } from '../context.ts';
import { CONSTANT, lineageTables, type Lineage } from '../lineage.ts';
import { relationColumns } from '../relation.ts';
import { recordFields, type DerivedRelation, type Relation, type Scope, type StarEntry, type UsingColumn, type ValueRelation } from '../scope.ts';
import { implicitAlias, writtenKey } from '../tables.ts';
import { evalExpr, type ExprEnv } from './expr.ts';
import { pivotRelation, predictRelation, unpivotRelation } from './table-operators.ts';
import { analyzeQuery } from './query.ts';
import { expectFields, ident, isNode, nameIdent, items, optionalIdent, refuse, variant, written, type Variant } from './tree.ts';

const TABLE_FIELDS = new Set(['name', 'schema', 'catalog', 'alias', 'alias_explicit_as', 'only', 'final_', 'table_sample', 'system_time']);
const JOIN_FIELDS = new Set(['this', 'on', 'using', 'kind', 'use_inner_keyword', 'use_outer_keyword', 'nesting_group', 'deferred_condition', 'directed']);
/** Join kinds BigQuery has; `Implicit` is the comma. */
const JOIN_KINDS = new Set(['Inner', 'Left', 'Right', 'Full', 'Outer', 'Cross', 'Implicit']);
/** Array producers whose elements are never STRUCTs: their UNNEST has no fields. */
const SCALAR_ARRAYS = new Set(['GENERATE_ARRAY', 'GENERATE_DATE_ARRAY', 'GENERATE_TIMESTAMP_ARRAY', 'SPLIT', 'REGEXP_EXTRACT_ALL']);

/** A SELECT's FROM list and its joins, in the order they are written. */
export function addFromClause(scope: Scope, from: unknown, joins: unknown, ctx: StatementContext): void {
  if (from != null) {
    if (!isNode(from)) refuse('FROM of an unexpected shape', from);
    for (const item of items(from.expressions)) adopt(scope, addFromItem(scope, item, ctx).merged);
  }
  for (const join of items(joins)) addJoin(scope, join, 0, 0, ctx);
}

/**
 * A JOIN whose left operand is the scope's relations from `start` on (a parenthesised join's own,
 * or all), which `scope.starOrder` lists from `orderStart` on.
 */
function addJoin(scope: Scope, node: unknown, start: number, orderStart: number, ctx: StatementContext): void {
  const v = variant({ join: node }, 'JOIN');
  expectFields(v, JOIN_FIELDS, 'JOIN');
  if (!JOIN_KINDS.has(String(v.body.kind))) refuse(`${String(v.body.kind)} JOIN`, v.node);
  const count = scope.relations.length;
  const rightAt = scope.starOrder.length;
  const { relation, merged } = addFromItem(scope, v.body.this, ctx);
  // USING against a parenthesised join finds the column among every relation it holds, or the
  // one it merged with a USING of its own.
  const right = merged === undefined ? [relation] : scope.relations.slice(count);
  const names = items(v.body.using).map((u) => ident(u, 'USING column').name.toLowerCase());
  adopt(scope, merged, new Set(names));
  if (v.body.on != null) ctx.predicate(evalExpr(v.body.on, { scope, ctx }));
  const left = scope.relations.slice(start, count);
  for (const name of names) scope.join(name, left, right, merged?.get(name), ctx);
  if (names.length > 0) usingFirst(scope, [...new Set(names)], orderStart, rightAt);
}

/**
 * `*` over `l JOIN r USING (k, …)` lists the merged columns first, in the USING list's order, then
 * l's other columns, then r's, as BigQuery does (`(a, b, c) JOIN (b, d) USING (b)` is b, a, c, d).
 * Before, each merged column kept its place among l's columns: `*` over it, read by position (a
 * set operation's branch, ORDER BY 2), then named another column than BigQuery's.
 */
function usingFirst(scope: Scope, names: readonly string[], orderStart: number, rightAt: number): void {
  const named = new Set(names);
  const other = (e: StarEntry) => !(e.kind === 'using' && named.has(e.name));
  const left = scope.starOrder.slice(orderStart, rightAt).filter(other);
  const right = scope.starOrder.slice(rightAt).filter(other);
  scope.starOrder.splice(orderStart, scope.starOrder.length - orderStart, ...names.map((name) => ({ kind: 'using' as const, name })), ...left, ...right);
}

/**
 * A parenthesised join's USING columns, merged among its own relations, into the scope's. The
 * scope keeps one merged column per name: a name merged on both sides, and not by the USING of
 * the join that brings them together (`skip`), is refused.
 */
function adopt(scope: Scope, merged: ReadonlyMap<string, UsingColumn> | undefined, skip: ReadonlySet<string> = new Set()): void {
  for (const [name, column] of merged ?? []) {
    if (skip.has(name)) continue;
    if (scope.using.has(name)) refuse(`USING column ${name} merged in two parenthesised joins`, undefined);
    scope.using.set(name, column);
  }
}

/**
 * Adds the item's range variables to the scope; returns the one a USING list joins to and, for a
 * parenthesised join, the USING columns it merged among its own relations (left to the caller).
 */
function addFromItem(scope: Scope, node: unknown, ctx: StatementContext): { relation: Relation; merged?: Map<string, UsingColumn> } {
  const v = variant(node, 'FROM item');
  if (v.kind === 'joined_table') {
    expectFields(v, new Set(['left', 'joins']), 'parenthesised join');
    // Its joins' USING columns are merged among its own relations only: they start afresh.
    const outer = new Map(scope.using);
    scope.using.clear();
    const start = scope.relations.length;
    const orderStart = scope.starOrder.length;
    const first = addFromItem(scope, v.body.left, ctx);
    adopt(scope, first.merged);
    for (const join of items(v.body.joins)) addJoin(scope, join, start, orderStart, ctx);
    const merged = new Map(scope.using);
    scope.using.clear();
    for (const [name, column] of outer) scope.using.set(name, column);
    return { relation: first.relation, merged };
  }
  // `UNNEST(x) AS e` and `(…) TABLESAMPLE …` come wrapped around the item they qualify.
  let item = v;
  let alias: string | undefined;
  for (;;) {
    if (item.kind === 'alias') {
      expectFields(item, new Set(['this', 'alias', 'alias_explicit_as', 'alias_keyword']), 'aliased FROM item');
      alias ??= nameIdent(item.body.alias, 'alias').name.toLowerCase(); // the outermost alias is the one in force
      item = variant(item.body.this, 'FROM item');
    } else if (item.kind === 'paren') {
      // `((a JOIN b) JOIN c)`: the parentheses only group.
      expectFields(item, new Set(['this']), 'parenthesised FROM item');
      item = variant(item.body.this, 'FROM item');
      if (item.kind === 'joined_table' && alias === undefined) return addFromItem(scope, item.node, ctx);
    } else if (item.kind === 'table_sample') {
      expectFields(item, new Set(['this', 'sample']), 'TABLESAMPLE');
      if (isNode(item.body.sample)) evalExpr(item.body.sample.size, { scope, ctx });
      item = variant(item.body.this, 'FROM item');
    } else {
      break;
    }
  }
  const relation = withAlias(fromRelation(scope, item, ctx), alias);
  scope.relations.push(relation);
  scope.starOrder.push(relation);
  if (item.kind === 'unnest' && item.body.with_ordinality === true) {
    const offset = optionalIdent(item.body.offset_alias, 'WITH OFFSET alias')?.name ?? 'offset';
    const position: ValueRelation = { kind: 'value', alias: offset.toLowerCase(), value: CONSTANT, fields: null, tables: new Set() };
    scope.relations.push(position);
    scope.starOrder.push(position);
  }
  return { relation };
}

function aliasOf(v: Variant): string | undefined {
  return optionalIdent(v.body.alias, 'alias')?.name.toLowerCase();
}

function fromRelation(scope: Scope, v: Variant, ctx: StatementContext): Relation {
  const env: ExprEnv = { scope, ctx };
  switch (v.kind) {
    case 'table':
      return namedRelation(scope, v, ctx);
    case 'subquery': {
      // Its query's ORDER BY and LIMIT are inside the parentheses: `this` holds them.
      expectFields(v, new Set(['this', 'alias', 'alias_explicit_as']), 'derived table');
      const result = analyzeQuery(v.body.this, scope.parent, scope.ctes, ctx);
      return { kind: 'derived', alias: aliasOf(v), columns: relationColumns(result), tables: result.tables };
    }
    case 'unnest': {
      expectFields(v, new Set(['this', 'with_ordinality', 'alias', 'offset_alias']), 'UNNEST');
      const value = arrayRows(evalExpr(v.body.this, env), ctx);
      return { kind: 'value', alias: aliasOf(v), value, fields: unnestFields(v.body.this, value, ctx), tables: lineageTables(value) };
    }
    case 'pivot':
      return withAlias(pivotRelation(v, scope, (item) => itemRelation(scope, item, ctx), ctx), aliasOf(v));
    case 'unpivot':
      return withAlias(unpivotRelation(v, scope, (item) => itemRelation(scope, item, ctx), ctx), aliasOf(v));
    case 'function':
      return predictRelation(v, scope, (item) => itemRelation(scope, item, ctx), ctx);
    default:
      return refuse(`FROM item ${v.kind}`, v.node);
  }
}

/**
 * The array a FROM item expands: its length sets how many rows the item joins, so an array computed
 * from columns (GENERATE_ARRAY(1, n), SPLIT(s, 'x')) steers the result as a join condition does,
 * and its sources are predicates. An array column passed through unchanged is left as BigQuery's
 * own masking leaves it (element by element, its length shown).
 */
function arrayRows(value: Lineage, ctx: StatementContext): Lineage {
  if (!value.direct) ctx.predicate(value);
  return value;
}

function withAlias<R extends Relation>(relation: R, alias: string | undefined): R {
  return alias === undefined ? relation : { ...relation, alias };
}

/** `FOR SYSTEM_TIME AS OF expr`: the expression (`{as_of}`), analysed like any other value. */
function systemTime(clause: unknown, v: Variant): unknown {
  if (isNode(clause) && Object.keys(clause).length === 1 && clause.as_of !== undefined) return clause.as_of;
  return refuse('FOR SYSTEM_TIME of an unexpected form', v.node);
}

/** The relation a FROM item stands for on its own (the input of PIVOT and UNPIVOT). */
function itemRelation(scope: Scope, node: unknown, ctx: StatementContext): Relation {
  const v = variant(node, 'FROM item');
  if (v.kind === 'joined_table') return refuse('PIVOT over a join', v.node);
  return fromRelation(scope, v, ctx);
}

function unnestFields(expr: unknown, value: Lineage, ctx: StatementContext): ValueRelation['fields'] {
  const fields = recordFields(value, ctx);
  if (fields !== undefined) return fields;
  const v = variant(expr, 'UNNEST argument');
  if (v.kind === 'function' && SCALAR_ARRAYS.has(String(v.body.name).toUpperCase())) return null;
  if (v.kind === 'array_func') {
    const elements = items(v.body.expressions).map((e) => variant(e, 'array element').kind);
    if (elements.every((k) => k === 'literal' || k === 'boolean' || k === 'null' || k === 'parameter' || k === 'placeholder')) return null;
  }
  return undefined;
}

/**
 * A table, a WITH name, or an array path through a range variable (`FROM t, t.items`), decided as
 * BigQuery decides it on the identifiers as written: only a path of two or more identifiers whose
 * first one is a range variable in scope is an array path, and only a single identifier can name
 * a WITH query.
 */
function namedRelation(scope: Scope, v: Variant, ctx: StatementContext): Relation {
  expectFields(v, TABLE_FIELDS, 'table');
  if (v.body.only === true || v.body.final_ === true) refuse('table modifier', v.node);
  if (isNode(v.body.table_sample)) evalExpr(v.body.table_sample.size, { scope, ctx });
  if (v.body.system_time != null) evalExpr(systemTime(v.body.system_time, v), { scope, ctx });
  const idents = [v.body.catalog, v.body.schema, v.body.name].filter((p) => p != null).map((p) => nameIdent(p, 'table name'));
  // BigQuery reads a wildcard table only back-quoted.
  if (idents.some((i) => !i.quoted && i.name.includes('*'))) refuse('wildcard table name without back quotes', v.node);
  const path = written(idents);
  const alias = aliasOf(v);
  const lower = path.map((p) => p.toLowerCase());
  if (lower.length === 1) {
    const cte = scope.ctes?.find(lower[0]!);
    if (cte !== undefined && lower[0]!.includes('.')) refuse(`WITH name \`${path[0]}\` that is also a table name`, v.node);
    if (cte !== undefined) {
      ctx.explained.add(writtenKey(path));
      return { ...cte, alias: alias ?? lower[0]! } satisfies DerivedRelation;
    }
  }
  if (lower.length >= 2 && scope.rangeVariable(lower[0]!) !== undefined) {
    const value = arrayRows(scope.resolve(lower, ctx), ctx);
    ctx.explained.add(writtenKey(path));
    return { kind: 'value', alias: alias ?? implicitAlias(path), value, fields: recordFields(value, ctx), tables: lineageTables(value) };
  }
  const name = ctx.table(path, 'read');
  return { kind: 'table', alias: alias ?? implicitAlias(path), id: name.id, fields: ctx.catalog.table(name.id) };
}
