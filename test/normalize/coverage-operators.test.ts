// Table operators and spellings the front end reads as BigQuery does: multi-column UNPIVOT and its
// labels, PIVOT column names BigQuery derives from unaliased values, named windows defined as
// another, and `table` as a name. Tables, output names, lineage and predicate columns.
import { describe, expect, it } from 'vitest';
import { CUSTOMERS, ORDERS, PROJECT, outputs, predicates, refusal, understood } from './support.ts';

const c = (column: string) => `${CUSTOMERS}:${column}`;
const o = (column: string) => `${ORDERS}:${column}`;

const CUSTOMER_COLUMNS = '(SELECT id, name, email, ssn, phone FROM crm.customers)';

describe('UNPIVOT', () => {
  it('several value columns: each is the column at its place in each set, unchanged; the name is constant', () => {
    const s = understood(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT((v1, v2) FOR k IN ((name, email) AS 'first', (ssn, phone) AS 'second'))`);
    expect(s.tables.map((t) => t.id)).toEqual([CUSTOMERS]);
    expect(outputs(s)).toEqual([
      { name: 'id', direct: true, sources: [c('id')] },
      { name: 'v1', direct: true, sources: [c('name'), c('ssn')] },
      { name: 'v2', direct: true, sources: [c('email'), c('phone')] },
      { name: 'k', direct: false, sources: [] },
    ]);
    // Without INCLUDE NULLS, which rows come back answers whether the unpivoted columns are NULL.
    expect(predicates(s)).toEqual([c('email'), c('name'), c('phone'), c('ssn')]);
  });

  it('INCLUDE NULLS: no predicate; sets without labels, and a label on some only', () => {
    const s = understood(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT INCLUDE NULLS ((v1, v2) FOR k IN ((name, email), (ssn, phone) AS 'second'))`);
    expect(outputs(s).map((x) => x.name)).toEqual(['id', 'v1', 'v2', 'k']);
    expect(predicates(s)).toEqual([]);
    expect(predicates(understood(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT EXCLUDE NULLS ((v1, v2) FOR k IN ((name, email)))`))).toEqual([c('email'), c('name')]);
  });

  it('a column may stand in several sets; only the named output columns are selected', () => {
    const s = understood(`SELECT v2, id FROM ${CUSTOMER_COLUMNS} UNPIVOT((v1, v2) FOR k IN ((name, email), (name, ssn)))`);
    expect(outputs(s)).toEqual([
      { name: 'v2', direct: true, sources: [c('email'), c('ssn')] },
      { name: 'id', direct: true, sources: [c('id')] },
    ]);
    // phone is not unpivoted: it passes through.
    expect(outputs(understood(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT((v1, v2) FOR k IN ((name, email)))`)).map((x) => x.name)).toEqual(['id', 'ssn', 'phone', 'v1', 'v2', 'k']);
  });

  it('single-column labels: strings, INT64 on every column, and a parenthesised set of one', () => {
    const strings = understood(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT(v FOR k IN (name AS 'N', email AS "E", ssn))`);
    expect(outputs(strings)).toEqual([
      { name: 'id', direct: true, sources: [c('id')] },
      { name: 'phone', direct: true, sources: [c('phone')] },
      { name: 'v', direct: true, sources: [c('email'), c('name'), c('ssn')] },
      { name: 'k', direct: false, sources: [] },
    ]);
    expect(outputs(understood(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT(v FOR k IN (name AS 1, email AS -2))`)).map((x) => x.name)).toEqual(['id', 'ssn', 'phone', 'v', 'k']);
    expect(outputs(understood(`SELECT v FROM ${CUSTOMER_COLUMNS} UNPIVOT((v) FOR k IN ((name), (email)))`))).toEqual([{ name: 'v', direct: true, sources: [c('email'), c('name')] }]);
  });

  it('refuses what BigQuery refuses: a set of another size, names clashing, labels of mixed types or out of range', () => {
    expect(refusal(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT((v1, v2) FOR k IN ((name, email, ssn)))`)).toMatch(/^UNPIVOT column set whose size is not the number of value columns is not analysed/);
    expect(refusal(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT((v, v) FOR k IN ((name, email)))`)).toMatch(/^UNPIVOT value and name columns not all named apart/);
    expect(refusal(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT(k FOR k IN (name))`)).toMatch(/^UNPIVOT value and name columns not all named apart/);
    expect(refusal(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT((v1, v2) FOR k IN ((name, name)))`)).toMatch(/^UNPIVOT column name named twice/);
    expect(refusal(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT(name FOR k IN (name, email))`)).toMatch(/^UNPIVOT column name named twice in its set, or as a value or name column/);
    expect(refusal(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT(v FOR k IN (name AS 1, email))`)).toMatch(/^UNPIVOT INT64 labels with others/);
    expect(refusal(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT(v FOR k IN (name AS 1, email AS 'e'))`)).toMatch(/^UNPIVOT INT64 labels with others/);
    expect(refusal(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT(v FOR k IN (name AS 9223372036854775808))`)).toMatch(/^UNPIVOT label other than a string or INT64 literal/);
    expect(refusal(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT(v FOR k IN (name AS 1.5))`)).toMatch(/^UNPIVOT label other than a string or INT64 literal/);
    expect(refusal(`SELECT * FROM ${CUSTOMER_COLUMNS} UNPIVOT(v FOR k IN (UPPER(name)))`)).toMatch(/^UNPIVOT column of an unexpected shape/);
  });
});

describe('PIVOT column names of unaliased values', () => {
  const pivot = (values: string) => understood(`SELECT * FROM (SELECT customer_id, total, id FROM sales.orders) PIVOT(SUM(total) FOR id IN (${values}))`);

  it('as BigQuery documents them: TRUE, FALSE, NULL, _<n>, minus_<n>, _YYYY_MM_DD, a string as it is', () => {
    const s = pivot("TRUE, FALSE, NULL, 7, 008, -3, -9223372036854775808, DATE '2013-11-25', 'Q1'");
    expect(s.tables.map((t) => t.id)).toEqual([ORDERS]);
    expect(outputs(s)).toEqual([
      { name: 'customer_id', direct: true, sources: [o('customer_id')] },
      ...['true', 'false', 'null', '_7', '_8', 'minus_3', 'minus_9223372036854775808', '_2013_11_25', 'q1'].map((name) => ({ name, direct: false, sources: [o('id'), o('total')] })),
    ]);
    // The FOR column and the grouping columns steer the result.
    expect(predicates(s)).toEqual([o('customer_id'), o('id')]);
  });

  it('refuses a value whose name the documentation leaves open, or none BigQuery derives', () => {
    for (const value of ['1.5', '1e3', '-0', '9223372036854775808', "STRUCT(1, 'a')", '0x10', "'Q 1'", "DATE '2013-1-5'", 'CAST(1 AS INT64)', '(1)', 'other_column']) {
      expect(refusal(`SELECT * FROM (SELECT customer_id, total, id FROM sales.orders) PIVOT(SUM(total) FOR id IN (${value}))`), value).toMatch(
        /^PIVOT value without an alias whose column name BigQuery derives is not analysed/,
      );
    }
  });
});

describe('PIVOT grouping columns', () => {
  it('are the input columns the aggregates and FOR column do not refer to, by what their names resolve to', () => {
    // The subquery's `name` is its own column: the input's name is a grouping column, returned and grouped by.
    const s = understood('SELECT * FROM (SELECT name, id, email FROM crm.customers) PIVOT(COUNT((SELECT COUNT(name) FROM (SELECT 1 AS name))) AS c FOR id IN (1 AS one))');
    expect(outputs(s).map((x) => x.name)).toEqual(['name', 'email', 'c_one']);
    expect(predicates(s)).toEqual([c('email'), c('id'), c('name')]);
    // A field of a column refers to the column, which is no grouping column.
    expect(outputs(understood("WITH t AS (SELECT STRUCT(1 AS x, 'a' AS y) AS s, 2 AS k) SELECT * FROM t PIVOT(SUM(s.x) FOR s.y IN ('a', 'b'))")).map((x) => x.name)).toEqual(['k', 'a', 'b']);
  });
});

describe('named windows defined as another', () => {
  it('`WINDOW w2 AS w1` reads as `w2 AS (w1)`: every window specification is a predicate', () => {
    const s = understood('SELECT id, SUM(total) OVER w3 AS running FROM sales.orders WINDOW w1 AS (PARTITION BY customer_id), w2 AS w1, w3 AS (w2 ORDER BY id)');
    expect(s.tables.map((t) => t.id)).toEqual([ORDERS]);
    expect(outputs(s).map((x) => x.name)).toEqual(['id', 'running']);
    expect(predicates(s)).toEqual([o('customer_id'), o('id')]);
    const chained = understood('SELECT SUM(total) OVER w4 AS s FROM sales.orders WINDOW w1 AS (PARTITION BY customer_id), w2 AS w1, w3 AS `w2`, w4 AS (w3 ORDER BY id)\nORDER BY s');
    expect(predicates(chained)).toEqual([o('customer_id'), o('id'), o('total')]);
  });

  it('names resolve in any order and case; a window no WINDOW clause defines, or one defined through itself, is refused', () => {
    const s = understood('SELECT SUM(total) OVER W2 AS s FROM sales.orders WINDOW w2 AS (w1 ORDER BY id), W1 AS (PARTITION BY customer_id)');
    expect(predicates(s)).toEqual([o('customer_id'), o('id')]);
    expect(refusal('SELECT SUM(total) OVER w9 AS s FROM sales.orders WINDOW w1 AS (PARTITION BY customer_id)')).toMatch(/^window w9 that the WINDOW clause does not define/);
    expect(refusal('SELECT SUM(total) OVER w1 AS s FROM sales.orders')).toMatch(/^window w1 that the WINDOW clause does not define/);
    expect(refusal('SELECT SUM(total) OVER w1 AS s FROM sales.orders WINDOW w1 AS w2, w2 AS w1')).toMatch(/^WINDOW w1 defined through itself/);
  });

  it('positions after the respelling are those of the text as written', () => {
    expect(refusal('SELECT id FROM sales.orders WINDOW w1 AS (PARTITION BY customer_id), w2 AS w1 WHERE')).toMatch(/near `WHERE` at 1:79\b/);
  });
});

describe('`table` as a name', () => {
  it('an UNNEST alias and the qualifier that names it', () => {
    const s = understood('SELECT ARRAY(SELECT table.sku FROM UNNEST(o.items) table WHERE table.qty > 1) AS skus FROM sales.orders o');
    expect(s.tables.map((t) => t.id)).toEqual([ORDERS]);
    expect(outputs(s)).toEqual([{ name: 'skus', direct: false, sources: [o('items.sku')] }]);
    expect(predicates(s)).toEqual([o('items.qty')]);
  });

  it('a table alias, with AS or without, and a select-list alias', () => {
    const s = understood('SELECT table.email AS table FROM crm.customers table JOIN sales.orders AS t2 ON table.id = t2.customer_id');
    expect(outputs(s)).toEqual([{ name: 'table', direct: true, sources: [c('email')] }]);
    expect(predicates(s)).toEqual([c('id'), o('customer_id')]);
    expect(outputs(understood('SELECT table.email FROM crm.customers AS table'))).toEqual([{ name: 'email', direct: true, sources: [c('email')] }]);
  });

  it('the keyword TABLE is left as it is', () => {
    expect(understood('CREATE TABLE sales.copy AS SELECT id FROM sales.orders').tables.map((t) => `${t.id}:${t.mode}`).sort()).toEqual([
      `${PROJECT}.sales.copy:ddl`,
      `${ORDERS}:read`,
    ]);
  });
});
