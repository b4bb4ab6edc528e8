// Statement splitting and classification: `;` inside literals and comments never splits,
// and every statement's type and category come from its leading keywords.
import { describe, expect, it } from 'vitest';
import { ORDERS, run, statement, tables } from './support.ts';

describe('splitting', () => {
  it('SELECT 1; DROP TABLE x: two statements, the DROP named and unparsed without a default dataset', () => {
    const input = run('SELECT 1; DROP TABLE x');
    expect(input.sql.parsed).toBe(false);
    expect(input.sql.statements.map((s) => [s.index, s.type, s.category, s.parsed])).toEqual([
      [0, 'SELECT', 'read', true],
      [1, 'DROP_TABLE', 'ddl', false],
    ]);
    expect(input.sql.statements[1]!.error).toBe('table x has no dataset and no default dataset is set');
  });

  it('SELECT 1; DROP TABLE x with a default dataset: the DROP is parsed and names its table', () => {
    const input = run('SELECT 1; DROP TABLE x;', { defaultDataset: 'scratch' });
    expect(input.sql.parsed).toBe(true);
    expect(tables(input.sql.statements[1]!)).toEqual(['acme-analytics.scratch.x:ddl']);
  });

  it('semicolons in strings, quoted names and comments do not split', () => {
    const input = run('SELECT \'a;b\' AS x, "c;d" AS y, `odd;name` FROM sales.orders -- not ; here\n WHERE id = 1 /* nor ; here */; SELECT 2 # ; trailing');
    expect(input.sql.statements).toHaveLength(2);
    const [first] = input.sql.statements;
    expect(first!.parsed).toBe(true);
    expect(first!.outputs.map((o) => o.name)).toEqual(['x', 'y', 'odd;name']);
    expect(first!.columns.map((c) => c.column).sort()).toEqual(['id', 'odd;name']);
  });

  it('comments end where BigQuery ends them: the first */ (no nesting), a carriage return', () => {
    const c = 'acme-analytics.crm.customers';
    const predicates = (sql: string) => {
      const s = statement(sql);
      expect(s.parsed, s.error).toBe(true);
      return s.predicate_columns.map((p) => `${p.table}:${p.column}`);
    };
    // What a nesting reader takes for the rest of a comment, BigQuery runs.
    expect(predicates("SELECT customer_id FROM crm.customers /* /* */ WHERE ssn LIKE '1%' -- */")).toEqual([`${c}:ssn`]);
    expect(predicates("SELECT customer_id FROM crm.customers --\rWHERE ssn LIKE '1%'")).toEqual([`${c}:ssn`]);
    expect(predicates("SELECT customer_id FROM crm.customers #\rORDER BY ssn")).toEqual([`${c}:ssn`]);
    const hidden = run('SELECT customer_id /* /* */ , ssn AS x -- */ \n FROM crm.customers');
    expect(hidden.sql.statements[0]!.outputs.map((o) => o.name)).toEqual(['customer_id', 'x']);
    // A second statement after a carriage return is one.
    const smuggled = run('SELECT customer_id AS x FROM crm.customers --\r; SELECT ssn AS x FROM crm.customers');
    expect(smuggled.sql.statements.map((s) => s.outputs.map((o) => o.sources.map((r) => r.column)))).toEqual([[['customer_id']], [['ssn']]]);
  });

  it('escaped quotes inside literals do not end them', () => {
    const input = run("SELECT 'it\\'s; fine' AS a, r\"raw\\\";\" AS b FROM sales.orders; SELECT 2");
    expect(input.sql.statements.map((s) => s.type)).toEqual(['SELECT', 'SELECT']);
    expect(input.sql.statements[0]!.parsed).toBe(true);
  });

  it('a semicolon inside a string cannot smuggle a second statement past the splitter', () => {
    const input = run("SELECT 'x'';DROP TABLE sales.orders;--' AS a");
    // BigQuery reads 'x' then ';DROP …;--' : adjacent literals, one statement.
    expect(input.sql.statements).toHaveLength(1);
  });

  it('a labelled loop stays one statement', () => {
    const input = run('outer_loop: LOOP SELECT total FROM sales.orders; LEAVE outer_loop; END LOOP outer_loop; SELECT 2');
    expect(input.sql.statements.map((s) => [s.type, s.category, s.parsed])).toEqual([
      ['LOOP', 'script', false],
      ['SELECT', 'read', true],
    ]);
    expect(tables(input.sql.statements[0]!)).toEqual([`${ORDERS}:read`]);
  });

  it('empty statements between semicolons are skipped, indexes stay dense', () => {
    const input = run(';; SELECT 1 ;;; SELECT 2 ;');
    expect(input.sql.statements.map((s) => s.index)).toEqual([0, 1]);
  });
});

describe('classification', () => {
  it.each([
    ['(SELECT 1)', 'SELECT', 'read'],
    ['WITH a AS (SELECT 1) SELECT * FROM a', 'SELECT', 'read'],
    ['INSERT sales.orders (id) VALUES (1)', 'INSERT', 'write'],
    ['CREATE OR REPLACE TABLE sales.t (a INT64)', 'CREATE_TABLE', 'ddl'],
    ['CREATE TEMP TABLE t AS SELECT 1 AS a', 'CREATE_TEMP_TABLE', 'ddl'],
    ['CREATE TABLE IF NOT EXISTS sales.t (a INT64)', 'CREATE_TABLE', 'ddl'],
    ['CREATE MATERIALIZED VIEW sales.mv AS SELECT 1 AS a', 'CREATE_MATERIALIZED_VIEW', 'ddl'],
    ['CREATE TABLE FUNCTION sales.f() AS SELECT 1 AS a', 'CREATE_TABLE_FUNCTION', 'ddl'],
    ['CREATE SCHEMA scratch', 'CREATE_SCHEMA', 'ddl'],
    ['DROP SCHEMA scratch CASCADE', 'DROP_SCHEMA', 'ddl'],
    ['DROP VIEW sales.v', 'DROP_VIEW', 'ddl'],
    ["CREATE ROW ACCESS POLICY us ON sales.orders GRANT TO ('group:x@acme.example') FILTER USING (region = 'us')", 'CREATE_ROW_ACCESS_POLICY', 'admin'],
    ["GRANT `roles/bigquery.dataViewer` ON TABLE sales.orders TO 'user:a@acme.example'", 'GRANT', 'admin'],
    ["REVOKE `roles/bigquery.dataViewer` ON TABLE sales.orders FROM 'user:a@acme.example'", 'REVOKE', 'admin'],
    ["LOAD DATA INTO sales.orders FROM FILES (format = 'CSV', uris = ['gs://b/x.csv'])", 'LOAD_DATA', 'write'],
    ['TRUNCATE TABLE sales.orders', 'TRUNCATE_TABLE', 'write'],
    ['BEGIN TRANSACTION', 'BEGIN_TRANSACTION', 'script'],
    ['COMMIT TRANSACTION', 'COMMIT', 'script'],
    ['CALL sales.refresh()', 'CALL', 'script'],
    ['SET @@dataset_id = "sales"', 'SET', 'script'],
    ["ASSERT (SELECT COUNT(*) FROM sales.orders) > 0 AS 'rows'", 'ASSERT', 'script'],
    ['LOOP LEAVE; END LOOP', 'LOOP', 'script'],
    ['WHILE true DO BREAK; END WHILE', 'WHILE', 'script'],
    ["EXPORT MODEL sales.m OPTIONS (uri = 'gs://b/m')", 'EXPORT_MODEL', 'export'],
    ['(DROP TABLE sales.orders)', 'UNKNOWN', 'unknown'],
  ])('%s → %s (%s)', (sql, type, category) => {
    expect(statement(sql, { defaultDataset: 'sales' })).toMatchObject({ type, category });
  });

  it('lists the tables of unparsed DDL and admin statements', () => {
    expect(tables(statement("GRANT `roles/bigquery.dataViewer` ON TABLE sales.orders TO 'user:a@acme.example'"))).toEqual([`${ORDERS}:ddl`]);
    expect(tables(statement('DROP TABLE IF EXISTS sales.orders'))).toEqual([`${ORDERS}:ddl`]);
    expect(tables(statement('CREATE TABLE sales.copy CLONE sales.orders'))).toEqual(['acme-analytics.sales.copy:ddl', `${ORDERS}:read`]);
    expect(tables(statement("LOAD DATA OVERWRITE sales.orders FROM FILES (format = 'CSV', uris = ['gs://b/x.csv'])"))).toEqual([`${ORDERS}:write`]);
  });
});
