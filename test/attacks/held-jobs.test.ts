// Attacks on jobs held for an approval: ids that name jobs made elsewhere, racing polls and
// cancels, what a held job echoes back, and identities other than its owner.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { duplicateJobIds } from '../support/duplicate-job-id.double.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const AGENT = 'reporting-agent';
/** Needs a data owner's approval (finance), and reads no sensitive column. */
const LEDGER_SQL = 'SELECT account, entry_id FROM finance.ledger ORDER BY entry_id LIMIT 3';
const JOBS = `/bigquery/v2/projects/${PROJECT}`;

describe('attacks on held jobs', () => {
  let stack: Stack;
  let alice: string;
  let double: Awaited<ReturnType<typeof duplicateJobIds>> | undefined;

  beforeAll(async () => {
    stack = await startStack({
      // BigQuery's answer to an insert under an existing id: 409 duplicate.
      upstream: async (url) => (double = await duplicateJobIds(url)).url,
      idp: { webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] },
    });
    alice = await humanAccessToken(stack.idp, 'alice');
  });
  afterAll(async () => {
    await stack?.close();
    await double?.close();
  });

  const api = async (path: string, body?: object) => {
    const res = await fetch(stack.gatewayUrl + path, {
      method: body ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${alice}`, ...(body && { 'content-type': 'application/json' }) },
      ...(body && { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const revokeGrants = async (subject = AGENT) => {
    for (const g of (await api('/grants?status=active&maxResults=500')).body.grants as { id: string; subject: string }[]) {
      if (g.subject === subject) await api(`/grants/${g.id}/revoke`, { comment: 'reset' });
    }
  };
  const insert = (body: object, agent = AGENT) => stack.fetch(`${JOBS}/jobs`, { method: 'POST', agent, body: JSON.stringify(body) });
  const ledgerJob = (jobId?: string, sql = LEDGER_SQL) => ({ ...(jobId && { jobReference: { projectId: PROJECT, jobId } }), configuration: { query: { query: sql, useLegacySql: false } } });

  it('a held job whose id names a job made outside the gateway never serves that job', async () => {
    await revokeGrants();
    // Someone with direct access ran a query on raw customer data under a known id.
    const foreign = `foreign_${Date.now()}`;
    const [job] = await stack.direct().createQueryJob({ jobId: foreign, query: 'SELECT ssn AS account, name AS entry_id FROM crm.customers ORDER BY customer_id LIMIT 3' });
    await job.getQueryResults();
    const [raw] = await stack.direct().query('SELECT ssn FROM crm.customers ORDER BY customer_id LIMIT 3');

    // The agent asks for a harmless ledger read under that id; a data owner approves what they saw.
    const held = await insert(ledgerJob(foreign));
    expect(held.status).toBe(200);
    expect(held.body.status.state).toBe('PENDING');
    expect((await api(`/approvals/${held.body.status.approval.requestId}/approve`, { comment: 'ledger sample' })).status).toBe(200);

    const page = await stack.fetch(`${JOBS}/queries/${foreign}?timeoutMs=2000`, { agent: AGENT });
    const text = JSON.stringify(page.body);
    for (const r of raw as { ssn: string }[]) expect(text).not.toContain(r.ssn);
    expect(page.status).toBeGreaterThanOrEqual(400);
    expect(page.body.error.errors[0].reason).toBe('duplicate');
    const got = await stack.fetch(`${JOBS}/jobs/${foreign}`, { agent: AGENT });
    expect(got.body.status).toMatchObject({ state: 'DONE', errorResult: { reason: 'duplicate' } });
  });

  const poll = (jobId: string, agent = AGENT, timeoutMs = 0) => stack.fetch(`${JOBS}/queries/${jobId}?timeoutMs=${timeoutMs}`, { agent });

  it('another caller can neither read, poll, launch nor cancel a held job', async () => {
    await revokeGrants();
    const held = await insert(ledgerJob(`mine_${Date.now()}`));
    const jobId = held.body.jobReference.jobId as string;
    const requestId = held.body.status.approval.requestId as string;
    for (const other of ['pii-agent', 'analyst-bot']) {
      expect((await stack.fetch(`${JOBS}/jobs/${jobId}`, { agent: other })).status).toBe(403);
      expect((await poll(jobId, other)).status).toBe(403);
      expect((await stack.fetch(`${JOBS}/jobs/${jobId}/cancel`, { method: 'POST', agent: other })).status).toBe(403);
      // Nor take the id over with a job of its own.
      expect((await insert(ledgerJob(jobId), other)).status).toBe(409);
    }
    expect((await api(`/approvals/${requestId}`)).body.request.status).toBe('pending');
    expect(double!.inserts.get(jobId)).toBeUndefined();
  });

  it('racing polls of an approved job launch it once, and all of them see the same job', async () => {
    await revokeGrants();
    const jobId = `race_${Date.now()}`;
    const held = await insert(ledgerJob(jobId));
    await api(`/approvals/${held.body.status.approval.requestId}/approve`, { comment: 'race' });
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? stack.fetch(`${JOBS}/jobs/${jobId}`, { agent: AGENT }) : poll(jobId))));
    for (const a of answers) expect(a.status).toBe(200);
    expect(double!.inserts.get(jobId)).toBe(1);
    const done = await poll(jobId, AGENT, 5000);
    expect(done.body.rows).toHaveLength(3);
  });

  it('a grant revoked between approval and launch launches nothing: the job waits on a new request', async () => {
    await revokeGrants();
    const jobId = `revoked_${Date.now()}`;
    const held = await insert(ledgerJob(jobId));
    const first = held.body.status.approval.requestId as string;
    await api(`/approvals/${first}/approve`, { comment: 'then changed my mind' });
    await revokeGrants();
    const got = await stack.fetch(`${JOBS}/jobs/${jobId}`, { agent: AGENT });
    expect(got.body.status.state).toBe('PENDING');
    expect(got.body.status.approval.requestId).not.toBe(first);
    expect((await poll(jobId)).body.jobComplete).toBe(false);
    expect(double!.inserts.get(jobId)).toBeUndefined();
    await stack.fetch(`${JOBS}/jobs/${jobId}/cancel`, { method: 'POST', agent: AGENT });
  });

  it('a cancel racing the polls of an approved job leaves one outcome: ended, or launched once', async () => {
    await revokeGrants();
    const jobId = `cancel_${Date.now()}`;
    const held = await insert(ledgerJob(jobId));
    await api(`/approvals/${held.body.status.approval.requestId}/approve`, { comment: 'race a cancel' });
    const [, cancelled] = await Promise.all([poll(jobId), stack.fetch(`${JOBS}/jobs/${jobId}/cancel`, { method: 'POST', agent: AGENT }), poll(jobId)]);
    expect(cancelled.status).toBe(200);
    const after = await stack.fetch(`${JOBS}/jobs/${jobId}`, { agent: AGENT });
    expect(double!.inserts.get(jobId) ?? 0).toBeLessThanOrEqual(1);
    if (!double!.inserts.get(jobId)) expect(after.body.status.errorResult.reason).toBe('stopped');
  });

  it('the MCP door reads a held job only for its owner, and launches it on the fresh decision only once approved', async () => {
    await revokeGrants();
    const jobId = `mcp_${Date.now()}`;
    const held = await insert(ledgerJob(jobId));
    const mcp = async (agent: string) => {
      const client = new Client({ name: 'sluice-attacks', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(stack.mcpResource), { requestInit: { headers: { authorization: `Bearer ${await stack.mcpToken(agent)}` } } }));
      return client;
    };
    const results = async (client: Client) => (await client.callTool({ name: 'get_query_results', arguments: { job_id: jobId } })) as { isError?: boolean; content: { text: string }[]; structuredContent?: any };
    const other = await mcp('pii-agent');
    const owner = await mcp(AGENT);
    try {
      const refused = await results(other);
      expect(refused.isError).toBe(true);
      expect(refused.content[0]!.text).toMatch(/^accessDenied/);
      const waiting = await results(owner);
      expect(JSON.stringify(waiting.structuredContent?.rows ?? [])).toBe('[]');
      expect(double!.inserts.get(jobId)).toBeUndefined();

      await api(`/approvals/${held.body.status.approval.requestId}/approve`, { comment: 'mcp' });
      expect((await results(other)).isError).toBe(true);
      expect(double!.inserts.get(jobId)).toBeUndefined();
      let read = await results(owner);
      for (let i = 0; i < 20 && !(read.structuredContent?.rows?.length > 0); i++) read = await results(owner);
      expect(read.isError).toBeFalsy();
      expect(read.structuredContent.rows).toHaveLength(3);
      expect(double!.inserts.get(jobId)).toBe(1);
    } finally {
      await Promise.allSettled([other.close(), owner.close()]);
    }
  });

  it('a job whose deciding poll stalled is decided again, never served as launched without a decision', async () => {
    await revokeGrants();
    const jobId = `stalled_${Date.now()}`;
    const sql = "SELECT l.entry_id, c.email FROM finance.ledger AS l CROSS JOIN crm.customers AS c WHERE c.customer_id = 'C001' ORDER BY l.entry_id LIMIT 3";
    const held = await insert(ledgerJob(jobId, sql));
    await api(`/approvals/${held.body.status.approval.requestId}/approve`, { comment: 'stall' });
    // A poll claimed the job to decide it again, then its replica went away.
    const rec = (await stack.gateway.jobs.get(PROJECT, jobId))!;
    expect(await stack.gateway.jobs.replace(rec, { ...rec, launching: Date.now() - 31_000 })).toBe(true);
    const page = await poll(jobId, AGENT, 5000);
    expect(page.status).toBe(200);
    expect(page.body.rows).toHaveLength(3);
    for (const row of page.body.rows) expect(row.f[1].v).toMatch(/^\*\*\*@/);
    expect(double!.inserts.get(jobId)).toBe(1);
  });
});
