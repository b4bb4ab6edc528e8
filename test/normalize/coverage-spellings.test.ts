// DDL and literal spellings the front end reads as BigQuery does: CREATE TABLE … WITH CONNECTION
// (a BigLake table; the connection is no table), DROP EXTERNAL TABLE, DROP CONNECTION (names no
// table), CREATE MATERIALIZED VIEW … AS REPLICA OF, raw string and bytes literals in every quoting,
// PIVOT … FOR an expression, a subscript after a window call and DECLARE of a name polyglot takes
// for its keyword (PATTERN). Tables, modes, output names, lineage and predicate columns.
import { describe, expect, it } from 'vitest';
import { CUSTOMERS, analysed, outputs, predicates, run, schemas, tables, understood } from './support.ts';

const c = (column: string) => `${CUSTOMERS}:${column}`;

describe('CREATE TABLE … WITH CONNECTION', () => {
  it('creates its table as CREATE TABLE does; the connection (DEFAULT, a name, a path) is no table', () => {
    for (const conn of ['DEFAULT', 'conn', '`us.conn`', 'acme-analytics.us.conn']) {
      const s = understood(`CREATE TABLE sales.lake (a INT64) WITH CONNECTION ${conn} OPTIONS(file_format = 'PARQUET')`);
      expect(s, conn).toMatchObject({ type: 'CREATE_TABLE', category: 'ddl' });
      expect(tables(s), conn).toEqual(['acme-analytics.sales.lake:ddl']);
    }
  });

  it('with a query: the same tables, lineage and predicates as without the clause', () => {
    const query = 'AS SELECT id, email AS contact FROM crm.customers WHERE ssn IS NOT NULL';
    const s = understood(`CREATE OR REPLACE TABLE sales.lake\nWITH CONNECTION us.conn\nOPTIONS(x = 5)\n${query}`);
    expect(tables(s)).toEqual(['acme-analytics.sales.lake:ddl', `${CUSTOMERS}:read`]);
    expect(outputs(s)).toEqual([
      { name: 'id', direct: true, sources: [c('id')] },
      { name: 'contact', direct: true, sources: [c('email')] },
    ]);
    expect(predicates(s)).toEqual([c('ssn')]);
    const plain = understood(`CREATE OR REPLACE TABLE sales.lake ${query}`);
    expect([tables(s), outputs(s), predicates(s)]).toEqual([tables(plain), outputs(plain), predicates(plain)]);
  });

  it('a CTE named connection stays a CTE of the query; a temporary table with a connection is refused', () => {
    const s = understood('CREATE TABLE sales.t AS WITH connection AS (SELECT id FROM crm.customers) SELECT * FROM connection');
    expect(tables(s)).toEqual(['acme-analytics.sales.t:ddl', `${CUSTOMERS}:read`]);
    expect(outputs(s)).toEqual([{ name: 'id', direct: true, sources: [c('id')] }]);
    expect(analysed('CREATE TEMP TABLE t (a INT64) WITH CONNECTION conn').parsed).toBe(false);
  });
});

describe('DROP EXTERNAL TABLE and DROP CONNECTION', () => {
  it('DROP EXTERNAL TABLE drops its table as DROP TABLE does', () => {
    for (const [sql, id] of [
      ['DROP EXTERNAL TABLE lake', 'acme-analytics.sales.lake'],
      ['DROP EXTERNAL TABLE IF EXISTS crm.lake', 'acme-analytics.crm.lake'],
    ] as const) {
      const s = understood(sql, { defaultDataset: 'sales' });
      expect(s, sql).toMatchObject({ type: 'DROP_EXTERNAL_TABLE', category: 'ddl', outputs: [] });
      expect(tables(s), sql).toEqual([`${id}:ddl`]);
    }
  });

  it('DROP CONNECTION is admin and names no table; anything after the name is refused', () => {
    for (const sql of ['DROP CONNECTION conn', 'DROP CONNECTION IF EXISTS acme-analytics.us.conn']) {
      expect(understood(sql), sql).toMatchObject({ type: 'DROP_CONNECTION', category: 'admin', tables: [], outputs: [] });
    }
    expect(analysed('DROP CONNECTION conn CASCADE').parsed).toBe(false);
  });
});

describe('CREATE MATERIALIZED VIEW … AS REPLICA OF', () => {
  it('reads its source as AS SELECT * FROM source does: every column, unchanged', () => {
    const s = understood('CREATE MATERIALIZED VIEW sales.mv\nOPTIONS (replication_interval_seconds = 300)\nAS REPLICA OF crm.customers');
    expect(s).toMatchObject({ type: 'CREATE_MATERIALIZED_VIEW', category: 'ddl' });
    expect(tables(s)).toEqual(['acme-analytics.sales.mv:ddl', `${CUSTOMERS}:read`]);
    expect(s.outputs.map((x) => [x.name, x.lineage, x.tables])).toEqual([['*', 'unknown', [CUSTOMERS]]]);
    const select = understood('CREATE MATERIALIZED VIEW sales.mv AS SELECT * FROM crm.customers');
    expect([tables(s), s.outputs]).toEqual([tables(select), select.outputs]);
  });

  it('anything after the source is refused', () => {
    expect(analysed('CREATE MATERIALIZED VIEW sales.mv AS REPLICA OF crm.customers WHERE id = 1').error).toBe('syntax not understood near `REPLICA` at 1:38 (parser: expected SELECT)');
  });
});

describe('raw string and bytes literals', () => {
  it('raw bytes in every quoting and raw strings with an escaped quote are constants; columns beside them keep lineage', () => {
    const s = understood(String.raw`SELECT rb'', BR"1", br'''a''' AS x, rb"""\x53
""" AS y, r'''a''\'b''' AS z, CONCAT(email, rb'\n') AS e FROM crm.customers WHERE name = br'n'`);
    expect(outputs(s)).toEqual([
      { name: 'f0_', direct: false, sources: [] },
      { name: 'f1_', direct: false, sources: [] },
      { name: 'x', direct: false, sources: [] },
      { name: 'y', direct: false, sources: [] },
      { name: 'z', direct: false, sources: [] },
      { name: 'e', direct: false, sources: [c('email')] },
    ]);
    expect(predicates(s)).toEqual([c('name')]);
  });
});

describe('PIVOT … FOR an expression', () => {
  const input = '(SELECT id, name, email, ssn FROM crm.customers)';

  it('reads as the parenthesised expression: its columns consumed, steering; the others grouping', () => {
    const s = understood(`SELECT * FROM ${input} PIVOT(COUNT(id) AS n FOR name || email IN ('a' AS one, 'b' AS two))`);
    expect(tables(s)).toEqual([`${CUSTOMERS}:read`]);
    expect(outputs(s)).toEqual([
      { name: 'ssn', direct: true, sources: [c('ssn')] },
      { name: 'n_one', direct: false, sources: [c('email'), c('id'), c('name')] },
      { name: 'n_two', direct: false, sources: [c('email'), c('id'), c('name')] },
    ]);
    expect(predicates(s)).toEqual([c('email'), c('name'), c('ssn')]);
    const p = understood(`SELECT * FROM ${input} PIVOT(COUNT(id) AS n FOR (name || email) IN ('a' AS one, 'b' AS two))`);
    expect([outputs(s), predicates(s)]).toEqual([outputs(p), predicates(p)]);
  });

  it('a call and a qualified column too; UNPIVOT is left as it is', () => {
    expect(outputs(understood(`SELECT * FROM ${input} AS t PIVOT(MAX(id) FOR UPPER(t.name) IN ('A' AS a))`)).map((x) => x.name)).toEqual(['email', 'ssn', 'a']);
    expect(outputs(understood(`SELECT * FROM ${input} AS t PIVOT(MAX(id) FOR t.name IN ('A' AS a))`)).map((x) => x.name)).toEqual(['email', 'ssn', 'a']);
    expect(analysed(`SELECT * FROM ${input} UNPIVOT(v FOR k + 1 IN (name, email))`).parsed).toBe(false);
  });
});

describe('DECLARE of a name polyglot takes for its keyword', () => {
  it('declares the variable; its value flows where it is used', () => {
    // Known schemas: `pattern` is no column of crm.customers, so it is the variable.
    const statements = run("DECLARE Pattern, other STRING DEFAULT (SELECT MAX(email) FROM crm.customers);\nSELECT id FROM crm.customers WHERE name LIKE pattern", {
      defaultDataset: 'sales',
      schemas,
    }).sql.statements;
    expect(statements.map((x) => [x.type, x.parsed, x.error])).toEqual([['DECLARE', true, undefined], ['SELECT', true, undefined]]);
    expect(tables(statements[0]!)).toEqual([`${CUSTOMERS}:read`]);
    expect(outputs(statements[1]!)).toEqual([{ name: 'id', direct: true, sources: [c('id')] }]);
    // The pattern the rows are matched against is the email the DECLARE read.
    expect(predicates(statements[1]!)).toEqual([c('email'), c('name')]);
  });
});

describe('a subscript or field after a window call', () => {
  const s = understood('SELECT id, ARRAY_AGG(email) OVER (PARTITION BY ssn ORDER BY name) [SAFE_OFFSET(1)] AS second, ANY_VALUE(address) OVER (ORDER BY id).city AS city FROM crm.customers');

  it('applies to the call: its sources and the window spec as any window call has them', () => {
    expect(tables(s)).toEqual([`${CUSTOMERS}:read`]);
    expect(outputs(s)).toEqual([
      { name: 'id', direct: true, sources: [c('id')] },
      { name: 'second', direct: false, sources: [c('email'), c('name'), c('ssn')] },
      { name: 'city', direct: false, sources: [c('address'), c('id')] },
    ]);
    expect(predicates(s)).toEqual([c('id'), c('name'), c('ssn')]);
  });

  it('reads as the parenthesised call does, positions as written', () => {
    const p = understood('SELECT id, (ARRAY_AGG(email) OVER (PARTITION BY ssn ORDER BY name))[SAFE_OFFSET(1)] AS second, (ANY_VALUE(address) OVER (ORDER BY id)).city AS city FROM crm.customers');
    expect([outputs(s), predicates(s)]).toEqual([outputs(p), predicates(p)]);
    expect(analysed('SELECT ARRAY_AGG(email) OVER () [OFFSET(0)] + ARRAY_OFFSET([1], e -> e) FROM crm.customers').error).toBe('expression lambda is not analysed at 1:65');
  });
});
