// Pipe query syntax (engine/sql/gsql/pipe.ts): each pipe query gives the same Statement (tables,
// columns, predicate columns, outputs and their lineage) as the standard query written by hand;
// operators the rewrite cannot make exact are refused with their name and line:column, and so are
// rewrites that would hide a range variable a later operator names.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Statement } from '../../engine/schema-types.ts';
import { analyzeSql } from '../../engine/sql/analyze.ts';
import { schemaCatalog } from '../../engine/sql/catalog.ts';
import { classify } from '../../engine/sql/classify.ts';
import { lex } from '../../engine/sql/lexer.ts';
import { parseDefaultDataset, type NameContext } from '../../engine/sql/tables.ts';
import { CUSTOMERS, ORDERS, PROJECT, predicates, schemas } from './support.ts';

const names: NameContext = { project: PROJECT, defaultDataset: parseDefaultDataset('crm', PROJECT) };

function analyse(sql: string): Statement {
  const statements = analyzeSql(sql, names, schemaCatalog(schemas)).sql.statements;
  expect(statements).toHaveLength(1);
  return statements[0]!;
}

/** The pipe query's Statement, checked equal to the standard query's. */
function same(pipe: string, standard: string): Statement {
  const p = analyse(pipe);
  expect(p.parsed, p.error).toBe(true);
  const s = analyse(standard);
  expect(s.parsed, s.error).toBe(true);
  expect(p).toEqual(s);
  return p;
}

function refused(sql: string): string {
  const s = analyse(sql);
  expect(s.parsed).toBe(false);
  return s.error!;
}

const c = (column: string) => `${CUSTOMERS}:${column}`;
const o = (column: string) => `${ORDERS}:${column}`;

describe('pipe operators read as the standard query', () => {
  it.each([
    ['FROM alone', 'FROM crm.customers', 'SELECT * FROM crm.customers'],
    ['FROM with a join', 'FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id', 'SELECT * FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id'],
    ['WHERE', "FROM crm.customers |> WHERE ssn = '1'", "SELECT * FROM crm.customers WHERE ssn = '1'"],
    ['WHERE twice, a range variable kept', "FROM crm.customers c\n|> WHERE c.ssn = '1'\n|> WHERE email LIKE '%x'", "SELECT * FROM crm.customers c WHERE (c.ssn = '1') AND (email LIKE '%x')"],
    ['WHERE with a window function (QUALIFY)', 'FROM crm.customers |> WHERE ROW_NUMBER() OVER (PARTITION BY ssn) = 1', 'SELECT * FROM crm.customers WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY ssn) = 1'],
    [
      'WHERE, WHERE with a window function, WHERE',
      "FROM crm.customers |> WHERE id > 1 |> WHERE ROW_NUMBER() OVER (PARTITION BY ssn) = 1 |> WHERE email = 'x' |> LIMIT 3",
      "SELECT * FROM (SELECT * FROM crm.customers WHERE id > 1 QUALIFY ROW_NUMBER() OVER (PARTITION BY ssn) = 1) WHERE email = 'x' LIMIT 3",
    ],
    ['WHERE after a standard query', "SELECT id, ssn FROM crm.customers |> WHERE ssn = '1'", "SELECT * FROM (SELECT id, ssn FROM crm.customers) WHERE ssn = '1'"],
    ['SELECT', 'FROM crm.customers |> SELECT id, UPPER(email) AS e', 'SELECT id, UPPER(email) AS e FROM crm.customers'],
    ['SELECT after WHERE', "FROM crm.customers c |> WHERE c.ssn = '1' |> SELECT c.id", "SELECT c.id FROM crm.customers c WHERE c.ssn = '1'"],
    ['SELECT DISTINCT', 'FROM crm.customers |> SELECT DISTINCT email', 'SELECT DISTINCT email FROM crm.customers'],
    [
      'JOIN a parenthesised join USING',
      'FROM sales.orders o |> JOIN (sales.orders p JOIN crm.customers c USING (id)) USING (id) |> SELECT id, o.id, p.id, c.id',
      'SELECT id, o.id, p.id, c.id FROM sales.orders o JOIN (sales.orders p JOIN crm.customers c USING (id)) USING (id)',
    ],
    ['SELECT AS VALUE, the last operator', 'FROM crm.customers |> WHERE id > 1 |> SELECT AS VALUE email', 'SELECT AS VALUE email FROM crm.customers WHERE id > 1'],
    ['SELECT DISTINCT AS STRUCT', 'FROM crm.customers |> SELECT DISTINCT AS STRUCT ssn, email', 'SELECT DISTINCT AS STRUCT ssn, email FROM crm.customers'],
    [
      'SELECT AS STRUCT in a scalar subquery, naming an outer column',
      'SELECT (SELECT id, ssn FROM crm.customers |> SELECT AS STRUCT *, t) AS s FROM UNNEST([1, 2]) t',
      'SELECT (SELECT AS STRUCT *, t FROM (SELECT id, ssn FROM crm.customers)) AS s FROM UNNEST([1, 2]) t',
    ],
    ['SELECT … WINDOW', 'FROM crm.customers |> SELECT id, ROW_NUMBER() OVER w AS n WINDOW w AS (ORDER BY ssn)', 'SELECT id, ROW_NUMBER() OVER w AS n FROM crm.customers WINDOW w AS (ORDER BY ssn)'],
    ['EXTEND', 'FROM crm.customers |> EXTEND UPPER(email) AS e', 'SELECT *, UPPER(email) AS e FROM crm.customers'],
    ['EXTEND twice', 'FROM crm.customers |> EXTEND UPPER(email) AS e |> EXTEND LOWER(Name) AS n', 'SELECT *, UPPER(email) AS e, LOWER(Name) AS n FROM crm.customers'],
    ['EXTEND of an added column', 'FROM crm.customers |> EXTEND UPPER(email) AS e |> EXTEND LOWER(e) AS l', 'SELECT *, LOWER(e) AS l FROM (SELECT *, UPPER(email) AS e FROM crm.customers)'],
    ['WHERE on an added column', "FROM crm.customers |> EXTEND UPPER(ssn) AS s |> WHERE s = 'X'", "SELECT * FROM (SELECT *, UPPER(ssn) AS s FROM crm.customers) WHERE s = 'X'"],
    ['WHERE after EXTEND, on the range variable', "FROM crm.customers c |> EXTEND UPPER(email) AS e |> WHERE c.ssn = '1'", "SELECT *, UPPER(email) AS e FROM crm.customers c WHERE c.ssn = '1'"],
    ['EXTEND … WINDOW', 'FROM crm.customers |> EXTEND ROW_NUMBER() OVER w AS n WINDOW w AS (ORDER BY ssn)', 'SELECT *, ROW_NUMBER() OVER w AS n FROM crm.customers WINDOW w AS (ORDER BY ssn)'],
    ['WINDOW', 'FROM crm.customers |> WINDOW ROW_NUMBER() OVER (ORDER BY ssn) AS n', 'SELECT *, ROW_NUMBER() OVER (ORDER BY ssn) AS n FROM crm.customers'],
    ['SET', 'FROM crm.customers |> SET email = UPPER(email), Name = ssn', 'SELECT * REPLACE (UPPER(email) AS email, ssn AS Name) FROM crm.customers'],
    ['DROP', 'FROM crm.customers |> DROP ssn, tags', 'SELECT * EXCEPT (ssn, tags) FROM crm.customers'],
    ['AS', "FROM crm.customers |> SELECT id, ssn |> AS k |> WHERE k.ssn = '1'", "SELECT * FROM (SELECT id, ssn FROM crm.customers) AS k WHERE k.ssn = '1'"],
    ['AGGREGATE … GROUP BY', 'FROM crm.customers |> AGGREGATE COUNT(*) AS n GROUP BY ssn', 'SELECT ssn, COUNT(*) AS n FROM crm.customers GROUP BY ssn'],
    ['AGGREGATE … GROUP BY an alias', 'FROM crm.customers |> AGGREGATE COUNT(*) AS n, MAX(email) AS m GROUP BY address.city AS city', 'SELECT address.city AS city, COUNT(*) AS n, MAX(email) AS m FROM crm.customers GROUP BY address.city'],
    ['AGGREGATE without GROUP BY', 'FROM crm.customers |> AGGREGATE COUNT(*) AS n, MAX(ssn) AS m', 'SELECT COUNT(*) AS n, MAX(ssn) AS m FROM crm.customers'],
    ['AGGREGATE of GROUP BY only', 'FROM crm.customers |> AGGREGATE GROUP BY email, ssn', 'SELECT email, ssn FROM crm.customers GROUP BY email, ssn'],
    ['AGGREGATE after WHERE, then WHERE', "FROM crm.customers |> WHERE id > 10 |> AGGREGATE COUNT(*) AS n GROUP BY email |> WHERE n > 1", 'SELECT * FROM (SELECT email, COUNT(*) AS n FROM crm.customers WHERE id > 10 GROUP BY email) WHERE n > 1'],
    ['AGGREGATE … GROUP BY ()', 'FROM crm.customers |> AGGREGATE COUNT(*) AS n, MAX(ssn) AS m GROUP BY ()', 'SELECT COUNT(*) AS n, MAX(ssn) AS m FROM crm.customers'],
    ['AGGREGATE … GROUP BY ROLLUP: a column per distinct name', 'FROM crm.customers |> AGGREGATE COUNT(*) AS n GROUP BY ROLLUP(email, ssn, EMAIL)', 'SELECT email, ssn, COUNT(*) AS n FROM crm.customers GROUP BY ROLLUP(email, ssn, EMAIL)'],
    [
      'AGGREGATE … GROUP BY GROUPING SETS with CUBE, and a key',
      'FROM crm.customers |> AGGREGATE COUNT(*) AS n, GROUPING(email) AS g GROUP BY GROUPING SETS((), (email, ssn), CUBE(Name, email)), id',
      'SELECT email, ssn, Name, id, COUNT(*) AS n, GROUPING(email) AS g FROM crm.customers GROUP BY GROUPING SETS((), (email, ssn), CUBE(Name, email)), id',
    ],
    ['AGGREGATE twice', 'FROM sales.orders |> AGGREGATE SUM(total) AS t GROUP BY customer_id |> AGGREGATE MAX(t) AS m', 'SELECT MAX(t) AS m FROM (SELECT customer_id, SUM(total) AS t FROM sales.orders GROUP BY customer_id)'],
    ['ORDER BY', 'FROM crm.customers |> ORDER BY ssn DESC', 'SELECT * FROM crm.customers ORDER BY ssn DESC'],
    ['ORDER BY an added column', 'FROM crm.customers |> EXTEND UPPER(ssn) AS s |> ORDER BY s', 'SELECT *, UPPER(ssn) AS s FROM crm.customers ORDER BY s'],
    ['ORDER BY after SELECT', 'FROM crm.customers |> SELECT id, ssn AS tax |> ORDER BY tax', 'SELECT * FROM (SELECT id, ssn AS tax FROM crm.customers) ORDER BY tax'],
    ['ORDER BY twice', 'FROM crm.customers |> ORDER BY ssn |> ORDER BY email', 'SELECT * FROM (SELECT * FROM crm.customers ORDER BY ssn) ORDER BY email'],
    ['WHERE, ORDER BY, LIMIT … OFFSET', 'FROM crm.customers |> WHERE id > 1 |> ORDER BY ssn |> LIMIT 10 OFFSET 5', 'SELECT * FROM crm.customers WHERE id > 1 ORDER BY ssn LIMIT 10 OFFSET 5'],
    ['LIMIT twice', 'FROM crm.customers |> LIMIT 10 |> LIMIT 5', 'SELECT * FROM (SELECT * FROM crm.customers LIMIT 10) LIMIT 5'],
    ['JOIN', 'FROM sales.orders o |> JOIN crm.customers c ON c.id = o.customer_id |> SELECT o.total, c.email', 'SELECT o.total, c.email FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id'],
    ['LEFT JOIN … USING', 'FROM sales.orders |> LEFT JOIN (SELECT id AS customer_id, ssn FROM crm.customers) USING (customer_id)', 'SELECT * FROM sales.orders LEFT JOIN (SELECT id AS customer_id, ssn FROM crm.customers) USING (customer_id)'],
    ['JOIN after WHERE', 'FROM sales.orders |> WHERE total > 0 |> JOIN crm.customers c ON c.id = customer_id', 'SELECT * FROM (SELECT * FROM sales.orders WHERE total > 0) JOIN crm.customers c ON c.id = customer_id'],
    ['CROSS JOIN after AS', 'FROM sales.orders |> AS o |> CROSS JOIN crm.customers c |> WHERE c.id = o.customer_id', 'SELECT * FROM (SELECT * FROM sales.orders) AS o CROSS JOIN crm.customers c WHERE c.id = o.customer_id'],
    ['DISTINCT', 'FROM crm.customers |> DISTINCT', 'SELECT DISTINCT * FROM crm.customers'],
    ['DISTINCT after SELECT', 'FROM crm.customers |> SELECT email |> DISTINCT', 'SELECT DISTINCT * FROM (SELECT email FROM crm.customers)'],
    ['UNION ALL', 'FROM crm.customers |> SELECT ssn |> UNION ALL (SELECT CAST(id AS STRING) FROM sales.orders)', 'SELECT * FROM (SELECT ssn FROM crm.customers) UNION ALL (SELECT CAST(id AS STRING) FROM sales.orders)'],
    ['UNION DISTINCT of two', 'SELECT email FROM crm.customers |> UNION DISTINCT (SELECT ssn FROM crm.customers), (SELECT Name FROM crm.customers)', 'SELECT * FROM (SELECT email FROM crm.customers) UNION DISTINCT (SELECT ssn FROM crm.customers) UNION DISTINCT (SELECT Name FROM crm.customers)'],
    ['INTERSECT DISTINCT', "SELECT ssn FROM crm.customers |> INTERSECT DISTINCT (SELECT '1')", "SELECT * FROM (SELECT ssn FROM crm.customers) INTERSECT DISTINCT (SELECT '1')"],
    ['EXCEPT DISTINCT', "SELECT ssn FROM crm.customers |> EXCEPT DISTINCT (SELECT '1')", "SELECT * FROM (SELECT ssn FROM crm.customers) EXCEPT DISTINCT (SELECT '1')"],
    ['TABLESAMPLE', 'FROM crm.customers |> TABLESAMPLE SYSTEM (10 PERCENT) |> SELECT id', 'SELECT id FROM crm.customers TABLESAMPLE SYSTEM (10 PERCENT)'],
    ['PIVOT', 'FROM sales.orders |> SELECT customer_id, total, id |> PIVOT (SUM(total) FOR id IN (1, 2)) AS p', 'SELECT * FROM (SELECT customer_id, total, id FROM sales.orders) PIVOT (SUM(total) FOR id IN (1, 2)) AS p'],
    ['UNPIVOT', 'FROM crm.customers |> SELECT id, email, ssn |> UNPIVOT (v FOR k IN (email, ssn))', 'SELECT * FROM (SELECT id, email, ssn FROM crm.customers) UNPIVOT (v FOR k IN (email, ssn))'],
    ['in a WHERE subquery', 'SELECT id FROM crm.customers WHERE id IN (FROM sales.orders |> WHERE total > 100 |> SELECT customer_id)', 'SELECT id FROM crm.customers WHERE id IN (SELECT customer_id FROM sales.orders WHERE total > 100)'],
    ['in a WITH body', 'WITH big AS (FROM sales.orders |> WHERE total > 100) SELECT customer_id FROM big', 'WITH big AS (SELECT * FROM sales.orders WHERE total > 100) SELECT customer_id FROM big'],
    ['in a FROM subquery', 'SELECT n FROM (FROM crm.customers |> AGGREGATE COUNT(*) AS n GROUP BY ssn)', 'SELECT n FROM (SELECT ssn, COUNT(*) AS n FROM crm.customers GROUP BY ssn)'],
    ['a pipe operator after a parenthesised query', '(SELECT id, ssn FROM crm.customers) |> AS k |> SELECT k.ssn', 'SELECT k.ssn FROM ((SELECT id, ssn FROM crm.customers)) AS k'],
  ])('%s', (_, pipe, standard) => {
    same(pipe, standard);
  });

  it('is a SELECT statement, a read, when it starts with FROM', () => {
    expect(classify(lex('FROM crm.customers |> WHERE id = 1').tokens)).toEqual({ type: 'SELECT', category: 'read' });
    expect(classify(lex('(FROM crm.customers)').tokens)).toEqual({ type: 'SELECT', category: 'read' });
  });

  it('reads lower case and no spaces around |> alike; |> in a string or a comment is no operator', () => {
    same("from crm.customers|>where ssn='x'|>select id", "SELECT id FROM crm.customers WHERE ssn='x'");
    const s = analyse("SELECT '|> WHERE ssn = 1' AS s, email FROM crm.customers -- |> WHERE ssn = 2");
    expect(s.parsed, s.error).toBe(true);
    expect(s.predicate_columns).toEqual([]);
  });

  it('a long chain of operators stays one SELECT', () => {
    const s = analyse(`FROM crm.customers ${'|> WHERE TRUE '.repeat(2000)}|> SELECT id`);
    expect(s.parsed, s.error).toBe(true);
    expect(s.tables.map((t) => t.id)).toEqual([CUSTOMERS]);
  });
});

describe('predicate columns of pipe operators', () => {
  it.each([
    ['WHERE', "FROM crm.customers |> WHERE ssn = '123-45-6789' |> SELECT id", [c('ssn')]],
    ['AGGREGATE … GROUP BY', 'FROM crm.customers |> AGGREGATE COUNT(*) AS n GROUP BY ssn |> SELECT n', [c('ssn')]],
    ['AGGREGATE … GROUP BY GROUPING SETS', 'FROM crm.customers |> AGGREGATE COUNT(*) AS n GROUP BY GROUPING SETS ((ssn), ROLLUP (email)) |> SELECT n', [c('email'), c('ssn')]],
    ['ORDER BY', 'FROM crm.customers |> ORDER BY ssn |> SELECT id', [c('ssn')]],
    ['ORDER BY after EXTEND', 'FROM crm.customers |> EXTEND UPPER(ssn) AS s |> ORDER BY s |> SELECT id', [c('ssn')]],
    ['JOIN ON', 'FROM sales.orders o |> JOIN crm.customers c ON c.ssn = CAST(o.customer_id AS STRING) |> SELECT o.id', [c('ssn'), o('customer_id')]],
    ['WHERE after AGGREGATE (HAVING)', "FROM crm.customers |> AGGREGATE MAX(ssn) AS m GROUP BY email |> WHERE m = '1' |> SELECT email", [c('email'), c('ssn')]],
    ['DISTINCT', 'FROM crm.customers |> SELECT ssn |> DISTINCT', [c('ssn')]],
    ['WHERE with a window function', 'FROM crm.customers |> WHERE ROW_NUMBER() OVER (PARTITION BY ssn) = 1 |> SELECT id', [c('ssn')]],
    ['a window in EXTEND', 'FROM crm.customers |> EXTEND ROW_NUMBER() OVER (PARTITION BY ssn) AS n |> SELECT id, n', [c('ssn')]],
  ])('%s', (_, sql, expected) => {
    const s = analyse(sql);
    expect(s.parsed, s.error).toBe(true);
    expect(predicates(s)).toEqual([...expected].sort());
  });

  it('reads lineage through the rewritten query', () => {
    const s = analyse('FROM crm.customers c |> EXTEND UPPER(c.ssn) AS tax |> SELECT tax, email');
    expect(s.parsed, s.error).toBe(true);
    expect(s.outputs.map((x) => [x.name, x.lineage, x.sources.map((r) => `${r.table}:${r.column}`)])).toEqual([
      ['tax', 'known', [c('ssn')]],
      ['email', 'known', [c('email')]],
    ]);
  });
});

describe('pipe operators refused', () => {
  it.each([
    ['CALL', 'FROM crm.customers\n|> CALL tvf(1)', 'pipe operator |> CALL is not analysed at 2:1'],
    ['RENAME (it keeps the column in its place)', 'FROM crm.customers |> RENAME ssn AS tax', 'pipe operator |> RENAME is not analysed at 1:20'],
    ['STATIC_DESCRIBE', 'FROM crm.customers |> STATIC_DESCRIBE', 'pipe operator |> STATIC_DESCRIBE is not analysed at 1:20'],
    ['ASSERT', 'FROM crm.customers |> ASSERT id > 0', 'pipe operator |> ASSERT is not analysed at 1:20'],
    ['WITH', 'FROM crm.customers |> WITH t AS (SELECT 1) |> SELECT id', 'pipe operator |> WITH is not analysed at 1:20'],
    ['a terminal operator', 'FROM crm.customers |> EXPORT DATA OPTIONS (uri = "gs://b/*.csv", format = "CSV")', 'pipe operator |> EXPORT DATA is not analysed at 1:20'],
    ['AGGREGATE … GROUP BY ROLLUP of an expression', 'FROM crm.customers |> AGGREGATE COUNT(*) GROUP BY ROLLUP (UPPER(email), ssn)', 'pipe operator |> AGGREGATE … GROUP BY ROLLUP, CUBE or GROUPING SETS of anything but column names is not analysed at 1:20'],
    ['AGGREGATE … GROUP BY ROLLUP, an aggregate named as a key', 'FROM crm.customers |> AGGREGATE COUNT(*) AS ssn GROUP BY ROLLUP (email, ssn)', 'pipe operator |> AGGREGATE with an aggregate named as a grouping column is not analysed at 1:20'],
    ['AGGREGATE … GROUP BY () with a key', 'FROM crm.customers |> AGGREGATE COUNT(*) GROUP BY (), ssn', 'pipe operator |> AGGREGATE … GROUP BY () among other keys is not analysed at 1:20'],
    ['AGGREGATE … GROUP AND ORDER BY', 'FROM crm.customers |> AGGREGATE COUNT(*) GROUP AND ORDER BY ssn', 'pipe operator |> AGGREGATE … GROUP AND ORDER BY is not analysed at 1:20'],
    ['AGGREGATE with an ordering suffix', 'FROM crm.customers |> AGGREGATE COUNT(*) AS n DESC GROUP BY ssn', 'pipe operator |> AGGREGATE with an ordering suffix (ASC, DESC) is not analysed at 1:20'],
    // BigQuery refuses both ("GROUP BY ordinal not allowed in pipe AGGREGATE"); the standard form would read a position as a constant.
    ['AGGREGATE … GROUP BY a position', 'FROM crm.customers |> EXTEND SUBSTR(ssn, 1, 1) AS p |> AGGREGATE ARRAY_AGG(id) AS ids GROUP BY 1', 'pipe operator |> AGGREGATE … GROUP BY a position is not analysed at 1:53'],
    ['AGGREGATE … GROUP BY a position with an alias', 'FROM crm.customers |> AGGREGATE COUNT(*) AS n GROUP BY email, (2) AS k', 'pipe operator |> AGGREGATE … GROUP BY a position is not analysed at 1:20'],
    ['AGGREGATE … GROUP BY ALL', 'FROM crm.customers |> AGGREGATE COUNT(*) AS n GROUP BY ALL', 'pipe operator |> AGGREGATE … GROUP BY ALL is not analysed at 1:20'],
    ['SELECT AS STRUCT followed by another operator', 'FROM crm.customers |> SELECT AS STRUCT id |> WHERE id = 1', 'pipe operator |> SELECT AS … (a value table) followed by another operator is not analysed at 1:20'],
    ['SELECT AS a type', 'FROM crm.customers |> SELECT AS ds.KeyValue id', 'pipe operator |> SELECT AS … (a value table) is not analysed at 1:20'],
    ['a value table as input', 'SELECT AS STRUCT 1 AS a |> WHERE a = 1', 'pipe operator |> WHERE on a value table (SELECT AS …) is not analysed at 1:25'],
    ['UNION … BY NAME', 'FROM crm.customers |> UNION ALL BY NAME (SELECT 1 AS id)', 'pipe operator |> UNION of anything but parenthesised queries is not analysed at 1:20'],
    ['TABLESAMPLE of anything but a table', 'FROM crm.customers |> WHERE id > 1 |> TABLESAMPLE SYSTEM (10 PERCENT)', 'pipe operator |> TABLESAMPLE on anything but a single table is not analysed at 1:36'],
    ['a pipe operator after WITH', 'WITH a AS (SELECT 1 AS x) SELECT * FROM a |> WHERE x = 1', 'pipe operator |> WHERE after a WITH clause is not analysed at 1:43'],
  ])('%s', (_, sql, message) => {
    expect(refused(sql)).toBe(message);
  });

  it('when a wrap would hide a range variable a later operator names', () => {
    expect(refused("FROM crm.customers c\n|> EXTEND UPPER(email) AS e\n|> WHERE e = 'X' AND c.ssn = '1'")).toBe(
      'pipe operator |> WHERE after EXTEND, SET, DROP, ORDER BY, LIMIT or DISTINCT, with `c` named after it (a range variable or pseudo-column it keeps), is not analysed at 3:1',
    );
    // After SET the range variable still holds the value before it: `c.email` is the original.
    expect(refused('FROM crm.customers c |> SET email = ssn |> WHERE c.email = "x"')).toMatch(/^pipe operator \|> WHERE after EXTEND, SET, .* with `c` named after it/);
    // A pseudo-column of the table is not a column of the wrapped query.
    expect(refused('FROM crm.customers |> ORDER BY id |> WHERE _PARTITIONTIME IS NULL')).toMatch(/with `_PARTITIONTIME` named after it/);
  });

  it('FROM UNNEST alone, a value table, unless SELECT or AGGREGATE names the columns', () => {
    expect(refused('FROM UNNEST([STRUCT(1 AS a)]) AS u |> WHERE a = 1')).toMatch(/^a pipe query FROM UNNEST\(…\) alone \(a value table\)/);
    expect(analyse('FROM UNNEST([STRUCT(1 AS a)]) AS u |> SELECT u.a').parsed).toBe(true);
  });

  it('names the tables of a refused pipe query from the token scan', () => {
    const s = analyse('FROM crm.customers\n|> JOIN sales.orders ON TRUE\n|> CALL tvf(1)');
    expect(s.parsed).toBe(false);
    expect(s.tables.map((t) => t.id).sort()).toEqual([CUSTOMERS, ORDERS]);
  });

  it('reports a parse error where it is written, or at the operator whose standard form holds it', () => {
    expect(refused('FROM crm.customers\n|> WHERE ssn = = 1')).toBe('syntax not understood near `=` at 2:16 (parser: invalid expression)');
    expect(refused('FROM crm.customers\n|> AGGREGATE COUNT(*) GROUP BY ssn +')).toBe('syntax not understood in the standard form of pipe operator |> AGGREGATE at 2:1 (parser: invalid expression)');
  });

  it('leaves pipe syntax in statements other than queries to the parser', () => {
    expect(refused('DELETE FROM crm.customers WHERE id IN (SELECT 1 |> LIMIT 5)')).toMatch(/^syntax not understood near `\|>` at 1:49/);
  });
});

describe("the corpus's pipe queries", () => {
  const dir = new URL('../../fixtures/sql-corpus/', import.meta.url);
  const corpus = readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(new URL(f, dir), 'utf8').trim().split('\n'))
    .map((l) => JSON.parse(l) as { id: string; sql: string })
    .filter((r) => r.sql.includes('|>') || /^\s*\(*\s*from\b/i.test(r.sql));
  const kv: NameContext = { project: 'p', defaultDataset: parseDefaultDataset('d', 'p') };
  const read = (sql: string) => analyzeSql(sql, kv, schemaCatalog(undefined)).sql.statements[0]!;

  it('are understood, or refused with a reason and a line:column', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(81);
    const understood = corpus.filter((r) => read(r.sql).parsed).length;
    expect(understood).toBeGreaterThanOrEqual(54);
    for (const r of corpus) {
      const s = read(r.sql);
      if (!s.parsed) expect(s.error, r.id).toMatch(/(\d+:\d+|not analysed|table position)/);
    }
  });

  it.each([
    ['zetasql:ebd92d0b3b0e', 'SELECT * FROM (SELECT key, key AS key2, key+1, key+2 AS key_plus_2 FROM KeyValue GROUP BY key, key2, 3, 4) WHERE key2 = key_plus_2'],
    ['zetasql:2dfa48876c2c', 'SELECT * FROM KeyValue kv1 JOIN KeyValue kv2 USING (key) JOIN KeyValue kv3 USING (key) WHERE kv1.key + kv2.key = kv3.key'],
    ['zetasql:592ac9d56f8a', "SELECT kv1.key, kv2.key, key, 'xx', *, 'yy', kv1.* FROM KeyValue kv1 FULL OUTER JOIN KeyValue kv2 USING (key)"],
    ['zetasql:49c1dd7482c5', 'SELECT key, max_value, RANK() OVER (ORDER BY max_value) FROM (SELECT key, max(value) AS max_value FROM KeyValue GROUP BY key)'],
    ['zetasql:7929067e34ce', 'WITH q AS (SELECT t2.* FROM (SELECT * FROM (SELECT [1] AS arr) AS t1 JOIN UNNEST(arr) AS a) AS t2 LEFT JOIN (SELECT 10 AS x) AS t3 ON true) SELECT * FROM q'],
    ['zetasql:aeca624703b3', 'SELECT * FROM KeyValue WHERE key > 10'],
    ['zetasql:f9c2c52e0a78', 'SELECT COUNT(DISTINCT z) c FROM (SELECT x, AVG(z) z FROM (SELECT x, y, sum(z) z FROM (select 1 x, 2 y, 3 z) GROUP BY x, y) GROUP BY x)'],
  ])('%s reads as its standard form', (id, standard) => {
    const r = corpus.find((x) => x.id === id)!;
    const p = read(r.sql);
    expect(p.parsed, p.error).toBe(true);
    const s = read(standard);
    expect(s.parsed, s.error).toBe(true);
    expect(p).toEqual(s);
  });
});
