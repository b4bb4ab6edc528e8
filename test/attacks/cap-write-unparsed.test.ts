// Under `estimate_mode: cap` a jobs.query runs at once and the tables BigQuery says it read are
// checked once it is done, before any row is released. A write has done its work by then: a
// table the SQL front end missed would already be copied into the table it writes. A write is
// checked against the dry run's tables before it runs. The miss is made on purpose, as in
// test/gateway/cross-check.test.ts: for texts with the marker comment the front end forgets
// finance.ledger while still reporting the statement parsed; BigQuery (the caps double) names it.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REFERENCE_CLIENTS } from '../../demo/idp.ts';
import { LEDGER, MISS } from '../support/missed-ledger.ts';
import { bigQueryCaps, type BigQueryCaps, type TableReference } from '../support/bigquery-caps.double.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

vi.mock('../../engine/sql/analyze.ts', async (original) => (await import('../support/missed-ledger.ts')).missingLedger(await original()));

const WRITER = 'etl-engineer';
const table = (id: string): TableReference => {
  const [projectId, datasetId, tableId] = id.split('.') as [string, string, string];
  return { projectId, datasetId, tableId };
};
const COPY = `${MISS} INSERT INTO sales.orders (order_id, product) SELECT CONCAT('L-', CAST(entry_id AS STRING)), account FROM finance.ledger`;
const READS: Record<string, TableReference[]> = { [COPY]: [table(`${PROJECT}.sales.orders`), table(LEDGER)] };

describe('a write under estimate_mode cap reading a table the front end missed', () => {
  let stack: Stack;
  let double: BigQueryCaps | undefined;

  beforeAll(async () => {
    stack = await startStack({
      idp: { clients: [...REFERENCE_CLIENTS, { name: WRITER, groups: ['data-engineers'], kind: 'human' }] },
      upstream: async (url) => (double = await bigQueryCaps(url, { bytesFor: () => 1024, referencedTablesFor: (sql) => READS[sql] })).url,
      connection: { estimate_mode: 'cap', require_referenced_tables: true, approval_hold: 'refuse' },
      config: { limits: { dry_run_cache_seconds: 0 } },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await double?.close();
  });

  it('is refused before it runs, and nothing is copied', async () => {
    const res = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, {
      method: 'POST',
      agent: WRITER,
      body: JSON.stringify({ query: COPY, useLegacySql: false }),
    });
    const [copied] = await stack.direct().query("SELECT COUNT(*) AS n FROM sales.orders WHERE STARTS_WITH(order_id, 'L-')");
    expect((copied as { n: number }[])[0]!.n).toBe(0);
    expect(double!.runs.filter((r) => r.sql.includes(MISS))).toEqual([]);
    expect(res.status).toBe(403);
    expect(res.body.error.errors[0].reason).toBe('accessDenied');
    expect(res.body.error.message).toContain('[unparsed_table_reference]');
  });
});
