// Statements and spellings that a parser reads differently from BigQuery, or not at all (MERGE,
// EXPORT DATA, scripts, blocks, QUALIFY, DELETE without FROM, comma joins after ON, triple-quoted
// strings, …), checked against the normalizer: each is read as BigQuery reads it, or reaches the
// policy unparsed with its category and the tables a token scan finds; never as a wrong document.
import { describe, expect, it } from 'vitest';
import { CUSTOMERS, ORDERS, columns, output, run, schemas, statement, summary, tables } from './support.ts';

describe('statements and spellings parsers misread', () => {
  it('MERGE is read through an equivalent query: target written, sources read, values traced', () => {
    const s = statement(
      'MERGE sales.orders T USING (SELECT id, total FROM sales.staged WHERE ok) S ON T.id = S.id ' +
        "WHEN MATCHED AND S.total > 0 THEN UPDATE SET total = S.total, T.note = CASE WHEN S.total > 10 THEN 'big' ELSE 'small' END " +
        'WHEN NOT MATCHED THEN INSERT (id, total) VALUES (S.id, S.total) WHEN NOT MATCHED BY SOURCE THEN DELETE',
    );
    expect(s).toMatchObject({ type: 'MERGE', category: 'write', parsed: true });
    expect(tables(s)).toEqual([`${ORDERS}:read`, 'acme-analytics.sales.staged:read', `${ORDERS}:write`]);
    const staged = (column: string) => `acme-analytics.sales.staged:${column}`;
    expect(s.outputs.map(summary)).toEqual([
      { name: 'total', lineage: 'known', direct: true, sources: [staged('total')] },
      { name: 'note', lineage: 'known', direct: false, sources: [staged('total')] },
      { name: 'id', lineage: 'known', direct: true, sources: [staged('id')] },
    ]);
    expect(columns(s)).toEqual([`${ORDERS}:id`, `${ORDERS}:note`, `${ORDERS}:total`, staged('id'), staged('ok'), staged('total')]);
  });

  it('MERGE copying a sensitive column names it among the columns', () => {
    const s = statement('MERGE INTO sales.orders t USING crm.customers c ON t.customer_id = c.id WHEN NOT MATCHED THEN INSERT (note) VALUES (c.ssn)');
    expect(s.parsed).toBe(true);
    expect(s.outputs.map(summary)).toEqual([{ name: 'note', lineage: 'known', direct: true, sources: [`${CUSTOMERS}:ssn`] }]);
    expect(columns(s)).toContain(`${CUSTOMERS}:ssn`);
  });

  it('MERGE … INSERT ROW passes the source row through', () => {
    const s = statement('MERGE sales.orders USING sales.staged ON orders.id = staged.id WHEN NOT MATCHED THEN INSERT ROW');
    expect(s.parsed).toBe(true);
    expect(summary(s.outputs[0]!)).toEqual({ name: '*', lineage: 'unknown', direct: false, sources: [], tables: ['acme-analytics.sales.staged'] });
  });

  it('MERGE … UPDATE SET of a typed STRUCT constructor: a constant written', () => {
    const s = statement('MERGE sales.orders t USING sales.staged s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = STRUCT<x INT64, y INT64>(1, 2)');
    expect(s).toMatchObject({ type: 'MERGE', category: 'write', parsed: true });
    expect(tables(s)).toEqual([`${ORDERS}:read`, 'acme-analytics.sales.staged:read', `${ORDERS}:write`]);
    expect(s.outputs.map(summary)).toEqual([{ name: 'a', lineage: 'known', direct: false, sources: [] }]);
  });

  it('EXPORT DATA: export category; its query is analysed', () => {
    const s = statement("EXPORT DATA OPTIONS(uri='gs://exports/c-*.csv', format='CSV', overwrite=true) AS SELECT name, ssn FROM crm.customers WHERE id > 10", {
      schemas,
    });
    expect(s).toMatchObject({ type: 'EXPORT_DATA', category: 'export', parsed: true });
    expect(tables(s)).toEqual([`${CUSTOMERS}:read`]);
    expect(s.outputs.map(summary)).toEqual([
      { name: 'name', lineage: 'known', direct: true, sources: [`${CUSTOMERS}:name`] },
      { name: 'ssn', lineage: 'known', direct: true, sources: [`${CUSTOMERS}:ssn`] },
    ]);
    expect(columns(s)).toEqual([`${CUSTOMERS}:id`, `${CUSTOMERS}:name`, `${CUSTOMERS}:ssn`]);
  });

  it('EXPORT DATA whose query has a bare QUALIFY: read, the QUALIFY column a predicate', () => {
    const s = statement("EXPORT DATA OPTIONS(uri='gs://x/*') AS SELECT a FROM sales.orders QUALIFY ROW_NUMBER() OVER (ORDER BY a) = 1");
    expect(s).toMatchObject({ type: 'EXPORT_DATA', category: 'export', parsed: true });
    expect(tables(s)).toEqual([`${ORDERS}:read`]);
    expect(s.outputs.map(summary)).toEqual([{ name: 'a', lineage: 'known', direct: true, sources: [`${ORDERS}:a`] }]);
  });

  it('EXECUTE IMMEDIATE: script; the SQL in its string is not visible', () => {
    const s = statement("EXECUTE IMMEDIATE 'SELECT ssn FROM crm.customers'");
    expect(s).toMatchObject({ type: 'EXECUTE_IMMEDIATE', category: 'script', parsed: false });
    expect(s.error).toMatch(/only known when the script runs/);
    expect(s.tables).toEqual([]);
  });

  it('DECLARE (read) and a BEGIN … END block (unparsed): one statement each, tables scanned inside', () => {
    const input = run('DECLARE n INT64 DEFAULT (SELECT COUNT(*) FROM sales.orders); BEGIN SELECT name FROM crm.customers; DELETE FROM sales.orders WHERE true; END; SELECT 2');
    const [declare, block, select] = input.sql.statements;
    expect(input.sql.statements).toHaveLength(3);
    expect(declare).toMatchObject({ index: 0, type: 'DECLARE', category: 'script', parsed: true, functions: ['COUNT'] });
    expect(tables(declare!)).toEqual([`${ORDERS}:read`]);
    expect(block).toMatchObject({ index: 1, type: 'BEGIN', category: 'script', parsed: false });
    expect(tables(block!)).toEqual([`${CUSTOMERS}:read`, `${ORDERS}:write`]);
    expect(select).toMatchObject({ index: 2, type: 'SELECT', category: 'read', parsed: true });
    expect(input.sql.parsed).toBe(false);
  });

  it('IF … END IF keeps its inner statements, and CASE expressions inside, in one block', () => {
    const input = run(
      'IF (SELECT COUNT(*) FROM sales.orders) > 0 THEN SELECT CASE WHEN total > 0 THEN 1 ELSE 0 END FROM sales.orders; ELSE DROP TABLE sales.orders; END IF; SELECT 3',
    );
    expect(input.sql.statements.map((s) => [s.type, s.category])).toEqual([
      ['IF', 'script'],
      ['SELECT', 'read'],
    ]);
    expect(tables(input.sql.statements[0]!)).toEqual([`${ORDERS}:read`, `${ORDERS}:ddl`]);
  });

  it('an unclosed block is unparsed', () => {
    const s = statement('BEGIN SELECT 1; SELECT 2;');
    expect(s).toMatchObject({ type: 'BEGIN', category: 'script', parsed: false });
    expect(s.error).toMatch(/not closed/);
  });

  it('CREATE TEMP FUNCTION is ddl naming no table; the SELECT using it is parsed', () => {
    const [fn, select] = run('CREATE TEMP FUNCTION mask(x STRING) AS (CONCAT("***", x)); SELECT mask(email) AS e FROM crm.customers').sql.statements;
    expect(fn).toMatchObject({ type: 'CREATE_TEMP_FUNCTION', category: 'ddl', parsed: true, tables: [] });
    expect(select).toMatchObject({ type: 'SELECT', parsed: true, functions: ['MASK'] });
    expect(summary(output(select!, 'e'))).toEqual({ name: 'e', lineage: 'known', direct: false, sources: [`${CUSTOMERS}:email`] });
  });

  it('bare QUALIFY: read, its window columns predicates', () => {
    const s = statement('SELECT id FROM sales.orders QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY total DESC) = 1');
    expect(s).toMatchObject({ type: 'SELECT', category: 'read', parsed: true });
    expect(tables(s)).toEqual([`${ORDERS}:read`]);
    expect(s.predicate_columns.map((c) => `${c.table}:${c.column}`).sort()).toEqual([`${ORDERS}:customer_id`, `${ORDERS}:total`]);
  });

  it('DELETE FROM is read as the equivalent DELETE', () => {
    const s = statement('DELETE FROM sales.orders WHERE customer_id IN (SELECT id FROM crm.customers WHERE email IS NULL)', { schemas });
    expect(s).toMatchObject({ type: 'DELETE', category: 'write', parsed: true, outputs: [] });
    expect(tables(s)).toEqual([`${ORDERS}:write`, `${CUSTOMERS}:read`]);
    expect(columns(s)).toEqual([`${CUSTOMERS}:email`, `${CUSTOMERS}:id`, `${ORDERS}:customer_id`]);
  });

  it('DELETE without FROM is parsed', () => {
    const s = statement('DELETE sales.orders o WHERE o.total < 0', { schemas });
    expect(s).toMatchObject({ type: 'DELETE', category: 'write', parsed: true, outputs: [] });
    expect(tables(s)).toEqual([`${ORDERS}:write`]);
    expect(columns(s)).toEqual([`${ORDERS}:total`]);
  });

  it('UPDATE of a qualified table is read with the target backticked (the parser crashes otherwise)', () => {
    const s = statement('UPDATE acme-analytics.sales.orders o SET o.total = 0 WHERE o.id = 1', { schemas });
    expect(s).toMatchObject({ type: 'UPDATE', category: 'write', parsed: true });
    expect(tables(s)).toEqual([`${ORDERS}:write`]);
    expect(columns(s)).toEqual([`${ORDERS}:id`, `${ORDERS}:total`]);
  });

  it('UPDATE … FROM: the FROM table read, its columns named', () => {
    const s = statement('UPDATE orders SET total = s.total FROM `sales.staged` s WHERE orders.id = s.id', { defaultDataset: 'sales' });
    expect(s).toMatchObject({ type: 'UPDATE', parsed: true });
    expect(tables(s)).toEqual([`${ORDERS}:write`, 'acme-analytics.sales.staged:read']);
    expect(columns(s)).toEqual([`${ORDERS}:id`, `${ORDERS}:total`, 'acme-analytics.sales.staged:id', 'acme-analytics.sales.staged:total']);
  });

  it('UPDATE of a bare table is parsed against the default dataset', () => {
    const s = statement('UPDATE orders SET total = total * 2 WHERE customer_id = 7', { defaultDataset: 'sales' });
    expect(s).toMatchObject({ type: 'UPDATE', category: 'write', parsed: true });
    expect(tables(s)).toEqual([`${ORDERS}:write`]);
    expect(columns(s)).toEqual([`${ORDERS}:customer_id`, `${ORDERS}:total`]);
  });

  it('a comma-joined table after an ON condition is a join, all tables read', () => {
    const s = statement('SELECT 1 FROM sales.orders o LEFT JOIN crm.customers c ON true FULL JOIN sales.refunds r ON true, crm.leads');
    expect(s.parsed).toBe(true);
    expect(tables(s)).toEqual([`${ORDERS}:read`, `${CUSTOMERS}:read`, 'acme-analytics.sales.refunds:read', 'acme-analytics.crm.leads:read']);
  });

  it('CTE names are not tables, even with a default dataset that could qualify them', () => {
    const s = statement('WITH orders AS (SELECT customer_id, total FROM sales.orders) SELECT total FROM orders', { defaultDataset: 'crm' });
    expect(s.parsed).toBe(true);
    expect(tables(s)).toEqual([`${ORDERS}:read`]);
  });

  it('a single backticked path is split into project, dataset and table', () => {
    const s = statement('SELECT o.total FROM `acme-analytics.sales.orders` o');
    expect(s.tables[0]).toMatchObject({ project: 'acme-analytics', dataset: 'sales', table: 'orders' });
  });

  it('table.field.subfield stays a column path of the table, not a table named after the field', () => {
    const s = statement('SELECT customers.address.city FROM crm.customers');
    expect(tables(s)).toEqual([`${CUSTOMERS}:read`]);
    expect(summary(s.outputs[0]!)).toEqual({ name: 'city', lineage: 'known', direct: true, sources: [`${CUSTOMERS}:address.city`] });
  });

  it('triple-quoted literals are constants', () => {
    const s = statement("SELECT '''it's''' AS note, ssn FROM crm.customers");
    expect(s.parsed).toBe(true);
    expect(tables(s)).toEqual([`${CUSTOMERS}:read`]);
    expect(s.outputs.map(summary)).toEqual([
      { name: 'note', lineage: 'known', direct: false, sources: [] },
      { name: 'ssn', lineage: 'known', direct: true, sources: [`${CUSTOMERS}:ssn`] },
    ]);
  });

  it('table-valued functions are not followed', () => {
    const s = statement('SELECT * FROM sales.top_customers(10)');
    expect(s.parsed).toBe(false);
    expect(s.error).toMatch(/table-valued function/);
  });

  it('PIVOT: one column per value, from the aggregate and the FOR column', () => {
    const s = statement("SELECT * FROM sales.orders PIVOT(SUM(total) FOR status IN ('open', 'closed'))");
    expect(s.parsed).toBe(true);
    expect(tables(s)).toEqual([`${ORDERS}:read`]);
    // After a `*` whose names are not known (the schema is not given), a result column may share
    // its name with one the `*` hides: BigQuery names the hidden one first, so the lineage is unknown.
    const pivoted = { lineage: 'unknown', direct: false, sources: [`${ORDERS}:status`, `${ORDERS}:total`], tables: [ORDERS] };
    expect(s.outputs.filter((o) => o.name !== '*').map(summary)).toEqual([{ name: 'open', ...pivoted }, { name: 'closed', ...pivoted }]);
  });

  it.each([
    ['SELECT'],
    ['SELECT FROM'],
    [')))'],
    ['SELECT * FROM sales.orders WHERE'],
    ["SELECT 'unterminated"],
    ['SELECT 1 /* unterminated'],
    ['SELECT `unterminated'],
    ['\u0000\u0001\u0002'],
    ['SELECT a FROM sales.orders WHERE a = 1 AND AND'],
  ])('never throws on %j', (sql) => {
    const s = statement(sql);
    expect(s.parsed).toBe(false);
    expect(typeof s.error).toBe('string');
  });

  it('a positional parameter is a constant; WITH RECURSIVE names no table', () => {
    const p = statement('SELECT a FROM sales.orders WHERE a = ?');
    expect(p.parsed).toBe(true);
    expect(p.predicate_columns.map((c) => `${c.table}:${c.column}`)).toEqual([`${ORDERS}:a`]);
    const r = statement('WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r');
    expect(r.parsed).toBe(true);
    expect(r.tables).toEqual([]);
    expect(r.outputs.map(summary)).toEqual([{ name: 'n', lineage: 'known', direct: false, sources: [] }]);
  });

  it('empty text or only comments: one UNKNOWN statement', () => {
    for (const sql of ['', '   \n\t', '-- nothing\n/* at all */ # here', ';;']) {
      const input = run(sql);
      expect(input.sql.parsed).toBe(false);
      expect(input.sql.statements).toEqual([
        { index: 0, type: 'UNKNOWN', category: 'unknown', parsed: false, error: 'the SQL text holds no statement', tables: [], columns: [], predicate_columns: [], functions: [], outputs: [] },
      ]);
    }
  });

  it('garbage text is UNKNOWN', () => {
    const s = statement('please show me all the customers');
    expect(s).toMatchObject({ type: 'UNKNOWN', category: 'unknown', parsed: false, tables: [] });
  });
});
