// A jobs.insert that names no location runs where BigQuery puts it (by the data it reads). When its
// caller hangs up before the insert is answered, the job is cancelled where BigQuery put it: the
// same id in the default location may name a job made outside the gateway, which is left alone.
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpUpstream } from '../../gateway/upstream/http.ts';
import { regionalJobs } from '../support/regional-jobs.double.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const AGENT = 'reporting-agent';

/**
 * TEST DOUBLE in front of the regional-jobs double: a query job inserted without a location is
 * placed in the EU (as BigQuery places a job reading EU data) and answered after a second; every
 * jobs.cancel is noted with the location it names.
 */
async function euPlacement(regionalUrl: string) {
  const upstream = new HttpUpstream(regionalUrl);
  const cancels: { jobId: string; location: string | null }[] = [];
  /** Called when a held insert arrives. */
  const inserts: (() => void)[] = [];
  const server = Fastify();
  server.all('/*', async (req, reply) => {
    const [path = '', search = ''] = req.url.split('?');
    let body = req.body ?? undefined;
    const job = body as { jobReference?: { jobId?: string; location?: string }; configuration?: { dryRun?: boolean } } | undefined;
    if (req.method === 'POST' && /\/projects\/[^/]+\/jobs$/.test(path) && job?.jobReference?.jobId && !job.jobReference.location && job.configuration?.dryRun !== true) {
      for (const arrived of inserts.splice(0)) arrived();
      await new Promise((r) => setTimeout(r, 1000));
      body = { ...job, jobReference: { ...job.jobReference, location: 'EU' } };
    }
    const cancel = /\/jobs\/([^/]+)\/cancel$/.exec(path);
    if (cancel) cancels.push({ jobId: decodeURIComponent(cancel[1]!), location: new URLSearchParams(search).get('location') });
    const answer = await upstream.call({ method: req.method as 'GET' | 'POST', path: req.url, body });
    return reply.code(answer.status).send(answer.body);
  });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { url, cancels, inserts, close: () => server.close() };
}

describe('a jobs.insert whose caller hangs up', () => {
  let stack: Stack;
  let regional: Awaited<ReturnType<typeof regionalJobs>> | undefined;
  let placement: Awaited<ReturnType<typeof euPlacement>> | undefined;

  beforeAll(async () => {
    stack = await startStack({
      upstream: async (url) => {
        regional = await regionalJobs(url);
        placement = await euPlacement(regional.url);
        return placement.url;
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await placement?.close();
    await regional?.close();
  });

  it('is cancelled in the location BigQuery put it, not in the default one where another job has its id', async () => {
    // A job made outside the gateway, in the US, under an id the agent knows.
    const foreign = `outside_${Date.now()}`;
    await stack.direct().createQueryJob({ jobId: foreign, query: 'SELECT 1 AS x' });

    // The agent inserts a job under that id without a location, and hangs up before the answer.
    const token = await stack.token(AGENT);
    const hangUp = new AbortController();
    placement!.inserts.push(() => setTimeout(() => hangUp.abort(), 100));
    await fetch(`${stack.gatewayUrl}/bigquery/v2/projects/${PROJECT}/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      signal: hangUp.signal,
      body: JSON.stringify({ jobReference: { projectId: PROJECT, jobId: foreign }, configuration: { query: { query: 'SELECT order_id FROM sales.orders', useLegacySql: false } } }),
    }).catch(() => undefined);

    const deadline = Date.now() + 5000;
    while (placement!.cancels.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // Its own job, where BigQuery put it; never the outside job in the US.
    expect(placement!.cancels).toEqual([{ jobId: foreign, location: 'EU' }]);
  });
});
