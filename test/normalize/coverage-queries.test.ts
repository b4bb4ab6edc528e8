// Queries the front end reads as BigQuery does where polyglot-sql's tree differs from the text's
// structure: a SELECT ending in a parenthesised subquery followed by a set operation. Tables,
// output names, lineage and predicate columns.
import { describe, expect, it } from 'vitest';
import type { Statement } from '../../engine/schema-types.ts';
import { CUSTOMERS, ORDERS, PROJECT, outputs, predicates, refusal, schemas, understood } from './support.ts';

const c = (column: string) => `${CUSTOMERS}:${column}`;
const o = (column: string) => `${ORDERS}:${column}`;
const LEADS = `${PROJECT}.crm.leads`;
const l = (column: string) => `${LEADS}:${column}`;

const tables = (s: Statement) => s.tables.map((t) => `${t.id}:${t.mode}`).sort();

describe('a SELECT ending in a subquery, followed by a set operation', () => {
  it('in the select list: the SELECT is the first branch, the subquery its last value', () => {
    const s = understood("SELECT 'x' AS name, (SELECT AS STRUCT 1 a, 2 b)\nUNION ALL SELECT ssn, (SELECT AS STRUCT 3 b, 4 c) AS foo FROM crm.leads WHERE email LIKE '%x'");
    expect(tables(s)).toEqual([`${LEADS}:read`]);
    // The first branch names the columns; UNION ALL compares nothing; the WHERE is the second branch's.
    expect(outputs(s)).toEqual([
      // A constant in one branch: the value is not the column's as it is.
      { name: 'name', direct: false, sources: [l('ssn')] },
      { name: 'f0_', direct: false, sources: [] },
    ]);
    expect(predicates(s)).toEqual([l('email')]);
  });

  it('in WHERE: the condition stays the first branch\'s, the second branch is no subquery of it', () => {
    const s = understood('SELECT email FROM crm.customers WHERE id > (SELECT MAX(o.id) FROM sales.orders o)\nUNION DISTINCT SELECT ssn FROM crm.leads ORDER BY 1');
    expect(tables(s)).toEqual([`${CUSTOMERS}:read`, `${LEADS}:read`, `${ORDERS}:read`]);
    expect(outputs(s)).toEqual([{ name: 'email', direct: true, sources: [c('email'), l('ssn')] }]);
    // WHERE, UNION DISTINCT (every column) and ORDER BY.
    expect(predicates(s)).toEqual([c('email'), c('id'), l('ssn'), o('id')]);
  });

  it('in HAVING, behind BETWEEN and NOT, with three branches and the WITH of the first SELECT over all', () => {
    const s = understood(
      'WITH l AS (SELECT ssn FROM crm.leads) SELECT name FROM crm.customers GROUP BY name HAVING NOT COUNT(*) BETWEEN 1 AND (SELECT 2)\nUNION ALL SELECT ssn FROM l UNION ALL SELECT email FROM crm.customers',
    );
    expect(tables(s)).toEqual([`${CUSTOMERS}:read`, `${LEADS}:read`]);
    expect(outputs(s)).toEqual([{ name: 'name', direct: true, sources: [c('email'), c('name'), l('ssn')] }]);
    expect(predicates(s)).toEqual([c('name')]);
  });

  it('as the body of a recursive WITH: the first branch is the base, the WITH name no table', () => {
    const s = understood(
      'WITH RECURSIVE r AS (SELECT id AS i, (SELECT 2) FROM crm.customers WHERE id > (SELECT 1) UNION ALL SELECT i + 1, 2 FROM r WHERE i < 3) SELECT * FROM r',
    );
    expect(tables(s)).toEqual([`${CUSTOMERS}:read`]);
    expect(outputs(s)).toEqual([
      { name: 'i', direct: false, sources: [c('id')] },
      { name: 'f0_', direct: false, sources: [] },
    ]);
  });

  it('IN ((SELECT …) UNION ALL (SELECT …)): the set operation is the IN query', () => {
    const s = understood('SELECT name FROM crm.customers WHERE id IN ((SELECT 1) UNION ALL (SELECT customer_id FROM sales.orders))');
    expect(tables(s)).toEqual([`${CUSTOMERS}:read`, `${ORDERS}:read`]);
    expect(outputs(s)).toEqual([{ name: 'name', direct: true, sources: [c('name')] }]);
    expect(predicates(s)).toContain(o('customer_id'));
    expect(predicates(s)).toContain(c('id'));
  });

  it('a set operation inside a call is refused; after a condition it is the query\'s, as BigQuery reads it', () => {
    expect(refusal('SELECT ABS((SELECT 1) UNION ALL SELECT 2)')).toBe('syntax not understood near `UNION` at 1:23 (parser: expected `)`)');
    // The WHERE ends at the subquery; the set operation joins the two SELECTs. IS [NOT] DISTINCT
    // FROM's FROM starts no FROM clause: the subquery is no FROM item.
    for (const sql of ['SELECT name FROM crm.customers WHERE id LIKE (SELECT 1) UNION ALL SELECT 2', 'SELECT name FROM crm.customers WHERE id IS NOT DISTINCT FROM (SELECT 1) UNION ALL SELECT 2']) {
      const s = understood(sql);
      expect(outputs(s)).toEqual([{ name: 'name', direct: false, sources: [c('name')] }]);
      expect(predicates(s)).toEqual([c('id')]);
    }
  });
});

describe('GROUP BY ROLLUP, CUBE and GROUPING SETS', () => {
  it('group by each key they list; a position names a select-list column, as in a plain GROUP BY', () => {
    const s = understood('SELECT Name, email, COUNT(*) AS n FROM crm.customers GROUP BY ROLLUP(1, 2)');
    expect(outputs(s)).toEqual([
      { name: 'name', direct: true, sources: [c('name')] },
      { name: 'email', direct: true, sources: [c('email')] },
      { name: 'n', direct: false, sources: [] },
    ]);
    expect(predicates(s)).toEqual([c('email'), c('name')]);
    const t = understood('SELECT Name, COUNT(*) AS n FROM crm.customers GROUP BY GROUPING SETS ((1), (email, id), CUBE(ssn), ())');
    expect(predicates(t)).toEqual([c('email'), c('id'), c('name'), c('ssn')]);
    expect(t.functions).not.toContain('ROLLUP');
  });
});

describe('GROUP BY ALL', () => {
  it('groups by each select-list column whose item holds no aggregate or window function', () => {
    const s = understood('SELECT SUBSTR(ssn, 1, 1) AS p, ARRAY_AGG(id) AS ids FROM crm.customers GROUP BY ALL');
    expect(outputs(s)).toEqual([
      { name: 'p', direct: false, sources: [c('ssn')] },
      { name: 'ids', direct: false, sources: [c('id')] },
    ]);
    expect(predicates(s)).toEqual([c('ssn')]);
    // Aggregates only: one group, as without GROUP BY.
    expect(predicates(understood('SELECT COUNT(*) AS n, MAX(ssn) AS m FROM crm.customers GROUP BY ALL'))).toEqual([]);
  });

  it('is not read as a column named ALL, nor is a GROUP BY BigQuery refuses', () => {
    expect(refusal('SELECT id FROM crm.customers GROUP BY ALL id')).toMatch(/^GROUP BY ALL followed by grouping items/);
    expect(refusal('SELECT id FROM crm.customers GROUP BY DISTINCT id')).toMatch(/^GROUP BY DISTINCT/);
    expect(refusal('SELECT id FROM crm.customers GROUP BY id, ALL')).toBe('syntax not understood near `ALL` at 1:43 (parser: invalid expression)');
  });
});

describe('ORDER BY and LIMIT after a set operation or a parenthesised query', () => {
  it('ORDER BY a name of the result orders by that column of every branch', () => {
    expect(predicates(understood('SELECT ssn FROM crm.customers UNION ALL SELECT email FROM crm.customers ORDER BY ssn'))).toEqual([c('email'), c('ssn')]);
    expect(predicates(understood('SELECT ssn AS x FROM crm.customers UNION ALL SELECT email AS x FROM crm.customers ORDER BY x'))).toEqual([c('email'), c('ssn')]);
  });

  it('(SELECT …) ORDER BY … LIMIT …: a query, an INSERT\'s query, a derived table', () => {
    const s = understood('(SELECT ssn AS x, email FROM crm.customers) ORDER BY x LIMIT 3');
    expect(outputs(s)).toEqual([
      { name: 'x', direct: true, sources: [c('ssn')] },
      { name: 'email', direct: true, sources: [c('email')] },
    ]);
    expect(predicates(s)).toEqual([c('ssn')]);
    const insert = understood('INSERT crm.leads (a, b)\n(SELECT ssn, email FROM crm.customers UNION ALL (SELECT name, email FROM crm.customers))\nORDER BY 2\nLIMIT 5');
    expect(tables(insert)).toEqual([`${CUSTOMERS}:read`, `${LEADS}:write`]);
    expect(predicates(insert)).toEqual([c('email')]);
    const derived = understood('SELECT x FROM ((SELECT ssn AS x, email FROM crm.customers) ORDER BY email LIMIT 3) AS y');
    expect(outputs(derived)).toEqual([{ name: 'x', direct: true, sources: [c('ssn')] }]);
    expect(predicates(derived)).toEqual([c('email')]);
  });
});

describe('a parenthesised query in FROM, followed by a set operation', () => {
  it('is the first branch\'s FROM item, not a derived table of the set operation', () => {
    // BigQuery: (SELECT b, a FROM (…)) UNION ALL (…), columns by position: the names land in a.
    // polyglot read FROM ((…) UNION ALL (…)), and `b, a` picked the union's columns by name.
    const s = understood('SELECT b, a FROM (SELECT address.city AS a, address.street AS b FROM crm.customers) UNION ALL (SELECT ssn, Name FROM crm.customers)');
    expect(outputs(s)).toEqual([
      { name: 'b', direct: true, sources: [c('address.street'), c('ssn')] },
      { name: 'a', direct: true, sources: [c('address.city'), c('name')] },
    ]);
    // After a FROM-clause comma or a join keyword too, and before INTERSECT or EXCEPT.
    expect(outputs(understood('SELECT id FROM crm.customers, (SELECT 1 AS b) UNION ALL SELECT 2'))).toEqual([{ name: 'id', direct: false, sources: [c('id')] }]);
    expect(outputs(understood('SELECT b FROM crm.customers CROSS JOIN (SELECT ssn AS b FROM crm.customers) EXCEPT DISTINCT SELECT Name FROM crm.customers', { schemas }))).toEqual([{ name: 'b', direct: true, sources: [c('name'), c('ssn')] }]);
    // A select-list subquery followed by a set operation keeps its reading (no alias is added there).
    expect(outputs(understood("SELECT 'x' AS a, (SELECT 1) UNION ALL SELECT Name, 2 FROM crm.customers")).map((o) => o.name)).toEqual(['a', 'f0_']);
  });
});

describe('JOIN … USING with parenthesised joins', () => {
  /** With the tables' schemas, so that `*` lists columns. */
  const known = (sql: string) => understood(sql, { schemas });
  const names = (s: Statement) => s.outputs.map((x) => x.name);

  it('a parenthesised join on the right: its own USING column is its side of the outer one', () => {
    const s = known(
      'SELECT id, b.total FROM (sales.orders a RIGHT JOIN sales.orders b USING (id)) LEFT JOIN (crm.customers c LEFT JOIN sales.orders d USING (id)) USING (id) WHERE id = 5',
    );
    expect(tables(s)).toEqual([`${CUSTOMERS}:read`, `${ORDERS}:read`]);
    expect(outputs(s)).toEqual([
      { name: 'id', direct: true, sources: [c('id'), o('id')] },
      { name: 'total', direct: true, sources: [o('total')] },
    ]);
    expect(predicates(s)).toEqual([c('id'), o('id')]);
    // `*`: the merged column once, at the first relation's place.
    expect(names(known('SELECT * FROM sales.orders a JOIN (crm.customers c JOIN sales.orders d USING (id)) USING (id)'))).toEqual([
      'id', 'customer_id', 'total', 'items', 'name', 'email', 'ssn', 'address', 'tags', 'customer_id_1', 'total_1', 'items_1',
    ]);
  });

  it('a parenthesised join merges among its own relations; a chain of USING keeps one column', () => {
    // c.id is c's own: the USING of `a JOIN x` does not reach the parenthesised join after the comma.
    const s = known('SELECT * FROM sales.orders a JOIN sales.orders x USING (id), (crm.customers c JOIN sales.orders d USING (customer_id))');
    expect(outputs(s).find((x) => x.name === 'id_1')).toEqual({ name: 'id_1', direct: true, sources: [c('id')] });
    expect(names(known('SELECT * FROM sales.orders a JOIN sales.orders b USING (id) JOIN sales.orders c USING (id)')).filter((n) => n.startsWith('id'))).toEqual(['id']);
  });

  it('`*` lists each USING column first, then the left side\'s other columns, then the right side\'s, as BigQuery does', () => {
    // (a, b, c) JOIN (a, d) USING (a) JOIN (b, e) USING (b): b, a, c, d, e.
    expect(names(known('SELECT * FROM (SELECT 1 a, 2 b, 3 c) JOIN (SELECT 1 a, 4 d) USING (a) JOIN (SELECT 2 b, 5 e) USING (b)'))).toEqual(['b', 'a', 'c', 'd', 'e']);
    // Several USING columns in the list's order; a comma join groups to the left; a parenthesised join keeps its own order.
    expect(names(known("SELECT * FROM (SELECT 'x' a1, 1 a2, 2 a3, 'y' a4) JOIN (SELECT 2 a3, 'x' a1, 'y' a4) USING (a3, a1, a4)"))).toEqual(['a3', 'a1', 'a4', 'a2']);
    expect(names(known('SELECT * FROM (SELECT 4 c), (SELECT 1 a, 2 k) JOIN (SELECT 3 b, 2 k) USING (k)'))).toEqual(['k', 'c', 'a', 'b']);
    expect(names(known('SELECT * FROM (SELECT 4 c) JOIN ((SELECT 1 a, 2 k) JOIN (SELECT 3 b, 2 k) USING (k)) ON TRUE'))).toEqual(['c', 'k', 'a', 'b']);
    // Read by position, the columns are BigQuery's: the union's second column is the SSN, ORDER BY 1 orders by the USING column.
    const s = known('SELECT id AS p, Name AS q FROM crm.customers UNION ALL SELECT * FROM (SELECT ssn, id FROM crm.customers) JOIN (SELECT id FROM crm.customers) USING (id)');
    expect(outputs(s)).toEqual([
      { name: 'p', direct: true, sources: [c('id')] },
      { name: 'q', direct: true, sources: [c('name'), c('ssn')] },
    ]);
    const ordered = known('SELECT * FROM (SELECT ssn, id FROM crm.customers) JOIN (SELECT id FROM crm.customers) USING (id) ORDER BY 2');
    expect(predicates(ordered)).toEqual([c('id'), c('ssn')]);
  });

  it('a name merged in two parenthesised joins that no USING brings together is refused', () => {
    expect(refusal('SELECT * FROM (sales.orders a JOIN sales.orders b USING (id)) JOIN (crm.customers c JOIN sales.orders d USING (id)) ON a.id = c.id')).toMatch(
      /^USING column id merged in two parenthesised joins is not analysed/,
    );
  });
});

describe('ORDER BY … COLLATE', () => {
  it('orders by the value, compared as the collation says: the value is read and steers', () => {
    const s = understood("SELECT email FROM crm.customers ORDER BY ssn COLLATE 'und:ci'");
    expect(outputs(s)).toEqual([{ name: 'email', direct: true, sources: [c('email')] }]);
    expect(predicates(s)).toEqual([c('ssn')]);
    expect(predicates(understood("SELECT email, ROW_NUMBER() OVER (ORDER BY name COLLATE 'und:ci') AS n FROM crm.customers"))).toEqual([c('name')]);
    expect(predicates(understood("FROM crm.customers |> ORDER BY ssn COLLATE 'und:ci' |> SELECT email"))).toEqual([c('ssn')]);
  });

  it('a collation that is no string literal is refused', () => {
    expect(refusal('SELECT email FROM crm.customers ORDER BY ssn COLLATE und')).toMatch(/^COLLATE with anything but a string literal is not analysed/);
  });
});

describe('WITH RECURSIVE names', () => {
  it('are visible to every query of the clause, a later one included, never read as the table of that name', () => {
    // BigQuery reads `orders` in `a` as the WITH query defined after it, whose product is the SSN;
    // read in order, it was the table sales.orders, and the SSN came back unmasked.
    const s = understood('WITH RECURSIVE a AS (SELECT product FROM orders), orders AS (SELECT ssn AS product FROM crm.customers) SELECT product FROM a', { defaultDataset: 'sales' });
    expect(tables(s)).toEqual([`${CUSTOMERS}:read`]);
    expect(outputs(s)).toEqual([{ name: 'product', direct: true, sources: [c('ssn')] }]);
    // An earlier one, and its own name in a recursive query, are read as before.
    expect(understood('WITH RECURSIVE a AS (SELECT 1 AS x), b AS (SELECT x FROM a) SELECT x FROM b').outputs.map((o) => o.name)).toEqual(['x']);
    expect(understood('WITH RECURSIVE t AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT n FROM t').outputs.map((o) => o.name)).toEqual(['n']);
    // Queries naming each other in a cycle, which BigQuery refuses, are refused.
    expect(refusal('WITH RECURSIVE a AS (SELECT x FROM b), b AS (SELECT x FROM a) SELECT x FROM a')).toMatch(/named while it is being read/);
    // Without RECURSIVE a later name is not visible: the table it names.
    expect(tables(understood('WITH a AS (SELECT product FROM orders), orders AS (SELECT 1 AS product) SELECT product FROM a', { defaultDataset: 'sales' }))).toEqual([`${ORDERS}:read`]);
  });
});
