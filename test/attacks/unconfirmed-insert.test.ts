// A jobs.insert that fails in transit leaves its job unconfirmed: BigQuery may have made it, or the
// id may name a job made outside the gateway. Its owner reads it only once BigQuery shows a job
// under that id running the query the gateway sent; a job made elsewhere is never served in its
// place with the masks of the owner's own, harmless query.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_CLIENTS } from '../../demo/idp.ts';
import { faultyUpstream, type FaultyUpstream } from '../support/faulty-upstream.double.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const P = `/bigquery/v2/projects/${PROJECT}`;
const HARMLESS = "SELECT 'n' AS name, 's' AS ssn";
const AGENTS = [{ name: 'unconfirmed-a', groups: ['agents'] }, { name: 'unconfirmed-b', groups: ['agents'] }];

describe('a job whose insert failed in transit', () => {
  let stack: Stack;
  let upstream: FaultyUpstream;

  beforeAll(async () => {
    stack = await startStack({
      upstream: async (url) => (upstream = await faultyUpstream(url)).url,
      connection: { timeout_ms: 2000 },
      idp: { clients: [...REFERENCE_CLIENTS, ...AGENTS] },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
  });

  /** jobs.insert of the harmless query under `jobId`, which times out upstream. */
  const insertLost = async (agent: string, jobId: string) => {
    upstream.fault('jobs.insert', { kind: 'hang' }, jobId);
    const res = await stack.fetch(`${P}/jobs`, {
      method: 'POST',
      agent,
      body: JSON.stringify({ jobReference: { projectId: PROJECT, jobId }, configuration: { query: { query: HARMLESS, useLegacySql: false } } }),
    });
    expect(res.status).toBe(502);
    expect(await stack.gateway.jobs.get(PROJECT, jobId)).toMatchObject({ unconfirmed: true });
    upstream.fault('jobs.insert', undefined, jobId);
    await new Promise((r) => setTimeout(r, 5_500)); // the caller's fault backoff
  };

  it('does not serve a job made elsewhere under its id', async () => {
    // Someone with direct access ran a query on raw customer data under an id the agent knows.
    const foreign = `elsewhere_${Date.now()}`;
    const [job] = await stack.direct().createQueryJob({ jobId: foreign, query: 'SELECT name, ssn FROM crm.customers ORDER BY customer_id LIMIT 3' });
    const [raw] = (await job.getQueryResults()) as unknown as [{ name: string; ssn: string }[]];
    expect(raw.length).toBeGreaterThan(0);

    await insertLost('unconfirmed-a', foreign);
    for (const read of [
      await stack.fetch(`${P}/queries/${foreign}`, { agent: 'unconfirmed-a' }),
      await stack.fetch(`${P}/jobs/${foreign}`, { agent: 'unconfirmed-a' }),
    ]) {
      const text = JSON.stringify(read.body);
      for (const r of raw) {
        expect(text).not.toContain(r.name);
        expect(text).not.toContain(r.ssn);
      }
      expect(read.status).toBe(403);
      expect(read.body.error.errors[0].reason).toBe('accessDenied');
    }
    expect(upstream.cancels).toEqual([]);
  }, 20_000);

  it('serves its owner the job once BigQuery shows it running the query it sent', async () => {
    const jobId = `reached_${Date.now()}`;
    await insertLost('unconfirmed-b', jobId);
    // The insert had reached BigQuery after all: the job runs the query the gateway sent.
    await stack.direct().createQueryJob({ jobId, query: HARMLESS });
    const read = await stack.fetch(`${P}/queries/${jobId}`, { agent: 'unconfirmed-b' });
    expect(read.status).toBe(200);
    expect(read.body.rows).toEqual([{ f: [{ v: 'n' }, { v: 's' }] }]);
  }, 20_000);
});
