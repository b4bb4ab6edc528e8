// Attacks with job ids: an id that names a job made outside the gateway, read while the insert
// that claims it is still on its way upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duplicateJobIds } from '../support/duplicate-job-id.double.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const AGENT = 'reporting-agent';
const JOBS = `/bigquery/v2/projects/${PROJECT}`;

describe('attacks with job ids', () => {
  let stack: Stack;
  let double: Awaited<ReturnType<typeof duplicateJobIds>> | undefined;

  beforeAll(async () => {
    stack = await startStack({
      // BigQuery answers an insert under an existing id with 409 duplicate, and not at once (long
      // enough here for the reads below to land first on a loaded machine).
      upstream: async (url) => (double = await duplicateJobIds(url, { insertDelayMs: 4000 })).url,
    });
  });
  afterAll(async () => {
    await stack?.close();
    await double?.close();
  });

  it("a job made outside the gateway is not served while an insert under its id is on its way upstream", async () => {
    // Someone with direct access ran a query on raw customer data under a known id.
    const foreign = `foreign_${Date.now()}`;
    const sql = 'SELECT name, ssn FROM crm.customers ORDER BY customer_id LIMIT 3';
    const [job] = await stack.direct().createQueryJob({ jobId: foreign, query: sql });
    const [raw] = await job.getQueryResults();

    // The agent inserts a harmless query under that id and reads the id before the upstream answers.
    const insert = stack.fetch(`${JOBS}/jobs`, {
      method: 'POST',
      agent: AGENT,
      body: JSON.stringify({ jobReference: { projectId: PROJECT, jobId: foreign }, configuration: { query: { query: 'SELECT 1 AS x', useLegacySql: false } } }),
    });
    for (let i = 0; i < 500 && !double!.inserts.get(foreign); i++) await new Promise((r) => setTimeout(r, 20));
    expect(double!.inserts.get(foreign)).toBe(1);
    const reads = await Promise.all([
      stack.fetch(`${JOBS}/queries/${foreign}?timeoutMs=0`, { agent: AGENT }),
      stack.fetch(`${JOBS}/jobs/${foreign}`, { agent: AGENT }),
      stack.fetch(`${JOBS}/jobs/${foreign}/cancel`, { method: 'POST', agent: AGENT }),
    ]);
    expect((await insert).status).toBe(409);
    for (const read of reads) {
      const text = JSON.stringify(read.body);
      for (const r of raw as { name: string; ssn: string }[]) {
        expect(text).not.toContain(r.name);
        expect(text).not.toContain(r.ssn);
      }
      expect(text).not.toContain('crm.customers');
      expect(read.status).toBe(404);
      expect(read.body.error.errors[0].reason).toBe('notFound');
    }
    // The outside job was neither cancelled nor taken over.
    const [meta] = await stack.direct().job(foreign).getMetadata();
    expect(meta.status.errorResult).toBeUndefined();
    expect((await stack.fetch(`${JOBS}/queries/${foreign}?timeoutMs=0`, { agent: AGENT })).status).toBe(403);
  });
});
