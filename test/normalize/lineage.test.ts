// Output-column lineage: which source columns feed each result column, whether it is passed
// through unchanged, and where the sources cannot be determined, why and from which tables.
import { describe, expect, it } from 'vitest';
import { CUSTOMERS, ORDERS, columns, output, predicates, schemas, sources, statement, summary, tables } from './support.ts';

const direct = (name: string, ...src: string[]) => ({ name, lineage: 'known', direct: true, sources: src.sort() });
const derived = (name: string, ...src: string[]) => ({ name, lineage: 'known', direct: false, sources: src.sort() });
const c = (column: string) => `${CUSTOMERS}:${column}`;
const o = (column: string) => `${ORDERS}:${column}`;

describe('bare words other dialects call without parentheses', () => {
  it('are names in BigQuery: now, sysdate, current_user, pi, …', () => {
    const s = statement('SELECT id, now, sysdate AS s, current_user FROM (SELECT id, ssn AS now, email AS sysdate, name AS current_user FROM crm.customers)', { schemas });
    expect(s.outputs.map(summary)).toEqual([direct('id', c('id')), direct('now', c('ssn')), direct('s', c('email')), direct('current_user', c('name'))]);
    const filtered = statement("SELECT id FROM (SELECT id, ssn AS pi FROM crm.customers) WHERE pi LIKE '1%'", { schemas });
    expect(filtered.predicate_columns.map((p) => p.column)).toEqual(['ssn']);
    // A range variable so named is the whole row.
    expect(statement('SELECT TO_JSON_STRING(now) AS j FROM crm.customers AS now', { schemas }).outputs[0]!.sources.map((x) => x.column)).toContain('ssn');
  });

  it('CURRENT_DATE and the like are calls, unless a column or alias has the name (ambiguous: refused)', () => {
    expect(statement('SELECT id, CURRENT_DATE AS d, CURRENT_TIMESTAMP AS t FROM crm.customers', { schemas }).outputs.map(summary)).toEqual([
      direct('id', c('id')),
      derived('d'),
      derived('t'),
    ]);
    const ambiguous = statement('SELECT current_date FROM (SELECT ssn AS current_date FROM crm.customers)', { schemas });
    expect(ambiguous.parsed).toBe(false);
    expect(ambiguous.error).toContain('`current_date` without parentheses where a column or alias has that name');
    // A table of unknown schema may have such a column: it is read as one.
    expect(statement('SELECT current_date FROM crm.customers').outputs[0]!.sources.map((x) => x.column)).toEqual(['current_date']);
  });
});

describe('lineage through query structure', () => {
  it('aliases of tables and columns', () => {
    const s = statement('SELECT c.email AS contact, c.id FROM crm.customers AS c');
    expect(s.outputs.map(summary)).toEqual([direct('contact', c('email')), direct('id', c('id'))]);
    expect(s.outputs.map((x) => x.index)).toEqual([0, 1]);
  });

  it('an unqualified column of a single table without schema belongs to that table', () => {
    const s = statement('SELECT email FROM crm.customers WHERE id = 3 ORDER BY name');
    expect(s.outputs.map(summary)).toEqual([direct('email', c('email'))]);
    expect(columns(s)).toEqual([c('email'), c('id'), c('name')]);
  });

  it('chained CTEs', () => {
    const s = statement(
      'WITH base AS (SELECT id, ssn AS tax_id FROM crm.customers), renamed AS (SELECT tax_id AS t, id FROM base), ' +
        'other AS (SELECT total FROM sales.orders) SELECT r.t, renamed.id FROM renamed r JOIN renamed ON true',
    );
    expect(s.parsed).toBe(true);
    expect(tables(s)).toEqual([`${CUSTOMERS}:read`, `${ORDERS}:read`]);
    expect(s.outputs.map(summary)).toEqual([direct('t', c('ssn')), direct('id', c('id'))]);
  });

  it('subqueries in FROM', () => {
    const s = statement('SELECT x.who FROM (SELECT UPPER(name) AS who, id FROM (SELECT name, id FROM crm.customers) inner_q) x');
    expect(s.outputs.map(summary)).toEqual([derived('who', c('name'))]);
  });

  it('UNION ALL: sources of column i from every branch, names from the first', () => {
    const s = statement('SELECT email AS contact, id FROM crm.customers UNION ALL SELECT CAST(customer_id AS STRING), id FROM sales.orders');
    expect(s.outputs.map(summary)).toEqual([derived('contact', c('email'), o('customer_id')), direct('id', c('id'), o('id'))]);
  });

  it('UNION DISTINCT, INTERSECT and EXCEPT of direct columns stay direct', () => {
    for (const op of ['UNION DISTINCT', 'INTERSECT DISTINCT', 'EXCEPT DISTINCT']) {
      const s = statement(`SELECT email FROM crm.customers ${op} SELECT email FROM crm.leads`);
      expect(s.outputs.map(summary)).toEqual([direct('email', c('email'), 'acme-analytics.crm.leads:email')]);
    }
  });

  it('a set operation matching by name inside a chain is refused, not read by position', () => {
    // a UNION ALL CORRESPONDING b UNION ALL c: b's ssn goes to y by name; read by position it went
    // to x, whose mask hid it, and y (the constants) came back unmasked.
    for (const mode of ['CORRESPONDING', 'STRICT CORRESPONDING', 'CORRESPONDING BY (x, y)', 'BY NAME']) {
      const s = statement(`SELECT ssn AS x, 'a' AS y FROM crm.customers UNION ALL ${mode} SELECT ssn AS y, 'b' AS x FROM crm.customers UNION ALL SELECT ssn, 'c' FROM crm.customers`);
      expect(s.parsed, mode).toBe(false);
    }
    const side = statement("SELECT ssn AS x, 'a' AS y FROM crm.customers FULL UNION ALL CORRESPONDING SELECT ssn AS y FROM crm.customers UNION ALL SELECT ssn, 'c' FROM crm.customers");
    expect(side.parsed).toBe(false);
    // A chain of plain branches is still read.
    expect(statement("SELECT ssn AS x, 'a' AS y FROM crm.customers UNION ALL SELECT ssn, 'b' FROM crm.customers UNION ALL SELECT ssn, 'c' FROM crm.customers").parsed).toBe(true);
  });

  it('ORDER BY after a UNION names the result, not a column of the last branch', () => {
    const s = statement('SELECT email FROM crm.customers UNION ALL SELECT email FROM crm.leads ORDER BY email');
    expect(columns(s)).toEqual([c('email'), 'acme-analytics.crm.leads:email']);
  });

  it('subqueries in WHERE contribute columns, not outputs', () => {
    const s = statement('SELECT o.total FROM sales.orders o WHERE o.customer_id IN (SELECT c.id FROM crm.customers c WHERE c.email LIKE "%@acme.example")');
    expect(s.outputs.map(summary)).toEqual([direct('total', o('total'))]);
    expect(tables(s)).toEqual([`${ORDERS}:read`, `${CUSTOMERS}:read`]);
    expect(columns(s)).toEqual([c('email'), c('id'), o('customer_id'), o('total')]);
  });
});

describe('lineage through expressions', () => {
  const s = statement(
    'SELECT CONCAT("", ssn) AS s, UPPER(email), SUM(o.total) AS revenue, ' +
      "CASE WHEN c.email LIKE '%@acme.example' THEN 'staff' ELSE c.name END AS kind, " +
      'CAST(c.id AS STRING) AS id_text, ROW_NUMBER() OVER (PARTITION BY c.name ORDER BY o.total DESC) AS rn, ' +
      'COUNT(*) AS n, 42 AS answer, @limit AS param ' +
      'FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id GROUP BY 1, 2, 4, 5',
  );

  it('functions, aggregates, CASE, CAST, window functions and constants are transformed', () => {
    expect(s.parsed).toBe(true);
    expect(s.outputs.map(summary)).toEqual([
      // Unqualified ssn is ambiguous between two tables without schema.
      {
        name: 's',
        lineage: 'unknown',
        direct: false,
        sources: [c('ssn'), o('ssn')],
        tables: [CUSTOMERS, ORDERS],
      },
      { ...derived('f0_'), lineage: 'unknown', sources: [c('email'), o('email')], tables: [CUSTOMERS, ORDERS] },
      derived('revenue', o('total')),
      derived('kind', c('email'), c('name')),
      derived('id_text', c('id')),
      derived('rn', c('name'), o('total')),
      derived('n'),
      derived('answer'),
      derived('param'),
    ]);
    expect(output(s, 's').reason).toBe(`column ssn is ambiguous: it could come from ${CUSTOMERS}, ${ORDERS}`);
  });

  it('records function names upper-case', () => {
    expect([...s.functions].sort()).toEqual(['CAST', 'CONCAT', 'COUNT', 'ROW_NUMBER', 'SUM', 'UPPER']);
  });

  it('with schemas the same columns resolve', () => {
    const known = statement('SELECT CONCAT("", ssn) AS s, UPPER(email) AS e FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id', { schemas });
    expect(known.outputs.map(summary)).toEqual([derived('s', c('ssn')), derived('e', c('email'))]);
  });

  it('date parts are not columns', () => {
    const d = statement('SELECT DATE_TRUNC(created, MONTH) AS m, TIMESTAMP_DIFF(a, b, SECOND) AS d FROM sales.orders o JOIN crm.customers c USING (id)');
    expect(columns(d).some((x) => /month|second/.test(x))).toBe(false);
  });

  it('a date part is a keyword only where the function takes one, SAFE. or not', () => {
    const d = statement(
      'SELECT DATE_DIFF(id, id, DAY) AS a, DATETIME_DIFF(id, id, WEEK(MONDAY)) AS b, TIME_DIFF(id, id, HOUR) AS c, ' +
        'DATE_TRUNC(id, ISOWEEK) AS e, TIMESTAMP_TRUNC(id, DAY, "UTC") AS f, SAFE.DATE_TRUNC(id, MONTH) AS g, ' +
        'SAFE.TIMESTAMP_DIFF(id, id, SECOND) AS h, LAST_DAY(id, WEEK) AS i, SAFE.LAST_DAY(id, WEEK(SUNDAY)) AS j, ' +
        'EXTRACT(DAY FROM id) AS k, DATE_ADD(id, INTERVAL 1 DAY) AS l FROM crm.customers',
      { schemas },
    );
    expect(d.parsed).toBe(true);
    expect(d.outputs.map(summary)).toEqual(['a', 'b', 'c', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'].map((n) => derived(n, c('id'))));
  });

  it('a column named like a date part is a column in a value argument', () => {
    const inner = '(SELECT id, ssn AS day, ssn AS second, email AS zone FROM crm.customers)';
    const d = statement(
      `SELECT DATE_DIFF(DATE '2000-01-01', day, DAY) AS a, TIMESTAMP_DIFF(TIMESTAMP '1970-01-01', second, SECOND) AS b, ` +
        `SAFE.DATE_DIFF(second, id, DAY) AS e, DATE_BUCKET(DATE '2000-01-01', INTERVAL 1 DAY, day) AS f, ` +
        `TIMESTAMP_BUCKET(TIMESTAMP '2000-01-01', INTERVAL 1 HOUR, second) AS g, TIMESTAMP_TRUNC(TIMESTAMP '2000-01-01', DAY, zone) AS h, ` +
        `DATE_TRUNC(day, DAY) AS i, LAST_DAY(second) AS j FROM ${inner}`,
      { schemas },
    );
    expect(d.parsed).toBe(true);
    expect(d.outputs.map(summary)).toEqual([
      derived('a', c('ssn')),
      derived('b', c('ssn')),
      derived('e', c('id'), c('ssn')),
      derived('f', c('ssn')),
      derived('g', c('ssn')),
      derived('h', c('email')),
      derived('i', c('ssn')),
      derived('j', c('ssn')),
    ]);
  });

  it('JOIN USING merges the column; it is passed through from both sides', () => {
    const u = statement('SELECT id, total FROM sales.orders JOIN crm.customers USING (id)', { schemas });
    expect(u.outputs.map(summary)).toEqual([direct('id', c('id'), o('id')), direct('total', o('total'))]);
  });

  it('named windows contribute their columns', () => {
    const w = statement('SELECT SUM(total) OVER w AS running FROM sales.orders WINDOW w AS (PARTITION BY customer_id ORDER BY id)');
    expect(w.outputs.map(summary)).toEqual([derived('running', o('total'))]);
    expect(columns(w)).toEqual([o('customer_id'), o('id'), o('total')]);
  });
});

describe('nested fields and arrays', () => {
  it('struct field access through alias, table name or bare column', () => {
    const s = statement('SELECT c.address.city, customers.address.street AS st, address.city AS c2 FROM crm.customers c, crm.customers');
    expect(s.parsed).toBe(true);
    expect(s.outputs.map(summary)).toEqual([
      direct('city', c('address.city')),
      direct('st', c('address.street')),
      // Two range variables over the same table: the bare column is ambiguous but its table is known.
      { name: 'c2', lineage: 'unknown', direct: false, sources: [c('address.city')], tables: [CUSTOMERS] },
    ]);
  });

  it('UNNEST elements and struct fields of repeated records', () => {
    const s = statement('SELECT i.sku, tag, off FROM sales.orders o, UNNEST(o.items) AS i WITH OFFSET AS off, crm.customers c, UNNEST(c.tags) tag', { schemas });
    expect(s.outputs.map(summary)).toEqual([direct('sku', o('items.sku')), direct('tag', c('tags')), derived('off')]);
  });

  it('implicit UNNEST through an array path of a range variable', () => {
    const s = statement('SELECT item.qty FROM sales.orders o, o.items AS item', { schemas });
    expect(tables(s)).toEqual([`${ORDERS}:read`]);
    expect(s.outputs.map(summary)).toEqual([direct('qty', o('items.qty'))]);
  });

  it('array subscripts transform', () => {
    const s = statement('SELECT items[SAFE_OFFSET(0)].sku AS first_sku FROM sales.orders');
    expect(s.outputs.map(summary)).toEqual([derived('first_sku', o('items.sku'))]);
  });
});

describe('SELECT * and whole rows', () => {
  it('`(expr).*` lists the fields of the value, as `path.*` does', () => {
    // BigQuery returns street and city as two columns: read as one column `*` of source
    // address.*, the street came back unmasked.
    for (const sql of ['SELECT (address).* FROM crm.customers', 'SELECT (SELECT address).* FROM crm.customers', 'SELECT (a).* FROM (SELECT address AS a FROM crm.customers)']) {
      expect(statement(sql, { schemas }).outputs.map(summary), sql).toEqual([direct('street', c('address.street')), direct('city', c('address.city'))]);
    }
    // A computed value: its fields are computed from its sources; a column of unknown fields: unknown.
    expect(statement("SELECT (SELECT AS STRUCT ssn, 'x' AS y).* FROM crm.customers", { schemas }).outputs.map(summary)).toEqual([derived('*', c('ssn'))]);
    expect(statement("SELECT STRUCT('x' AS a, 1 AS b).* FROM crm.customers", { schemas }).outputs.map(summary)).toEqual([derived('*')]);
    expect(statement('SELECT (address).* FROM crm.customers').outputs.map(summary)).toEqual([
      { name: '*', lineage: 'unknown', direct: false, sources: [c('address')], tables: [CUSTOMERS] },
    ]);
    // Only a select list expands it.
    expect(statement('SELECT TO_JSON_STRING((address).*) FROM crm.customers', { schemas }).parsed).toBe(false);
  });

  it('without a schema: one unknown output naming the table', () => {
    const s = statement('SELECT * FROM crm.customers');
    expect(s.outputs).toEqual([
      {
        index: 0,
        name: '*',
        sources: [],
        lineage: 'unknown',
        direct: false,
        reason: `SELECT * over ${CUSTOMERS}, whose schema is not known`,
        tables: [CUSTOMERS],
      },
    ]);
  });

  it('with a schema: one direct output per column, names lower-cased', () => {
    const s = statement('SELECT * FROM crm.customers', { schemas });
    expect(s.outputs.map(summary)).toEqual(['id', 'name', 'email', 'ssn', 'address', 'tags'].map((n) => direct(n, c(n))));
    expect(columns(s)).toHaveLength(6);
  });

  it('t.* next to other columns', () => {
    const s = statement('SELECT o.*, c.email FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id', { schemas });
    expect(s.outputs.map((x) => x.name)).toEqual(['id', 'customer_id', 'total', 'items', 'email']);
    expect(summary(output(s, 'email'))).toEqual(direct('email', c('email')));
  });

  it('* EXCEPT drops columns', () => {
    const s = statement('SELECT * EXCEPT (ssn, address) FROM crm.customers', { schemas });
    expect(s.outputs.map((x) => x.name)).toEqual(['id', 'name', 'email', 'tags']);
  });

  it('* REPLACE swaps a column for an expression', () => {
    const s = statement("SELECT * REPLACE (CONCAT('***', SUBSTR(ssn, -4)) AS ssn) FROM crm.customers", { schemas });
    expect(summary(output(s, 'ssn'))).toEqual(derived('ssn', c('ssn')));
    expect(summary(output(s, 'email'))).toEqual(direct('email', c('email')));
  });

  it('struct.* expands the fields of a known RECORD', () => {
    const s = statement('SELECT address.* FROM crm.customers', { schemas });
    expect(s.outputs.map(summary)).toEqual([direct('street', c('address.street')), direct('city', c('address.city'))]);
  });

  it('a column read through SELECT * of a subquery without schema is still that column', () => {
    const s = statement('SELECT email FROM (SELECT * FROM crm.customers)');
    expect(s.outputs.map(summary)).toEqual([direct('email', c('email'))]);
  });

  it('joins without schemas: unqualified columns are ambiguous, qualified ones are not', () => {
    const s = statement('SELECT c.name, total FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id');
    expect(s.outputs.map(summary)).toEqual([
      direct('name', c('name')),
      { name: 'total', lineage: 'unknown', direct: false, sources: [c('total'), o('total')], tables: [CUSTOMERS, ORDERS] },
    ]);
  });

  it('joins with schemas: unqualified columns resolve to the table that has them', () => {
    const s = statement('SELECT name, total, customer_id FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id', { schemas });
    expect(s.outputs.map(summary)).toEqual([direct('name', c('name')), direct('total', o('total')), direct('customer_id', o('customer_id'))]);
  });

  it.each([
    ['TO_JSON_STRING(row)', 'SELECT TO_JSON_STRING(c) AS j FROM crm.customers c', 'j'],
    ['TO_JSON(row)', 'SELECT TO_JSON(c) AS j FROM crm.customers c', 'j'],
    ['STRUCT(row)', 'SELECT STRUCT(c) AS j FROM crm.customers c', 'j'],
    ['a bare table alias as a value', 'SELECT c FROM crm.customers c', 'c'],
    ['the implicit alias of a table', 'SELECT TO_JSON_STRING(customers) AS j FROM crm.customers', 'j'],
  ])('%s without a schema is unknown', (_label, sql, name) => {
    const s = statement(sql);
    expect(summary(output(s, name))).toEqual({ name, lineage: 'unknown', direct: false, sources: [], tables: [CUSTOMERS] });
    expect(output(s, name).reason).toBe(`the whole row of ${CUSTOMERS} is used as a value and its schema is not known`);
  });

  it('a whole row with a schema flows every column', () => {
    const s = statement('SELECT TO_JSON_STRING(c) AS j FROM crm.customers c', { schemas });
    expect(summary(output(s, 'j'))).toEqual(derived('j', ...['id', 'name', 'email', 'ssn', 'address', 'tags'].map(c)));
  });

  it('SELECT AS STRUCT / AS VALUE at the top level are unknown', () => {
    for (const sql of ['SELECT AS STRUCT name, email FROM crm.customers', 'SELECT AS VALUE STRUCT(name, email) FROM crm.customers']) {
      const s = statement(sql);
      expect(s.outputs).toHaveLength(1);
      expect(summary(s.outputs[0]!)).toEqual({ name: '*', lineage: 'unknown', direct: false, sources: [c('email'), c('name')], tables: [CUSTOMERS] });
    }
  });

  it('a scalar subquery whose column could be correlated is unknown without schemas', () => {
    const s = statement('SELECT (SELECT MAX(ssn) FROM crm.leads) AS m FROM crm.customers');
    expect(summary(output(s, 'm'))).toEqual({
      name: 'm',
      lineage: 'unknown',
      direct: false,
      sources: [c('ssn'), 'acme-analytics.crm.leads:ssn'],
      tables: [CUSTOMERS, 'acme-analytics.crm.leads'],
    });
  });

  it('a scalar subquery resolves with schemas', () => {
    const s = statement('SELECT (SELECT MAX(total) FROM sales.orders o WHERE o.customer_id = c.id) AS biggest, name FROM crm.customers c', { schemas });
    expect(s.outputs.map(summary)).toEqual([derived('biggest', o('total')), direct('name', c('name'))]);
    expect(columns(s)).toEqual([c('id'), c('name'), o('customer_id'), o('total')]);
  });
});

describe('result column names', () => {
  it('repeated names are renamed the way BigQuery renames them', () => {
    const s = statement('SELECT c.id, o.id, o.total FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id');
    expect(s.outputs.map(summary)).toEqual([direct('id', c('id')), direct('id_1', o('id')), direct('total', o('total'))]);
  });

  it('a renamed column colliding with another name has unknown lineage', () => {
    const s = statement('SELECT c.id, o.id, c.ssn AS id_1 FROM crm.customers c JOIN sales.orders o ON o.customer_id = c.id');
    expect(s.outputs.map(summary)).toEqual([
      direct('id', c('id')),
      { name: 'id_1', lineage: 'unknown', direct: false, sources: [o('id')], tables: [CUSTOMERS, ORDERS] },
      direct('id_1', c('ssn')),
    ]);
  });

  it('a renamed column has unknown lineage where a `*` whose names are not known may hold its new name', () => {
    // If orders has a column x_1, BigQuery names the second x otherwise, and a mask on x_1 would
    // land on the orders column, leaving the SSN raw.
    const s = statement('SELECT c.id AS x, c.ssn AS x, o.* FROM crm.customers c, sales.orders o', { schemas: { [CUSTOMERS]: schemas[CUSTOMERS]! } });
    expect(s.outputs.map(summary)[1]).toEqual({ name: 'x_1', lineage: 'unknown', direct: false, sources: [c('ssn')], tables: [CUSTOMERS, ORDERS] });
    const struct = statement("SELECT id AS x, ssn AS x, STRUCT('q' AS x_1, 'r' AS z).* FROM crm.customers", { schemas });
    expect(struct.outputs.map(summary)[1]).toEqual({ name: 'x_1', lineage: 'unknown', direct: false, sources: [c('ssn')], tables: [CUSTOMERS] });
    // With every name known, the new name is the column's.
    expect(statement('SELECT c.id AS x, c.ssn AS x, o.* FROM crm.customers c, sales.orders o', { schemas }).outputs.map(summary)[1]).toEqual(direct('x_1', c('ssn')));
  });

  it('a column after a `*` whose names are not known has unknown lineage: the `*` may hold its name, which BigQuery gives the hidden column', () => {
    // sales.orders without its schema: if it has a column `x`, BigQuery names the result x, …, x_1,
    // and a mask on x would land on the orders column, not on the SSN.
    const s = statement('SELECT o.*, c.ssn AS x FROM crm.customers c, sales.orders o', { schemas: { [CUSTOMERS]: schemas[CUSTOMERS]! } });
    expect(s.outputs.map(summary)[1]).toEqual({ name: 'x', lineage: 'unknown', direct: false, sources: [c('ssn')], tables: [CUSTOMERS, ORDERS] });
    // Before the `*`, the name is the column's own: BigQuery renames the hidden one.
    const before = statement('SELECT c.ssn AS x, o.* FROM crm.customers c, sales.orders o', { schemas: { [CUSTOMERS]: schemas[CUSTOMERS]! } });
    expect(before.outputs.map(summary)[0]).toEqual(direct('x', c('ssn')));
    // `* EXCEPT` that drops the name: it cannot hide it.
    const except = statement('SELECT o.* EXCEPT (x), c.ssn AS x FROM crm.customers c, sales.orders o', { schemas: { [CUSTOMERS]: schemas[CUSTOMERS]! } });
    expect(except.outputs.map(summary)[1]).toEqual(direct('x', c('ssn')));
  });

  it('an unnamed column beside a `*` whose columns are not known has unknown lineage: BigQuery numbers unnamed columns over the whole result', () => {
    // The struct's `*` is two columns to BigQuery, one output to the analysis, so the gateway masks
    // by name: BigQuery names the result a, b, f0_, f1_, f2_, and a mask on the analysis's f1_
    // (the SSN) would land on BigQuery's f1_, the constant 2, leaving the SSN in f2_ raw.
    const s = statement("SELECT STRUCT('x' AS a, 'y' AS b).*, 1, * FROM (SELECT 2, (SELECT ssn) FROM crm.customers)", { schemas });
    expect(s.outputs.map(summary)[3]).toEqual({ name: 'f1_', lineage: 'unknown', direct: false, sources: [c('ssn')], tables: [CUSTOMERS] });
    const single = statement("SELECT (SELECT AS STRUCT 'x' AS f0_).*, (SELECT ssn) FROM crm.customers", { schemas });
    expect(single.outputs.map(summary)[1]).toEqual({ name: 'f0_', lineage: 'unknown', direct: false, sources: [c('ssn')], tables: [CUSTOMERS] });
    // Without a `*` of unknown width, positions align the masks: the column keeps its lineage.
    expect(statement('SELECT 1, * FROM (SELECT 2, (SELECT ssn) FROM crm.customers)', { schemas }).outputs.map(summary)[2]).toEqual(direct('f1_', c('ssn')));
  });

  it('anonymous expressions are f0_, f1_, … in order', () => {
    const s = statement('SELECT 1, email, UPPER(name), LENGTH(ssn) AS n, 2 FROM crm.customers');
    expect(s.outputs.map((x) => x.name)).toEqual(['f0_', 'email', 'f1_', 'n', 'f2_']);
  });
});

describe('other clauses', () => {
  it('QUALIFY after WHERE is parsed and its columns recorded', () => {
    const s = statement('SELECT id, total FROM sales.orders WHERE total > 0 QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY total DESC) = 1');
    expect(s.parsed).toBe(true);
    expect(columns(s)).toEqual([o('customer_id'), o('id'), o('total')]);
    expect(s.functions).toEqual(['ROW_NUMBER']);
  });

  it('EXTRACT … FROM names a column, not a table', () => {
    const s = statement('SELECT EXTRACT(YEAR FROM created_at) AS y FROM sales.orders');
    expect(s.parsed).toBe(true);
    expect(tables(s)).toEqual([`${ORDERS}:read`]);
    expect(s.outputs.map(summary)).toEqual([derived('y', o('created_at'))]);
  });

  it('GROUP BY, HAVING and ORDER BY may name select-list aliases', () => {
    const s = statement('SELECT customer_id AS who, SUM(total) AS spent FROM sales.orders GROUP BY who HAVING spent > 10 ORDER BY spent DESC');
    expect(columns(s)).toEqual([o('customer_id'), o('total')]);
  });

  it('FOR SYSTEM_TIME AS OF is evaluated', () => {
    const s = statement('SELECT total FROM sales.orders FOR SYSTEM_TIME AS OF TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 HOUR)');
    expect(s.parsed).toBe(true);
    expect([...s.functions].sort()).toEqual(['CURRENT_TIMESTAMP', 'TIMESTAMP_SUB']);
  });
});

describe('writes carry the lineage of what they write', () => {
  it('INSERT … WITH … SELECT', () => {
    const s = statement('INSERT INTO crm.archive WITH recent AS (SELECT email FROM crm.customers WHERE id > 5) SELECT email FROM recent');
    expect(s.parsed).toBe(true);
    expect(tables(s)).toEqual(['acme-analytics.crm.archive:write', `${CUSTOMERS}:read`]);
    expect(s.outputs.map(summary)).toEqual([direct('email', c('email'))]);
  });

  it('INSERT … SELECT names outputs after the target columns', () => {
    const s = statement('INSERT INTO crm.archive (who, contact) SELECT name, email FROM crm.customers WHERE id < 10');
    expect(s).toMatchObject({ type: 'INSERT', category: 'write', parsed: true });
    expect(tables(s)).toEqual(['acme-analytics.crm.archive:write', `${CUSTOMERS}:read`]);
    expect(s.outputs.map(summary)).toEqual([direct('who', c('name')), direct('contact', c('email'))]);
  });

  it('INSERT … VALUES reads only what its subqueries read', () => {
    const s = statement('INSERT sales.orders (id, total) VALUES (1, (SELECT MAX(total) FROM sales.orders))');
    expect(tables(s)).toEqual([`${ORDERS}:write`, `${ORDERS}:read`]);
    expect(s.outputs).toEqual([]);
    expect(columns(s)).toEqual([o('total')]);
  });

  it('CREATE TABLE AS SELECT and CREATE VIEW', () => {
    const t = statement('CREATE OR REPLACE TABLE crm.copy AS SELECT ssn FROM crm.customers');
    expect(t).toMatchObject({ type: 'CREATE_TABLE', category: 'ddl', parsed: true });
    expect(tables(t)).toEqual(['acme-analytics.crm.copy:ddl', `${CUSTOMERS}:read`]);
    expect(t.outputs.map(summary)).toEqual([direct('ssn', c('ssn'))]);
    const v = statement('CREATE VIEW crm.v AS SELECT UPPER(email) AS e FROM crm.customers');
    expect(v).toMatchObject({ type: 'CREATE_VIEW', category: 'ddl', parsed: true });
    expect(tables(v)).toEqual(['acme-analytics.crm.v:ddl', `${CUSTOMERS}:read`]);
  });

  it('DROP, TRUNCATE and ALTER name their table', () => {
    expect(tables(statement('DROP TABLE crm.old'))).toEqual(['acme-analytics.crm.old:ddl']);
    expect(statement('TRUNCATE TABLE crm.old')).toMatchObject({ type: 'TRUNCATE_TABLE', category: 'write', parsed: true });
    expect(tables(statement('ALTER TABLE crm.old ADD COLUMN note STRING'))).toEqual(['acme-analytics.crm.old:ddl']);
  });
});

describe('a column a known schema lacks', () => {
  it('through its range variable: unknown lineage naming the table, not a column of it', () => {
    const s = statement('SELECT c.not_a_column FROM crm.customers c', { schemas });
    const out = output(s, 'not_a_column');
    expect(summary(out)).toEqual({ name: 'not_a_column', lineage: 'unknown', direct: false, sources: [], tables: [CUSTOMERS] });
    expect(out.reason).toBe(`column not_a_column is not in the known schema of table ${CUSTOMERS}`);
    expect(columns(s)).toEqual([]);
  });

  it('unqualified, the same: unknown lineage naming the tables in scope', () => {
    const s = statement('SELECT not_a_column FROM crm.customers c', { schemas });
    expect(summary(output(s, 'not_a_column'))).toEqual({ name: 'not_a_column', lineage: 'unknown', direct: false, sources: [], tables: [CUSTOMERS] });
  });

  it('in a predicate, and as a JOIN … USING column of one table: any column of the table may be compared', () => {
    const where = statement("SELECT id FROM crm.customers c WHERE c.not_a_column = 'x'", { schemas });
    expect(predicates(where)).toEqual([c('*')]);
    expect(summary(output(where, 'id'))).toEqual(direct('id', c('id')));
    const using = statement('SELECT COUNT(*) AS n FROM crm.customers a JOIN crm.customers b USING (not_a_column)', { schemas });
    expect(predicates(using)).toEqual([c('*')]);
  });

  it('a RECORD field path and the pseudo-columns BigQuery adds stay columns of the table', () => {
    const s = statement('SELECT c.address.city, c._PARTITIONTIME AS t, c._PARTITIONDATE AS d, c._FILE_NAME AS f, c._TABLE_SUFFIX AS x FROM crm.customers c', { schemas });
    expect(s.outputs.map(summary)).toEqual([
      direct('city', c('address.city')),
      direct('t', c('_partitiontime')),
      direct('d', c('_partitiondate')),
      direct('f', c('_file_name')),
      direct('x', c('_table_suffix')),
    ]);
  });

  it('a pseudo-column named bare is only possibly the table’s: an enclosing query’s column of the name makes it unknown', () => {
    // public.holidays has no _CHANGE_TYPE (only CHANGES' answer has one), so BigQuery reads the
    // name from the enclosing query: the ssn, raw, had it been taken for the holidays' own column.
    const hol = 'acme-analytics.public.holidays';
    const withHolidays = { ...schemas, [hol]: [{ name: 'day', type: 'DATE' }] };
    for (const pseudo of ['_change_type', '_change_timestamp', '_partitiontime', '_partitiondate', '_file_name', '_table_suffix']) {
      const s = statement(`SELECT (SELECT ${pseudo} FROM public.holidays LIMIT 1) AS x FROM (SELECT ssn AS ${pseudo} FROM crm.customers)`, { schemas: withHolidays });
      const x = output(s, 'x');
      expect(x.lineage, pseudo).toBe('unknown');
      expect(sources(x), pseudo).toContain(c('ssn'));
      const filtered = statement(`SELECT id FROM (SELECT id, ssn AS ${pseudo} FROM crm.customers) WHERE EXISTS (SELECT 1 FROM public.holidays WHERE ${pseudo} = '1')`, { schemas: withHolidays });
      expect(predicates(filtered), pseudo).toContain(c('ssn'));
    }
    // With no other column of the name in reach, it is the table's.
    expect(statement('SELECT _PARTITIONTIME AS t FROM crm.customers', { schemas }).outputs.map(summary)).toEqual([direct('t', c('_partitiontime'))]);
  });

  it('an unnamed column of a subquery has no name there: f0_ is only possibly it, as an enclosing query’s f0_ may be read', () => {
    // BigQuery names an unnamed column f0_ in the result only: inside the query (SELECT 1) has no
    // column f0_, and the name is the enclosing query's, the ssn, raw.
    for (const inner of ['(SELECT 1)', '(SELECT * FROM (SELECT 1))', '(SELECT * FROM UNNEST([1]))']) {
      const s = statement(`SELECT (SELECT f0_ FROM ${inner} LIMIT 1) AS x FROM (SELECT ssn AS f0_ FROM crm.customers)`, { schemas });
      const x = output(s, 'x');
      expect(x.lineage, inner).toBe('unknown');
      expect(sources(x), inner).toContain(c('ssn'));
    }
    const filtered = statement("SELECT id FROM (SELECT id, ssn AS f0_ FROM crm.customers) WHERE EXISTS (SELECT 1 FROM (SELECT 1) WHERE f0_ = '1')", { schemas });
    expect(predicates(filtered)).toContain(c('ssn'));
    // A column an alias named so is that column.
    expect(statement('SELECT f0_ FROM (SELECT ssn AS f0_ FROM crm.customers)', { schemas }).outputs.map(summary)).toEqual([direct('f0_', c('ssn'))]);
  });

  it('without the table schema, any column through the range variable is the table’s', () => {
    const s = statement('SELECT c.not_a_column FROM crm.customers c');
    expect(summary(output(s, 'not_a_column'))).toEqual(direct('not_a_column', c('not_a_column')));
  });
});

describe('a field a known STRUCT element lacks', () => {
  it('through the UNNEST range variable: unknown lineage naming the table', () => {
    const s = statement('SELECT i.sku, i.not_a_field FROM sales.orders o, UNNEST(o.items) AS i', { schemas });
    expect(summary(output(s, 'sku'))).toEqual(direct('sku', o('items.sku')));
    expect(summary(output(s, 'not_a_field'))).toEqual({ name: 'not_a_field', lineage: 'unknown', direct: false, sources: [], tables: [ORDERS] });
  });
});
