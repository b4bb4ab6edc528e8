// The dry run backs the SQL front end up: when the front end misses a table that BigQuery reads,
// the gateway still denies. A miss is made on purpose here: the front end is wrapped so that, for
// texts carrying the marker comment, it forgets finance.ledger (as a misread would) while still
// reporting the statement parsed. BigQuery names the tables a query reads in its dry run
// (`statistics.query.referencedTables`); the emulator names none, so the gateway reaches it through
// test/support/bigquery-caps.double.ts, told which tables BigQuery reports. The rest is real: the
// gateway's dry run, the compiled policy seeing the table in `estimate.unparsed_tables`, and the
// official client refused with the reason before anything runs.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LEDGER, MISS } from '../support/missed-ledger.ts';
import { bigQueryCaps, type BigQueryCaps, type TableReference } from '../support/bigquery-caps.double.ts';
import { refusal } from '../support/refusals.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

vi.mock('../../engine/sql/analyze.ts', async (original) => (await import('../support/missed-ledger.ts')).missingLedger(await original()));

const AGENT = 'reporting-agent';
const SQL = 'SELECT o.product FROM sales.orders o WHERE EXISTS (SELECT 1 FROM finance.ledger l WHERE l.amount > 1000)';
const ORDERS_ONLY = 'SELECT product, SUM(units) AS units FROM sales.orders GROUP BY product ORDER BY product';
const table = (id: string): TableReference => {
  const [projectId, datasetId, tableId] = id.split('.') as [string, string, string];
  return { projectId, datasetId, tableId };
};
/** The tables BigQuery reports each text reads. */
const READS: Record<string, TableReference[]> = {
  [`${MISS} ${SQL}`]: [table(`${PROJECT}.sales.orders`), table(LEDGER)],
  [SQL]: [table(`${PROJECT}.sales.orders`), table(LEDGER)],
  [ORDERS_ONLY]: [table(`${PROJECT}.sales.orders`)],
};
let stack: Stack;
let double: BigQueryCaps | undefined;

beforeAll(async () => {
  stack = await startStack({
    upstream: async (url) => (double = await bigQueryCaps(url, { referencedTablesFor: (sql) => READS[sql] })).url,
    connection: { require_referenced_tables: true, approval_hold: 'refuse' },
  });
});

afterAll(async () => {
  await stack?.close();
  await double?.close();
});

describe('a table the front end misses, named by the dry run', () => {
  it('is denied with the table named, and no row reaches the agent', async () => {
    const err = await refusal(stack.client(AGENT).query({ query: `${MISS} ${SQL}` }));
    expect(err.code).toBe(403);
    expect(err.errors[0]!.reason).toBe('accessDenied');
    expect(err.message).toContain('[unparsed_table_reference]');
    expect(err.message).toContain(LEDGER);
    // Only the dry run went upstream: nothing ran.
    expect(double!.runs.filter((r) => r.sql.includes(MISS))).toEqual([]);
    expect(double!.dryRuns.filter((q) => q.includes(MISS))).toHaveLength(1);
  });

  it('a query whose tables all agree with the dry run is served', async () => {
    const [rows] = await stack.client(AGENT).query({ query: ORDERS_ONLY });
    expect(rows.length).toBeGreaterThan(0);
  });

  it('without the miss, the same query is judged on the ledger itself', async () => {
    const err = await refusal(stack.client(AGENT).query({ query: SQL }));
    expect(err.code).toBe(403);
    expect(err.message).not.toContain('unparsed_table_reference');
  });
});
