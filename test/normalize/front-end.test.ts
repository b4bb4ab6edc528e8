// The SQL front end (engine/sql/analyze.ts over polyglot-sql) against the node-sql-parser front end
// it replaced: the same Statements where that one understood a query, as it recorded them before it
// was removed (recorded/node-sql-parser.json), and hand-checked tables and lineage for the
// constructs only this one reads. Refusals name the construct and its position.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Statement, TableSchemas } from '../../engine/schema-types.ts';
import { schemaCatalog } from '../../engine/sql/catalog.ts';
import { analyzeSql } from '../../engine/sql/analyze.ts';
import { parseDefaultDataset, type NameContext } from '../../engine/sql/tables.ts';
import { NAME_FORMS } from '../support/name-forms.ts';
import { CUSTOMERS, ORDERS, PROJECT, schemas } from './support.ts';

interface Options {
  defaultDataset?: string;
  schemas?: TableSchemas;
}

function namesOf(options: Options): NameContext {
  return { project: PROJECT, defaultDataset: parseDefaultDataset(options.defaultDataset, PROJECT) };
}

/** Statements the node-sql-parser front end produced, recorded when it was removed. */
const RECORDED = new Map(
  (JSON.parse(readFileSync(new URL('./recorded/node-sql-parser.json', import.meta.url), 'utf8')) as { sql: string; options: { defaultDataset?: string; schemas?: boolean }; statements: Statement[] }[]).map(
    (r) => [`${r.sql}\u0000${r.options.defaultDataset ?? ''}\u0000${r.options.schemas === true}`, r.statements],
  ),
);

function oldStatement(sql: string, options: Options = {}): Statement {
  const statements = RECORDED.get(`${sql}\u0000${options.defaultDataset ?? ''}\u0000${options.schemas !== undefined}`);
  if (statements === undefined) throw new Error(`no recorded analysis of ${sql}`);
  expect(statements).toHaveLength(1);
  return statements[0]!;
}

function newStatement(sql: string, options: Options = {}): Statement {
  const statements = analyzeSql(sql, namesOf(options), schemaCatalog(options.schemas)).sql.statements;
  expect(statements).toHaveLength(1);
  return statements[0]!;
}

function newStatements(sql: string, options: Options = {}): Statement[] {
  return analyzeSql(sql, namesOf(options), schemaCatalog(options.schemas)).sql.statements;
}

const ref = (c: { table: string; column: string }) => `${c.table}:${c.column}`;

/** A statement with its sets in a canonical order; outputs keep theirs (the result's). */
function normalised(s: Statement) {
  return {
    ...s,
    tables: [...s.tables].sort((a, b) => `${a.id}:${a.mode}`.localeCompare(`${b.id}:${b.mode}`)),
    columns: s.columns.map(ref).sort(),
    predicate_columns: s.predicate_columns.map(ref).sort(),
    functions: [...s.functions].sort(),
    outputs: s.outputs.map((o) => ({ ...o, sources: o.sources.map(ref).sort(), ...(o.tables === undefined ? {} : { tables: [...o.tables].sort() }) })),
  };
}

function summary(s: Statement) {
  return s.outputs.map((o) => ({ name: o.name, lineage: o.lineage, direct: o.direct, sources: o.sources.map(ref).sort() }));
}

const c = (column: string) => `${CUSTOMERS}:${column}`;
const o = (column: string) => `${ORDERS}:${column}`;

/** Queries of lineage.test.ts, parser.test.ts and document.test.ts the current front end understands. */
const SHARED: readonly [string, Options][] = [
  ['SELECT c.email AS contact, c.id FROM crm.customers AS c', {}],
  ['SELECT email FROM crm.customers WHERE id = 3 ORDER BY name', {}],
  [
    'WITH base AS (SELECT id, ssn AS tax_id FROM crm.customers), renamed AS (SELECT tax_id AS t, id FROM base), ' +
      'other AS (SELECT total FROM sales.orders) SELECT r.t, renamed.id FROM renamed r JOIN renamed ON true',
    {},
  ],
  ['SELECT x.who FROM (SELECT UPPER(name) AS who, id FROM (SELECT name, id FROM crm.customers) inner_q) x', {}],
  ['SELECT email AS contact, id FROM crm.customers UNION ALL SELECT CAST(customer_id AS STRING), id FROM sales.orders', {}],
  ['SELECT email FROM crm.customers UNION DISTINCT SELECT email FROM crm.leads', {}],
  ['SELECT email FROM crm.customers INTERSECT DISTINCT SELECT email FROM crm.leads', {}],
  ['SELECT email FROM crm.customers EXCEPT DISTINCT SELECT email FROM crm.leads', {}],
  ['SELECT email FROM crm.customers UNION ALL SELECT email FROM crm.leads ORDER BY email', {}],
  ['SELECT o.total FROM sales.orders o WHERE o.customer_id IN (SELECT c.id FROM crm.customers c WHERE c.email LIKE "%@acme.example")', {}],
  ['SELECT CONCAT("", ssn) AS s, UPPER(email) AS e FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id', {}],
  ['SELECT CONCAT("", ssn) AS s, UPPER(email) AS e FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id', { schemas }],
  ['SELECT DATE_TRUNC(created, MONTH) AS m, TIMESTAMP_DIFF(a, b, SECOND) AS d FROM sales.orders o JOIN crm.customers c USING (id)', {}],
  ['SELECT id, total FROM sales.orders JOIN crm.customers USING (id)', { schemas }],
  ['SELECT SUM(total) OVER w AS running FROM sales.orders WINDOW w AS (PARTITION BY customer_id ORDER BY id)', {}],
  ['SELECT c.address.city, customers.address.street AS st, address.city AS c2 FROM crm.customers c, crm.customers', {}],
  ['SELECT i.sku, tag, off FROM sales.orders o, UNNEST(o.items) AS i WITH OFFSET AS off, crm.customers c, UNNEST(c.tags) tag', { schemas }],
  ['SELECT item.qty FROM sales.orders o, o.items AS item', { schemas }],
  ['SELECT items[SAFE_OFFSET(0)].sku AS first_sku FROM sales.orders', { schemas }],
  ['SELECT * FROM crm.customers', {}],
  ['SELECT * FROM crm.customers', { schemas }],
  ['SELECT o.*, c.email FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id', { schemas }],
  ['SELECT * EXCEPT (ssn, address) FROM crm.customers', { schemas }],
  ["SELECT * REPLACE (CONCAT('***', SUBSTRING(ssn, -4)) AS ssn) FROM crm.customers", { schemas }],
  ['SELECT address.* FROM crm.customers', { schemas }],
  ['SELECT email FROM (SELECT * FROM crm.customers)', {}],
  ['SELECT c.name, total FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id', {}],
  ['SELECT name, total, customer_id FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id', { schemas }],
  ['SELECT TO_JSON_STRING(c) AS j FROM crm.customers c', { schemas }],
  ['SELECT (SELECT MAX(ssn) FROM crm.leads) AS m FROM crm.customers', {}],
  ['SELECT (SELECT MAX(total) FROM sales.orders o WHERE o.customer_id = c.id) AS biggest, name FROM crm.customers c', {}],
  ['SELECT c.id, o.id, o.total FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id', {}],
  ['SELECT c.id, o.id, c.ssn AS id_1 FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id', {}],
  ['SELECT 1, email, UPPER(name), LENGTH(ssn) AS n, 2 FROM crm.customers', {}],
  ['SELECT id, total FROM sales.orders WHERE total > 0 QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY total DESC) = 1', {}],
  ['SELECT EXTRACT(YEAR FROM created_at) AS y FROM sales.orders', {}],
  ['SELECT customer_id AS who, SUM(total) AS spent FROM sales.orders GROUP BY who HAVING spent > 10 ORDER BY spent DESC', {}],
  ['WITH orders AS (SELECT customer_id, total FROM sales.orders) SELECT total FROM orders', { defaultDataset: 'crm' }],
  ['SELECT o.total FROM `acme-analytics.sales.orders` o', {}],
  ['SELECT customers.address.city FROM crm.customers', {}],
  ['SELECT order_id FROM orders', { defaultDataset: 'sales' }],
  ['SELECT day FROM holidays', { defaultDataset: 'acme-analytics.public' }],
  ['SELECT table_name FROM sales.INFORMATION_SCHEMA.TABLES', {}],
  ['SELECT query FROM `region-us`.INFORMATION_SCHEMA.JOBS', {}],
  ["SELECT order_id FROM `acme-analytics.sales.orders_*` WHERE _TABLE_SUFFIX = '2027'", {}],
  ['SELECT order_id FROM acme-analytics.sales.orders', {}],
  ['SELECT CASE WHEN total > 10 THEN email ELSE name END AS x, COUNT(DISTINCT id) AS n FROM crm.customers GROUP BY 1', {}],
  ['SELECT ARRAY(SELECT email FROM crm.customers) AS a, EXISTS(SELECT 1 FROM sales.orders) AS e', {}],
];

/** Statements other than queries that the current front end understands. */
const SHARED_STATEMENTS: readonly [string, Options][] = [
  ['INSERT INTO sales.orders (id, total) SELECT id, LENGTH(ssn) FROM crm.customers WHERE email IS NOT NULL', {}],
  ['INSERT INTO sales.orders SELECT * FROM sales.orders_archive', {}],
  ['INSERT INTO sales.orders (id, total) VALUES (1, 2), (3, (SELECT MAX(id) FROM crm.customers))', {}],
  ["UPDATE crm.customers SET email = LOWER(email), name = 'x' WHERE id = 3", {}],
  ["UPDATE crm.customers c SET c.email = 'x' WHERE c.ssn IS NULL", { schemas }],
  ['DELETE FROM sales.orders WHERE customer_id IN (SELECT id FROM crm.customers WHERE ssn IS NULL)', {}],
  ['DELETE sales.orders o WHERE o.total < 0', {}],
  [
    'MERGE sales.orders AS t USING (SELECT id, LENGTH(ssn) AS n FROM crm.customers) AS s ON t.customer_id = s.id ' +
      'WHEN MATCHED AND s.n > 1 THEN UPDATE SET total = s.n WHEN NOT MATCHED THEN INSERT (id, total) VALUES (s.id, s.n) ' +
      'WHEN NOT MATCHED BY SOURCE THEN DELETE',
    {},
  ],
  ['MERGE INTO sales.orders T USING sales.orders_archive a ON T.id = a.id WHEN MATCHED THEN UPDATE SET T.total = a.total WHEN NOT MATCHED THEN INSERT ROW', {}],
  ['MERGE sales.orders t USING crm.customers c ON t.customer_id = c.id WHEN NOT MATCHED BY SOURCE THEN DELETE', {}],
  ["CREATE OR REPLACE TABLE sales.summary OPTIONS(description = 'totals') AS SELECT customer_id, SUM(total) AS spent FROM sales.orders GROUP BY customer_id", {}],
  ['CREATE TABLE sales.daily (day DATE NOT NULL, amount NUMERIC) PARTITION BY DATE(_PARTITIONTIME)', {}],
  ['CREATE VIEW crm.contacts AS SELECT email, name FROM crm.customers', { schemas }],
  ['DROP TABLE sales.orders', {}],
  ['ALTER TABLE sales.orders RENAME TO orders_old', {}],
  ['ALTER TABLE sales.orders ADD COLUMN note STRING', {}],
  ['TRUNCATE TABLE sales.orders', {}],
  ["EXPORT DATA OPTIONS(uri = 'gs://bucket/x-*.csv', format = 'CSV') AS SELECT email, ssn FROM crm.customers", {}],
  ["EXPORT DATA WITH CONNECTION conn OPTIONS(format = sstable) AS SELECT email FROM crm.customers", {}],
];

/**
 * The same Statement, except that predicate columns may be more: GROUP BY, DISTINCT, set
 * operations other than UNION ALL, positions in ORDER BY and GROUP BY, windows in OVER and
 * conditions in the select list steer the result too (predicates.test.ts), which the old front
 * end did not record. It never records fewer.
 */
function expectSame(neu: Statement, old: Statement): void {
  const { predicate_columns: newPredicates, ...rest } = normalised(neu);
  const { predicate_columns: oldPredicates, ...oldRest } = normalised(old);
  expect(rest).toEqual(oldRest);
  expect(newPredicates).toEqual(expect.arrayContaining(oldPredicates));
}

describe('the same Statements as the node-sql-parser front end recorded', () => {
  it.each(SHARED_STATEMENTS.map(([sql, options]) => [`${sql}${options.schemas ? ' (schemas)' : ''}`, sql, options] as const))('%s', (_label, sql, options) => {
    const old = oldStatement(sql, options);
    expect(old.parsed, old.error).toBe(true);
    const neu = newStatement(sql, options);
    expect(neu.parsed, neu.error).toBe(true);
    expectSame(neu, old);
  });

  it.each(SHARED.map(([sql, options]) => [`${sql}${options.schemas ? ' (schemas)' : ''}`, sql, options] as const))('%s', (_label, sql, options) => {
    const old = oldStatement(sql, options);
    expect(old.parsed, old.error).toBe(true);
    const neu = newStatement(sql, options);
    expect(neu.parsed, neu.error).toBe(true);
    expectSame(neu, old);
  });

  it.each(NAME_FORMS.map((f) => [f.label, f] as const))('name form: %s', (_label, form) => {
    const old = oldStatement(form.sql);
    const neu = newStatement(form.sql);
    // This front end must name every table the old one did, parsed or not.
    expect(neu.tables.map((t) => t.id).sort()).toEqual(old.tables.map((t) => t.id).sort());
    if (old.parsed && neu.parsed) expectSame(neu, old);
  });
});

describe('constructs only the new front end reads', () => {
  it('ARRAY_AGG with DISTINCT, ORDER BY and LIMIT', () => {
    const s = newStatement('SELECT customer_id, ARRAY_AGG(DISTINCT total IGNORE NULLS ORDER BY id DESC LIMIT 3) AS recent FROM sales.orders GROUP BY customer_id');
    expect(s.parsed, s.error).toBe(true);
    expect(summary(s)).toEqual([
      { name: 'customer_id', lineage: 'known', direct: true, sources: [o('customer_id')] },
      { name: 'recent', lineage: 'known', direct: false, sources: [o('id'), o('total')] },
    ]);
    expect(s.functions).toEqual(['ARRAY_AGG']);
  });

  it('ANY_VALUE … HAVING MAX reads the column it maximises', () => {
    const s = newStatement('SELECT ANY_VALUE(email HAVING MAX id) AS latest FROM crm.customers');
    expect(summary(s)).toEqual([{ name: 'latest', lineage: 'known', direct: false, sources: [c('email'), c('id')] }]);
  });

  it('PIVOT: grouping columns pass through, each aggregate × value is derived from the aggregated and FOR columns', () => {
    const s = newStatement('SELECT * FROM (SELECT id, customer_id, total FROM sales.orders) PIVOT(SUM(total) AS s FOR customer_id IN (1 AS one, 2 AS two))');
    expect(s.parsed, s.error).toBe(true);
    expect(summary(s)).toEqual([
      { name: 'id', lineage: 'known', direct: true, sources: [o('id')] },
      { name: 's_one', lineage: 'known', direct: false, sources: [o('customer_id'), o('total')] },
      { name: 's_two', lineage: 'known', direct: false, sources: [o('customer_id'), o('total')] },
    ]);
    expect(s.tables.map((t) => t.id)).toEqual([ORDERS]);
  });

  it('PIVOT over a table with a known schema, values named as BigQuery names them', () => {
    const s = newStatement("SELECT * FROM sales.orders PIVOT(SUM(total) FOR customer_id IN (7, 'vip'))", { schemas });
    expect(s.outputs.map((x) => x.name)).toEqual(['id', 'items', '_7', 'vip']);
  });

  it('UNPIVOT: the value is one of the unpivoted columns unchanged, the name is constant', () => {
    const s = newStatement('SELECT * FROM (SELECT id, email, name FROM crm.customers) UNPIVOT(v FOR k IN (email, name))');
    expect(summary(s)).toEqual([
      { name: 'id', lineage: 'known', direct: true, sources: [c('id')] },
      { name: 'v', lineage: 'known', direct: true, sources: [c('email'), c('name')] },
      { name: 'k', lineage: 'known', direct: false, sources: [] },
    ]);
  });

  it('QUALIFY with a named window: a predicate, not an output', () => {
    const s = newStatement('SELECT id FROM sales.orders WINDOW w AS (PARTITION BY customer_id ORDER BY total DESC) QUALIFY ROW_NUMBER() OVER w = 1');
    expect(s.parsed, s.error).toBe(true);
    expect(summary(s)).toEqual([{ name: 'id', lineage: 'known', direct: true, sources: [o('id')] }]);
    expect(s.predicate_columns.map(ref).sort()).toEqual([o('customer_id'), o('total')]);
  });

  it('WITH RECURSIVE: the name is no table, and lineage follows the recursion', () => {
    const s = newStatement(
      'WITH RECURSIVE chain AS (SELECT id, customer_id FROM sales.orders WHERE id = 1 ' +
        'UNION ALL SELECT o.id, c.customer_id FROM sales.orders o JOIN chain c ON o.customer_id = c.id) SELECT id, customer_id FROM chain',
      { defaultDataset: 'sales' },
    );
    expect(s.parsed, s.error).toBe(true);
    expect(s.tables.map((t) => `${t.id}:${t.mode}`)).toEqual([`${ORDERS}:read`]);
    expect(summary(s)).toEqual([
      { name: 'id', lineage: 'known', direct: true, sources: [o('id')] },
      { name: 'customer_id', lineage: 'known', direct: true, sources: [o('customer_id')] },
    ]);
  });

  it('ML.PREDICT passes its input columns through; the model is read; prediction columns are unknown', () => {
    const s = newStatement('SELECT * FROM ML.PREDICT(MODEL sales.churn, (SELECT id, email FROM crm.customers))');
    expect(s.parsed, s.error).toBe(true);
    expect(s.tables).toEqual([
      { id: `${PROJECT}.sales.churn`, project: PROJECT, dataset: 'sales', table: 'churn', model: true, mode: 'read' },
      { id: CUSTOMERS, project: PROJECT, dataset: 'crm', table: 'customers', mode: 'read' },
    ]);
    expect(summary(s).slice(0, 2)).toEqual([
      { name: 'id', lineage: 'known', direct: true, sources: [c('id')] },
      { name: 'email', lineage: 'known', direct: true, sources: [c('email')] },
    ]);
    expect(s.outputs[2]).toMatchObject({ name: '*', lineage: 'unknown', tables: [`${PROJECT}.sales.churn`, CUSTOMERS] });
  });

  it('ML.PREDICT over a TABLE argument', () => {
    const s = newStatement('SELECT email, predicted_churn FROM ML.PREDICT(MODEL sales.churn, TABLE crm.customers)', { schemas });
    expect(s.tables.map((t) => t.id)).toEqual([`${PROJECT}.sales.churn`, CUSTOMERS]);
    expect(summary(s)[0]).toEqual({ name: 'email', lineage: 'known', direct: true, sources: [c('email')] });
    expect(s.outputs[1]).toMatchObject({ name: 'predicted_churn', lineage: 'unknown', tables: [`${PROJECT}.sales.churn`, CUSTOMERS] });
  });

  it('field access on SELECT AS STRUCT: every field of the struct may flow', () => {
    const s = newStatement('SELECT (SELECT AS STRUCT email, ssn FROM crm.customers LIMIT 1).email AS e');
    expect(s.parsed, s.error).toBe(true);
    expect(summary(s)).toEqual([{ name: 'e', lineage: 'known', direct: false, sources: [c('email'), c('ssn')] }]);
  });

  it('field access through a derived SELECT AS STRUCT table resolves to the field', () => {
    const s = newStatement('SELECT sq.email FROM (SELECT AS STRUCT email, ssn FROM crm.customers) AS sq');
    expect(summary(s)).toEqual([{ name: 'email', lineage: 'known', direct: true, sources: [c('email')] }]);
  });

  it('SELECT* without spaces expands the known schema', () => {
    const s = newStatement('SELECT*FROM crm.customers', { schemas });
    expect(s.parsed, s.error).toBe(true);
    expect(s.outputs.map((x) => x.name)).toEqual(['id', 'name', 'email', 'ssn', 'address', 'tags']);
  });

  it('positional ? and named @ parameters are values, not columns', () => {
    const s = newStatement('SELECT email, @label AS label FROM crm.customers WHERE id = ? AND name = @who');
    expect(s.parsed, s.error).toBe(true);
    expect(summary(s)).toEqual([
      { name: 'email', lineage: 'known', direct: true, sources: [c('email')] },
      { name: 'label', lineage: 'known', direct: false, sources: [] },
    ]);
    expect(s.predicate_columns.map(ref).sort()).toEqual([c('id'), c('name')]);
  });

  it('a CAST with FORMAT and a parameterised type reads only its value', () => {
    const s = newStatement("SELECT CAST(total AS NUMERIC(10, 2)) AS t, CAST(created_at AS STRING FORMAT 'YYYY') AS y FROM sales.orders");
    expect(summary(s)).toEqual([
      { name: 't', lineage: 'known', direct: false, sources: [o('total')] },
      { name: 'y', lineage: 'known', direct: false, sources: [o('created_at')] },
    ]);
  });

  it('FOR SYSTEM_TIME AS OF and TABLESAMPLE keep the table read', () => {
    const s = newStatement('SELECT total FROM sales.orders FOR SYSTEM_TIME AS OF CURRENT_TIMESTAMP');
    expect(s.parsed, s.error).toBe(true);
    expect(s.tables.map((t) => t.id)).toEqual([ORDERS]);
    const t = newStatement('SELECT total FROM sales.orders TABLESAMPLE SYSTEM (10 PERCENT)');
    expect(summary(t)).toEqual([{ name: 'total', lineage: 'known', direct: true, sources: [o('total')] }]);
  });
});

describe('refusals', () => {
  it('a subquery followed by UNION inside a call, read by the parser as the argument, is refused with its position', () => {
    const s = newStatement('SELECT email FROM crm.customers WHERE id > ABS((SELECT 1)\nUNION ALL SELECT ssn FROM crm.leads)');
    expect(s.parsed).toBe(false);
    expect(s.error).toBe('syntax not understood near `UNION` at 2:1 (parser: expected `)`)');
    expect(s.tables.map((t) => t.id).sort()).toEqual([CUSTOMERS, 'acme-analytics.crm.leads'].sort());
  });

  it('an expression the analysis does not know names the construct and its line:column', () => {
    const s = newStatement('SELECT ARRAY_OFFSET([1, 2], e -> e = 2) AS pos\nFROM crm.customers');
    expect(s.parsed).toBe(false);
    expect(s.error).toMatch(/^expression lambda is not analysed at 1:\d+$/);
  });

  it('other table-valued functions are refused, their tables still named by the token scan', () => {
    const s = newStatement('SELECT * FROM sales.top_customers(10)');
    expect(s.parsed).toBe(false);
    expect(s.error).toMatch(/table-valued function/);
  });

  it('a reserved keyword where a value stands, and a bare SELECT, are refused', () => {
    expect(newStatement('SELECT email FROM crm.customers WHERE id = 1 AND AND').error).toBe('syntax not understood near `AND` at 1:50 (parser: invalid expression)');
    expect(newStatement('SELECT').error).toBe('syntax not understood near `SELECT` at 1:1 (parser: unexpected end of statement)');
  });

  it('a number glued to a name is refused (BigQuery reads neither)', () => {
    const s = newStatement('SELECT a FROM 2024_sales.orders');
    expect(s.parsed).toBe(false);
    expect(s.error).toMatch(/^`2024_sales.orders` is neither a number nor a name/);
    expect(newStatement('SELECT 1x FROM crm.customers').parsed).toBe(false);
  });

  it('CREATE TEMP TABLE names only the tables its query reads (coverage-scripts.test.ts)', () => {
    const s = newStatement('CREATE TEMP TABLE t AS SELECT email FROM crm.customers');
    expect(s.parsed).toBe(true);
    expect(s.tables.map((t) => `${t.id}:${t.mode}`)).toEqual(['acme-analytics.crm.customers:read']);
  });

  it('SET of a variable no earlier DECLARE declares, and SET of a system variable, are refused', () => {
    expect(newStatement('SET x = (SELECT ssn FROM crm.customers LIMIT 1)').error).toMatch(/^SET of x, which no earlier DECLARE/);
    expect(newStatement("SET @@dataset_id = 'crm'").error).toMatch(/system variable @@dataset_id/);
  });

  it('a temporary function with a qualified name is refused (a persistent one is a routine: routines.test.ts)', () => {
    const s = newStatement('CREATE TEMP FUNCTION crm.f(x INT64) AS (x + 1)');
    expect(s.parsed).toBe(false);
    expect(s.error).toMatch(/^temporary function with a qualified name/);
  });

  it('an unknown ALTER TABLE action and a column DEFAULT are refused by name', () => {
    expect(newStatement('CREATE TABLE sales.t (a INT64 DEFAULT 1)').error).toMatch(/column definition with default/);
  });

  it('a WITH name that is also a back-quoted table name is refused', () => {
    const s = newStatement('WITH `crm.customers` AS (SELECT 1 AS x) SELECT x FROM `crm.customers`');
    expect(s.parsed).toBe(false);
  });
});

describe('statements other than queries, beyond the current front end', () => {
  it('UPDATE … FROM: the target is written, the FROM table read; SET names a target column only', () => {
    const s = newStatement('UPDATE sales.orders o SET total = c.id FROM crm.customers c WHERE o.customer_id = c.id');
    expect(s.parsed, s.error).toBe(true);
    expect(s.tables.map((t) => `${t.id}:${t.mode}`).sort()).toEqual([`${CUSTOMERS}:read`, `${ORDERS}:write`]);
    expect(s.columns.map(ref).sort()).toEqual([c('id'), o('customer_id'), o('total')].sort());
    expect(s.predicate_columns.map(ref).sort()).toEqual([c('id'), o('customer_id')].sort());
  });

  it('DROP VIEW and CREATE MATERIALIZED VIEW record the view as DDL', () => {
    const d = newStatement('DROP VIEW crm.contacts');
    expect(d).toMatchObject({ type: 'DROP_VIEW', category: 'ddl', parsed: true });
    expect(d.tables.map((t) => `${t.id}:${t.mode}`)).toEqual(['acme-analytics.crm.contacts:ddl']);
    const m = newStatement('CREATE MATERIALIZED VIEW sales.totals AS SELECT customer_id, SUM(total) AS spent FROM sales.orders GROUP BY customer_id');
    expect(m).toMatchObject({ type: 'CREATE_MATERIALIZED_VIEW', category: 'ddl', parsed: true });
    expect(m.tables.map((t) => `${t.id}:${t.mode}`).sort()).toEqual([`${ORDERS}:read`, 'acme-analytics.sales.totals:ddl']);
    expect(summary(m)[1]).toEqual({ name: 'spent', lineage: 'known', direct: false, sources: [o('total')] });
  });

  it('CREATE SCHEMA and DROP SCHEMA are parsed DDL naming no table (a dataset is none)', () => {
    for (const sql of ["CREATE SCHEMA IF NOT EXISTS crm2 OPTIONS(location = 'EU')", 'DROP SCHEMA IF EXISTS acme-analytics.crm2 CASCADE']) {
      const s = newStatement(sql);
      expect(s, sql).toMatchObject({ category: 'ddl', parsed: true, tables: [], outputs: [] });
    }
    expect(newStatement('CREATE SCHEMA crm2 OPTIONS(x = (SELECT 1))').parsed).toBe(false);
  });
});

describe('spellings polyglot-sql does not read, handed to it with the same meaning', () => {
  it('INSERT without INTO is read as INSERT INTO', () => {
    const s = newStatement('INSERT sales.orders (id, note) SELECT id, email FROM crm.customers');
    expect(s).toMatchObject({ type: 'INSERT', category: 'write', parsed: true });
    expect(s.tables.map((t) => `${t.id}:${t.mode}`)).toEqual([`${ORDERS}:write`, `${CUSTOMERS}:read`]);
    expect(summary(s)).toEqual([
      { name: 'id', lineage: 'known', direct: true, sources: [c('id')] },
      { name: 'note', lineage: 'known', direct: true, sources: [c('email')] },
    ]);
    expect(normalised(s)).toEqual(normalised(newStatement('INSERT INTO sales.orders (id, note) SELECT id, email FROM crm.customers')));
  });

  it('a parameterised RETURNS type of a temporary function is read; what the body reads still flows into each call', () => {
    const [fn, query] = newStatements('CREATE TEMP FUNCTION f(arr ARRAY<STRING>) RETURNS STRUCT<a STRING,\n b ARRAY<STRING>> AS (STRUCT(arr[OFFSET(0)] AS a, arr AS b));\nSELECT f([email]).a AS x FROM crm.customers');
    expect(fn!.parsed, fn!.error).toBe(true);
    expect(query!.parsed, query!.error).toBe(true);
    expect(summary(query!)).toEqual([{ name: 'x', lineage: 'known', direct: false, sources: [c('email')] }]);
  });

  it('raw literals with a backslash are constants, raw bytes too; a column read beside them keeps its lineage', () => {
    const s = newStatement(String.raw`SELECT r"\\" AS a, rb"\x53" AS b, REGEXP_EXTRACT(email, r'\w+@(\w+)') AS domain FROM crm.customers WHERE name LIKE r'%\_%'`);
    expect(s.parsed, s.error).toBe(true);
    expect(summary(s)).toEqual([
      { name: 'a', lineage: 'known', direct: false, sources: [] },
      { name: 'b', lineage: 'known', direct: false, sources: [] },
      { name: 'domain', lineage: 'known', direct: false, sources: [c('email')] },
    ]);
    expect(s.predicate_columns.map(ref)).toEqual([c('name')]);
  });

  it('positions in errors and refusals are those of the text as written', () => {
    // The same errors as with INTO written, five columns to the left on its line only.
    expect(newStatement('INSERT sales.orders (id) VALUES (1 +)').error).toBe(newStatement('INSERT INTO sales.orders (id) VALUES (1 +)').error!.replace('at 1:42', 'at 1:37'));
    expect(newStatement('INSERT\nsales.orders (id) VALUES (1 +)').error).toMatch(/near `\)` at 2:30 /);
    expect(newStatement('INSERT\nsales.orders (id) SELECT ARRAY_OFFSET([1], e -> e) FROM crm.customers').error).toBe('expression lambda is not analysed at 2:44');
    expect(newStatement('INSERT INTO sales.orders (id) SELECT ARRAY_OFFSET([1], e -> e) FROM crm.customers').error).toBe('expression lambda is not analysed at 1:56');
    expect(newStatement('INSERT sales.orders (id) SELECT ARRAY_OFFSET([1], e -> e) FROM crm.customers').error).toBe('expression lambda is not analysed at 1:51');
  });

  it('a path part that begins with a digit is back-quoted, positions kept', () => {
    const s = newStatement('SELECT o.2024_total FROM sales.2024_orders AS o');
    expect(s.parsed, s.error).toBe(true);
    expect(s.columns.map(ref)).toEqual(['acme-analytics.sales.2024_orders:2024_total']);
    expect(newStatement('SELECT o.2024_total FROM sales.2024_orders AS o WHERE +').error).toMatch(/near `\+` at 1:55 /);
  });

  it('FOR SYSTEM_TIME AS OF a call: read as written, what follows parsed in place', () => {
    const s = newStatement('SELECT o.total FROM sales.orders AS o FOR SYSTEM_TIME AS OF TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 HOUR) JOIN crm.customers c ON c.id = o.customer_id');
    expect(s.parsed, s.error).toBe(true);
    expect(s.tables.map((t) => `${t.id}:${t.mode}`)).toEqual([`${ORDERS}:read`, `${CUSTOMERS}:read`]);
    expect([...s.functions].sort()).toEqual(['CURRENT_TIMESTAMP', 'TIMESTAMP_SUB']);
    const audit = newStatement('SELECT total FROM sales.orders FOR SYSTEM_TIME AS OF (SELECT MAX(ts) FROM sales.audit)');
    expect(audit.tables.map((t) => t.id)).toEqual(['acme-analytics.sales.audit', ORDERS]);
    expect(newStatement('SELECT total FROM sales.orders FOR SYSTEM_TIME AS OF CURRENT_TIMESTAMP() o').parsed).toBe(false);
    // The placeholder has the expression's length: the `+` (offset 79) is where polyglot puts it anywhere else.
    expect(newStatement('SELECT total FROM sales.orders FOR SYSTEM_TIME AS OF CURRENT_TIMESTAMP() WHERE +').error).toMatch(/near `\+` at 1:80 /);
  });

  it('a dashed project in an UPDATE or INSERT target is back-quoted', () => {
    for (const sql of ['UPDATE acme-analytics.sales.orders o SET o.total = 0 WHERE o.id = 1', 'INSERT acme-analytics.sales.orders (total) VALUES (0)', 'INSERT INTO my-project-2.sales.orders (total) VALUES (0)']) {
      const s = newStatement(sql);
      expect(s.parsed, `${sql}: ${s.error}`).toBe(true);
      expect(s.tables.map((t) => t.mode)).toEqual(['write']);
    }
  });
});

describe('sharing by literal shape', () => {
  const analysis = (sql: string) => analyzeSql(sql, namesOf({}), schemaCatalog(undefined));

  it('holds when every literal token was read as a value', () => {
    expect(analysis("SELECT email FROM crm.customers WHERE id = 1 AND name IN ('a', 'b') AND created > DATE '2024-01-01'").byShape).toBe(true);
    expect(analysis('INSERT sales.orders (id) VALUES (1)').byShape).toBe(true);
    expect(analysis('MERGE sales.orders t USING sales.staged s ON t.id = s.id WHEN MATCHED THEN DELETE').byShape).toBe(true);
  });

  it('not when a literal names a column, sits in a type, or the statement is refused', () => {
    expect(analysis("SELECT * FROM sales.orders PIVOT(SUM(total) FOR status IN ('open', 'closed'))").byShape).toBe(false);
    expect(analysis('SELECT CAST(email AS STRING(10)) FROM crm.customers WHERE id = 1').byShape).toBe(false);
    expect(analysis('SELECT email FROM crm.customers WHERE id = 1 AND AND').byShape).toBe(false);
  });
});

describe('scripts', () => {
  it('a variable carries the lineage of what was assigned to it, and its tables', () => {
    const [declare, select] = newStatements('DECLARE x DEFAULT (SELECT ssn FROM crm.customers LIMIT 1); SELECT x');
    expect(declare).toMatchObject({ type: 'DECLARE', category: 'script', parsed: true });
    expect(declare!.tables.map((t) => `${t.id}:${t.mode}`)).toEqual([`${CUSTOMERS}:read`]);
    expect(declare!.columns.map(ref)).toEqual([c('ssn')]);
    expect(select!.parsed, select!.error).toBe(true);
    expect(summary(select!)).toEqual([{ name: 'x', lineage: 'known', direct: true, sources: [c('ssn')] }]);
    expect(select!.tables.map((t) => `${t.id}:${t.mode}`)).toEqual([`${CUSTOMERS}:read`]);
  });

  it('SET replaces a variable\'s lineage; a column of a table in scope wins over a variable', () => {
    const statements = newStatements(
      'DECLARE a, b INT64; SET a = (SELECT MAX(total) FROM sales.orders); SET (b) = (SELECT AS STRUCT COUNT(*) FROM crm.customers); ' +
        'SELECT a + 1 AS n, id FROM crm.customers',
      { schemas },
    );
    expect(statements.map((s) => s.parsed)).toEqual([true, true, true, true]);
    expect(summary(statements[3]!)).toEqual([
      { name: 'n', lineage: 'known', direct: false, sources: [o('total')] },
      { name: 'id', lineage: 'known', direct: true, sources: [c('id')] },
    ]);
  });

  it('a WITH body reads variables too', () => {
    const [, select] = newStatements('DECLARE x DEFAULT (SELECT ssn FROM crm.customers LIMIT 1); WITH q AS (SELECT x AS y) SELECT y FROM q');
    expect(summary(select!)).toEqual([{ name: 'y', lineage: 'known', direct: true, sources: [c('ssn')] }]);
  });

  it('a variable name a table of unknown schema may also hold is ambiguous: both candidates are named', () => {
    const [, select] = newStatements('DECLARE email DEFAULT (SELECT ssn FROM crm.customers LIMIT 1); SELECT email FROM crm.leads');
    expect(select!.outputs[0]).toMatchObject({ name: 'email', lineage: 'unknown' });
    expect(select!.outputs[0]!.sources.map(ref).sort()).toEqual([c('ssn'), 'acme-analytics.crm.leads:email']);
  });

  it('CREATE TEMP FUNCTION: what the body reads flows into every call', () => {
    const [fn, select] = newStatements(
      'CREATE TEMP FUNCTION masked(v STRING) AS (CONCAT(v, (SELECT MAX(ssn) FROM crm.customers))); SELECT masked(email) AS m FROM crm.leads',
    );
    expect(fn).toMatchObject({ type: 'CREATE_TEMP_FUNCTION', category: 'ddl', parsed: true });
    expect(fn!.tables.map((t) => t.id)).toEqual([CUSTOMERS]);
    expect(select!.parsed, select!.error).toBe(true);
    expect(select!.functions).toEqual(['MASKED']);
    expect(summary(select!)).toEqual([{ name: 'm', lineage: 'known', direct: false, sources: [c('ssn'), 'acme-analytics.crm.leads:email'] }]);
  });

  it('a temporary function named like a built-in still carries its body\'s reads', () => {
    const [, select] = newStatements('CREATE TEMP FUNCTION upper(v STRING) AS ((SELECT MAX(ssn) FROM crm.customers)); SELECT upper(email) AS u FROM crm.leads');
    expect(summary(select!)).toEqual([{ name: 'u', lineage: 'known', direct: false, sources: [c('ssn'), 'acme-analytics.crm.leads:email'] }]);
  });

  it('a JavaScript temporary function sees only its arguments', () => {
    const [, select] = newStatements("CREATE TEMP FUNCTION up(x STRING) RETURNS STRING LANGUAGE js AS 'return x.toUpperCase()'; SELECT up(email) AS e FROM crm.customers");
    expect(summary(select!)).toEqual([{ name: 'e', lineage: 'known', direct: false, sources: [c('email')] }]);
  });
});

describe('function names as written', () => {
  it('SUBSTR, POW and LOG are reported as written, not as polyglot canonicalises them', () => {
    const s = newStatement('SELECT SUBSTR(email, 1) AS a, POW(id, 2) AS b, LOG(id) AS l, SUBSTRING(name, 2) AS d FROM crm.customers');
    expect(s.parsed, s.error).toBe(true);
    expect([...s.functions].sort()).toEqual(['LOG', 'POW', 'SUBSTR', 'SUBSTRING']);
  });

  it('typed literals are no calls: NUMERIC and JSON literals record no CAST or PARSE_JSON', () => {
    const s = newStatement("SELECT NUMERIC '1' AS n, JSON '{}' AS j, CAST(id AS STRING) AS c FROM crm.customers");
    expect(s.parsed, s.error).toBe(true);
    expect(s.functions).toEqual(['CAST']);
  });

  it('CEILING, STRPOS and INSTR keep their spelling; NORMALIZE\'s mode is no column', () => {
    const s = newStatement('SELECT CEILING(total) AS a, STRPOS(email, "@") AS b, INSTR(name, "x") AS c, NORMALIZE(name, NFKC) AS d FROM crm.customers');
    expect(s.parsed, s.error).toBe(true);
    expect([...s.functions].sort()).toEqual(['CEILING', 'INSTR', 'NORMALIZE', 'STRPOS']);
    expect(s.columns.map(ref).sort()).toEqual([c('email'), c('name'), c('total')]);
  });

  it('a name in a string or a comment is no call', () => {
    const s = newStatement("SELECT SUBSTRING(email, 1) AS a, 'POW(' AS p FROM crm.customers -- SUBSTR(x)");
    expect(s.functions).toEqual(['SUBSTRING']);
  });
});
