// Under `estimate_mode: cap`, a job still running when jobs.query answers has the tables it read
// checked at the first look that finds it done. A job that read a table the SQL front end missed
// (BigQuery names it; the statement here names only sales.orders) shows nothing of what it read
// through jobs.get or jobs.cancel either: not the tables, not its result's schema, not its plan's
// row counts, which would answer questions about that table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bigQueryCaps, type BigQueryCaps, type TableReference } from '../support/bigquery-caps.double.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const AGENT = 'reporting-agent';
const ORDERS: TableReference = { projectId: PROJECT, datasetId: 'sales', tableId: 'orders' };
const LEDGER: TableReference = { projectId: PROJECT, datasetId: 'finance', tableId: 'ledger' };
const SQL = 'SELECT product, SUM(units) AS units_seen FROM sales.orders GROUP BY product ORDER BY product';
const P = `/bigquery/v2/projects/${PROJECT}`;

describe("a running job's statistics under estimate_mode cap", () => {
  let stack: Stack;
  let double: BigQueryCaps | undefined;

  beforeAll(async () => {
    stack = await startStack({
      upstream: async (url) =>
        (double = await bigQueryCaps(url, {
          bytesFor: (sql) => (sql === SQL ? 5 * 1024 * 1024 : undefined),
          referencedTablesFor: (sql) => (sql === SQL ? [ORDERS, LEDGER] : undefined),
          runningPolls: (sql) => (sql === SQL ? 1 : 0),
        })).url,
      connection: { estimate_mode: 'cap', require_referenced_tables: true, approval_hold: 'refuse' },
      config: { limits: { dry_run_cache_seconds: 0 } },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await double?.close();
  });

  it('are not shown by jobs.get or jobs.cancel before its tables are checked, and it is withheld once done', async () => {
    const first = await stack.fetch(`${P}/queries`, { method: 'POST', agent: AGENT, body: JSON.stringify({ query: SQL, useLegacySql: false, timeoutMs: 0 }) });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ jobComplete: false });
    const jobId = first.body.jobReference.jobId as string;

    // Done by now: its tables are checked before jobs.get shows it, and it is withheld.
    const get = await stack.fetch(`${P}/jobs/${jobId}`, { agent: AGENT });
    expect(JSON.stringify(get.body)).not.toContain('totalBytesProcessed');
    expect(get.status).toBe(403);
    expect(get.body.error.message).toContain('[unparsed_table_reference]');
    // jobs.cancel answers the job without its statistics.
    const cancel = await stack.fetch(`${P}/jobs/${jobId}/cancel`, { method: 'POST', agent: AGENT });
    expect(cancel.status).toBe(200);
    expect(JSON.stringify(cancel.body)).not.toContain('ledger');
    expect(cancel.body.job.statistics).toBeUndefined();
  });
});
