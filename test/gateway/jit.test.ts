// Just-in-time access through the whole gateway: the official Node client with the agent's real
// token is refused a finance query with approvalRequired; alice (data-owners, a person signed in
// through the provider's authorization-code flow) approves it through the approvals API; the same
// query then runs, until the grant lapses or is revoked. Holding mode keeps the call open until
// the approval arrives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BigQuery } from '@google-cloud/bigquery';
import { startStack, PROJECT, type Stack } from '../support/stack.ts';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { approvalIdOf, refusal } from '../support/refusals.ts';

const FINANCE_SQL = 'SELECT account, SUM(amount) AS total FROM finance.ledger GROUP BY account ORDER BY account';
const GRANT_TTL_SECONDS = 3600; // the default policy's finance grants

let stack: Stack;
let agent: BigQuery;
let alice: string;
/** The gateway's clock: real time plus this offset. */
let offsetMs = 0;

beforeAll(async () => {
  stack = await startStack({
    // The refusal mode: a finance query is answered approvalRequired (held-jobs.test.ts covers the PENDING job mode).
    connection: { approval_hold: 'refuse' },
    idp: { webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] },
    gateway: { now: () => Date.now() + offsetMs },
  });
  agent = stack.client('reporting-agent');
  alice = await humanAccessToken(stack.idp, 'alice');
});

afterAll(async () => {
  await stack?.close();
});

/** A call to the approvals API as alice. */
async function asAlice(path: string, body?: object): Promise<{ status: number; body: any }> {
  const res = await fetch(stack.gatewayUrl + path, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${alice}`, ...(body && { 'content-type': 'application/json' }) },
    ...(body && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

async function approve(id: string): Promise<string> {
  const res = await asAlice(`/approvals/${id}/approve`, { comment: 'quarter-end reconciliation' });
  expect(res.status).toBe(200);
  const view = await asAlice(`/approvals/${id}`);
  expect(view.body.request).toMatchObject({ id, status: 'approved' });
  const grantId = view.body.request.grantId as string;
  expect(grantId).toMatch(/\S/);
  return grantId;
}

async function financeRows(): Promise<Record<string, unknown>[]> {
  const [rows] = await agent.query(FINANCE_SQL);
  return rows;
}

describe('just-in-time approval through the gateway', () => {
  it('refuses, gets approved by a data owner, runs, and is refused again once the grant lapses', async () => {
    const id = approvalIdOf(await refusal(agent.query(FINANCE_SQL)));

    // The agent cannot approve its own request.
    const self = await fetch(`${stack.gatewayUrl}/approvals/${id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await stack.token('reporting-agent')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ comment: 'please' }),
    });
    expect(self.status).toBeGreaterThanOrEqual(400);

    const grantId = await approve(id);
    const rows = await financeRows();
    expect(rows.length).toBeGreaterThan(0);
    const [direct] = await stack.direct().query(FINANCE_SQL);
    expect(rows.map((r) => r.account)).toEqual(direct.map((r: Record<string, unknown>) => r.account));

    // The grant lasts the policy's grant TTL; past it the query needs a new approval.
    offsetMs = (GRANT_TTL_SECONDS + 60) * 1000;
    try {
      const again = approvalIdOf(await refusal(agent.query(FINANCE_SQL)));
      expect(again).not.toBe(id);
    } finally {
      offsetMs = 0;
    }
    // Back in the grant's lifetime it counts again; revoked, the next tests start without it.
    expect((await financeRows()).length).toBeGreaterThan(0);
    expect((await asAlice(`/grants/${grantId}/revoke`, { comment: 'test done' })).status).toBe(200);
  });

  it('stops the next query at once when the grant is revoked', async () => {
    const id = approvalIdOf(await refusal(agent.query(FINANCE_SQL)));
    const grantId = await approve(id);
    expect((await financeRows()).length).toBeGreaterThan(0);

    const revoked = await asAlice(`/grants/${grantId}/revoke`, { comment: 'no longer needed' });
    expect(revoked.status).toBe(200);
    expect(revoked.body.grant).toMatchObject({ id: grantId, status: 'revoked' });
    approvalIdOf(await refusal(agent.query(FINANCE_SQL)));
  });

  it('spends a one-time grant on the first query it allows; a concurrent second is refused', async () => {
    const id = approvalIdOf(await refusal(agent.query(FINANCE_SQL)));
    const grantId = await approve(id);
    // The default policy's finance grants are reusable; this one is turned into a one-time grant
    // (as byte-threshold approvals are) directly in the store.
    await stack.gateway.database.db.updateTable('grants').set({ one_time: 1 }).where('id', '=', grantId).execute();

    const path = `/bigquery/v2/projects/${PROJECT}/queries`;
    const body = JSON.stringify({ query: FINANCE_SQL, useLegacySql: false });
    const race = await Promise.all(
      ['one-time-a', 'one-time-b'].map((rid) => stack.fetch(path, { method: 'POST', agent: 'reporting-agent', headers: { 'x-request-id': rid }, body })),
    );
    const statuses = race.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 403]);
    const winner = race[0]!.status === 200 ? 'one-time-a' : 'one-time-b';
    const grant = await asAlice(`/grants?status=all`);
    expect((grant.body.grants as { id: string }[]).find((g) => g.id === grantId)).toMatchObject({ status: 'consumed', consumedBy: winner });
    // Spent: the next query needs a new approval.
    approvalIdOf(await refusal(agent.query(FINANCE_SQL)));
  });

  it('holds a call open until the approval arrives, then answers it', async () => {
    const path = `/bigquery/v2/projects/${PROJECT}/queries`;
    const body = JSON.stringify({ query: FINANCE_SQL, useLegacySql: false });
    const held = stack.fetch(path, { method: 'POST', agent: 'reporting-agent', headers: { 'x-sluice-wait-approval': '60' }, body });

    // The request shows up for alice while the agent is held.
    let pending: { id: string } | undefined;
    for (let i = 0; i < 100 && !pending; i++) {
      const list = await asAlice('/approvals?status=pending');
      pending = (list.body.requests as { id: string; requester: { subject: string } }[]).find((r) => r.requester.subject === 'reporting-agent');
      if (!pending) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(pending).toBeDefined();
    await approve(pending!.id);

    const answer = await held;
    expect(answer.status).toBe(200);
    expect(answer.body.rows.length).toBeGreaterThan(0);
    const grants = await asAlice('/grants?status=all');
    const grant = (grants.body.grants as { id: string; approvalId: string }[]).find((g) => g.approvalId === pending!.id)!;
    expect((await asAlice(`/grants/${grant.id}/revoke`, { comment: 'done' })).status).toBe(200);
  });

  it('answers approvalRequired with a timeout reason when no decision arrives in time', async () => {
    const started = performance.now();
    const res = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, {
      method: 'POST',
      agent: 'reporting-agent',
      headers: { 'x-sluice-wait-approval': '1' },
      body: JSON.stringify({ query: FINANCE_SQL, useLegacySql: false }),
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    expect(res.status).toBe(403);
    expect(res.body.error.errors[0].reason).toBe('approvalRequired');
    expect(res.body.error.message).toContain('timeout');
    expect(res.body.error.details[0].metadata).toMatchObject({ hold_result: 'timeout' });
  });

  it('refuses a malformed hold header', async () => {
    const res = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, {
      method: 'POST',
      agent: 'reporting-agent',
      headers: { 'x-sluice-wait-approval': 'forever' },
      body: JSON.stringify({ query: FINANCE_SQL, useLegacySql: false }),
    });
    expect(res.status).toBe(400);
    expect(res.body.error.errors[0].reason).toBe('invalid');
  });
});
