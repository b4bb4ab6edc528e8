// FROM items: tables, WITH names, derived tables, UNNEST and array paths through a range
// variable, and the JOIN conditions and USING columns that tie them together.
import { expectKeys, functionName, identifier, isNode, list, subquery, unsupported, type Node } from './ast.ts';
import type { StatementContext } from './context.ts';
import { evalExpr, type ExprEnv } from './expr.ts';
import { CONSTANT, lineageTables, type Lineage } from './lineage.ts';
import { analyzeQuery, relationColumns } from './query.ts';
import { implicitAlias, writtenKey } from './tables.ts';
import { recordFields, type DerivedRelation, type Relation, type Scope, type ValueRelation } from './scope.ts';

const FROM_KEYS = new Set(['db', 'table', 'as', 'surround', 'join', 'on', 'using', 'catalog', 'schema', 'type', 'expr', 'with_offset', 'parentheses', 'loc']);
/** Array producers whose elements are never STRUCTs: their UNNEST has no fields. */
const SCALAR_ARRAYS = new Set(['GENERATE_ARRAY', 'GENERATE_DATE_ARRAY', 'GENERATE_TIMESTAMP_ARRAY', 'SPLIT', 'REGEXP_EXTRACT_ALL']);

function lower(value: string): string {
  return value.toLowerCase();
}

export function addFromItem(scope: Scope, node: Node, ctx: StatementContext): void {
  expectKeys(node, FROM_KEYS, 'FROM item');
  const env: ExprEnv = { scope, ctx };
  const alias = identifier(node.as);
  const relation = fromRelation(scope, node, alias === undefined ? undefined : lower(alias), ctx);
  scope.relations.push(relation);
  if (isNode(node.with_offset)) {
    const offsetAlias = identifier(node.with_offset.as);
    scope.relations.push({ kind: 'value', alias: lower(offsetAlias ?? 'offset'), value: CONSTANT, fields: null, tables: new Set() });
  }
  if (node.on != null) {
    // `JOIN b ON x, c` is read as an ON list swallowing table c.
    if (isNode(node.on) && node.on.type === 'expr_list') unsupported('JOIN condition was misread as a list');
    ctx.predicate(evalExpr(node.on, env));
  }
  for (const u of list(node.using)) {
    const name = identifier(u);
    if (name === undefined) unsupported('USING column has an unexpected shape');
    scope.join(lower(name), relation, ctx);
  }
}

function fromRelation(scope: Scope, node: Node, alias: string | undefined, ctx: StatementContext): Relation {
  const env: ExprEnv = { scope, ctx };
  if (node.type === 'unnest') {
    const value = evalExpr(node.expr, env);
    return { kind: 'value', alias, value, fields: unnestFields(node.expr, value, ctx), tables: lineageTables(value) };
  }
  const query = subquery(node.expr);
  if (query !== undefined) {
    const result = analyzeQuery(query, scope.parent, scope.ctes, ctx);
    return { kind: 'derived', alias, columns: relationColumns(result), tables: result.tables };
  }
  if (node.type === 'expr') {
    const fn = isNode(node.expr) && node.expr.type === 'function' ? 'table-valued function' : 'FROM expression';
    return unsupported(`${fn} in FROM is not analysed: the tables it reads are not visible`);
  }
  if (typeof node.table === 'string') return namedRelation(scope, node, alias, ctx);
  return unsupported('FROM item has an unexpected shape');
}

function unnestFields(expr: unknown, value: Lineage, ctx: StatementContext): ValueRelation['fields'] {
  const fields = recordFields(value, ctx);
  if (fields !== undefined) return fields;
  if (!isNode(expr)) return undefined;
  if (expr.type === 'function' && SCALAR_ARRAYS.has(functionName(expr))) return null;
  if (expr.type === 'array' && Array.isArray(expr.array_path)) {
    const items = expr.array_path.map((i) => (isNode(i) ? i.expr : i));
    if (items.every((i) => isNode(i) && i.type !== 'struct' && i.type !== 'column_ref' && subquery(i) === undefined)) return null;
  }
  return undefined;
}

/**
 * A table, a WITH name, or an array path through a range variable (`FROM t, t.items`), decided as
 * BigQuery decides it, on the identifiers as written: only a path of two or more identifiers whose
 * first one is a range variable in scope is an array path, and only a single identifier can name a
 * WITH query. A single back-quoted identifier holding dots (`` `crm.customers` ``) is a table,
 * whatever aliases are in scope.
 */
function namedRelation(scope: Scope, node: Node, alias: string | undefined, ctx: StatementContext): Relation {
  const path = writtenPath(node);
  const written = path.map(lower);
  if (written.length === 1) {
    const cte = scope.ctes?.find(written[0]!);
    // BigQuery's analyzer reads a WITH name first, but a service that splits `a.b` into a table
    // path would read the table: neither reading is safe to assume.
    if (cte !== undefined && written[0]!.includes('.')) unsupported(`WITH name \`${path[0]}\` is also a table name`);
    if (cte !== undefined) {
      ctx.explained.add(writtenKey(path));
      return { ...cte, alias: alias ?? written[0]! } satisfies DerivedRelation;
    }
  }
  if (written.length >= 2 && scope.rangeVariable(written[0]!) !== undefined) {
    const value = scope.resolve(written, ctx);
    ctx.explained.add(writtenKey(path));
    return { kind: 'value', alias: alias ?? implicitAlias(path), value, fields: recordFields(value, ctx), tables: lineageTables(value) };
  }
  const name = ctx.table(path, 'read');
  return { kind: 'table', alias: alias ?? implicitAlias(path), id: name.id, fields: ctx.catalog.table(name.id) };
}

/** The FROM item's name as its identifiers were written (a back-quoted one may hold dots). */
function writtenPath(node: Node): string[] {
  const path: string[] = [];
  if (node.schema != null) {
    const catalog = identifier(node.catalog) ?? identifier(node.db);
    const schema = identifier(node.schema);
    if (catalog === undefined || schema === undefined) unsupported('table name has an unexpected shape');
    path.push(catalog, schema);
  } else if (node.db != null) {
    const db = identifier(node.db);
    if (db === undefined) unsupported('table name has an unexpected shape');
    path.push(db);
  }
  path.push(node.table as string);
  return path;
}
