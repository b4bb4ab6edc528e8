// The normalizer over the corpus of real GoogleSQL (fixtures/sql-corpus): it never throws, and it
// understands no fewer statements than it did when the floor below was measured (`sluice sql corpus`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { measureCorpus, refusalClass, renderCorpusJunit, type CorpusReport, type Outcome } from '../../cli/commands/sql-corpus.ts';
import { CATEGORIES, categoryOf, loadCorpus } from '../../scripts/corpus/corpus.ts';

/** Statements understood (every statement parsed) when last measured; raise it as coverage grows. */
const UNDERSTOOD_FLOOR = 1308;
/** Of them, read queries from the real-world sources (all but ZetaSQL's own test cases). */
const REAL_WORLD_QUERY_FLOOR = 548;

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

  it('counts every statement once, each refusal with a class', () => {
    for (const o of outcomes) {
      if (o.understood) continue;
      expect(o.refusal?.class, o.item.id).toBeTruthy();
    }
    const total = report.total;
    expect(total.understood + total.refused + total.crashed).toBe(items.length);
    expect(report.refusals.reduce((n, r) => n + r.count, 0)).toBe(total.refused);
  });

  it('writes one JUnit test case per statement, refusals skipped', () => {
    const xml = renderCorpusJunit(outcomes);
    expect(xml.match(/<testcase /g)?.length).toBe(items.length);
    expect(xml.match(/<skipped /g)?.length ?? 0).toBe(report.total.refused);
    expect(xml).not.toContain('<error ');
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
  it('class a syntax error by the token the parser stopped at', () => {
    expect(refusalClass('SELECT a\nFROM t QUALIFY x', 'parser: syntax error at line 2 column 8 near "Q"')).toBe('syntax error at QUALIFY');
    expect(refusalClass('FROM t\n|> WHERE x', 'parser: syntax error at line 2 column 1 near "|"')).toBe('syntax error at "|>" after FROM');
    expect(refusalClass('SELECT * FROM ML.PREDICT(MODEL m, TABLE t)', 'parser: syntax error at line 1 column 32 near "m"')).toBe('syntax error at a name after MODEL');
    expect(refusalClass('SELECT a FROM', 'parser: syntax error at line 1 column 14 near end of statement')).toBe('syntax error at end of statement after FROM');
  });

  it('leave the names out of other messages', () => {
    expect(refusalClass('', "the parser's reading does not account for table p.ds.t (read)")).toBe("the parser's reading does not account for table <name> (read)");
    expect(refusalClass('', 'CREATE_MODEL statements are not parsed')).toBe('CREATE_MODEL statements are not parsed');
  });
});
