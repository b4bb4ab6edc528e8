// The GoogleSQL parser written for this project (engine/sql/parser/) against polyglot-sql on the
// corpus of real statements (fixtures/sql-corpus/): every statement is read by both, and the
// analyses compared whole. Where both read a statement they must agree exactly; every statement
// polyglot-sql reads the new parser must read too, and what only the new parser reads is listed
// here, each checked by hand.
import { describe, expect, it } from 'vitest';
import { analyzeSql } from '../../engine/sql/analyze.ts';
import { schemaCatalog } from '../../engine/sql/catalog.ts';
import { lex } from '../../engine/sql/lexer.ts';
import { parseDefaultDataset } from '../../engine/sql/tables.ts';
import type { Statement } from '../../engine/schema-types.ts';
import { loadCorpus } from '../../scripts/corpus/corpus.ts';

const names = { project: 'corpus-project', defaultDataset: parseDefaultDataset('corpus_dataset', 'corpus-project') };

/**
 * Statements polyglot-sql refuses and the new parser reads, all GoogleSQL from zetasql's own test
 * files: aggregate modifiers inside any call (`count(distinct key having max 1)`, `f(x ignore
 * nulls)`), a FORMAT that is an expression or holds `STRING(MAX)`, a field of a query parameter
 * (`@p.f`, read as a value, never a column path), FOR SYSTEM_TIME followed by TABLESAMPLE, and
 * CREATE TABLE with columns, PARTITION BY and CLUSTER BY before AS.
 */
const ONLY_NEW = [
  'zetasql:bf5bbd0cc701', 'zetasql:82ef6c949b4f', 'zetasql:69d56f2fcb8e', 'zetasql:8f4f646b6e75', 'zetasql:b3d2181493c3',
  'zetasql:a7c7f03eebe3', 'zetasql:264d08efa34c', 'zetasql:35532456e081', 'zetasql:22a8bfbf81e6', 'zetasql:50ce92857423',
];
/** Statements only polyglot-sql reads: two USING lists in a row (`a JOIN b JOIN c USING (x) USING (y)`). */
const ONLY_POLYGLOT = ['zetasql:6a407dc2d5be'];
/** Statements the new parser's analysis reads (parsed), of all the corpus's. */
const READ = 2118;

function compare() {
  const differ: { id: string; polyglot: Statement; sluice: Statement }[] = [];
  const onlyNew = new Set<string>();
  const onlyPolyglot = new Set<string>();
  let read = 0;
  let statements = 0;
  for (const item of loadCorpus()) {
    const lexed = lex(item.sql);
    const a = analyzeSql(item.sql, names, schemaCatalog(undefined), lexed, 'polyglot').sql.statements;
    const b = analyzeSql(item.sql, names, schemaCatalog(undefined), lexed, 'sluice').sql.statements;
    a.forEach((x, i) => {
      const y = b[i]!;
      statements++;
      if (y.parsed) read++;
      if (x.parsed && y.parsed && JSON.stringify(x) !== JSON.stringify(y)) differ.push({ id: item.id, polyglot: x, sluice: y });
      if (!x.parsed && y.parsed) onlyNew.add(item.id);
      if (x.parsed && !y.parsed) onlyPolyglot.add(item.id);
    });
  }
  return { differ, onlyNew: [...onlyNew].sort(), onlyPolyglot: [...onlyPolyglot].sort(), read, statements };
}

describe('the GoogleSQL parser against polyglot-sql, on the corpus', () => {
  const result = compare();

  it('reads the statements', () => {
    // 2,118 of the corpus's 2,355 statements; polyglot-sql reads 2,109.
    expect(result.statements).toBe(2355);
    expect(result.read).toBeGreaterThanOrEqual(READ);
  });

  it('gives the same analysis wherever both read a statement', () => {
    expect(result.differ.map((d) => d.id)).toEqual([]);
  });

  it('reads every statement polyglot-sql reads, but the one listed', () => {
    expect(result.onlyPolyglot).toEqual([...ONLY_POLYGLOT].sort());
  });

  it('reads only the statements listed beyond what polyglot-sql reads', () => {
    expect(result.onlyNew).toEqual([...ONLY_NEW].sort());
  });
});
