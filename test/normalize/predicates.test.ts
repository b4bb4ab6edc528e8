// Predicate columns: the source columns that choose, group or order rows without being returned
// (Statement.predicate_columns). Masking acts on returned values only, so the policy needs to
// know when a sensitive column decides which rows match.
import { describe, expect, it } from 'vitest';
import { CUSTOMERS, ORDERS, predicates, schemas, statement } from './support.ts';

const c = (column: string) => `${CUSTOMERS}:${column}`;
const o = (column: string) => `${ORDERS}:${column}`;
const of = (sql: string) => {
  const s = statement(sql, { schemas });
  expect(s.parsed, s.error).toBe(true);
  return predicates(s);
};

describe('predicate columns', () => {
  it.each([
    ['WHERE', "SELECT id FROM crm.customers WHERE ssn = '123-45-6789'", [c('ssn')]],
    ['JOIN ON', 'SELECT o.id FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id', [c('id'), o('customer_id')]],
    ['HAVING (and the GROUP BY)', 'SELECT address.city, COUNT(*) AS n FROM crm.customers GROUP BY address.city HAVING MAX(ssn) > "5"', [c('address.city'), c('ssn')]],
    ['GROUP BY', 'SELECT COUNT(*) AS n FROM crm.customers GROUP BY email', [c('email')]],
    ['GROUP BY a position', 'SELECT email, COUNT(*) AS n FROM crm.customers GROUP BY 1', [c('email')]],
    ['ROLLUP of positions', 'SELECT name, email, COUNT(*) AS n FROM crm.customers GROUP BY ROLLUP(1, 2)', [c('email'), c('name')]],
    ['GROUP BY ALL', 'SELECT SUBSTR(ssn, 1, 3) AS p, COUNT(*) AS n FROM crm.customers GROUP BY ALL', [c('ssn')]],
    ['GROUP BY ALL: each item without an aggregate or window', 'SELECT name, UPPER(email) AS e, MAX(ssn) AS m, 1 + COUNT(id) AS n, COUNT(*) OVER () AS w FROM crm.customers GROUP BY ALL', [c('email'), c('name')]],
    ['GROUP BY ALL of `*`', 'SELECT *, COUNT(*) AS n FROM (SELECT ssn, email FROM crm.customers) GROUP BY ALL', [c('email'), c('ssn')]],
    ['GROUP BY ALL: an aggregate inside a subquery is the subquery\'s', 'SELECT id, (SELECT MAX(ssn)) AS s, COUNT(*) AS n FROM crm.customers GROUP BY ALL', [c('id'), c('ssn')]],
    ['GROUP BY ALL in a FROM subquery', 'SELECT n FROM (SELECT ssn, COUNT(*) AS n FROM crm.customers GROUP BY ALL)', [c('ssn')]],
    ['GROUP BY ALL in a WITH query', 'WITH g AS (SELECT email, COUNT(*) AS n FROM crm.customers GROUP BY ALL) SELECT n FROM g', [c('email')]],
    ['GROUPING SETS and CUBE', 'SELECT name, COUNT(*) AS n FROM crm.customers GROUP BY GROUPING SETS ((1), (email, id), CUBE(ssn), ())', [c('email'), c('id'), c('name'), c('ssn')]],
    ['DISTINCT', 'SELECT DISTINCT email FROM crm.customers', [c('email')]],
    ['ORDER BY a position', 'SELECT ssn, id FROM crm.customers ORDER BY 1 DESC', [c('ssn')]],
    // BigQuery takes any ORDER BY or GROUP BY item that resolves to an INT64 literal as a position:
    // in parentheses, in hex, with a COLLATE (zetasql ResolveOrderingExprs).
    ['ORDER BY a parenthesised position', 'SELECT id, ssn FROM crm.customers ORDER BY (2)', [c('ssn')]],
    ['ORDER BY a position with COLLATE', "SELECT id, ssn FROM crm.customers ORDER BY 2 COLLATE 'und:ci' DESC", [c('ssn')]],
    ['ORDER BY a hex position', 'SELECT id, ssn FROM crm.customers ORDER BY 0x2', [c('ssn')]],
    ['GROUP BY a hex position', 'SELECT email, COUNT(*) AS n FROM crm.customers GROUP BY 0x1', [c('email')]],
    ['ORDER BY a parenthesised position after UNION ALL', 'SELECT id, ssn FROM crm.customers UNION ALL SELECT id, ssn FROM crm.customers ORDER BY ((2))', [c('ssn')]],
    ['ORDER BY a position after UNION ALL', 'SELECT ssn FROM crm.customers UNION ALL SELECT email FROM crm.leads ORDER BY 1', [c('ssn'), 'acme-analytics.crm.leads:email']],
    ['ORDER BY a name after UNION ALL', "SELECT ssn FROM crm.customers UNION ALL SELECT '1' ORDER BY ssn", [c('ssn')]],
    ['ORDER BY a name after UNION ALL, every branch', 'SELECT id, ssn FROM crm.customers UNION ALL SELECT id, email FROM crm.customers ORDER BY SSN', [c('email'), c('ssn')]],
    ['UNION DISTINCT', "SELECT ssn FROM crm.customers UNION DISTINCT SELECT '123-45-6789'", [c('ssn')]],
    ['INTERSECT', "SELECT COUNT(*) AS n FROM (SELECT ssn FROM crm.customers INTERSECT DISTINCT SELECT '123-45-6789')", [c('ssn')]],
    ['EXCEPT', "SELECT ssn FROM crm.customers EXCEPT DISTINCT SELECT '123-45-6789'", [c('ssn')]],
    ['a window in OVER', 'SELECT id, ROW_NUMBER() OVER (PARTITION BY email ORDER BY ssn) AS n FROM crm.customers', [c('email'), c('ssn')]],
    ['an IF condition in the select list', "SELECT id, IF(ssn = '123-45-6789', 1, NULL) AS hit FROM crm.customers", [c('ssn')]],
    ['a CASE condition in the select list', "SELECT id, CASE WHEN email LIKE '%@acme.example' THEN 'staff' END AS kind FROM crm.customers", [c('email')]],
    ['a CASE operand', "SELECT id, CASE ssn WHEN '1' THEN 'a' ELSE 'b' END AS kind FROM crm.customers", [c('ssn')]],
    ['NULLIF', "SELECT id, NULLIF(ssn, '123-45-6789') AS s FROM crm.customers", [c('ssn')]],
    ['ORDER BY', 'SELECT id FROM crm.customers ORDER BY ssn', [c('ssn')]],
    ['ORDER BY an output alias', 'SELECT email AS contact FROM crm.customers ORDER BY contact', [c('email')]],
    ['a named WINDOW', 'SELECT ROW_NUMBER() OVER w AS n FROM crm.customers WINDOW w AS (ORDER BY ssn)', [c('ssn')]],
    ['a subquery in WHERE', "SELECT id FROM sales.orders WHERE customer_id IN (SELECT id FROM crm.customers WHERE email LIKE '%@x.com')", [c('email'), c('id'), o('customer_id')]],
    ['EXISTS', "SELECT id FROM sales.orders o WHERE EXISTS (SELECT 1 FROM crm.customers c WHERE c.id = o.customer_id AND c.ssn = '1')", [c('id'), c('ssn'), o('customer_id')]],
    ['through a CTE alias', "WITH k AS (SELECT id, ssn AS tax_id FROM crm.customers) SELECT id FROM k WHERE tax_id = '1'", [c('ssn')]],
    ['inside a FROM subquery', "SELECT id FROM (SELECT id FROM crm.customers WHERE email = 'a@b.c')", [c('email')]],
    ['UNNEST of an array computed from a column (its length sets the rows)', "SELECT id FROM crm.customers, UNNEST(SPLIT(ssn, '1')) AS x", [c('ssn')]],
    ['UNNEST … WITH OFFSET in a scalar subquery', 'SELECT id, (SELECT COUNT(*) FROM UNNEST(GENERATE_ARRAY(1, LENGTH(email)))) AS n FROM crm.customers', [c('email')]],
    ['LEFT JOIN UNNEST', "SELECT id FROM crm.customers LEFT JOIN UNNEST(SPLIT(ssn, '')) AS x ON TRUE", [c('ssn')]],
    ['an array path through a derived column', "SELECT id FROM (SELECT id, SPLIT(ssn, '1') AS a FROM crm.customers) t, t.a", [c('ssn')]],
    ['UPDATE … WHERE', "UPDATE sales.orders SET total = 0 WHERE customer_id = 1", [o('customer_id')]],
    ['DELETE … WHERE', "DELETE FROM crm.customers WHERE ssn = '1'", [c('ssn')]],
  ])('%s', (_, sql, expected) => {
    expect(of(sql)).toEqual([...expected].sort());
  });

  it('a clause naming a range variable it cannot see (a derived table beside it) stands for every table', () => {
    // BigQuery refuses the name; read as nothing, it would let a masked column steer the rows.
    expect(of("SELECT id FROM crm.customers c, (SELECT 1 FROM UNNEST([1]) WHERE c.ssn > '5')")).toEqual([c('*')]);
    expect(of("SELECT o.id FROM sales.orders o, (SELECT x FROM UNNEST(SPLIT(o.customer_id, '-')) x)")).toEqual([o('*')]);
  });

  // BigQuery's select-list aliases (explicit ones, the last name of a path, the columns of `*`)
  // override the FROM clause's names, range variables included, in HAVING, QUALIFY, ORDER BY and a
  // GROUP BY key that is a name or path; any other GROUP BY key reads the FROM clause's names only.
  it.each([
    ['ORDER BY the last name of a path', "SELECT c.address.street FROM crm.customers c, (SELECT 'x' AS street) d ORDER BY street", [c('address.street')]],
    ['GROUP BY the last name of a path', "SELECT c.address.street, COUNT(*) AS n FROM crm.customers c, (SELECT 'x' AS street) d GROUP BY street", [c('address.street')]],
    ['ORDER BY a field of an alias named like a range variable', "SELECT c.address AS d FROM crm.customers c, (SELECT 'x' AS street) d ORDER BY d.street", [c('address.street')]],
    ['QUALIFY a field of an alias named like a range variable', "SELECT c.address AS d, COUNT(*) OVER () AS n FROM crm.customers c, (SELECT 'x' AS street) d QUALIFY d.street LIKE '1%'", [c('address.street')]],
    ['ORDER BY a field of a column of `*` named like a range variable', "SELECT * FROM crm.customers c, (SELECT 'x' AS street) address ORDER BY address.street", [c('address.street')]],
    ['an alias in a subquery in ORDER BY', 'SELECT ssn AS id FROM crm.customers ORDER BY (SELECT id)', [c('ssn')]],
    ['a GROUP BY expression reads the FROM clause, not an alias', "SELECT ANY_VALUE(id) AS ssn, COUNT(*) AS n FROM crm.customers GROUP BY CONCAT(ssn, '')", [c('ssn')]],
    ['a GROUP BY name reads the alias', 'SELECT id AS ssn, COUNT(*) AS n FROM crm.customers GROUP BY ssn', [c('id')]],
    ['a GROUP BY bare word reads the alias, as a name does', 'SELECT ssn AS now, COUNT(*) AS n FROM (SELECT id AS now, ssn FROM crm.customers) GROUP BY now', [c('ssn')]],
    // A named window is read where it is used (BigQuery resolves its names at the call): in QUALIFY
    // and ORDER BY the select-list names override the FROM clause's there too. Its definition still
    // reads the FROM clause's names, for the select list's uses.
    ['QUALIFY through a named window', 'SELECT ssn AS id FROM crm.customers QUALIFY ROW_NUMBER() OVER w = 1 WINDOW w AS (ORDER BY id)', [c('id'), c('ssn')]],
    ['ORDER BY through a named window', 'SELECT ssn AS id FROM crm.customers WINDOW w AS (ORDER BY id) ORDER BY ROW_NUMBER() OVER w', [c('id'), c('ssn')]],
    ['QUALIFY through a window built on a named one', 'SELECT ssn AS id FROM crm.customers QUALIFY ROW_NUMBER() OVER (w2) = 1 WINDOW w1 AS (PARTITION BY id), w2 AS (w1 ORDER BY email)', [c('email'), c('id'), c('ssn')]],
  ])('select-list names: %s', (_, sql, expected) => {
    expect(of(sql)).toEqual([...expected].sort());
  });

  it('JOIN USING compares the column of both sides', () => {
    expect(of('SELECT o.total FROM sales.orders o JOIN (SELECT id AS customer_id, email FROM crm.customers) c USING (customer_id)')).toEqual([c('id'), o('customer_id')]);
  });

  it('are empty when the columns are only returned, through functions and UNION ALL too', () => {
    expect(of('SELECT id, ssn, UPPER(email) AS e, ROW_NUMBER() OVER (ORDER BY id) AS n FROM crm.customers LIMIT 10')).toEqual([c('id')]);
    expect(of('SELECT ssn, CONCAT(name, email) AS x FROM crm.customers UNION ALL SELECT ssn, email FROM crm.leads')).toEqual([]);
    // An array column expanded as it is stored: its elements are masked, its length shown, as BigQuery shows it.
    expect(of('SELECT id, t FROM crm.customers c, UNNEST(c.tags) AS t')).toEqual([]);
  });

  it('MERGE: the ON condition', () => {
    const s = statement('MERGE sales.orders t USING sales.orders s ON t.id = s.id WHEN MATCHED THEN UPDATE SET total = s.total', { schemas });
    expect(predicates(s)).toContain(o('id'));
  });

  it('stand for every column (`*`) of the tables a clause with unknown lineage may read', () => {
    const s = statement('SELECT 1 AS one FROM (SELECT AS VALUE STRUCT(ssn, email) FROM crm.customers) AS v WHERE v.ssn IS NOT NULL', { schemas });
    expect(s.parsed, s.error).toBe(true);
    expect(predicates(s)).toContain(c('*'));
  });
});

describe('a GROUP BY path into a select-list column', () => {
  it('is refused, as BigQuery refuses it, whatever else its first name may be', () => {
    // `Cannot GROUP BY field references from SELECT list alias c` (test/gateway/name-resolution.test.ts
    // checks it against the emulator). Read as the alias's field, c.ssn would group by a constant.
    for (const sql of [
      'SELECT STRUCT(1 AS ssn) AS c, COUNT(*) AS n FROM crm.customers c GROUP BY c.ssn',
      'SELECT STRUCT(1 AS ssn) AS c, COUNT(*) AS n FROM crm.customers c GROUP BY ROLLUP(C.ssn)',
      "SELECT STRUCT('x' AS street) AS address, COUNT(*) AS n FROM crm.customers GROUP BY address.street",
      'SELECT c.address, COUNT(*) AS n FROM crm.customers c GROUP BY address.city',
      'SELECT *, COUNT(*) AS n FROM crm.customers GROUP BY address.city',
    ]) {
      const s = statement(sql, { schemas });
      expect(s.parsed, sql).toBe(false);
      expect(s.error).toMatch(/^GROUP BY a field of the select-list column (c|address) \(BigQuery refuses it\) is not analysed at 1:\d+$/);
    }
    // A single name is the alias's; a path no select-list name starts is the FROM clause's.
    expect(of('SELECT id AS ssn, COUNT(*) AS n FROM crm.customers GROUP BY ssn')).toEqual([c('id')]);
    expect(of('SELECT address.city AS x, COUNT(*) AS n FROM crm.customers GROUP BY address.city')).toEqual([c('address.city')]);
    expect(of('SELECT c.address.city, COUNT(*) AS n FROM crm.customers c GROUP BY c.address.city')).toEqual([c('address.city')]);
  });
});
