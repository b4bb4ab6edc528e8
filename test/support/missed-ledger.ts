// A front end that misses a table, made on purpose: for texts carrying the marker comment the
// analysis forgets finance.ledger (as a misread would) while still reporting the statement parsed.
// Used by tests of the dry-run cross-check through
//   vi.mock('../../engine/sql/analyze.ts', async (original) => (await import('../support/missed-ledger.ts')).missingLedger(await original()));
// It imports types only: the module it wraps is the one being mocked.
import type { SqlAnalysis } from '../../engine/sql/analysis.ts';
import type * as Analyze from '../../engine/sql/analyze.ts';

export const LEDGER = 'acme-analytics.finance.ledger';
export const MISS = '/* front end misses the ledger */';

export function missingLedger(original: typeof Analyze): typeof Analyze {
  return {
    ...original,
    analyzeSql: (...args: Parameters<typeof original.analyzeSql>): SqlAnalysis => {
      const analysis = original.analyzeSql(...args);
      if (!args[0].includes(MISS)) return analysis;
      const kept = (c: { table: string }) => c.table !== LEDGER;
      const statements = analysis.sql.statements.map((s) => ({
        ...s,
        tables: s.tables.filter((t) => t.id !== LEDGER),
        columns: s.columns.filter(kept),
        predicate_columns: s.predicate_columns.filter(kept),
        outputs: s.outputs.map((o) => ({ ...o, sources: o.sources.filter(kept), ...(o.tables && { tables: o.tables.filter((t) => t !== LEDGER) }) })),
      }));
      return { ...analysis, sql: { ...analysis.sql, statements }, tables: analysis.tables.filter((t) => t.id !== LEDGER), byShape: false };
    },
  };
}
