// A writer copying what the content scan protects out of its reach: crm.customers.notes is free
// text (phone numbers, addresses) that no mask names, and every answer reading crm is scanned for
// it. A writer of sales (a person in data-engineers) may not copy it into sales.orders, whose
// answers are not scanned: every reader of that table, the writer included, would get it raw.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_CLIENTS } from '../../demo/idp.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const WRITER = 'etl-engineer';
const COPY = "INSERT INTO sales.orders (order_id, product) SELECT CONCAT('N-', customer_id), notes FROM crm.customers";

describe('copying content-scanned values into an unscanned table', () => {
  let stack: Stack;
  let notes: string[];

  beforeAll(async () => {
    stack = await startStack({
      idp: { clients: [...REFERENCE_CLIENTS, { name: WRITER, groups: ['data-engineers'], kind: 'human' }] },
      // The emulator's dry run of DML gives no byte figure: jobs run under the policy's cap instead.
      connection: { estimate_mode: 'cap' },
    });
    const [rows] = await stack.direct().query('SELECT notes FROM crm.customers');
    // The notes the scan redacts: phone numbers and addresses in free text.
    notes = (rows as { notes: string | null }[]).map((r) => r.notes ?? '').filter((n) => /555-01|@example\./.test(n));
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** jobs.query as `agent`. */
  const run = (agent: string, query: string) =>
    stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, { method: 'POST', agent, body: JSON.stringify({ query, useLegacySql: false }) });
  const leaked = (value: unknown) => notes.filter((n) => JSON.stringify(value).includes(n));

  it('is refused to a writer the scan applies to, and nothing reaches the table', async () => {
    expect(notes.length).toBeGreaterThan(0);
    // Read where they are, the writer gets the notes scanned.
    const [read] = await stack.client(WRITER).query('SELECT customer_id, notes FROM crm.customers');
    expect(read.length).toBeGreaterThan(0);
    expect(leaked(read)).toEqual([]);

    const copy = await run(WRITER, COPY);
    // Nothing was copied: sales.orders, read through the gateway or straight from the emulator, holds no note.
    for (const who of [WRITER, 'reporting-agent']) {
      const [orders] = await stack.client(who).query('SELECT order_id, product FROM sales.orders');
      expect(leaked(orders), who).toEqual([]);
    }
    const [direct] = await stack.direct().query("SELECT COUNT(*) AS n FROM sales.orders WHERE STARTS_WITH(order_id, 'N-')");
    expect(direct[0].n).toBe(0);
    expect(copy.status).toBe(403);
    expect(copy.body.error.errors[0].reason).toBe('accessDenied');
    expect(copy.body.error.message).toContain('[scanned_write_denied]');
  });
});
