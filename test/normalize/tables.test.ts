// Table name spellings BigQuery accepts, and their qualification to project.dataset.table.
import { describe, expect, it } from 'vitest';
import { lex } from '../../engine/sql/lexer.ts';
import { CUSTOMERS, ORDERS, columns, statement, tables } from './support.ts';

describe('table names', () => {
  const spellings: [string, string, string | undefined][] = [
    ['bare name with a default dataset', 'SELECT total FROM orders', 'sales'],
    ['bare name with a project-qualified default dataset', 'SELECT total FROM orders', 'acme-analytics.sales'],
    ['dataset.table', 'SELECT total FROM sales.orders', undefined],
    ['project.dataset.table', 'SELECT total FROM `acme-analytics`.sales.orders', undefined],
    ['one backticked path', 'SELECT total FROM `acme-analytics.sales.orders`', undefined],
    ['each part backticked', 'SELECT total FROM `acme-analytics`.`sales`.`orders`', undefined],
    ['backticked project.dataset then table', 'SELECT total FROM `acme-analytics.sales`.orders', undefined],
    ['dashed project without backticks', 'SELECT total FROM acme-analytics.sales.orders', undefined],
    ['upper-case project and column', 'SELECT TOTAL FROM `ACME-ANALYTICS`.sales.orders', undefined],
    ['backticked dataset.table', 'SELECT total FROM `sales.orders`', undefined],
    ['comment inside the FROM clause', 'SELECT total FROM /* the orders */ sales.orders -- trailing', undefined],
  ];
  it.each(spellings)('%s', (_label, sql, defaultDataset) => {
    const s = statement(sql, defaultDataset === undefined ? {} : { defaultDataset });
    expect(s.parsed).toBe(true);
    expect(s.tables).toEqual([{ id: ORDERS, project: 'acme-analytics', dataset: 'sales', table: 'orders', mode: 'read' }]);
    expect(columns(s)).toEqual([`${ORDERS}:total`]);
  });

  it('dataset and table names keep their case, as BigQuery reads them; the project and INFORMATION_SCHEMA do not', () => {
    // BigQuery's dataset and table names are case-sensitive (Dataset.isCaseInsensitive is false by
    // default): CRM.Customers is another table than crm.customers and must not be judged as it.
    expect(statement('SELECT ssn FROM CRM.Customers').tables.map((t) => t.id)).toEqual(['acme-analytics.CRM.Customers']);
    expect(statement('SELECT ssn FROM `Acme-Analytics.crm.Customers`').tables.map((t) => t.id)).toEqual(['acme-analytics.crm.Customers']);
    expect(statement('SELECT ssn FROM Customers', { defaultDataset: 'CRM' }).tables.map((t) => t.id)).toEqual(['acme-analytics.CRM.Customers']);
    expect(statement('SELECT table_name FROM SALES.information_schema.TABLES').tables.map((t) => t.id)).toEqual(['acme-analytics.SALES.information_schema.tables']);
    expect(statement('SELECT job_id FROM `REGION-US`.INFORMATION_SCHEMA.JOBS').tables.map((t) => t.id)).toEqual(['acme-analytics.region-us.information_schema.jobs']);
  });

  it('qualifies dataset.table with the job project, not the default dataset project', () => {
    const s = statement('SELECT name FROM crm.customers', { project: 'acme-analytics', defaultDataset: 'other-project.scratch' });
    expect(tables(s)).toEqual([`${CUSTOMERS}:read`]);
  });

  it('a dashed project with a numeric segment, unquoted', () => {
    const s = statement('SELECT x.a FROM acme-2027-prod.sales.orders AS x JOIN sales.orders o ON o.id = x.id');
    expect(tables(s)).toEqual(['acme-2027-prod.sales.orders:read', `${ORDERS}:read`]);
    expect(s.parsed).toBe(true);
  });

  it('uses another project named in full', () => {
    const s = statement('SELECT a FROM `partner-data.shared.feed`');
    expect(s.tables).toEqual([{ id: 'partner-data.shared.feed', project: 'partner-data', dataset: 'shared', table: 'feed', mode: 'read' }]);
  });

  it('marks wildcard tables and records _TABLE_SUFFIX as their column', () => {
    const s = statement("SELECT event FROM `acme-analytics.web.events_*` WHERE _TABLE_SUFFIX BETWEEN '20250101' AND '20250131'");
    expect(s.parsed).toBe(true);
    expect(s.tables).toEqual([
      { id: 'acme-analytics.web.events_*', project: 'acme-analytics', dataset: 'web', table: 'events_*', mode: 'read', wildcard: true },
    ]);
    expect(columns(s)).toEqual(['acme-analytics.web.events_*:_table_suffix', 'acme-analytics.web.events_*:event']);
  });

  const infoSchema: [string, string, string, string][] = [
    ['region-qualified, backticked region', 'SELECT job_id FROM `region-us`.INFORMATION_SCHEMA.JOBS', 'region-us.information_schema', 'jobs'],
    ['region-qualified, unquoted', 'SELECT job_id FROM region-us.INFORMATION_SCHEMA.JOBS_BY_PROJECT', 'region-us.information_schema', 'jobs'], // JOBS_BY_PROJECT is JOBS
    ['dataset-qualified', 'SELECT table_name FROM sales.INFORMATION_SCHEMA.TABLES', 'sales.information_schema', 'tables'],
    ['project and dataset in one backticked path', 'SELECT column_name FROM `acme-analytics.sales.INFORMATION_SCHEMA.COLUMNS`', 'sales.information_schema', 'columns'],
  ];
  it.each(infoSchema)('INFORMATION_SCHEMA view, %s', (_label, sql, dataset, table) => {
    const s = statement(sql);
    expect(s.parsed).toBe(true);
    expect(s.tables).toEqual([{ id: `acme-analytics.${dataset}.${table}`, project: 'acme-analytics', dataset, table, mode: 'read' }]);
  });

  it('INFORMATION_SCHEMA without qualifier takes the default dataset', () => {
    const s = statement('SELECT schema_name FROM INFORMATION_SCHEMA.SCHEMATA', { defaultDataset: 'sales' });
    expect(tables(s)).toEqual(['acme-analytics.sales.information_schema.schemata:read']);
  });

  it('an unqualified table without a default dataset makes the statement unparsed', () => {
    const s = statement('SELECT total FROM orders');
    expect(s.parsed).toBe(false);
    expect(s.error).toBe('table orders has no dataset and no default dataset is set');
    expect(s.tables).toEqual([]);
    expect(s.outputs).toEqual([]);
  });

  it('a table path with too many parts makes the statement unparsed', () => {
    const s = statement('SELECT 1 FROM `a.b.c.d`');
    expect(s.parsed).toBe(false);
    expect(s.error).toBe('table name a.b.c.d has too many parts');
  });
});

// GoogleSQL's tokenizer reads a path part after a dot as a name even when it begins with a digit,
// and refuses an unquoted `*` or a dash after the first part of a table path
// (test/support/name-forms.ts checks the same against the emulator).
describe('path parts as GoogleSQL reads them', () => {
  const AUSTIN = 'bigquery-public-data.austin_311.311_service_requests';
  // googleapis/python-bigquery, samples/geography/to_geodataframe.py (fixtures/sql-corpus).
  const sample = `SELECT created_date, complaint_description,
               ST_GEOGPOINT(longitude, latitude) as location
        FROM bigquery-public-data.austin_311.311_service_requests
        LIMIT 10`;

  it('a table part that begins with a digit is that table, not a number', () => {
    const s = statement(sample);
    expect(s.parsed, s.error).toBe(true);
    expect(tables(s)).toEqual([`${AUSTIN}:read`]);
    expect(columns(s)).toEqual([`${AUSTIN}:complaint_description`, `${AUSTIN}:created_date`, `${AUSTIN}:latitude`, `${AUSTIN}:longitude`]);
  });

  it('the token scan names it too, for a statement the parser does not read', () => {
    const s = statement('SELECT * FROM bigquery-public-data.austin_311.311_service_requests WHERE');
    expect(s.parsed).toBe(false);
    expect(tables(s)).toEqual([`${AUSTIN}:read`]);
  });

  const digitParts: [string, string, string[]][] = [
    ['a dataset that begins with a digit', 'SELECT a FROM 2024_sales.orders', []],
    ['a space before the dot', 'SELECT a FROM sales .2024', ['acme-analytics.sales.2024:read']],
    ['a space after the dot', 'SELECT a FROM sales. 2024_orders', ['acme-analytics.sales.2024_orders:read']],
    ['all digits, three parts', 'SELECT a FROM `acme-analytics`.2024.0311', ['acme-analytics.2024.0311:read']],
    ['an exponent-like part', 'SELECT a FROM sales.1e5', ['acme-analytics.sales.1e5:read']],
    ['a write target', "UPDATE sales.2024_orders SET a = 1 WHERE b IN (SELECT c FROM crm.1x)", ['acme-analytics.sales.2024_orders:write', 'acme-analytics.crm.1x:read']],
    ['a DELETE target', 'DELETE FROM sales.2024_orders WHERE TRUE', ['acme-analytics.sales.2024_orders:write']],
  ];
  it.each(digitParts)('%s', (_label, sql, expected) => {
    const s = statement(sql);
    expect(tables(s)).toEqual(expected);
    // A first part cannot begin with a digit: nothing to name, and the statement is refused.
    if (expected.length === 0) expect(s.parsed).toBe(false);
    else expect(s.parsed, s.error).toBe(true);
  });

  it('a column path part that begins with a digit is a column of the range variable', () => {
    const s = statement('SELECT o.2024_total FROM sales.orders AS o');
    expect(s.parsed, s.error).toBe(true);
    expect(columns(s)).toEqual([`${ORDERS}:2024_total`]);
  });

  it('a dot before digits still starts a number after an operator, a keyword or a number', () => {
    const kinds = (sql: string) => lex(sql).tokens.map((t) => `${t.kind}:${t.text}`);
    expect(kinds('SELECT total*.5, (.25), CASE WHEN x THEN .75 ELSE .1 END, 1.5e3')).toEqual([
      'word:SELECT', 'word:total', 'punct:*', 'number:.5', 'punct:,', 'punct:(', 'number:.25', 'punct:)', 'punct:,',
      'word:CASE', 'word:WHEN', 'word:x', 'word:THEN', 'number:.75', 'word:ELSE', 'number:.1', 'word:END', 'punct:,', 'number:1.5e3',
    ]);
    // After a name, a back-quoted name, `)` or a parameter the dot is a path dot, and what follows a name.
    expect(kinds('a.311_x `b`.2 f().3 @p.4e5')).toEqual([
      'word:a', 'punct:.', 'word:311_x', 'quoted:b', 'punct:.', 'word:2', 'word:f', 'punct:(', 'punct:)', 'punct:.', 'word:3',
      'param:@p', 'punct:.', 'word:4e5',
    ]);
  });

  it('a dashed project with a number piece before the dataset keeps working', () => {
    expect(tables(statement('SELECT a FROM my-project-123.sales.2024_orders'))).toEqual(['my-project-123.sales.2024_orders:read']);
  });

  const refused: [string, string, string[], RegExp][] = [
    ['an unquoted wildcard', 'SELECT a FROM sales.orders*', [], /wildcard table name sales\.orders\* must be back-quoted/],
    ['an unquoted wildcard after a space', 'SELECT a FROM sales.orders *', [], /must be back-quoted/],
    ['an unquoted wildcard next to a table', 'SELECT a FROM crm.customers, sales.orders_*', [`${CUSTOMERS}:read`], /must be back-quoted/],
    ['a dataset and a star', 'SELECT a FROM sales.*', [], /ends in a dot/],
    ['a dash after the dataset', 'SELECT a FROM sales.orders-2024', [], /has a dash after its first part/],
    ['a dash after the dataset, a word piece', 'SELECT a FROM acme-analytics.sales.orders-eu', [], /has a dash after its first part/],
    ['a dashed project part that is no number', 'SELECT a FROM acme-analytics-1x.sales.orders', [], /invalid dashed part/],
    ['a dash after a back-quoted project', 'SELECT a FROM `acme`-analytics.sales.orders', [], /followed by a dash/],
    ['a wildcard DELETE target', 'DELETE FROM sales.orders* WHERE TRUE', [], /must be back-quoted/],
    ['a dashed UPDATE target', 'UPDATE sales.orders-2024 SET a = 1 WHERE TRUE', [], /dash after its first part/],
    ['a wildcard MERGE source', 'MERGE sales.orders T USING sales.orders_* S ON T.id = S.id WHEN MATCHED THEN DELETE', [`${ORDERS}:write`], /must be back-quoted/],
    ['a wildcard in a statement the parser does not read', 'CREATE TEMP TABLE t AS SELECT a FROM sales.orders*', [], /must be back-quoted/],
  ];
  it.each(refused)('%s: refused, no table named for it', (_label, sql, expected, error) => {
    const s = statement(sql);
    expect(s.parsed).toBe(false);
    expect(s.error).toMatch(error);
    expect(tables(s)).toEqual(expected);
  });

  it('a back-quoted wildcard is still a wildcard table', () => {
    const s = statement('SELECT a FROM `sales.orders_*` WHERE _TABLE_SUFFIX = "eu"');
    expect(s.parsed, s.error).toBe(true);
    expect(s.tables).toEqual([{ id: 'acme-analytics.sales.orders_*', project: 'acme-analytics', dataset: 'sales', table: 'orders_*', mode: 'read', wildcard: true }]);
  });
});
