// What the token scan contributes once a statement is analysed or given up on: the tables of
// an unparsed statement, and the cross-check that every table name the scan sees in the text
// is accounted for by the parsed reading.
import type { Statement } from '../schema-types.ts';
import { Unsupported } from './ast.ts';
import type { StatementContext } from './context.ts';
import type { ScanResult } from './scan.ts';
import { qualify, writtenKey, type NameContext } from './tables.ts';

export type StatementHead = Pick<Statement, 'index' | 'type' | 'category'>;

/** Best-effort tables of an unparsed statement, from the token scan (and any partial analysis). */
export function unparsed(head: StatementHead, error: string, scan: ScanResult, names: NameContext, partial?: StatementContext): Statement {
  const { tables, problems } = scannedTables(scan, names, new Map(partial?.tables));
  const message = problems.length === 0 || problems.includes(error) ? error : `${error}; ${problems.join('; ')}`;
  return { ...head, parsed: false, error: message, tables: [...tables.values()], columns: [], predicate_columns: [], functions: [], outputs: [] };
}

type ScannedTable = Statement['tables'][number];

/**
 * The tables the scan names, qualified, added to `tables` (keyed by id and mode), and the
 * spellings it could not qualify. A spelling BigQuery refuses names no table, not even one the
 * parser read from it.
 */
export function scannedTables(scan: ScanResult, names: NameContext, tables = new Map<string, ScannedTable>()): { tables: Map<string, ScannedTable>; problems: string[] } {
  const problems: string[] = [];
  const refused = new Set<string>();
  for (const ref of scan.refs) {
    // A spelling BigQuery refuses names no table: naming the nearest valid one would be a guess.
    if (ref.malformed !== undefined) {
      if (!problems.includes(ref.malformed)) problems.push(ref.malformed);
      const q = qualify(ref.path, names);
      if (q.name !== undefined) refused.add(q.name.id);
      continue;
    }
    if (ref.call || ref.arrayPath) continue;
    if (ref.path.length === 1 && !ref.path[0]!.includes('.') && scan.ctes.has(ref.path[0]!.toLowerCase())) continue;
    const q = qualify(ref.path, names);
    if (q.error !== undefined) {
      if (!problems.includes(q.error)) problems.push(q.error);
      continue;
    }
    const key = `${q.name.id}\u0000${ref.mode}`;
    if (!tables.has(key)) tables.set(key, { ...q.name, mode: ref.mode });
  }
  // The parser may have read such a spelling as a table all the same (`FROM ds.my-table`).
  for (const [key, t] of tables) if (refused.has(t.id)) tables.delete(key);
  return { tables, problems };
}

/** Every table name the scan sees must be one the analysis recorded (or a WITH name or array path). */
export function crossCheck(scan: ScanResult, ctx: StatementContext): void {
  for (const ref of scan.refs) {
    if (ref.malformed !== undefined) throw new Unsupported(ref.malformed);
    if (ctx.explained.has(writtenKey(ref.path))) continue;
    if (ref.call) throw new Unsupported(`${ref.path.join('.')}(…) in a table position is not analysed`);
    const q = qualify(ref.path, ctx.names);
    if (q.error !== undefined) throw new Unsupported(q.error);
    if (!ctx.tables.has(`${q.name.id}\u0000${ref.mode}`)) {
      throw new Unsupported(`the parser's reading does not account for table ${q.name.id} (${ref.mode})`);
    }
  }
}
