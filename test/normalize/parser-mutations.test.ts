// The parser on broken SQL: every corpus statement with a token dropped, a token copied elsewhere,
// or an unmatched `(` inserted (a fixed pseudo-random choice, so a failure repeats). Whatever the
// result, the analysis returns statements, never an exception, and no refusal is a crash of the
// parser.
import { describe, expect, it } from 'vitest';
import { analyzeSql } from '../../engine/sql/analyze.ts';
import { schemaCatalog } from '../../engine/sql/catalog.ts';
import { lex } from '../../engine/sql/lexer.ts';
import { parseDefaultDataset } from '../../engine/sql/tables.ts';
import { loadCorpus } from '../../scripts/corpus/corpus.ts';

const names = { project: 'corpus-project', defaultDataset: parseDefaultDataset('corpus_dataset', 'corpus-project') };

function* mutations(rounds: number): Generator<{ id: string; sql: string }> {
  let seed = 42;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (const item of loadCorpus()) {
    const tokens = lex(item.sql).tokens;
    if (tokens.length < 2) continue;
    for (let r = 0; r < rounds; r++) {
      const t = tokens[next(tokens.length)]!;
      const u = tokens[next(tokens.length)]!;
      const kind = next(3);
      const sql =
        kind === 0
          ? item.sql.slice(0, t.start) + item.sql.slice(t.end)
          : kind === 1
            ? `${item.sql.slice(0, t.start)}${item.sql.slice(u.start, u.end)} ${item.sql.slice(t.start)}`
            : `${item.sql.slice(0, t.end)} ( ${item.sql.slice(t.end)}`;
      yield { id: item.id, sql };
    }
  }
}

describe('the parser on mutated corpus statements', () => {
  it('refuses or reads each, never throwing or crashing', () => {
    let runs = 0;
    let read = 0;
    const crashes: string[] = [];
    for (const { id, sql } of mutations(3)) {
      runs++;
      const statements = analyzeSql(sql, names, schemaCatalog(undefined)).sql.statements;
      for (const s of statements) {
        if (s.parsed) read++;
        else if (/crash|Cannot read|is not a function|undefined/.test(s.error ?? '')) crashes.push(`${id}: ${s.error}`);
      }
    }
    expect(crashes).toEqual([]);
    expect(runs).toBeGreaterThan(7000);
    // Some mutations leave a statement BigQuery reads too (a dropped alias, a copied name).
    expect(read).toBeGreaterThan(0);
  }, 120_000);
});
