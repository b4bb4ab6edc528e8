// Analysis of one parsed statement by kind: queries, DML and the DDL the parser reads. The
// parser's statement kind must agree with the leading-keyword classification, or the
// statement is reported unparsed.
import type { Output } from '../schema-types.ts';
import { asNode, expectKeys, identifier, isNode, list, unsupported, type Node } from './ast.ts';
import type { Classification } from './classify.ts';
import type { StatementContext, TableMode } from './context.ts';
import { evalExpr } from './expr.ts';
import { columnLineage, passedThrough, toOutput, unknownLineage, type Lineage } from './lineage.ts';
import type { MergeQuery } from './merge.ts';
import { analyzeQuery, type QueryResult } from './query.ts';
import { Scope } from './scope.ts';
import { implicitAlias } from './tables.ts';

/** Statement types handed to node-sql-parser; the others are not parsed. */
export const PARSED_TYPES = new Set([
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE_TABLE', 'CREATE_VIEW', 'DROP_TABLE', 'DROP_VIEW', 'ALTER_TABLE', 'TRUNCATE_TABLE',
]);

const EXPECTED_TYPE: Record<string, (type: string) => boolean> = {
  select: (t) => t === 'SELECT',
  insert: (t) => t === 'INSERT',
  update: (t) => t === 'UPDATE',
  delete: (t) => t === 'DELETE',
  create: (t) => t === 'CREATE_TABLE' || t === 'CREATE_VIEW',
  drop: (t) => t === 'DROP_TABLE' || t === 'DROP_VIEW',
  alter: (t) => t === 'ALTER_TABLE',
  truncate: (t) => t === 'TRUNCATE_TABLE',
};

const INSERT_KEYS = new Set(['type', 'table', 'columns', 'values', 'prefix', 'loc']);
const UPDATE_KEYS = new Set(['type', 'table', 'set', 'where', 'loc']);
const DELETE_KEYS = new Set(['type', 'table', 'where', 'loc']);
const CREATE_KEYS = new Set([
  'type', 'keyword', 'table', 'view', 'replace', 'if_not_exists', 'as', 'query_expr', 'select', 'create_definitions',
  'table_options', 'loc',
]);
const DROP_KEYS = new Set(['type', 'keyword', 'name', 'prefix', 'loc']);
const ALTER_KEYS = new Set(['type', 'table', 'expr', 'loc']);
const TRUNCATE_KEYS = new Set(['type', 'keyword', 'name', 'loc']);
const TABLE_NAME_KEYS = new Set(['db', 'table', 'as', 'surround', 'catalog', 'schema', 'loc', 'view']);

/** Result columns of a query as the client (or the written table) receives them. */
export function queryOutputs(result: QueryResult, names?: readonly string[]): Output[] {
  if (result.valueTable !== undefined) {
    const lineage = unknownLineage(
      `SELECT AS ${result.valueTable.toUpperCase()} returns a value table whose columns are not named`,
      result.tables,
      result.columns.map((c) => c.lineage),
    );
    return [toOutput(0, '*', lineage)];
  }
  const rename = names !== undefined && names.length === result.columns.length && result.columns.every((c) => c.lookup === undefined);
  const named = result.columns.map((c, i) => ({ name: rename ? names[i]! : c.name, lineage: c.lineage }));
  return resultNames(named, result.tables).map((c, i) => toOutput(i, c.name, c.lineage));
}

/**
 * Repeated result column names are made unique as BigQuery does (`id`, `id_1`, …): masks are
 * applied by name, so outputs carry the name the client sees. (A mask naming a column the
 * result lacks fails at the gateway, so a wrong guess fails closed.) Where the renamed name is
 * itself taken, the output cannot be told apart by name and its lineage becomes unknown.
 */
function resultNames(columns: readonly { name: string; lineage: Lineage }[], tables: ReadonlySet<string>): { name: string; lineage: Lineage }[] {
  const taken = new Set(columns.map((c) => c.name));
  const seen = new Map<string, number>();
  return columns.map((c) => {
    if (c.name === '*') return c;
    const count = seen.get(c.name) ?? 0;
    seen.set(c.name, count + 1);
    if (count === 0) return c;
    const name = `${c.name}_${count}`;
    const reason = `result column name ${c.name} is repeated and ${name} is also taken`;
    return taken.has(name) ? { name, lineage: unknownLineage(reason, tables, [c.lineage]) } : { name, lineage: c.lineage };
  });
}

/** Qualifies and records a target table; with a scope, also makes it the statement's range variable. */
function targetTable(node: unknown, mode: TableMode, ctx: StatementContext, scope?: Scope): void {
  const t = asNode(node, 'table name');
  expectKeys(t, TABLE_NAME_KEYS, 'table name');
  const path: string[] = [];
  if (t.schema != null) path.push(identifier(t.catalog) ?? identifier(t.db) ?? unsupported('malformed table name'), identifier(t.schema) ?? '');
  else if (t.db != null) path.push(identifier(t.db) ?? unsupported('malformed table name'));
  const table = identifier(t.table) ?? identifier(t.view);
  if (table === undefined) unsupported('malformed table name');
  path.push(table);
  const name = ctx.table(path, mode);
  if (scope !== undefined) {
    const alias = identifier(t.as);
    scope.relations.push({ kind: 'table', alias: alias?.toLowerCase() ?? implicitAlias(path), id: name.id, fields: ctx.catalog.table(name.id) });
  }
}

function insertStatement(ast: Node, ctx: StatementContext): Output[] {
  expectKeys(ast, INSERT_KEYS, 'INSERT');
  for (const t of list(ast.table)) targetTable(t, 'write', ctx);
  const names = list(ast.columns).map((c) => (identifier(c) ?? unsupported('INSERT column list has an unexpected shape')).toLowerCase());
  const values = asNode(ast.values, 'INSERT source');
  if (values.type === 'select') return queryOutputs(analyzeQuery(values, undefined, undefined, ctx), names);
  if (values.type !== 'values') unsupported('INSERT source has an unexpected shape');
  const env = { scope: new Scope(undefined, undefined), ctx };
  for (const row of list(values.values)) evalExpr(row, env);
  return [];
}

function updateStatement(ast: Node, ctx: StatementContext): Output[] {
  expectKeys(ast, UPDATE_KEYS, 'UPDATE');
  const scope = new Scope(undefined, undefined);
  for (const t of list(ast.table)) targetTable(t, 'write', ctx, scope);
  const env = { scope, ctx };
  for (const s of list(ast.set)) {
    const set = asNode(s, 'SET item');
    const column = identifier(set.column);
    if (column === undefined) unsupported('SET item has an unexpected shape');
    const table = identifier(set.table);
    scope.resolve(table === undefined ? [column.toLowerCase()] : [table.toLowerCase(), column.toLowerCase()], ctx);
    evalExpr(set.value, env);
  }
  ctx.predicate(evalExpr(ast.where, env));
  return [];
}

function deleteStatement(ast: Node, ctx: StatementContext): Output[] {
  expectKeys(ast, DELETE_KEYS, 'DELETE');
  const scope = new Scope(undefined, undefined);
  for (const t of list(ast.table)) targetTable(t, 'write', ctx, scope);
  ctx.predicate(evalExpr(ast.where, { scope, ctx }));
  return [];
}

function createStatement(ast: Node, ctx: StatementContext): Output[] {
  expectKeys(ast, CREATE_KEYS, 'CREATE');
  if (ast.keyword === 'view') targetTable(ast.view, 'ddl', ctx);
  else for (const t of list(ast.table)) targetTable(t, 'ddl', ctx);
  const env = { scope: new Scope(undefined, undefined), ctx };
  for (const option of list(ast.table_options)) if (isNode(option)) evalExpr(isNode(option.value) ? option.value : undefined, env);
  const query = isNode(ast.query_expr) ? ast.query_expr : isNode(ast.select) ? ast.select : undefined;
  return query === undefined ? [] : queryOutputs(analyzeQuery(query, undefined, undefined, ctx));
}

function dropStatement(ast: Node, ctx: StatementContext): Output[] {
  expectKeys(ast, DROP_KEYS, 'DROP');
  for (const t of list(ast.name)) targetTable(t, 'ddl', ctx);
  return [];
}

function alterStatement(ast: Node, ctx: StatementContext): Output[] {
  expectKeys(ast, ALTER_KEYS, 'ALTER');
  for (const t of list(ast.table)) targetTable(t, 'ddl', ctx);
  for (const action of list(ast.expr)) {
    const a = asNode(action, 'ALTER action');
    // RENAME TO names a new table in the same dataset.
    if (a.action === 'rename' && typeof a.table === 'string') {
      const [first] = ctx.tables.values();
      if (first !== undefined) ctx.addTable({ id: `${first.project}.${first.dataset}.${a.table.toLowerCase()}`, project: first.project, dataset: first.dataset, table: a.table.toLowerCase() }, 'ddl');
    }
  }
  return [];
}

function truncateStatement(ast: Node, ctx: StatementContext): Output[] {
  expectKeys(ast, TRUNCATE_KEYS, 'TRUNCATE');
  for (const t of list(ast.name)) targetTable(t, 'write', ctx);
  return [];
}

/**
 * MERGE, analysed through the query standing for it (see merge.ts): one output per column
 * written, its lineage merged across the WHEN clauses that write it.
 */
export function mergeStatement(ast: Node, merge: MergeQuery, ctx: StatementContext): Output[] {
  if (ast.type !== 'select') unsupported('MERGE was not read as a query');
  const result = analyzeQuery(ast, undefined, undefined, ctx);
  const target = ctx.table(merge.target, 'write');
  for (const column of merge.written) ctx.use(columnLineage(target.id, column));
  if (merge.names.length === 0) return [];
  const written = new Map<string, Lineage[]>();
  for (const c of result.columns) written.set(c.name, [...(written.get(c.name) ?? []), c.lineage]);
  return [...written].map(([name, lineages], i) => toOutput(i, name, passedThrough(lineages)));
}

export function analyzeStatement(ast: Node, classification: Classification, ctx: StatementContext): Output[] {
  const kind = String(ast.type);
  if (!EXPECTED_TYPE[kind]?.(classification.type)) unsupported(`the parser read a ${kind} statement where ${classification.type} was expected`);
  switch (kind) {
    case 'select':
      return queryOutputs(analyzeQuery(ast, undefined, undefined, ctx));
    case 'insert':
      return insertStatement(ast, ctx);
    case 'update':
      return updateStatement(ast, ctx);
    case 'delete':
      return deleteStatement(ast, ctx);
    case 'create':
      return createStatement(ast, ctx);
    case 'drop':
      return dropStatement(ast, ctx);
    case 'alter':
      return alterStatement(ast, ctx);
    case 'truncate':
      return truncateStatement(ast, ctx);
    default:
      return unsupported(`${kind} statements are not analysed`);
  }
}
