// DDL statements: the object created, dropped, altered or truncated is recorded (mode ddl; TRUNCATE
// writes), a defining query is analysed and reported as the statement's outputs, and OPTIONS values
// are evaluated. EXPORT DATA reads its query; its OPTIONS only name a destination.
import type { Output } from '../../schema-types.ts';
import type { StatementContext } from '../context.ts';
import { CONSTANT } from '../lineage.ts';
import { CteEnv, Scope, type DerivedColumn } from '../scope.ts';
import { writtenKey } from '../tables.ts';
import type { ScriptState } from './statement-facts.ts';
import { queryOutputs } from '../relation.ts';
import { evalExpr, type ExprEnv } from './expr.ts';
import { analyzeQuery } from './query.ts';
import { tablePath, targetTable } from './target.ts';
import { expectFields, ident, isNode, items, refuse, variant, type Variant } from './tree.ts';

const CREATE_TABLE_FIELDS = new Set(['name', 'columns', 'if_not_exists', 'or_replace', 'as_select', 'as_select_parenthesized', 'properties']);
const CREATE_VIEW_FIELDS = new Set(['name', 'columns', 'query', 'or_replace', 'if_not_exists', 'materialized', 'query_parenthesized', 'options']);
/** Column definitions: a name, a type, NOT NULL and OPTIONS; anything else (DEFAULT, keys) is refused. */
const COLUMN_FIELDS = new Set(['name', 'data_type', 'nullable', 'constraint_order', 'options']);
/** CLUSTER BY names columns of the table being created, reading nothing else. */
const LAYOUT_PROPERTIES = new Set(['cluster_by_columns_property']);
/** ALTER TABLE actions that change the table's own definition. */
const ALTER_ACTIONS = new Set(['AddColumn', 'DropColumn', 'RenameColumn', 'AlterColumn', 'RenameTable']);
const LITERALS = new Set(['literal', 'boolean', 'null', 'neg', 'array', 'array_func', 'tuple']);

/**
 * `key = value` options that only describe (a destination, a format, a description): literals,
 * or a bare word (`format = sstable`), which names no column here. Anything else is refused.
 */
function literalOptions(list: unknown, what: string): void {
  for (const option of items(list)) {
    const o = variant(option, what);
    if (o.kind !== 'eq') refuse(`${what} that is not \`key = literal\``, o.node);
    const value = variant(o.body.right, `${what} value`);
    const bareWord = value.kind === 'column' && value.body.table == null;
    if (!LITERALS.has(value.kind) && !bareWord) refuse(`${what} that is not \`key = literal\``, o.node);
  }
}

/**
 * `OPTIONS(key = value, …)` entries, `{key, value}` (tables) or `key = value` (views): every value
 * is evaluated; the key names an option, not a column.
 */
function options(entries: unknown, env: ExprEnv): void {
  for (const entry of items(entries)) {
    if (isNode(entry) && 'value' in entry && 'key' in entry) {
      evalExpr(entry.value, env);
      continue;
    }
    const eq = variant(entry, 'OPTIONS entry');
    if (eq.kind !== 'eq' || variant(eq.body.left, 'OPTIONS key').kind !== 'column') refuse('OPTIONS entry of an unexpected shape', eq.node);
    evalExpr(eq.body.right, env);
  }
}

function properties(list: unknown, env: ExprEnv): void {
  for (const p of items(list)) {
    const v = variant(p, 'table property');
    if (v.kind === 'options_property') options(v.body.entries, env);
    else if (v.kind === 'partition_by_property') partitionBy(v, env.ctx);
    else if (!LAYOUT_PROPERTIES.has(v.kind)) refuse(`table property ${v.kind}`, v.node);
  }
}

/**
 * `PARTITION BY DATE(ts)`: an expression over the new table's own columns, evaluated where no
 * table is in scope, so it records the functions it calls and no
 * column of another table.
 */
function partitionBy(v: Variant, ctx: StatementContext): void {
  expectFields(v, new Set(['expressions']), 'PARTITION BY');
  for (const e of items(v.body.expressions)) evalExpr(e, { scope: new Scope(undefined, undefined), ctx });
}

function columnDefinitions(columns: unknown): void {
  for (const c of items(columns)) {
    const v = variant({ column: c }, 'column definition');
    expectFields(v, COLUMN_FIELDS, 'column definition');
    const constraints = items(v.body.constraint_order);
    if (constraints.some((k) => k !== 'NotNull')) refuse(`column definition with ${constraints.join(', ')}`, v.node);
    literalOptions(v.body.options, 'column OPTIONS entry');
  }
}

export function createTableStatement(v: Variant, outer: Scope | undefined, ctx: StatementContext, script: ScriptState): Output[] {
  if (v.body.temporary === true) return createTempTable(v, outer, ctx, script);
  expectFields(v, CREATE_TABLE_FIELDS, 'CREATE TABLE');
  targetTable(v.body.name, 'ddl', ctx, 'CREATE TABLE name');
  columnDefinitions(v.body.columns);
  properties(v.body.properties, { scope: new Scope(outer, undefined), ctx });
  return v.body.as_select == null ? [] : queryOutputs(analyzeQuery(v.body.as_select, outer, outer?.ctes, ctx));
}

/**
 * `CREATE [OR REPLACE] TEMP TABLE t (columns …)` or `… AS query`: the table lives in the script's
 * session dataset, which no table ref can name, so the statement names only the tables its query
 * reads; later statements of the text read `t` as a relation with the query's lineage (script.ts),
 * an empty table's columns with none.
 */
function createTempTable(v: Variant, outer: Scope | undefined, ctx: StatementContext, script: ScriptState): Output[] {
  expectFields(v, new Set([...CREATE_TABLE_FIELDS, 'temporary']), 'CREATE TEMP TABLE');
  const path = tablePath(v.body.name, 'CREATE TEMP TABLE name').path;
  if (path.length !== 1 || path[0]!.includes('.')) refuse('CREATE TEMP TABLE with a qualified name', v.node);
  const spelled = path[0]!;
  const key = spelled.toLowerCase();
  // An existing temporary table is an error, or kept (IF NOT EXISTS), or replaced (OR REPLACE).
  if (script.tempTables.has(key) && v.body.or_replace !== true) refuse(`CREATE TEMP TABLE ${spelled}, which an earlier statement created`, v.node);
  columnDefinitions(v.body.columns);
  const defined = items(v.body.columns).map((c) => ident(isNode(c) ? c.name : c, 'column name').name);
  properties(v.body.properties, { scope: new Scope(outer, undefined), ctx });
  let outputs: Output[] = [];
  let columns: DerivedColumn[];
  let tables: ReadonlySet<string> = new Set();
  if (v.body.as_select != null) {
    if (defined.length > 0) refuse('CREATE TEMP TABLE with both a column list and a query', v.node);
    const result = analyzeQuery(v.body.as_select, outer, outer?.ctes, ctx);
    if (result.valueTable !== undefined) refuse('CREATE TEMP TABLE from a value table', v.node);
    outputs = queryOutputs(result);
    columns = [...result.columns];
    tables = result.tables;
  } else {
    columns = defined.map((name) => ({ name: name.toLowerCase(), lineage: CONSTANT }));
  }
  // BigQuery names every column of a table once; an anonymous column (`f0_`) is an error there.
  const names = columns.filter((c) => c.lookup === undefined).map((c) => c.name.toLowerCase());
  if (new Set(names).size !== names.length || names.some((n) => /^f\d+_$/.test(n))) refuse('CREATE TEMP TABLE whose columns are not named once each', v.node);
  ctx.explained.add(writtenKey(path));
  script.tempTables.set(key, { spelled, relation: { kind: 'derived', alias: key, columns, tables } });
  return outputs;
}

export function createViewStatement(v: Variant, outer: Scope | undefined, ctx: StatementContext): Output[] {
  if (v.body.temporary === true) refuse('CREATE TEMP VIEW', v.node);
  expectFields(v, CREATE_VIEW_FIELDS, 'CREATE VIEW');
  targetTable(v.body.name, 'ddl', ctx, 'CREATE VIEW name');
  const names = items(v.body.columns).map((c) => viewColumnName(c));
  options(v.body.options, { scope: new Scope(outer, undefined), ctx });
  // The view's query is read again wherever it is used, where the script's temporary tables are
  // not: their names reach the table lookup, which refuses them (../context.ts).
  const viewOuter = outer === undefined ? undefined : new Scope(undefined, new CteEnv(undefined));
  if (outer !== undefined) viewOuter!.relations.push(...outer.relations);
  return queryOutputs(analyzeQuery(v.body.query, viewOuter, undefined, ctx), names.length === 0 ? undefined : names);
}

function viewColumnName(node: unknown): string {
  if (isNode(node) && isNode(node.name)) {
    expectFields(variant({ column: node }, 'view column'), new Set(['name']), 'view column');
    return ident(node.name, 'view column').name.toLowerCase();
  }
  return ident(node, 'view column').name.toLowerCase();
}

export function dropTableStatement(v: Variant, ctx: StatementContext): Output[] {
  expectFields(v, new Set(['names', 'if_exists']), 'DROP TABLE');
  for (const name of items(v.body.names)) targetTable(name, 'ddl', ctx, 'DROP TABLE name');
  return [];
}

export function dropViewStatement(v: Variant, ctx: StatementContext): Output[] {
  expectFields(v, new Set(['name', 'if_exists', 'materialized']), 'DROP VIEW');
  targetTable(v.body.name, 'ddl', ctx, 'DROP VIEW name');
  return [];
}

export function alterTableStatement(v: Variant, ctx: StatementContext): Output[] {
  expectFields(v, new Set(['name', 'actions', 'if_exists']), 'ALTER TABLE');
  const table = targetTable(v.body.name, 'ddl', ctx, 'ALTER TABLE name');
  for (const action of items(v.body.actions)) {
    const a = variant(action, 'ALTER TABLE action');
    // SET OPTIONS reaches the tree as text; option values are literals, a query among them is refused.
    if (a.kind === 'Raw' && typeof a.body.sql === 'string' && /^SET\s+OPTIONS\s*\(/i.test(a.body.sql) && !/\bSELECT\b/i.test(a.body.sql)) continue;
    if (!ALTER_ACTIONS.has(a.kind)) refuse(`ALTER TABLE action ${a.kind}`, a.node);
    if (a.kind === 'AddColumn' || a.kind === 'AlterColumn') {
      if (isNode(a.body.column)) columnDefinitions([a.body.column]);
    }
    if (a.kind === 'RenameTable') {
      // RENAME TO names a new table in the same dataset.
      const renamed = tablePath(a.body, 'RENAME TO name').path;
      if (renamed.length !== 1) refuse('RENAME TO a qualified name', a.node);
      const name = renamed[0]!.toLowerCase();
      ctx.addTable({ id: `${table.project}.${table.dataset}.${name}`, project: table.project, dataset: table.dataset, table: name }, 'ddl');
    }
  }
  return [];
}

export function truncateStatement(v: Variant, ctx: StatementContext): Output[] {
  expectFields(v, new Set(['target', 'table', 'if_exists']), 'TRUNCATE');
  if (v.body.target !== 'Table') refuse(`TRUNCATE ${String(v.body.target)}`, v.node);
  targetTable(v.body.table, 'write', ctx, 'TRUNCATE TABLE name');
  return [];
}

/** EXPORT DATA [WITH CONNECTION c] OPTIONS(…) AS query: the query's result is what leaves. */
export function exportStatement(v: Variant, outer: Scope | undefined, ctx: StatementContext): Output[] {
  expectFields(v, new Set(['this', 'connection', 'options']), 'EXPORT DATA');
  literalOptions(v.body.options, 'EXPORT DATA option');
  // WITH CONNECTION names the connection the destination is reached through, not a table.
  if (v.body.connection != null && variant(v.body.connection, 'EXPORT DATA connection').kind !== 'identifier') refuse('EXPORT DATA connection of an unexpected shape', v.body.connection);
  return queryOutputs(analyzeQuery(v.body.this, outer, outer?.ctes, ctx));
}
