// Table name spellings BigQuery accepts, and their qualification to project.dataset.table.
import { describe, expect, it } from 'vitest';
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
    ['upper case', 'SELECT TOTAL FROM `ACME-ANALYTICS`.Sales.ORDERS', undefined],
    ['backticked dataset.table', 'SELECT total FROM `sales.orders`', undefined],
    ['comment inside the FROM clause', 'SELECT total FROM /* the orders */ sales.orders -- trailing', undefined],
  ];
  it.each(spellings)('%s', (_label, sql, defaultDataset) => {
    const s = statement(sql, defaultDataset === undefined ? {} : { defaultDataset });
    expect(s.parsed).toBe(true);
    expect(s.tables).toEqual([{ id: ORDERS, project: 'acme-analytics', dataset: 'sales', table: 'orders', mode: 'read' }]);
    expect(columns(s)).toEqual([`${ORDERS}:total`]);
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
    ['region-qualified, unquoted', 'SELECT job_id FROM region-us.INFORMATION_SCHEMA.JOBS_BY_PROJECT', 'region-us.information_schema', 'jobs_by_project'],
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
