// Attacks on the approvals listings and the principals API: page tokens carried to another caller
// or edited to reach rows the caller may not see, SQL in the filters, and agents at the reviewer API.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { approvalIdOf, refusal } from '../support/refusals.ts';
import { startStack, type Stack } from '../support/stack.ts';

describe('attacks on listings', () => {
  let stack: Stack;
  let alice: string;
  const mine: string[] = [];
  let theirs: string;

  beforeAll(async () => {
    stack = await startStack({
      idp: { webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] },
      connection: { approval_hold: 'refuse' },
      config: { principals: { reviewer_groups: ['data-owners'] } },
    });
    alice = await humanAccessToken(stack.idp, 'alice');
    for (const columns of ['account', 'entry_id', 'account, entry_id']) mine.push(approvalIdOf(await refusal(stack.client('reporting-agent').query(`SELECT ${columns} FROM finance.ledger`))));
    theirs = approvalIdOf(await refusal(stack.client('pii-agent').query('SELECT account FROM finance.ledger ORDER BY account')));
  });
  afterAll(async () => {
    await stack?.close();
  });

  const asAlice = (path: string) => fetch(stack.gatewayUrl + path, { headers: { authorization: `Bearer ${alice}` } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const ids = (body: { requests?: { id: string }[] }) => (body.requests ?? []).map((r) => r.id);

  it('a page token works only for the caller and listing it was issued for, and an edited one reaches nothing more', async () => {
    const first = await asAlice('/approvals?status=all&maxResults=1');
    expect(first.status).toBe(200);
    const token = first.body.nextPageToken as string;
    expect(token).toBeTruthy();
    // Another caller, or the same token on the grants listing or with other filters: refused.
    expect((await stack.fetch(`/approvals?status=all&maxResults=1&pageToken=${token}`, { agent: 'reporting-agent' })).status).toBe(400);
    expect((await asAlice(`/grants?status=all&pageToken=${token}`)).status).toBe(400);
    expect((await asAlice(`/approvals?status=pending&maxResults=1&pageToken=${token}`)).status).toBe(400);

    // The caller rebuilds a token of its own listing pointing before every row: it only ever pages
    // through its own rows (visibility is decided in the query, not by the token).
    const body = [1, 'n', Number.MAX_SAFE_INTEGER, ''];
    const material = JSON.stringify(['sluice listing page', 'approvals', [stack.idp.issuer, 'reporting-agent', ['agents']], ['all', null, null, false], body]);
    const forged = Buffer.from(JSON.stringify([...body, createHash('sha256').update(material).digest('base64url').slice(0, 22)])).toString('base64url');
    const res = await stack.fetch(`/approvals?status=all&maxResults=500&pageToken=${forged}`, { agent: 'reporting-agent' });
    if (res.status === 200) {
      expect(ids(res.body)).not.toContain(theirs);
      for (const id of ids(res.body)) expect(mine).toContain(id);
    } else expect(res.status).toBe(400);
  });

  it('SQL in the filters is a value, never a condition', async () => {
    for (const q of ["requester=x' OR '1'='1", "dataset=acme-analytics.finance' OR 1=1 --", 'status=all&requester=pii-agent', "status=all&dataset=%27%29%20OR%20%28%271%27%3D%271"]) {
      const res = await stack.fetch(`/approvals?${q.includes('status=') ? q : `status=all&${q}`}`, { agent: 'reporting-agent' });
      if (res.status === 200) expect(ids(res.body)).not.toContain(theirs);
      else expect(res.status).toBe(400);
    }
    const grants = await stack.fetch("/grants?status=all&requester=x'%20OR%20'1'%3D'1", { agent: 'reporting-agent' });
    expect(grants.status === 400 || grants.body.grants.length === 0).toBe(true);
  });

  it('the principals API refuses agents whatever groups they hold, and people outside the reviewer groups', async () => {
    for (const agent of ['reporting-agent', 'pii-agent']) expect((await stack.fetch('/principals', { agent })).status).toBe(403);
    const bob = await humanAccessToken(stack.idp, 'bob');
    expect((await fetch(`${stack.gatewayUrl}/principals`, { headers: { authorization: `Bearer ${bob}` } })).status).toBe(403);
    expect((await asAlice('/principals')).status).toBe(200);
    // The subject of a path is a value: another encoding of a path segment reaches nothing else.
    expect((await asAlice(`/principals/${encodeURIComponent(stack.idp.issuer)}/${encodeURIComponent("reporting-agent' OR '1'='1")}`)).status).toBe(404);
  });
});
