// The normalizer over the corpus of real GoogleSQL (fixtures/sql-corpus): it never throws, and it
// understands no fewer statements than it did when the floor below was measured (`sluice sql corpus`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { namedTables, normalize } from '../../engine/index.ts';
import { measureCorpus, refusalClass, renderCorpusJunit, type CorpusReport, type Outcome } from '../../cli/commands/sql-corpus.ts';
import { RULES, bigQueryVerdict } from '../../scripts/corpus/bigquery-accepts.ts';
import { CATEGORIES, categoryOf, loadCorpus, type CorpusItem } from '../../scripts/corpus/corpus.ts';

/** Statements understood (every statement parsed) when last measured; raise it as coverage grows. */
const UNDERSTOOD_FLOOR = 2118;
/** Of them, read queries from the real-world sources (all but ZetaSQL's own test cases). */
const REAL_WORLD_QUERY_FLOOR = 730;
/** Statements BigQuery accepts (scripts/corpus/bigquery-accepts.ts) that are understood, when last measured. */
const ACCEPTED_UNDERSTOOD_FLOOR = 2026;
/** Statements the rules of scripts/corpus/bigquery-accepts.ts find BigQuery refuses: a change to a rule changes it, deliberately. */
const NOT_ACCEPTED = 257;

const items = loadCorpus();

describe('the corpus', () => {
  it('holds at least 1,000 statements, each once, with its source', () => {
    expect(items.length).toBeGreaterThanOrEqual(1000);
    expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
    expect(new Set(items.map((i) => i.sql.replace(/\s+/g, ' ').trim())).size).toBe(items.length);
    for (const item of items) {
      expect(item.sql.trim(), item.id).not.toBe('');
      expect(CATEGORIES, item.id).toContain(item.category);
      expect(item.source.repo, item.id).toMatch(/^[\w.-]+\/[\w.-]+$/);
      expect(item.source.path, item.id).not.toBe('');
      expect(item.source.commit, item.id).toMatch(/^[0-9a-f]{40}$/);
      expect(item.source.line, item.id).toBeGreaterThanOrEqual(1);
    }
  });

  it('labels statements by their leading keywords', () => {
    expect(categoryOf(['WITH', 'X', 'AS'])).toBe('query');
    expect(categoryOf(['', 'SELECT'])).toBe('query');
    expect(categoryOf(['MERGE', 'T'])).toBe('dml');
    expect(categoryOf(['CREATE', 'OR', 'REPLACE', 'MODEL'])).toBe('ddl');
    expect(categoryOf(['LOOP_LABEL', '', 'BEGIN'])).toBe('script');
    expect(categoryOf(['EXPORT', 'DATA'])).toBe('other');
  });
});

describe('the normalizer over the corpus', () => {
  let report: Omit<CorpusReport, 'corpus'>;
  let outcomes: Outcome[];
  beforeAll(() => {
    ({ report, outcomes } = measureCorpus(items, { project: 'corpus-project', dataset: 'corpus_dataset', repeats: 1 }));
  }, 60_000);

  it('never throws', () => {
    expect(report.crashes).toEqual([]);
    expect(report.total.crashed).toBe(0);
  });

  it(`understands at least ${UNDERSTOOD_FLOOR} statements`, () => {
    expect(report.total.understood).toBeGreaterThanOrEqual(UNDERSTOOD_FLOOR);
    const realWorldQueries = outcomes.filter((o) => o.understood && o.item.category === 'query' && o.item.source.repo !== 'google/zetasql');
    expect(realWorldQueries.length).toBeGreaterThanOrEqual(REAL_WORLD_QUERY_FLOOR);
  });

  it(`understands at least ${ACCEPTED_UNDERSTOOD_FLOOR} of the statements BigQuery accepts`, () => {
    expect(report.accepted.understood).toBeGreaterThanOrEqual(ACCEPTED_UNDERSTOOD_FLOOR);
    expect(report.accepted.understood).toBe(outcomes.filter((o) => o.bigquery.accepted && o.understood).length);
  });

  it('counts the statements BigQuery refuses under the rule that found each', () => {
    expect(report.total.statements - report.accepted.statements).toBe(NOT_ACCEPTED);
    expect(report.exclusions.map((e) => e.rule)).toEqual(RULES.map((r) => r.id));
    expect(report.exclusions.reduce((n, e) => n + e.count, 0)).toBe(NOT_ACCEPTED);
    for (const e of report.exclusions) {
      expect(e.count, e.rule).toBeGreaterThan(0);
      expect(e.evidence, e.rule).toMatch(/https:\/\/cloud\.google\.com\/|google\/zetasql /);
    }
  });

  it('counts every statement once, each refusal with a class', () => {
    for (const o of outcomes) {
      if (o.understood) continue;
      expect(o.refusal?.class, o.item.id).toBeTruthy();
    }
    const total = report.total;
    expect(total.understood + total.refused + total.crashed).toBe(items.length);
    expect(report.refusals.reduce((n, r) => n + r.count, 0)).toBe(total.refused);
    expect(report.refusals.reduce((n, r) => n + r.accepted, 0)).toBe(report.accepted.refused);
  });

  it('writes one JUnit test case per statement, refusals skipped', () => {
    const xml = renderCorpusJunit(outcomes);
    expect(xml.match(/<testcase /g)?.length).toBe(items.length);
    expect(xml.match(/<skipped /g)?.length ?? 0).toBe(report.total.refused);
    expect(xml).not.toContain('<error ');
    expect(xml.match(/<property name="bigquery-accepts" value="false: [\w-]+"\/>/g)?.length).toBe(NOT_ACCEPTED);
  });
});

describe('sluice sql corpus', () => {
  const cli = (dir: string) => spawnSync(process.execPath, ['cli/sluice.ts', 'sql', 'corpus', '--corpus', dir, '--format', 'json'], { encoding: 'utf8' });
  const corpusOf = (lines: object[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'sql-corpus-'));
    writeFileSync(join(dir, 'a.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    return dir;
  };
  const source = { repo: 'o/r', path: 'q.sql', commit: '0'.repeat(40), line: 1 };

  it('exits 0 when nothing throws, refusals included', () => {
    const dir = corpusOf([
      { id: 'a', sql: 'SELECT 1 FROM ds.t', category: 'query', source },
      { id: 'b', sql: "EXECUTE IMMEDIATE 'SELECT 1'", category: 'script', source },
    ]);
    const run = cli(dir);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as CorpusReport;
    expect(report.total).toEqual({ statements: 2, understood: 1, refused: 1, crashed: 0 });
    rmSync(dir, { recursive: true });
  });

  it('exits 1 when the normalizer throws, and names the statement', () => {
    // Not a text at all: the one way to make normalize() throw from outside.
    const dir = corpusOf([{ id: 'not-text', sql: null, category: 'other', source }]);
    const run = cli(dir);
    expect(run.status).toBe(1);
    expect((JSON.parse(run.stdout) as CorpusReport).crashes.map((c) => c.id)).toEqual(['not-text']);
    rmSync(dir, { recursive: true });
  });

  it('exits 2 on a corpus folder that does not exist', () => {
    expect(cli(join(tmpdir(), 'no-such-corpus')).status).toBe(2);
  });
});

describe('refusal classes', () => {
  it('class a parser refusal by the token it stopped at: a keyword, an operator or the kind of token', () => {
    expect(refusalClass('SELECT a\nFROM t QUALIFY x', 'syntax not understood near `QUALIFY` at 2:8 (parser: invalid expression)')).toBe('syntax not understood at QUALIFY');
    expect(refusalClass('SELECT 1\n|> WHERE x', 'syntax not understood near `|>` at 2:1 (parser: invalid expression)')).toBe('syntax not understood at "|>"');
    expect(refusalClass('SELECT * FROM ML.PREDICT(MODEL m, TABLE t)', 'syntax not understood near `m` at 1:32 (parser: expected `)`)')).toBe('syntax not understood at a name');
    expect(refusalClass("SELECT 'ü', {0}", 'syntax not understood near `}` at 1:15 (parser: expected `:`)')).toBe('syntax not understood at "}"');
  });

  it('group messages that differ only in positions, names, strings and numbers', () => {
    const tvf = ['table-valued function ML.PREDICT is not analysed at line 4:30', 'table-valued function TUMBLE is not analysed at line 6:35', 'table-valued function `p.ds.f` is not analysed'];
    expect(new Set(tvf.map((e) => refusalClass('', e)))).toEqual(new Set(['table-valued function <name> is not analysed']));
    expect(refusalClass('', 'CREATE FUNCTION of a persistent function (no table ref can name it) is not analysed at line 1:17')).toBe(
      'CREATE FUNCTION of a persistent function (no table ref can name it) is not analysed',
    );
    expect(refusalClass('', 'SET of total_flights, which no earlier DECLARE of this text declares is not analysed')).toBe(
      'SET of <name>, which no earlier DECLARE of this text declares is not analysed',
    );
    expect(refusalClass('', "the parser's reading does not account for table p.ds.t (read)")).toBe("the parser's reading does not account for table <name> (read)");
    expect(refusalClass('', 'OPTIONS value that is not a literal is not analysed at line 3, column 12')).toBe('OPTIONS value that is not a literal is not analysed');
    expect(refusalClass('', 'parser read 2 statements where the splitter found one')).toBe('parser read <n> statements where the splitter found one');
    expect(refusalClass('', 'CREATE_MODEL statements are not parsed')).toBe('CREATE_MODEL statements are not parsed');
  });
});

describe('statements BigQuery accepts', () => {
  const item = (sql: string, repo = 'o/r'): CorpusItem => ({ id: 'x', sql, category: 'query', source: { repo, path: 'q.sql', commit: '0'.repeat(40), line: 1 } });
  const rule = (sql: string) => bigQueryVerdict(item(sql)).rule;

  it('counts a statement accepted unless a rule clearly says otherwise', () => {
    for (const sql of [
      'SELECT 1',
      "SELECT REGEXP_EXTRACT(url, '{0}') FROM t", // a placeholder inside a string is a string
      'DECLARE x ARRAY<STRUCT<a INT64>>',
      'SELECT * FROM t TABLESAMPLE SYSTEM (10 PERCENT)',
      "CREATE TEMP FUNCTION f(x INT64) RETURNS INT64 LANGUAGE js AS 'return x'",
      'SELECT language FROM t', // a column named language
      'CREATE TEMP FUNCTION afn_agg(x INT64) AS (x); SELECT afn_agg(1)', // created in the text
      'SELECT FLATTEN([STRUCT([1] AS a)].a)', // one argument: not legacy FLATTEN(table, field)
      '-- SELECT * FROM [p:ds.t]\nSELECT 1', // in a comment
      'CREATE TABLE FUNCTION ds.f(t TABLE<a INT64, b STRING>, n ANY TYPE) RETURNS TABLE<a INT64> AS SELECT a FROM t WHERE a > n',
      'CREATE OR REPLACE TABLE FUNCTION ds.f(y INT64) AS (SELECT y AS year)',
      'SELECT ARRAY_LENGTH(a), ARRAY_FIRST(a), t.array_filter FROM t', // BigQuery's own array functions; a column
      'BEGIN\n  CREATE TEMP TABLE t AS SELECT 1 AS x;\nEND', // a CREATE after BEGIN
      'SELECT 1;\nCREATE TABLE ds.t AS SELECT 2 AS x', // separated
      'ALTER TABLE ds.t ADD COLUMN r ARRAY<STRUCT<name STRING>>',
    ]) {
      expect(rule(sql), sql).toBeUndefined();
    }
  });

  it('names the rule that finds a statement BigQuery refuses', () => {
    expect(rule('SELECT * FROM `{0}.wide_games`')).toBe('format-placeholder');
    expect(rule('CREATE OR REPLACE MODEL {0} OPTIONS (model_type = "linear_reg") AS SELECT 1')).toBe('format-placeholder');
    expect(rule('UPDATE <input_table> t SET x = 1 WHERE true')).toBe('angle-placeholder');
    expect(rule('SELECT * FROM `<project_id>.ds.t`')).toBe('angle-placeholder');
    expect(rule('SELECT * FROM `_PROJECT_.logs.activity_*`')).toBe('macro-placeholder');
    expect(rule('Create our MQTT client. The client_id is a unique string')).toBe('prose');
    expect(rule('SELECT x FROM FLATTEN([p:ds.t], x)')).toBe('legacy-sql');
    expect(rule('SELECT NEW zetasql_test__.KitchenSinkPB()')).toBe('zetasql-test-proto');
    expect(rule('SELECT afn_agg() OVER () FROM KeyValue')).toBe('test-catalog-function');
    expect(rule('SELECT key FROM KeyValue TABLESAMPLE RESERVOIR (100 ROWS)')).toBe('tablesample-method');
    expect(rule('CREATE TABLE FUNCTION f() RETURNS TABLE<x STRING> LANGUAGE testlang')).toBe('routine-language');
    expect(rule('CREATE TEMP VIEW v AS SELECT 1')).toBe('temp-view');
    expect(rule('DROP SEQUENCE IF EXISTS a.b')).toBe('sequence');
    expect(rule('CREATE CONSTANT c = 1')).toBe('create-constant');
    expect(rule('FLATTEN([STRUCT([1, 2] AS a)].a)')).toBe('expression-not-statement');
    expect(rule('INSERT t (a) SELECT 1 ASSERT_ROWS_MODIFIED 1')).toBe('assert-rows-modified');
    expect(rule('ALTER TABLE <input_table> ADD COLUMN x INT64')).toBe('angle-placeholder');
    expect(rule('create table function f(x any table) as select 1')).toBe('table-function-form');
    expect(rule('create table function f(x any type, y int64)')).toBe('table-function-form'); // no query
    expect(rule('create table function fn(t table<struct<x int64>>) as select x from t')).toBe('table-function-form');
    expect(rule('create table function fn() returns table<int64> as select 1')).toBe('table-function-form');
    expect(rule("SELECT ARRAY_OFFSET([1, 4], e -> e = 4, 'FIRST')")).toBe('lambda-function');
    expect(rule('SELECT SAFE.ARRAY_FILTER([-1, 0], e -> 1/e > 0)')).toBe('lambda-function');
    expect(rule('CREATE TABLE ds.a AS (SELECT 1 AS x)\n\nCREATE TABLE ds.b AS (SELECT 2 AS x)')).toBe('statements-without-separator');
  });
});

// The gateway fetches the schemas of the tables a text names before normalizing it, and names
// them with the token scan, without a parse: on real SQL, every table the analysis reads is one
// the scan names, but models and routines (which have no table schema).
describe('tables named without a parse', () => {
  it('are every table the analysis reads, on the whole corpus, but models and routines', () => {
    const identity = { subject: 'corpus', issuer: 'https://idp.local', kind: 'agent' as const, groups: [], claims: {} };
    let tables = 0;
    for (const item of items) {
      const request = { identity, sql: item.sql, project: 'acme-analytics', now: new Date(0) };
      const named = new Set(namedTables(request));
      for (const statement of normalize(request).sql.statements) {
        for (const ref of statement.tables) {
          if (ref.model || ref.routine) continue;
          tables++;
          expect(named.has(ref.id), `${item.id}: ${ref.id}`).toBe(true);
        }
      }
    }
    expect(tables).toBeGreaterThan(1500);
  });
});
