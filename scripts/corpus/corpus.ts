// The SQL corpus format (fixtures/sql-corpus/*.jsonl, one statement a line): read by the
// `sluice sql corpus` command, the parser bench and the corpus test; written by gather.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CATEGORIES = ['query', 'dml', 'ddl', 'script', 'other'] as const;
export type CorpusCategory = (typeof CATEGORIES)[number];

export interface CorpusItem {
  /** `<repository name>:<sha256 of the whitespace-folded text, 12 hex>` */
  id: string;
  sql: string;
  category: CorpusCategory;
  source: { repo: string; path: string; commit: string; line: number; license?: string };
}

export const DEFAULT_CORPUS = join(import.meta.dirname, '../../fixtures/sql-corpus');

const DML = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'TRUNCATE']);
const DDL = new Set(['CREATE', 'ALTER', 'DROP', 'UNDROP']);
const SCRIPT = new Set(['DECLARE', 'SET', 'BEGIN', 'IF', 'LOOP', 'WHILE', 'REPEAT', 'FOR', 'CASE', 'CALL', 'EXECUTE', 'RETURN', 'RAISE', 'BREAK', 'LEAVE', 'CONTINUE', 'ITERATE', 'COMMIT', 'ROLLBACK']);

/** The category of a statement from its leading keywords (upper-case words; `(` for a parenthesised query). */
export function categoryOf(upper: readonly string[]): CorpusCategory {
  // `label: BEGIN …`: the word after the label decides.
  const lead = upper[1] === '' && upper[2] !== undefined && SCRIPT.has(upper[2]) ? upper[2] : upper[0];
  if (lead === 'SELECT' || lead === 'WITH' || lead === 'FROM' || lead === '' || lead === 'VALUES') return 'query';
  if (lead !== undefined && DML.has(lead)) return 'dml';
  if (lead !== undefined && DDL.has(lead)) return 'ddl';
  if (lead !== undefined && SCRIPT.has(lead)) return 'script';
  return 'other';
}

/** Every item of every .jsonl file in `dir`, in file order. */
export function loadCorpus(dir = DEFAULT_CORPUS): CorpusItem[] {
  const items: CorpusItem[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) {
    const lines = readFileSync(join(dir, file), 'utf8').split('\n');
    for (const [n, line] of lines.entries()) {
      if (line.trim() === '') continue;
      try {
        items.push(JSON.parse(line) as CorpusItem);
      } catch (e) {
        throw new Error(`${file}:${n + 1}: not a JSON line (${e instanceof Error ? e.message : String(e)})`);
      }
    }
  }
  return items;
}
