// Attacks with a job's location: BigQuery names a job by its project, location and id, so the id of
// a caller's own job can also name a job in another location, made outside the gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { regionalJobId, regionalJobs } from '../support/regional-jobs.double.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const AGENT = 'reporting-agent';
const JOBS = `/bigquery/v2/projects/${PROJECT}`;

describe('attacks with job locations', () => {
  let stack: Stack;
  let double: Awaited<ReturnType<typeof regionalJobs>> | undefined;

  beforeAll(async () => {
    stack = await startStack({ upstream: async (url) => (double = await regionalJobs(url)).url });
  });
  afterAll(async () => {
    await stack?.close();
    await double?.close();
  });

  it("an own job's id read in another location does not serve that location's job", async () => {
    // Someone with direct access ran a query on raw customer data, in the EU, under a known id.
    const foreign = `foreign_${Date.now()}`;
    const sql = 'SELECT name, ssn FROM crm.customers ORDER BY customer_id LIMIT 3';
    const [job] = await stack.direct().createQueryJob({ jobId: regionalJobId(foreign, 'EU'), query: sql });
    const [raw] = (await job.getQueryResults()) as unknown as [{ name: string; ssn: string }[]];
    expect(raw.length).toBeGreaterThan(0);

    // The agent inserts a harmless query with the same output names under that id, in the US.
    const insert = await stack.fetch(`${JOBS}/jobs`, {
      method: 'POST',
      agent: AGENT,
      body: JSON.stringify({
        jobReference: { projectId: PROJECT, jobId: foreign, location: 'US' },
        configuration: { query: { query: "SELECT 'n' AS name, 's' AS ssn", useLegacySql: false } },
      }),
    });
    expect(insert.status).toBe(200);

    // Its own job, read in the EU.
    const reads = await Promise.all([
      stack.fetch(`${JOBS}/queries/${foreign}?location=EU&timeoutMs=10000`, { agent: AGENT }),
      stack.fetch(`${JOBS}/jobs/${foreign}?location=EU`, { agent: AGENT }),
    ]);
    for (const read of reads) {
      const text = JSON.stringify(read.body);
      for (const r of raw) {
        expect(text).not.toContain(r.name);
        expect(text).not.toContain(r.ssn);
      }
      expect(text).not.toContain('crm.customers');
    }
    // The outside job was not cancelled either.
    await stack.fetch(`${JOBS}/jobs/${foreign}/cancel?location=EU`, { method: 'POST', agent: AGENT });
    const [meta] = await stack.direct().job(regionalJobId(foreign, 'EU')).getMetadata();
    expect(meta.status.errorResult).toBeUndefined();

    // The agent's own job is still served, in its own location.
    const own = await stack.fetch(`${JOBS}/queries/${foreign}?location=US&timeoutMs=10000`, { agent: AGENT });
    expect(own.status).toBe(200);
    expect(own.body.rows).toEqual([{ f: [{ v: 'n' }, { v: 's' }] }]);
  });

  it('a job inserted without a location is read where BigQuery put it, whatever location the caller names', async () => {
    const foreign = `unplaced_${Date.now()}`;
    const [job] = await stack.direct().createQueryJob({ jobId: regionalJobId(foreign, 'EU'), query: 'SELECT name, ssn FROM crm.customers ORDER BY customer_id LIMIT 3' });
    const [raw] = (await job.getQueryResults()) as unknown as [{ name: string; ssn: string }[]];
    const insert = await stack.fetch(`${JOBS}/jobs`, {
      method: 'POST',
      agent: AGENT,
      body: JSON.stringify({ jobReference: { projectId: PROJECT, jobId: foreign }, configuration: { query: { query: "SELECT 'n' AS name, 's' AS ssn", useLegacySql: false } } }),
    });
    expect(insert.status).toBe(200);
    const read = await stack.fetch(`${JOBS}/queries/${foreign}?location=EU&timeoutMs=10000`, { agent: AGENT });
    const text = JSON.stringify(read.body);
    for (const r of raw) expect(text).not.toContain(r.ssn);
    expect(read.body.rows).toEqual([{ f: [{ v: 'n' }, { v: 's' }] }]);
  });
});
