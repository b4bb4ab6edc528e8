// Scripts: temporary tables. CREATE TEMP TABLE names only the tables its query reads (its session
// dataset has no name a table ref can hold); later statements of the text read the bare name as a
// relation with the lineage of what was put in it (INSERT adds to it, DROP ends it). Where the
// analysis loses track of it (a statement it does not follow, a name spelled otherwise, a view),
// the name is refused rather than read as a table of the default dataset.
import { describe, expect, it } from 'vitest';
import type { Statement } from '../../engine/schema-types.ts';
import { analyzeSql } from '../../engine/sql/analyze.ts';
import { schemaCatalog } from '../../engine/sql/catalog.ts';
import { parseDefaultDataset } from '../../engine/sql/tables.ts';
import { CUSTOMERS, ORDERS, PROJECT } from './support.ts';

function script(sql: string): Statement[] {
  return analyzeSql(sql, { project: PROJECT, defaultDataset: parseDefaultDataset('sales', PROJECT) }, schemaCatalog(undefined)).sql.statements;
}

const tables = (s: Statement) => s.tables.map((t) => `${t.id}:${t.mode}`);
const sources = (s: Statement) => s.outputs.map((o) => [o.name, o.sources.map((r) => `${r.table}:${r.column}`)]);

describe('CREATE TEMP TABLE', () => {
  it('is ddl naming only the tables its query reads, with the query as outputs', () => {
    const [s] = script('CREATE TEMPORARY TABLE t AS SELECT email, name AS n FROM crm.customers');
    expect(s!.parsed, s!.error).toBe(true);
    expect(s!.category).toBe('ddl');
    expect(tables(s!)).toEqual([`${CUSTOMERS}:read`]);
    expect(sources(s!)).toEqual([['email', [`${CUSTOMERS}:email`]], ['n', [`${CUSTOMERS}:name`]]]);
  });

  it('a column list defines an empty table', () => {
    const [s, read] = script('CREATE OR REPLACE TEMP TABLE t (a STRING, b INT64); SELECT a, b FROM t');
    expect(s!.parsed, s!.error).toBe(true);
    expect(tables(s!)).toEqual([]);
    expect(read!.parsed, read!.error).toBe(true);
    expect(tables(read!)).toEqual([]);
    expect(sources(read!)).toEqual([['a', []], ['b', []]]);
  });

  it('a later bare name reads the temporary table before the default dataset, with its lineage and tables', () => {
    const [, s] = script('CREATE TEMP TABLE orders AS SELECT email FROM crm.customers; SELECT email FROM orders WHERE email IS NOT NULL');
    expect(s!.parsed, s!.error).toBe(true);
    expect(tables(s!)).toEqual([`${CUSTOMERS}:read`]);
    expect(tables(s!)).not.toContain(`${ORDERS}:read`);
    expect(sources(s!)).toEqual([['email', [`${CUSTOMERS}:email`]]]);
    expect(s!.predicate_columns.map((c) => `${c.table}:${c.column}`)).toEqual([`${CUSTOMERS}:email`]);
  });

  it('is seen inside WITH, subqueries and DML queries; a WITH name of the same name wins', () => {
    const [, a, b, c] = script(
      'CREATE TEMP TABLE t AS SELECT email FROM crm.customers; ' +
        'WITH w AS (SELECT email FROM t) SELECT email FROM w; ' +
        'INSERT INTO sales.out (e) SELECT (SELECT MAX(email) FROM t); ' +
        'WITH t AS (SELECT 1 AS email) SELECT email FROM t',
    );
    expect(sources(a!)).toEqual([['email', [`${CUSTOMERS}:email`]]]);
    expect(b!.parsed, b!.error).toBe(true);
    expect(tables(b!)).toEqual([`${PROJECT}.sales.out:write`, `${CUSTOMERS}:read`]);
    expect(sources(c!)).toEqual([['email', []]]);
    expect(tables(c!)).toEqual([]);
  });

  it('INSERT INTO the temporary table adds the inserted lineage to its columns; DROP ends it', () => {
    const [, ins, read, drop, after] = script(
      'CREATE TEMP TABLE t AS SELECT email, name FROM crm.customers; ' +
        'INSERT INTO t (name) SELECT status FROM sales.orders; ' +
        'SELECT email, name FROM t; DROP TABLE t; SELECT name FROM t',
    );
    expect(ins!.parsed, ins!.error).toBe(true);
    expect(tables(ins!)).toEqual([`${ORDERS}:read`]);
    expect(sources(read!)).toEqual([['email', [`${CUSTOMERS}:email`]], ['name', [`${CUSTOMERS}:name`, `${ORDERS}:status`]]]);
    expect(tables(read!).sort()).toEqual([`${CUSTOMERS}:read`, `${ORDERS}:read`]);
    expect(drop!.parsed, drop!.error).toBe(true);
    expect(tables(drop!)).toEqual([]);
    // Dropped: the name is the default dataset's table again.
    expect(tables(after!)).toEqual([`${PROJECT}.sales.t:read`]);
  });

  it('a temporary table over a table of unknown schema carries that table to its readers; INSERT into it is refused', () => {
    const [, star, col, ins] = script('CREATE TEMP TABLE t AS SELECT * FROM sales.u; SELECT * FROM t; SELECT q FROM t; INSERT INTO t SELECT 1');
    expect(tables(star!)).toEqual([`${PROJECT}.sales.u:read`]);
    expect(star!.outputs[0]!.lineage).toBe('unknown');
    expect(sources(col!)).toEqual([['q', [`${PROJECT}.sales.u:q`]]]);
    expect(ins!.parsed).toBe(false);
  });

  it('MERGE, UPDATE … FROM and DELETE read the temporary table as a relation', () => {
    const [, merge, update, del] = script(
      'CREATE TEMP TABLE t AS SELECT id, email FROM crm.customers; ' +
        'MERGE sales.y AS y USING t ON y.id = t.id WHEN MATCHED THEN UPDATE SET e = t.email; ' +
        'UPDATE sales.y SET e = t.email FROM t WHERE y.id = t.id; ' +
        'DELETE FROM sales.y WHERE id IN (SELECT id FROM t)',
    );
    for (const s of [merge!, update!, del!]) {
      expect(s.parsed, s.error).toBe(true);
      expect(tables(s)).toContain(`${CUSTOMERS}:read`);
      expect(tables(s)).not.toContain(`${PROJECT}.sales.t:read`);
    }
  });

  it('INSERT whose columns do not match the temporary table is refused', () => {
    const [, s] = script('CREATE TEMP TABLE t AS SELECT email FROM crm.customers; INSERT INTO t SELECT 1, 2');
    expect(s!.parsed).toBe(false);
  });

  it('is refused where it cannot be read as the temporary table', () => {
    const [, update, later] = script('CREATE TEMP TABLE t AS SELECT email FROM crm.customers; UPDATE t SET email = NULL WHERE TRUE; SELECT email FROM t');
    expect(update!.error).toMatch(/may name a temporary table/);
    // A statement the analysis did not follow may have changed the rows: later reads are refused.
    expect(later!.parsed).toBe(false);
    const [, view] = script('CREATE TEMP TABLE t AS SELECT email FROM crm.customers; CREATE VIEW sales.v AS SELECT email FROM t');
    expect(view!.error).toMatch(/may name a temporary table/);
    const [, session] = script('CREATE TEMP TABLE t AS SELECT email FROM crm.customers; SELECT email FROM _SESSION.t');
    expect(session!.parsed).toBe(false);
    const all = script('CREATE TEMP TABLE t AS SELECT email FROM crm.customers; IF TRUE THEN INSERT INTO t SELECT name FROM crm.customers; END IF; SELECT email FROM t');
    expect(all[all.length - 1]!.parsed).toBe(false);
  });

  it('a name spelled otherwise than the temporary table is refused (table names are case-sensitive)', () => {
    const [, s] = script('CREATE TEMP TABLE t AS SELECT email FROM crm.customers; SELECT email FROM T');
    expect(s!.parsed).toBe(false);
    expect(s!.error).toMatch(/spelled otherwise/);
  });

  it('a second CREATE of the same name without OR REPLACE, a qualified name, and unnamed or repeated columns are refused', () => {
    expect(script('CREATE TEMP TABLE t AS SELECT 1 AS a; CREATE TEMP TABLE t AS SELECT 2 AS a')[1]!.parsed).toBe(false);
    expect(script('CREATE TEMP TABLE t AS SELECT 1 AS a; CREATE OR REPLACE TEMP TABLE t AS SELECT 2 AS a')[1]!.parsed).toBe(true);
    expect(script('CREATE TEMP TABLE sales.t AS SELECT 1 AS a')[0]!.parsed).toBe(false);
    expect(script('CREATE TEMP TABLE t AS SELECT 1')[0]!.parsed).toBe(false);
    expect(script('CREATE TEMP TABLE t AS SELECT 1 AS a, 2 AS a')[0]!.parsed).toBe(false);
  });
});

describe('table function parameters of TABLE type', () => {
  it('a TABLE<…> parameter is a relation of the body whose columns are parameters (constant lineage, no table)', () => {
    const [s] = script('CREATE TABLE FUNCTION sales.f(t TABLE<x INT64, y STRING>, n INT64) AS SELECT x, y AS z, n FROM t WHERE x > n');
    expect(s!.parsed, s!.error).toBe(true);
    expect(tables(s!)).toEqual([`${PROJECT}.sales.f:ddl`]);
    expect(sources(s!)).toEqual([['x', []], ['z', []], ['n', []]]);
  });

  it('the tables the body reads besides its table parameters are recorded; RETURNS TABLE is checked against the query', () => {
    const [s] = script('CREATE TABLE FUNCTION sales.f(t TABLE<customer_id INT64, note STRING>) RETURNS TABLE<note STRING, email STRING> AS SELECT t.note, c.email FROM t JOIN crm.customers AS c ON c.id = t.customer_id');
    expect(s!.parsed, s!.error).toBe(true);
    expect(tables(s!)).toEqual([`${PROJECT}.sales.f:ddl`, `${CUSTOMERS}:read`]);
    expect(sources(s!)).toEqual([['note', []], ['email', [`${CUSTOMERS}:email`]]]);
  });

  it('column types may be nested', () => {
    const [s] = script('CREATE TABLE FUNCTION sales.f(t TABLE<x STRUCT<a INT64>, y ARRAY<STRUCT<b INT64>>>) AS SELECT x.a, y FROM t');
    expect(s!.parsed, s!.error).toBe(true);
    expect(tables(s!)).toEqual([`${PROJECT}.sales.f:ddl`]);
  });

  it('a value-table parameter and ANY TABLE (ZetaSQL, not BigQuery) stay refused', () => {
    expect(script('CREATE TABLE FUNCTION sales.f(t TABLE<STRUCT<x INT64, y STRING>>) AS SELECT x FROM t')[0]!.parsed).toBe(false);
    expect(script('CREATE TABLE FUNCTION sales.f(t TABLE<INT64>) AS SELECT 1 AS a FROM t')[0]!.parsed).toBe(false);
    expect(script('CREATE TABLE FUNCTION sales.f(t ANY TABLE) AS SELECT 1 AS a FROM t')[0]!.parsed).toBe(false);
  });

  it('RETURNS TABLE<STRUCT<…>> (a value table) is not read as a column named struct', () => {
    const s = script('CREATE TABLE FUNCTION sales.f() RETURNS TABLE<STRUCT<x INT64>> AS SELECT STRUCT(1 AS x) AS `struct`')[0]!;
    expect(s.error).toMatch(/RETURNS TABLE column without a name/);
    expect(script('CREATE TABLE FUNCTION sales.f() RETURNS TABLE<x STRUCT<a INT64>, y INT64> AS SELECT STRUCT(1 AS a) AS x, 2 AS y')[0]!.parsed).toBe(true);
  });
});

describe('variables after a statement the analysis does not follow', () => {
  it('hold an unknown value from that statement\'s tables, never a constant', () => {
    const [, block, read] = script('DECLARE v STRING; IF TRUE THEN SET v = (SELECT ssn FROM crm.customers LIMIT 1); END IF; SELECT v AS x');
    expect(block!.parsed).toBe(false);
    // Either refused, or read with lineage that is not known: never the DECLARE's constant.
    if (read!.parsed) expect(read!.outputs[0]).toMatchObject({ lineage: 'unknown', tables: expect.arrayContaining([CUSTOMERS]) });
    else expect(read!.error).toMatch(/crm\.customers/);
  });
});
