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

/** Passes everything through to the emulator, but holds each dry run until the test lets it go. */
async function gatedDryRuns(emulatorUrl: string) {
  const { default: Fastify } = await import('fastify');
  const { HttpUpstream } = await import('../../gateway/upstream/http.ts');
  const emulator = new HttpUpstream(emulatorUrl);
  let arrived!: () => void;
  let release!: () => void;
  const arrivedPromise = new Promise<void>((r) => (arrived = r));
  const releasePromise = new Promise<void>((r) => (release = r));
  const server = Fastify();
  server.all('/*', async (req, reply) => {
    if ((req.body as { configuration?: { dryRun?: unknown } } | undefined)?.configuration?.dryRun === true) {
      arrived();
      await releasePromise;
    }
    const answer = await emulator.call({ method: req.method as 'GET' | 'POST', path: req.url, body: req.body ?? undefined });
    return reply.code(answer.status).send(answer.body);
  });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { url, arrived: arrivedPromise, release: () => release(), close: () => server.close() };
}

describe('a jobs.insert whose caller hangs up before it is sent', () => {
  let stack: Stack;
  let gate: Awaited<ReturnType<typeof gatedDryRuns>>;

  beforeAll(async () => {
    stack = await startStack({ upstream: async (url) => (gate = await gatedDryRuns(url)).url });
  });
  afterAll(async () => {
    gate?.release();
    await stack?.close();
    await gate?.close();
  });

  it("does not leave the caller a claim on a job made outside the gateway under that id", async () => {
    // Someone with direct access ran a query on raw customer data under a known id.
    const foreign = `foreign_gone_${Date.now()}`;
    const [job] = await stack.direct().createQueryJob({ jobId: foreign, query: 'SELECT customer_id, ssn FROM crm.customers ORDER BY customer_id LIMIT 3' });
    const [raw] = await job.getQueryResults();

    // The agent inserts a harmless query with the same output names under that id, and hangs up
    // while the gateway decides it: nothing is sent upstream.
    const aborter = new AbortController();
    const insert = fetch(`${stack.gatewayUrl}${JOBS}/jobs`, {
      method: 'POST',
      signal: aborter.signal,
      // Asking to be held for an approval makes the gateway watch for the hang-up from the start.
      headers: { authorization: `Bearer ${await stack.token(AGENT)}`, 'content-type': 'application/json', 'x-sluice-wait-approval': '30' },
      body: JSON.stringify({
        jobReference: { projectId: PROJECT, jobId: foreign },
        configuration: { query: { query: 'SELECT order_id AS customer_id, product AS ssn FROM sales.orders', useLegacySql: false } },
      }),
    }).catch(() => undefined);
    await gate.arrived;
    aborter.abort();
    await insert;
    await new Promise((r) => setTimeout(r, 300));
    gate.release();

    // Once the gateway has answered the insert (its request record is written), the id is not the agent's to read.
    const db = stack.gateway.database.db;
    const answered = async () => (await db.selectFrom('audit_records').select('id').where('kind', '=', 'request').where('route', '=', 'jobs.insert').execute()).length > 0;
    for (let i = 0; i < 200 && !(await answered()); i++) await new Promise((r) => setTimeout(r, 25));
    expect(await answered()).toBe(true);
    const read = await stack.fetch(`${JOBS}/queries/${foreign}?timeoutMs=0`, { agent: AGENT });
    const text = JSON.stringify(read.body);
    for (const r of raw as { ssn: string }[]) expect(text).not.toContain(r.ssn);
    expect(read.status).toBe(403);
  });
});
