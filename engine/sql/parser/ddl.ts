// CREATE TABLE and VIEW, DROP, ALTER TABLE, TRUNCATE and EXPORT DATA statements, into the tree
// ../gsql/ reads. BigQuery's clause order only. What the analysis refuses by name (a column
// DEFAULT, a qualified temporary table) is given in the tree for it to refuse; what it refuses
// whatever the shape (LIKE, CLONE, COPY, keys, DEFAULT COLLATE) is refused here, as are forms
// BigQuery does not have (DROP TABLE of several tables, TRUNCATE … IF EXISTS).
import type { Cursor } from './cursor.ts';
import { dataType, list, parseExpression } from './expression.ts';
import type { StatementParser } from './index.ts';
import { name, type Tree } from './nodes.ts';
import { isQueryStart, mayBeQuery, parseQuery, tableName } from './query.ts';

/** `CREATE [OR REPLACE] [TEMP]`, the object's words (`TABLE`, `MATERIALIZED VIEW`), `[IF NOT EXISTS]`. */
function createHead(c: Cursor, body: Record<string, unknown>, kind: readonly string[], temporary = false): void {
  c.expectWord('CREATE');
  if (c.takeWord('OR')) {
    c.expectWord('REPLACE');
    body.or_replace = true;
  }
  if (temporary && !c.takeWord('TEMP')) c.expectWord('TEMPORARY');
  for (const word of kind) c.expectWord(word);
  if (c.isWord('IF')) {
    c.i++;
    c.expectWord('NOT');
    c.expectWord('EXISTS');
    body.if_not_exists = true;
  }
}

/** `IF EXISTS` after DROP's object words and ALTER TABLE. */
function ifExists(c: Cursor, body: Record<string, unknown>): void {
  if (!c.takeWord('IF')) return;
  c.expectWord('EXISTS');
  body.if_exists = true;
}

/** `OPTIONS(key = value, …)` as views, columns and EXPORT DATA hold them: each entry an expression (`eq`), which ../gsql/ checks. */
function optionExpressions(c: Cursor): Tree[] {
  c.expectWord('OPTIONS');
  c.expectPunct('(');
  const entries = c.isPunct(')') ? [] : list(c, parseExpression);
  c.expectPunct(')');
  return entries;
}

/** `OPTIONS(key = value, …)` of a table: `{key, value}` entries. */
function tableOptions(c: Cursor): Tree {
  c.expectWord('OPTIONS');
  c.expectPunct('(');
  const entries = c.isPunct(')') ? [] : list(c, (c) => {
    const key = name(c);
    c.expectPunct('=');
    return { key, value: parseExpression(c) };
  });
  c.expectPunct(')');
  return { options_property: { entries } };
}

/**
 * The defining query after AS. One parenthesised whole is unwrapped with a flag (`AS (SELECT …)`);
 * `AS (SELECT …) UNION ALL …` is a query like any other.
 */
function definingQuery(c: Cursor, body: Record<string, unknown>, key: string, flag: string): void {
  c.expectWord('AS');
  if (!(isQueryStart(c) || mayBeQuery(c))) c.fail('Expected a query');
  if (c.isPunct('(') && closingParen(c, c.i) === c.end - 1) {
    c.i++;
    body[key] = parseQuery(c);
    c.expectPunct(')');
    body[flag] = true;
    return;
  }
  body[key] = parseQuery(c);
}

/** The index of the `)` closing the `(` at token `open`, or -1. */
function closingParen(c: Cursor, open: number): number {
  let depth = 0;
  for (let i = open; i < c.end; i++) {
    const t = c.tokens[i]!;
    if (t.kind !== 'punct') continue;
    if (t.text === '(') depth++;
    else if (t.text === ')' && --depth === 0) return i;
  }
  return -1;
}

// ---- CREATE TABLE

/**
 * `CREATE [OR REPLACE] [TEMP] TABLE [IF NOT EXISTS] name [(columns)] [PARTITION BY …] [CLUSTER BY …]
 * [WITH CONNECTION c] [OPTIONS(…)] [AS query]`.
 */
function createTable(c: Cursor, temporary: boolean): Tree {
  const body: Record<string, unknown> = {};
  createHead(c, body, ['TABLE'], temporary);
  body.name = tableName(c);
  if (temporary) body.temporary = true;
  for (const copy of ['LIKE', 'COPY', 'CLONE']) if (c.isWord(copy)) c.fail(`Unsupported CREATE TABLE ${copy}`);
  if (c.isPunct('(')) body.columns = columnDefinitions(c);
  if (c.isWord('DEFAULT') && c.isWord('COLLATE', 1)) c.fail('Unsupported DEFAULT COLLATE');
  const properties: Tree[] = [];
  if (c.isWord('PARTITION')) properties.push(partitionBy(c));
  if (c.isWord('CLUSTER')) properties.push(clusterBy(c));
  if (c.isWord('WITH') && c.isWord('CONNECTION', 1)) {
    // A BigLake table's connection is no table: it is left out of the tree.
    if (temporary) c.fail('Unsupported WITH CONNECTION on a temporary table');
    tableConnection(c);
  }
  if (c.isWord('OPTIONS')) properties.push(tableOptions(c));
  if (properties.length > 0) body.properties = properties;
  if (c.isWord('AS')) definingQuery(c, body, 'as_select', 'as_select_parenthesized');
  return { create_table: body };
}

/** `(column type …, …)`, a trailing comma taken; table constraints are refused. */
function columnDefinitions(c: Cursor): Tree[] {
  c.expectPunct('(');
  const columns: Tree[] = [];
  do {
    if (c.isPunct(')') && columns.length > 0) break;
    if (isTableConstraint(c)) c.fail('Unsupported table constraint');
    columns.push(columnDefinition(c));
  } while (c.takePunct(','));
  c.expectPunct(')');
  return columns;
}

function isTableConstraint(c: Cursor): boolean {
  return c.isWord('CONSTRAINT') || c.isWord('CHECK') || ((c.isWord('PRIMARY') || c.isWord('FOREIGN')) && c.isWord('KEY', 1));
}

/**
 * `name type [NOT NULL] [DEFAULT value] [OPTIONS(…)]`, the attributes in any order, each once,
 * listed in `constraint_order`. Keys and references are refused.
 */
function columnDefinition(c: Cursor): Tree {
  const column: Record<string, unknown> = { name: name(c), data_type: dataType(c) };
  const order: string[] = [];
  for (;;) {
    if (c.isWord('NOT') && c.isWord('NULL', 1) && !order.includes('NotNull')) {
      c.i += 2;
      column.nullable = false;
      order.push('NotNull');
    } else if (c.isWord('DEFAULT') && column.default === undefined) {
      c.i++;
      column.default = parseExpression(c);
      order.push('Default');
    } else if (c.isWord('OPTIONS') && column.options === undefined) {
      column.options = optionExpressions(c);
    } else {
      break;
    }
  }
  if (c.isWord('PRIMARY') || c.isWord('REFERENCES') || c.isWord('GENERATED') || c.isWord('AS')) c.fail('Unsupported column attribute');
  if (order.length > 0) column.constraint_order = order;
  return column;
}

/** `PARTITION BY value, …`. */
function partitionBy(c: Cursor): Tree {
  c.expectWord('PARTITION');
  c.expectWord('BY');
  return { partition_by_property: { expressions: list(c, parseExpression) } };
}

/** `CLUSTER BY column, …`: names of the table's own columns. */
function clusterBy(c: Cursor): Tree {
  c.expectWord('CLUSTER');
  c.expectWord('BY');
  return { cluster_by_columns_property: { columns: list(c, name) } };
}

/** `WITH CONNECTION DEFAULT` or `WITH CONNECTION path`: read and left out of the tree. */
function tableConnection(c: Cursor): void {
  c.expectWord('WITH');
  c.expectWord('CONNECTION');
  if (!c.takeWord('DEFAULT')) tableName(c);
}

// ---- CREATE VIEW

/** `CREATE [OR REPLACE] [MATERIALIZED] VIEW [IF NOT EXISTS] name [(columns)] [OPTIONS(…)] AS query`. */
function createView(c: Cursor, materialized: boolean): Tree {
  const body: Record<string, unknown> = {};
  createHead(c, body, materialized ? ['MATERIALIZED', 'VIEW'] : ['VIEW']);
  body.name = tableName(c);
  if (materialized) body.materialized = true;
  if (!materialized && c.isPunct('(')) body.columns = viewColumns(c);
  if (c.isWord('PARTITION') || c.isWord('CLUSTER')) c.fail('Unsupported PARTITION BY or CLUSTER BY on a view');
  if (c.isWord('OPTIONS')) body.options = optionExpressions(c);
  if (materialized && c.isWord('AS') && c.isWord('REPLICA', 1)) {
    body.query = replicaOf(c);
    return { create_view: body };
  }
  definingQuery(c, body, 'query', 'query_parenthesized');
  return { create_view: body };
}

/** `(a, b OPTIONS(…), …)`: the view's column names. */
function viewColumns(c: Cursor): Tree[] {
  c.expectPunct('(');
  const columns = list(c, (c) => {
    const column: Record<string, unknown> = { name: name(c) };
    if (c.isWord('OPTIONS')) column.options = optionExpressions(c);
    return column;
  });
  c.expectPunct(')');
  return columns;
}

/**
 * `AS REPLICA OF source`, ending the statement: the replica holds the source materialized view's
 * rows and columns as they are, read as `SELECT * FROM source`. Any other text after AS is no
 * query, refused at REPLICA.
 */
function replicaOf(c: Cursor): Tree {
  const replica = c.i + 1;
  c.i += 2;
  const source = c.takeWord('OF') ? c.attempt(() => tableName(c)) : undefined;
  if (source === undefined || !c.done) {
    c.i = replica;
    c.fail('Expected SELECT');
  }
  return { select: { expressions: [{ star: {} }], from: { expressions: [{ table: source }] } } };
}

// ---- DROP, TRUNCATE

/** `DROP [EXTERNAL] TABLE [IF EXISTS] name`: an external table is dropped as any table is. */
function dropTable(c: Cursor, external: boolean): Tree {
  c.expectWord('DROP');
  if (external) c.expectWord('EXTERNAL');
  c.expectWord('TABLE');
  const body: Record<string, unknown> = {};
  ifExists(c, body);
  body.names = [tableName(c)];
  return { drop_table: body };
}

/** `DROP [MATERIALIZED] VIEW [IF EXISTS] name`. */
function dropView(c: Cursor, materialized: boolean): Tree {
  c.expectWord('DROP');
  if (materialized) c.expectWord('MATERIALIZED');
  c.expectWord('VIEW');
  const body: Record<string, unknown> = {};
  ifExists(c, body);
  body.name = tableName(c);
  if (materialized) body.materialized = true;
  return { drop_view: body };
}

/** `TRUNCATE TABLE name`. */
function truncateTable(c: Cursor): Tree {
  c.expectWord('TRUNCATE');
  c.expectWord('TABLE');
  return { truncate: { target: 'Table', table: tableName(c) } };
}

// ---- ALTER TABLE

/** `ALTER TABLE [IF EXISTS] name action, …`. */
function alterTable(c: Cursor): Tree {
  c.expectWord('ALTER');
  c.expectWord('TABLE');
  const body: Record<string, unknown> = {};
  ifExists(c, body);
  body.name = tableName(c);
  body.actions = list(c, alterAction);
  return { alter_table: body };
}

function alterAction(c: Cursor): Tree {
  if (c.isWord('ADD') && c.isWord('COLUMN', 1)) return addColumn(c);
  if (c.isWord('DROP') && c.isWord('COLUMN', 1)) return dropColumn(c);
  if (c.isWord('RENAME') && c.isWord('COLUMN', 1)) return renameColumn(c);
  if (c.isWord('RENAME') && c.isWord('TO', 1)) {
    c.i += 2;
    return { RenameTable: tableName(c) };
  }
  if (c.isWord('ALTER') && c.isWord('COLUMN', 1)) return alterColumn(c);
  if (c.isWord('SET') && c.isWord('OPTIONS', 1)) return setOptions(c);
  return c.fail('Unsupported ALTER TABLE action');
}

/** `ADD COLUMN [IF NOT EXISTS] definition`. */
function addColumn(c: Cursor): Tree {
  c.i += 2;
  const body: Record<string, unknown> = {};
  if (c.isWord('IF')) {
    c.i++;
    c.expectWord('NOT');
    c.expectWord('EXISTS');
    body.if_not_exists = true;
  }
  body.column = columnDefinition(c);
  return { AddColumn: body };
}

/** `DROP COLUMN [IF EXISTS] name`. */
function dropColumn(c: Cursor): Tree {
  c.i += 2;
  const body: Record<string, unknown> = {};
  ifExists(c, body);
  body.name = name(c);
  return { DropColumn: body };
}

/** `RENAME COLUMN [IF EXISTS] old TO new`. */
function renameColumn(c: Cursor): Tree {
  c.i += 2;
  const body: Record<string, unknown> = {};
  ifExists(c, body);
  body.old_name = name(c);
  c.expectWord('TO');
  body.new_name = name(c);
  return { RenameColumn: body };
}

/**
 * `ALTER COLUMN [IF EXISTS] name` then DROP NOT NULL, DROP DEFAULT, SET DATA TYPE, SET DEFAULT or
 * SET OPTIONS. A new default or option value is never evaluated (../gsql/ddl.ts): one holding a
 * query is refused.
 */
function alterColumn(c: Cursor): Tree {
  c.i += 2;
  const body: Record<string, unknown> = {};
  ifExists(c, body);
  body.name = name(c);
  if (c.takeWord('DROP')) {
    if (c.takeWord('DEFAULT')) {
      body.action = 'DropDefault';
    } else {
      c.expectWord('NOT');
      c.expectWord('NULL');
      body.action = 'DropNotNull';
    }
  } else {
    c.expectWord('SET');
    if (c.takeWord('DATA')) {
      c.expectWord('TYPE');
      body.action = { SetDataType: { data_type: dataType(c) } };
    } else if (c.takeWord('DEFAULT')) {
      body.action = { SetDefault: withoutQuery(c, parseExpression) };
    } else if (c.isWord('OPTIONS')) {
      body.action = { SetOptions: withoutQuery(c, optionExpressions) };
    } else {
      c.fail('Unsupported ALTER COLUMN action');
    }
  }
  return { AlterColumn: body };
}

/**
 * `SET OPTIONS(…)` as its text (`Raw`), which ../gsql/ddl.ts takes as is. The
 * entries are read (`key = value`) and written back from their tokens, comments left out.
 */
function setOptions(c: Cursor): Tree {
  c.expectWord('SET');
  const start = c.i + 2;
  withoutQuery(c, optionExpressions);
  const tokens = c.tokens.slice(start, c.i - 1);
  return { Raw: { sql: `SET OPTIONS(${tokens.map((t) => t.text).join(' ')})` } };
}

/** `read`, refused when what it read holds a query (a value the analysis does not evaluate). */
function withoutQuery<T>(c: Cursor, read: (c: Cursor) => T): T {
  const start = c.i;
  const value = read(c);
  for (let i = start; i < c.i; i++) {
    const t = c.tokens[i]!;
    if (t.kind === 'word' && (t.upper === 'SELECT' || t.upper === 'WITH' || t.upper === 'FROM')) c.failAt(t, 'Unsupported query in a value of ALTER TABLE');
  }
  return value;
}

// ---- EXPORT DATA

/** `EXPORT DATA [WITH CONNECTION c] [OPTIONS(…)] AS query`. */
function exportData(c: Cursor): Tree {
  c.expectWord('EXPORT');
  c.expectWord('DATA');
  const body: Record<string, unknown> = {};
  if (c.isWord('WITH') && c.isWord('CONNECTION', 1)) {
    c.i += 2;
    body.connection = connectionName(c);
  }
  if (c.isWord('OPTIONS')) body.options = optionExpressions(c);
  c.expectWord('AS');
  if (!(isQueryStart(c) || mayBeQuery(c))) c.fail('Expected a query');
  body.this = parseQuery(c);
  return { export: body };
}

/** A connection's path, one identifier with its names joined by dots. */
function connectionName(c: Cursor): Tree {
  const first = c.peek();
  const path = tableName(c);
  const parts = [path.catalog, path.schema, path.name].filter((p): p is Tree => p !== undefined);
  const quoted = parts.some((p) => p.quoted === true);
  return { identifier: { name: parts.map((p) => String(p.name)).join('.'), quoted, span: c.span(first!, c.peek(-1)!) } };
}

export const DDL_STATEMENTS: Readonly<Record<string, StatementParser>> = {
  CREATE_TABLE: (c) => createTable(c, false),
  CREATE_TEMP_TABLE: (c) => createTable(c, true),
  CREATE_VIEW: (c) => createView(c, false),
  CREATE_MATERIALIZED_VIEW: (c) => createView(c, true),
  DROP_TABLE: (c) => dropTable(c, false),
  DROP_EXTERNAL_TABLE: (c) => dropTable(c, true),
  DROP_VIEW: (c) => dropView(c, false),
  DROP_MATERIALIZED_VIEW: (c) => dropView(c, true),
  ALTER_TABLE: alterTable,
  TRUNCATE_TABLE: truncateTable,
  EXPORT_DATA: exportData,
};
