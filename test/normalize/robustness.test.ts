// Whatever the text, normalize returns a valid document: truncated, spliced or pathological
// SQL becomes unparsed statements, never an exception.
import { describe, expect, it } from 'vitest';
import { run, schemas } from './support.ts';

const corpus = [
  'SELECT c.name AS n, SUM(o.total) FROM `acme-analytics.crm.customers` c JOIN sales.orders o ON o.customer_id = c.id GROUP BY 1',
  'WITH a AS (SELECT id, ssn FROM crm.customers), b AS (SELECT * FROM a) SELECT b.* EXCEPT (ssn) FROM b',
  "MERGE sales.orders t USING (SELECT * FROM sales.staged) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET total = s.total",
  "EXPORT DATA OPTIONS(uri='gs://b/*.csv', format='CSV') AS SELECT email FROM crm.customers",
  "DECLARE d DATE DEFAULT CURRENT_DATE(); BEGIN SELECT 'a;b' FROM sales.orders; END; SELECT \"x\" -- c",
  'SELECT i.sku, ARRAY(SELECT AS STRUCT x FROM UNNEST(o.items) x) FROM sales.orders o, o.items i WHERE i.qty > (SELECT 1)',
  "SELECT * FROM `acme-analytics.web.events_*` WHERE _TABLE_SUFFIX > '2025' UNION ALL SELECT * FROM region-us.INFORMATION_SCHEMA.JOBS",
  'CREATE OR REPLACE TABLE crm.copy AS SELECT TO_JSON_STRING(c) AS j FROM crm.customers c; DROP TABLE crm.copy',
];

function cuts(sql: string): string[] {
  const out: string[] = [];
  for (let i = 1; i < sql.length; i += 5) out.push(sql.slice(0, i), sql.slice(i));
  return out;
}

describe('robustness', () => {
  it('every prefix and suffix of realistic statements yields a valid document', () => {
    let parsed = 0;
    let unparsed = 0;
    for (const sql of corpus) {
      for (const piece of cuts(sql)) {
        const input = run(piece, { schemas, defaultDataset: 'sales' });
        for (const s of input.sql.statements) {
          if (s.parsed) parsed++;
          else {
            unparsed++;
            expect(s.error, piece).toMatch(/\S/);
          }
        }
      }
    }
    // Both outcomes occur: the test exercises the parser's failures and its successes.
    expect(parsed).toBeGreaterThan(20);
    expect(unparsed).toBeGreaterThan(100);
  });

  it('pathologically nested input is unparsed, not a stack overflow', () => {
    const nested = run(`SELECT ${'('.repeat(3000)}1${')'.repeat(3000)}`).sql.statements[0]!;
    expect(nested.parsed).toBe(false);
    // Deeper than the stack: the literal-shape pass walks out of the parentheses in a loop.
    for (const deep of [`SELECT ${'('.repeat(20000)}1${')'.repeat(20000)}`, `SELECT f(${'1,('.repeat(5000)}1${')'.repeat(5001)}`]) {
      const s = run(deep).sql.statements[0]!;
      expect(s.parsed).toBe(false);
      expect(s.error).toMatch(/nested too deeply/);
    }
    // Where `((` may begin a query or something else (a parenthesised join, a list of values), the
    // parser tries the query once per position: a flood of parentheses is refused, not retried.
    for (const flood of [`SELECT * FROM ${'('.repeat(3000)}SELECT 1) x JOIN`, `SELECT 1 IN ${'('.repeat(3000)}SELECT 1), 2`]) {
      const s = run(flood).sql.statements[0]!;
      expect(s.parsed).toBe(false);
      expect(s.error).toMatch(/nested too deeply|syntax not understood/);
    }
    const chained = run(`SELECT ${'a + '.repeat(10000)}1 FROM sales.orders`).sql.statements[0]!;
    expect(chained.parsed).toBe(false);
    expect(chained.error).toMatch(/nested too deeply/);
    expect(chained.tables.map((t) => t.id)).toEqual(['acme-analytics.sales.orders']);
  });
});

describe('select lists beyond any real query', () => {
  const WIDE = 'acme-analytics.crm.wide';
  const wide = { ...schemas, [WIDE]: Array.from({ length: 4000 }, (_, i) => ({ name: `c${i}`, type: 'STRING' })) };
  const timed = (sql: string, options: Parameters<typeof run>[1]) => {
    const started = performance.now();
    const input = run(sql, options);
    return { statements: input.sql.statements, ms: performance.now() - started };
  };

  it('refuses a select list wider than BigQuery allows, and `*` over such a scope, quickly', () => {
    // 3 × 4,000 columns: beyond BigQuery's 10,000.
    const { statements, ms } = timed('SELECT *, *, * FROM crm.wide', { schemas: wide });
    expect(statements[0]!.parsed).toBe(false);
    expect(statements[0]!.error).toMatch(/more than 10,000 columns \(BigQuery's limit\)/);
    const joined = run('SELECT * FROM crm.wide a, crm.wide b, crm.wide c', { schemas: wide }).sql.statements[0]!;
    expect(joined.error).toMatch(/`\*` over more than 10,000 columns/);
    // Two such lists are BigQuery's too, and read.
    expect(run('SELECT *, * FROM crm.wide', { schemas: wide }).sql.statements[0]!.outputs).toHaveLength(8000);
    expect(ms).toBeLessThan(2_000);
  });

  it('refuses `SELECT *, *` doubling through nested queries before it builds millions of columns', () => {
    let sql = 'SELECT * FROM crm.customers';
    for (let i = 0; i < 14; i++) sql = `SELECT *, * FROM (${sql})`;
    const { statements, ms } = timed(sql, { schemas });
    expect(statements[0]!.parsed).toBe(false);
    expect(statements[0]!.error).toMatch(/more than 10,000 columns/);
    expect(ms).toBeLessThan(2_000);
  });

  it("bounds the columns a whole text's statements build, each within BigQuery's limit", () => {
    const one = 'SELECT *, * FROM crm.wide';
    const { statements, ms } = timed(Array(14).fill(one).join(';\n'), { schemas: wide });
    // 8,000 columns each: the first two fit in 20,000, the rest are refused.
    expect(statements.map((s) => s.parsed)).toEqual([...Array(2).fill(true), ...Array(12).fill(false)]);
    expect(statements[2]!.error).toMatch(/build more than 20,000 columns in all/);
    expect(ms).toBeLessThan(4_000);
  });
});

// The analysis runs on the gateway's one event loop, and parts of it grow faster than the text
// (each statement of a script sees every variable set before it; each USING join reorders the
// columns before it). Texts past BigQuery's own bounds, or past 1,000 statements, are refused
// unread: 8,000 DECLAREs took 13 s, 8,000 joins 4 s.
describe('texts beyond what BigQuery runs', () => {
  const repeat = (n: number, item: (i: number) => string, separator: string) => Array.from({ length: n }, (_, i) => item(i)).join(separator);
  const timed = (sql: string) => {
    const started = performance.now();
    const statements = run(sql).sql.statements;
    return { statements, ms: performance.now() - started };
  };

  it('refuses a text over 1 MB, counted in UTF-8 bytes', () => {
    const within = `SELECT '${'é'.repeat(400_000)}' AS x FROM sales.orders`;
    expect(run(within).sql.statements[0]!.parsed).toBe(true);
    const { statements, ms } = timed(`SELECT '${'é'.repeat(530_000)}' AS x FROM sales.orders`);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({ parsed: false, type: 'UNKNOWN' });
    expect(statements[0]!.error).toMatch(/is 1060\d{3} bytes, more than BigQuery's limit of 1 MB/);
    expect(ms).toBeLessThan(2_000);
  });

  it('refuses a script of more than 1,000 statements unread', () => {
    const script = (n: number) => repeat(n, (i) => `DECLARE v${i} STRING DEFAULT (SELECT ssn FROM crm.customers LIMIT 1)`, ';\n');
    expect(run(script(1000)).sql.statements).toHaveLength(1000);
    const { statements, ms } = timed(script(8000));
    expect(statements).toHaveLength(1);
    expect(statements[0]!.error).toMatch(/holds 8000 statements, more than the 1000/);
    expect(ms).toBeLessThan(2_000);
  });

  it('refuses a statement referencing tables more than 1,000 times, naming them', () => {
    const joins = (n: number) => `SELECT c0.ssn FROM crm.customers c0 ${repeat(n, (i) => `JOIN crm.customers c${i + 1} USING (customer_id)`, ' ')}`;
    expect(run(joins(999)).sql.statements[0]!.parsed).toBe(true);
    const { statements, ms } = timed(joins(8000));
    expect(statements[0]).toMatchObject({ parsed: false, tables: [expect.objectContaining({ id: 'acme-analytics.crm.customers' })] });
    expect(statements[0]!.error).toMatch(/references tables 8001 times, more than BigQuery's limit of 1000/);
    expect(ms).toBeLessThan(2_000);
  });
});
