// The literal-insensitive analysis cache: texts that differ only in value literals share one
// parse, and everything else (names, quoting, keywords, context, literals read as names) never
// shares.
import { describe, expect, it } from 'vitest';
import { analyzeSql } from '../../engine/sql/analyze.ts';
import { sqlHash } from '../../engine/sql/analysis.ts';
import { schemaCatalog } from '../../engine/sql/catalog.ts';
import { lex } from '../../engine/sql/lexer.ts';
import { literalShape, valueLiterals } from '../../engine/sql/literals.ts';
import { clearNormalizeCache, normalize, normalizeCacheStats, type NormalizeRequest } from '../../engine/normalize.ts';
import type { PolicyInput } from '../../engine/schema-types.ts';
import { identity, PROJECT, schemas } from './support.ts';

function request(sql: string, overrides: Partial<NormalizeRequest> = {}): NormalizeRequest {
  return { identity, project: PROJECT, sql, schemas, now: new Date('2027-01-15T08:00:00Z'), ...overrides };
}

/** Normalizes and reports whether the analysis was parsed, found by shape or by text. */
function normalized(sql: string, overrides: Partial<NormalizeRequest> = {}): { input: PolicyInput; source: 'analysed' | 'shape' | 'text' } {
  const before = normalizeCacheStats();
  const input = normalize(request(sql, overrides));
  const after = normalizeCacheStats();
  const source = after.analysed > before.analysed ? 'analysed' : after.shapeHits > before.shapeHits ? 'shape' : 'text';
  return { input, source };
}

/**
 * Normalizes twice: the caches take a text and its shape the second time they come (a first sight
 * is only noted), so afterwards both are cached; returns the second.
 */
function seenTwice(sql: string, overrides: Partial<NormalizeRequest> = {}): { input: PolicyInput; source: 'analysed' | 'shape' | 'text' } {
  expect(normalized(sql, overrides).source).toBe('analysed');
  return normalized(sql, overrides);
}

/** The document as a fresh analysis (no cache) of the same request produces it. */
function fresh(sql: string, overrides: Partial<NormalizeRequest> = {}): PolicyInput {
  clearNormalizeCache();
  return normalize(request(sql, overrides));
}

function shape(sql: string): string | undefined {
  return literalShape(sql, lex(sql).tokens);
}

const JOIN = (units: string, status: string) =>
  'SELECT c.email, SUM(o.total) AS spent FROM `acme-analytics.sales.orders` o JOIN crm.customers c ON c.id = o.customer_id ' +
  `WHERE o.total > ${units} AND c.Name LIKE ${status} GROUP BY c.email ORDER BY spent DESC LIMIT 10`;

describe('literal shape', () => {
  it('a text seen once is noted, not cached; the second sight caches it and its shape', () => {
    clearNormalizeCache();
    expect(normalized(JOIN('100', "'a%'")).source).toBe('analysed');
    expect(normalized(JOIN('250', "'zz top%'")).source).toBe('analysed'); // its shape's second sight: cached
    expect(normalized(JOIN('100', "'a%'")).source).toBe('shape'); // its text's second sight: cached
    expect(normalized(JOIN('100', "'a%'")).source).toBe('text');
    expect(normalized(JOIN('7', "'q'")).source).toBe('shape');
  });

  it('two literal variants share one parse and differ only in text and hash', () => {
    clearNormalizeCache();
    const first = seenTwice(JOIN('100', "'a%'"));
    const second = normalized(JOIN('250', "'zz top%'"));
    expect(first.source).toBe('analysed');
    expect(second.source).toBe('shape');
    expect(second.input.sql.statements).toBe(first.input.sql.statements);
    expect(second.input.sql.text).toBe(JOIN('250', "'zz top%'"));
    expect(second.input.sql.hash).toBe(sqlHash(JOIN('250', "'zz top%'"), { project: PROJECT }));
    expect(second.input.sql.hash).not.toBe(first.input.sql.hash);
    // Exactly what analysing the variant from scratch gives.
    expect(second.input).toEqual(fresh(JOIN('250', "'zz top%'")));
  });

  it('the variant is then cached by its own text, frozen', () => {
    clearNormalizeCache();
    seenTwice(JOIN('1', "'x'"));
    normalized(JOIN('2', "'y'"));
    const variant = normalized(JOIN('2', "'y'"));
    const again = normalized(JOIN('2', "'y'"));
    expect(again.source).toBe('text');
    expect(again.input.sql).toBe(variant.input.sql);
    expect(Object.isFrozen(again.input.sql)).toBe(true);
  });

  it('values in lists, typed literals, CASE arms, calls and negative numbers are abstracted', () => {
    const sql = (a: string, b: string, c: string, d: string) =>
      `SELECT CASE WHEN total > ${a} THEN 'big' ELSE ${b} END AS size, COALESCE(email, ${b}) FROM crm.customers ` +
      `WHERE id IN (${a}, ${c}) AND created >= DATE ${d} AND total > -${a} AND Name = "${c}"`;
    expect(valueLiterals(lex(sql('1', "'s'", '3', "'2024-01-01'")).tokens)).toHaveLength(9);
    clearNormalizeCache();
    expect(seenTwice(sql('1', "'s'", '3', "'2024-01-01'")).source).toBe('analysed');
    expect(normalized(sql('77', "'other'", '0', "'1999-12-31'")).source).toBe('shape');
    expect(normalize(request(sql('77', "'other'", '0', "'1999-12-31'")))).toEqual(fresh(sql('77', "'other'", '0', "'1999-12-31'")));
  });

  it('a literal keeps its class: string, double-quoted string, integer and decimal differ', () => {
    const base = shape("SELECT 1 FROM t WHERE a = 'x'");
    expect(shape("SELECT 1 FROM t WHERE a = 'yy'")).toBe(base);
    expect(shape('SELECT 1 FROM t WHERE a = "x"')).not.toBe(base);
    expect(shape('SELECT 1 FROM t WHERE a = 5')).not.toBe(base);
    expect(shape('SELECT 1 FROM t WHERE a = 5')).not.toBe(shape('SELECT 1 FROM t WHERE a = 5.5'));
    expect(shape('SELECT 1 FROM t WHERE a = 5')).toBe(shape('SELECT 2 FROM t WHERE a = 123456789012345678901234567890'));
  });

  it('a placeholder cannot be spelled by the text itself', () => {
    // The text's own NUL is doubled: no text without the literal shapes like one with it.
    expect(shape("SELECT 1 FROM t WHERE a = 'x'")).not.toBe(shape("SELECT 1 FROM t WHERE a = '\u0000s'"));
    expect(shape("SELECT 1 FROM t WHERE a = 'x' -- \u0000s")).not.toBe(shape("SELECT 1 FROM t WHERE a = 'x' -- 'y'"));
  });

  it('only plain spellings are abstracted', () => {
    for (const literal of ["r'x'", "b'x'", "'''x'''", "'it\\'s'", "'a\nb'", "'\u0007'", '0x1F', '1e10', '1.', '.5']) {
      expect(shape(`SELECT a FROM t WHERE a = ${literal}`), literal).toBeUndefined();
    }
  });
});

describe('literal shape never shares across', () => {
  /** With `a` cached, `b` is analysed (it finds no shared entry), and matches a fresh analysis. */
  function distinct(a: string, b: string, overridesB: Partial<NormalizeRequest> = {}): void {
    clearNormalizeCache();
    seenTwice(a);
    expect(normalized(a).source).toBe('text');
    const second = normalized(b, overridesB);
    expect(second.source, b).toBe('analysed');
    expect(second.input).toEqual(fresh(b, overridesB));
  }

  it('names, their quoting, keywords and punctuation', () => {
    const base = "SELECT email FROM crm.customers WHERE id = 1 ORDER BY email ASC";
    distinct(base, "SELECT ssn FROM crm.customers WHERE id = 2 ORDER BY email ASC");
    distinct(base, "SELECT `email` FROM crm.customers WHERE id = 2 ORDER BY email ASC");
    distinct(base, "SELECT email FROM `crm.customers` WHERE id = 2 ORDER BY email ASC");
    distinct(base, "SELECT email FROM crm.customers WHERE id = 2 ORDER BY email DESC");
    distinct(base, "SELECT email FROM crm.customers WHERE id >= 2 ORDER BY email ASC");
    distinct(base, "SELECT email FROM crm.customers  WHERE id = 2 ORDER BY email ASC");
  });

  it('the naming context and the schemas', () => {
    const sql = (n: number) => `SELECT * FROM customers WHERE id = ${n}`;
    distinct(sql(1), sql(2), { defaultDataset: 'crm' });
    clearNormalizeCache();
    seenTwice(sql(1), { defaultDataset: 'crm' });
    expect(normalized(sql(5), { defaultDataset: 'crm' }).source).toBe('shape');
    expect(normalized(sql(2), { defaultDataset: 'sales' }).source).toBe('analysed');
    expect(normalized(sql(3), { defaultDataset: 'crm', schemas: { ...schemas } }).source).toBe('analysed');
    expect(normalized(sql(4), { defaultDataset: 'crm', project: 'other-project' }).source).toBe('analysed');
  });

  it('literals read as names: aliases, USING, table names, casts', () => {
    // A parser may read each of these string literals as a name (BigQuery refuses the alias ones).
    const cases: [string, string][] = [
      ["SELECT email AS 'a' FROM crm.customers WHERE id = 1", "SELECT email AS 'b' FROM crm.customers WHERE id = 1"],
      ["SELECT email 'a' FROM crm.customers WHERE id = 1", "SELECT email 'b' FROM crm.customers WHERE id = 1"],
      [
        "SELECT * FROM sales.orders JOIN crm.customers USING ('id') WHERE total > 1",
        "SELECT * FROM sales.orders JOIN crm.customers USING ('customer_id') WHERE total > 1",
      ],
      ["SELECT NUMERIC 'a' FROM crm.customers WHERE id = 1", "SELECT NUMERIC 'b' FROM crm.customers WHERE id = 1"],
      ["SELECT STRUCT(email AS 'a') FROM crm.customers WHERE id = 1", "SELECT STRUCT(email AS 'b') FROM crm.customers WHERE id = 1"],
    ];
    for (const [a, b] of cases) {
      distinct(a, b);
      // A typed literal is a value (its text steers no analysis); the others name something.
      if (!b.includes('NUMERIC')) expect(analyzeSql(b, { project: PROJECT }, schemaCatalog(schemas)).byShape, b).toBe(false);
    }
    // BigQuery refuses a string as an alias ("Unexpected string literal"), and so does the normalizer.
    const aliased = fresh("SELECT email AS 'a' FROM crm.customers WHERE id = 1").sql.statements[0]!;
    expect(aliased.parsed).toBe(false);
  });

  it('numbers that belong to a name', () => {
    expect(shape('SELECT 1 FROM my-project-123.ds.t WHERE a = 1')).toBe(shape('SELECT 2 FROM my-project-123.ds.t WHERE a = 2'));
    expect(shape('SELECT 1 FROM my-project-123.ds.t')).not.toBe(shape('SELECT 1 FROM my-project-124.ds.t'));
    expect(shape('SELECT x FROM t WHERE a = x-1')).toBeUndefined();
  });

  it('statements that do not parse', () => {
    clearNormalizeCache();
    const broken = (n: number) => `SELECT email FROM crm.customers WHERE id = ${n} AND AND`;
    const a = seenTwice(broken(1));
    expect(a.input.sql.parsed).toBe(false);
    expect(normalized(broken(22)).source).toBe('analysed');
  });

  it('literals that steer no analysis are shared, and the shared analysis is the one a fresh parse gives', () => {
    // Window frame bounds are read as values: the tables, columns and lineage do not depend on them.
    const frame = (n: number) =>
      `SELECT SUM(total) OVER (ORDER BY id ROWS BETWEEN ${n} PRECEDING AND CURRENT ROW) AS s FROM sales.orders WHERE id > ${n}`;
    clearNormalizeCache();
    expect(seenTwice(frame(1)).source).toBe('analysed');
    const shared = normalized(frame(2));
    expect(shared.source).toBe('shape');
    expect(shared.input).toEqual(fresh(frame(2)));
    // A type parameter is no value: CAST(… AS STRING(10)) and STRING(20) are parsed apart.
    const typed = (n: number) => `SELECT CAST(email AS STRING(${n})) AS e FROM crm.customers WHERE id = ${n}`;
    clearNormalizeCache();
    expect(seenTwice(typed(10)).source).toBe('analysed');
    expect(normalized(typed(20)).source).toBe('analysed');
  });
});

describe('literal shape over the fixture suites and the SQL corpus', () => {
  it('every variant of every shareable fixture or corpus text analyses exactly like its original', async () => {
    const { loadSuites } = await import('../../cli/testing/load.ts');
    const { loadCorpus } = await import('../../scripts/corpus/corpus.ts');
    const { suites } = await loadSuites([new URL('../../fixtures', import.meta.url).pathname]);
    const texts = new Set<string>(loadCorpus().map((item) => item.sql));
    for (const s of suites) for (const c of s.cases) texts.add(c.input.sql);
    const names = { project: PROJECT, defaultDataset: { project: PROJECT, dataset: 'sales' } };
    const catalog = schemaCatalog(schemas);
    const replacement = { s: (k: number) => `'v${k} %-x'`, d: (k: number) => `"w${k}"`, i: (k: number) => String(1000 + 7 * k), f: (k: number) => `${k}.25` };
    let checked = 0;
    for (const text of texts) {
      const literals = valueLiterals(lex(text).tokens);
      if (literals.length === 0) continue;
      const original = analyzeSql(text, names, catalog);
      if (!original.byShape) continue;
      let variant = '';
      let from = 0;
      literals.forEach(({ token, cls }, k) => {
        variant += text.slice(from, token.start) + replacement[cls](k);
        from = token.end;
      });
      variant += text.slice(from);
      expect(shape(variant)).toBe(shape(text));
      const again = analyzeSql(variant, names, catalog);
      expect(again.byShape).toBe(true);
      expect(again.sql.statements, variant).toEqual(original.sql.statements);
      expect(again.tables).toEqual(original.tables);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe('sqlHash', () => {
  const names = { project: PROJECT };
  it('is the same for texts BigQuery reads alike: layout and comments between tokens', () => {
    const base = sqlHash('SELECT a, b FROM t WHERE x = 1', names);
    for (const text of ['SELECT a, b FROM t WHERE x = 1', ' SELECT\ta,\n  b -- note\nFROM /* c */ t WHERE x = 1 ', 'SELECT a, b # note\r\nFROM t\nWHERE x = 1;'.replace(';', '')]) {
      expect(sqlHash(text, names), JSON.stringify(text)).toBe(base);
    }
  });

  it('differs where BigQuery reads differently: a line break that ends a comment, a literal, touching tokens', () => {
    const folded = 'SELECT product FROM sales.orders -- nightly export; UNION ALL SELECT account FROM finance.ledger';
    expect(sqlHash(folded.replace('; UNION', ';\nUNION'), names)).not.toBe(sqlHash(folded, names));
    expect(sqlHash(folded.replace('; UNION', ';\rUNION'), names)).not.toBe(sqlHash(folded, names));
    expect(sqlHash("SELECT 'a  b'", names)).not.toBe(sqlHash("SELECT 'a b'", names));
    expect(sqlHash("SELECT 'a\tb'", names)).not.toBe(sqlHash("SELECT 'a b'", names));
    expect(sqlHash('SELECT a, b', names)).not.toBe(sqlHash('SELECT a , b', names));
  });

  it('binds the project and default dataset that qualify the names', () => {
    const text = 'SELECT account FROM ledger';
    const finance = sqlHash(text, { project: PROJECT, defaultDataset: { project: PROJECT, dataset: 'finance' } });
    expect(sqlHash(text, { project: PROJECT, defaultDataset: { project: PROJECT, dataset: 'public' } })).not.toBe(finance);
    expect(sqlHash(text, { project: 'other-project', defaultDataset: { project: PROJECT, dataset: 'finance' } })).not.toBe(finance);
    expect(sqlHash('SELECT 1 FROM ds.t', { project: 'p' })).not.toBe(sqlHash('SELECT 1 FROM ds.t', { project: 'q' }));
  });

  it('hashes a text that does not lex as written', () => {
    expect(sqlHash("SELECT 'open", names)).not.toBe(sqlHash("SELECT  'open", names));
  });
});
