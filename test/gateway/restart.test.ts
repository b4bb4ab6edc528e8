// A gateway restart loses nothing that lives in its storage: a pending approval request is still
// listed (same id), an approved grant still lets the agent's finance query through the official
// client, a query job run before the restart still pages its results, masked the same, and the
// audit chain written by both instances verifies as one. Run on a SQLite file and
// on PostgreSQL; the restart closes the gateway and starts a new instance on the same storage URL.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRecords, listRecords, verifyAudit } from '../../gateway/audit/index.ts';
import { storageTargets } from '../support/databases.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { approvalIdOf, refusal } from '../support/refusals.ts';

const FINANCE_SQL = 'SELECT account, SUM(amount) AS total FROM finance.ledger GROUP BY account ORDER BY account';
const MASKED_SQL = 'SELECT customer_id, ssn, email FROM crm.customers ORDER BY customer_id';
const PENDING_SQL = 'SELECT account, COUNT(*) AS n FROM finance.ledger GROUP BY account ORDER BY account';

describe.each(storageTargets())('a gateway restart on $engine storage', ({ url }) => {
  let stack: Stack;
  let alice: string;

  beforeAll(async () => {
    stack = await startStack({
      storageUrl: await url(),
      connection: { approval_hold: 'refuse' },
      idp: { webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] },
    });
    alice = await humanAccessToken(stack.idp, 'alice');
  });

  afterAll(async () => {
    await stack?.close();
  });

  // On a connection of its own each time (agent: false): the first instance closes its idle
  // keep-alive connections on close, but fetch's global pool may not have seen that yet when the
  // next call leaves right after the restart, and reuses the dead socket (`other side closed`).
  function asAlice(path: string, body?: object): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const payload = body ? JSON.stringify(body) : undefined;
      const req = request(
        stack.gatewayUrl + path,
        {
          method: body ? 'POST' : 'GET',
          agent: false,
          headers: { authorization: `Bearer ${alice}`, ...(payload && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  it('keeps pending requests, grants and the audit chain across a restart', async () => {
    const firstGateway = stack.gateway;

    // Instance 1: one request left pending, another approved into a grant.
    const pendingId = approvalIdOf(await refusal(stack.client('pii-agent').query(PENDING_SQL)));
    const agent = stack.client('reporting-agent');
    const approvedId = approvalIdOf(await refusal(agent.query(FINANCE_SQL)));
    expect(approvedId).not.toBe(pendingId);
    expect((await asAlice(`/approvals/${approvedId}/approve`, { comment: 'month end' })).status).toBe(200);
    const view = await asAlice(`/approvals/${approvedId}`);
    expect(view.body.request).toMatchObject({ id: approvedId, status: 'approved' });
    const grantId = view.body.request.grantId as string;
    expect(grantId).toMatch(/\S/);
    const [before] = await agent.query(FINANCE_SQL);
    expect(before.length).toBeGreaterThan(0);
    const [job] = await agent.createQueryJob({ query: MASKED_SQL });
    const [maskedBefore] = await job.getQueryResults();
    expect(maskedBefore[0]).toMatchObject({ ssn: expect.stringMatching(/^\*\*\*-\*\*-\d{4}$/) });

    const db1 = stack.gateway.database.db;
    const requestsBefore = await countRecords(db1, { kinds: ['request'] });
    expect(requestsBefore).toBeGreaterThanOrEqual(3); // two refusals, one allowed query (the client may add calls)
    const headBefore = (await listRecords(db1, { limit: 1 }))[0]!;
    const totalBefore = await countRecords(db1);

    // A real new gateway instance on the same storage URL.
    const started = performance.now();
    await stack.restartGateway();
    const restartMs = performance.now() - started;
    expect(stack.gateway).not.toBe(firstGateway);
    console.info(`restart on ${stack.storageUrl.split(':')[0]}: ${restartMs.toFixed(0)} ms`);

    // The pending request is still there, with the same id.
    const pending = await asAlice('/approvals?status=pending');
    expect(pending.status).toBe(200);
    const listed = (pending.body.requests as { id: string; status: string }[]).find((r) => r.id === pendingId);
    expect(listed).toMatchObject({ id: pendingId, status: 'pending' });
    expect((await asAlice(`/approvals/${pendingId}`)).body.request).toMatchObject({ id: pendingId, status: 'pending' });

    // The grant still allows the finance query, through the official client (a new one, too).
    const grants = await asAlice('/grants?status=active');
    expect((grants.body.grants as { id: string }[]).map((g) => g.id)).toContain(grantId);
    const [after] = await agent.query(FINANCE_SQL);
    expect(after).toEqual(before);
    const [fresh] = await stack.client('reporting-agent').query(FINANCE_SQL);
    expect(fresh).toEqual(before);

    // The job the first instance ran is still the agent's, and its pages are masked the same.
    const [maskedAfter] = await stack.client('reporting-agent').job(job.id!).getQueryResults();
    expect(maskedAfter).toEqual(maskedBefore);
    const other = await refusal(stack.client('pii-agent').job(job.id!).getQueryResults());
    expect(other.code).toBe(403);

    // The audit chain holds records of both instances and verifies.
    const db2 = stack.gateway.database.db;
    expect(await countRecords(db2, { kinds: ['request'] })).toBeGreaterThanOrEqual(requestsBefore + 2);
    const all = await listRecords(db2, { order: 'oldest', limit: 1000 });
    expect(all.length).toBeGreaterThan(totalBefore);
    const index = all.findIndex((r) => r.hash === headBefore.hash);
    expect(index).toBeGreaterThanOrEqual(0);
    expect(all.slice(index + 1).length).toBe(all.length - totalBefore);
    const report = await verifyAudit(db2);
    expect(report.broken).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.streams.reduce((n, s) => n + s.records, 0)).toBe(all.length);
  });
});
