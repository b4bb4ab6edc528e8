// A write's answer has no columns: the emulator answers jobs.query for DML with an empty schema
// (`schema: {}`), BigQuery with none. Either is an answer with nothing to mask, returned as it
// is; a 500 after the statement ran would invite a client to run it again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_CLIENTS } from '../../demo/idp.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const WRITER = 'etl-engineer';

describe('answers to a write', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      idp: { clients: [...REFERENCE_CLIENTS, { name: WRITER, groups: ['data-engineers'], kind: 'human' }] },
      // The emulator's dry run of DML gives no byte figure: jobs run under the policy's cap instead.
      connection: { estimate_mode: 'cap' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const inserted = async (id: string) => {
    const [rows] = await stack.direct().query({ query: 'SELECT COUNT(*) AS n FROM sales.orders WHERE order_id = @id', params: { id } });
    return Number((rows as { n: number }[])[0]!.n);
  };

  it('returns a DML answer without columns as it is, and the statement runs once', async () => {
    const raw = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, {
      method: 'POST',
      agent: WRITER,
      body: JSON.stringify({ query: "INSERT INTO sales.orders (order_id) VALUES ('DML-1')", useLegacySql: false }),
    });
    expect(raw.status, JSON.stringify(raw.body)).toBe(200);
    expect(raw.body.jobComplete).toBe(true);
    expect(raw.body.rows ?? []).toEqual([]);
    expect(await inserted('DML-1')).toBe(1);

    // Its job, read back, and its results.
    const { projectId, jobId } = raw.body.jobReference as { projectId: string; jobId: string };
    const job = await stack.fetch(`/bigquery/v2/projects/${projectId}/jobs/${jobId}`, { agent: WRITER });
    expect(job.status, JSON.stringify(job.body)).toBe(200);
    expect(job.body.status.state).toBe('DONE');
    const results = await stack.fetch(`/bigquery/v2/projects/${projectId}/queries/${jobId}`, { agent: WRITER });
    expect(results.status, JSON.stringify(results.body)).toBe(200);
    expect(results.body.rows ?? []).toEqual([]);

    // The official client's query() reads the same answer.
    await stack.client(WRITER).query("INSERT INTO sales.orders (order_id) VALUES ('DML-2')");
    expect(await inserted('DML-2')).toBe(1);
    expect(await inserted('DML-1')).toBe(1);
  });

  it("refuses rows in the answer of a script whose last statement returns none: they would be another statement's", async () => {
    // The SELECT's masks are its own; the script's answer is its last statement's, an INSERT, which has none.
    const script = "SELECT customer_id, ssn FROM crm.customers; INSERT INTO sales.orders (order_id) VALUES ('DML-S')";
    const raw = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, { method: 'POST', agent: WRITER, body: JSON.stringify({ query: script, useLegacySql: false }) });
    const [direct] = await stack.direct().query('SELECT ssn FROM crm.customers');
    const ssns = (direct as { ssn: string | null }[]).flatMap((r) => (r.ssn ? [r.ssn] : []));
    expect(ssns.length).toBeGreaterThan(0);
    for (const ssn of ssns) expect(JSON.stringify(raw.body)).not.toContain(ssn);
    if (raw.status === 200) expect(raw.body.rows ?? []).toEqual([]);
    else expect([raw.status, raw.body.error.errors[0].reason]).toEqual([403, 'accessDenied']);
  });
});
