// Attacks on revocation: a disabled person still acting through a door that does not take a
// bearer token on every call (the approver page's session), and security event tokens whose
// unverified claims try to land in the trail as they were written.
import { randomBytes } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AUDIENCE } from '../../demo/idp.ts';
import { SessionCodec } from '../../gateway/approvals/page/session.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';
import { freePort, principalRecords, SSF_AUDIENCE } from '../identity/support.ts';

const SESSION_SECRET = 'an approver page secret of at least thirty-two bytes';
const LEDGER_SQL = 'SELECT account FROM finance.ledger ORDER BY account';

describe('attacks on revocation', () => {
  let stack: Stack;
  let issuer: string;

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    stack = await startStack({
      idp: { port },
      config: {
        issuers: [{ issuer, audience: DEFAULT_AUDIENCE, signals: true }],
        revocation: { poll_interval_ms: 100, signals: { audience: SSF_AUDIENCE } },
        approvals: { page: { issuer, client_id: 'sluice-approver-page', resource: DEFAULT_AUDIENCE, session_secret: SESSION_SECRET } },
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('an approver disabled after signing in to the page can no longer vote with that session', async () => {
    const held = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/jobs`, { method: 'POST', agent: 'analyst-bot', body: JSON.stringify({ configuration: { query: { query: LEDGER_SQL, useLegacySql: false } } }) });
    const id = held.body.status.approval.requestId as string;
    // alice signed in to the approver page before she was offboarded: her session cookie lives on.
    const csrf = 'c'.repeat(43);
    const cookie = await new SessionCodec(SESSION_SECRET).sealSession({ id: 'alice-session', identity: { subject: 'alice', issuer, kind: 'human', groups: ['data-owners'], claims: {} }, csrf }, 3600);
    const pushed = await stack.idp.pushSecurityEvent(`${stack.gatewayUrl}/ssf/events`, { event: 'account-disabled', subject: 'alice', audience: SSF_AUDIENCE, reasonAdmin: 'offboarded' });
    expect(pushed.status).toBe(202);

    const res = await fetch(`${stack.gatewayUrl}/approve/requests/${id}/vote`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: `sluice_approver=${cookie}`, origin: stack.gatewayUrl, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ vote: 'approve', comment: 'still here', csrf }).toString(),
    });
    expect(res.status).not.toBe(200);
    const view = await stack.gateway.approvalStore.get(id);
    expect(view?.status).toBe('pending');
    expect(view?.votes ?? []).toHaveLength(0);
    // Nor read the list through it.
    const list = await fetch(`${stack.gatewayUrl}/approve`, { redirect: 'manual', headers: { cookie: `sluice_approver=${cookie}` } });
    expect(list.status).not.toBe(200);
  });

  it('a refused security event token cannot write control or invisible characters into the trail, nor an oversize body get in', async () => {
    const receiver = `${stack.gatewayUrl}/ssf/events`;
    const { privateKey } = await generateKeyPair('RS256');
    // Claims the gateway can only record unverified: a subject that rewrites the terminal line it is shown on.
    const sub = 'reporting-agent\u001b[2K\r\u202eenabled\u0000';
    const jti = `jti\n${randomBytes(4).toString('hex')}\u2028`;
    const forged = await new SignJWT({ jti, events: { 'https://schemas.openid.net/secevent/risc/event-type/account-disabled': { subject: { format: 'iss_sub', iss: `${issuer}\u0007`, sub } } } })
      .setProtectedHeader({ alg: 'RS256', kid: stack.idp.signingKeyId, typ: 'secevent+jwt' })
      .setIssuer(`${issuer}\u0007`)
      .setAudience(SSF_AUDIENCE)
      .setIssuedAt()
      .sign(privateKey);
    const res = await fetch(receiver, { method: 'POST', headers: { 'content-type': 'application/secevent+jwt' }, body: forged });
    expect(res.status).toBe(400);
    const big = await fetch(receiver, { method: 'POST', headers: { 'content-type': 'application/secevent+jwt' }, body: `${'a'.repeat(70 * 1024)}.b.c` });
    expect(big.status).toBe(400);
    expect(await big.json()).toMatchObject({ err: 'invalid_request' });

    const refused = (await principalRecords(stack)).filter((r) => r.action === 'signal_refused');
    const mine = refused.find((r) => typeof r.subject === 'string' && r.subject.startsWith('reporting-agent'));
    expect(mine).toBeDefined();
    for (const value of [mine!.subject, mine!.issuer, mine!.jti]) expect(value).not.toMatch(/[\u0000-\u001f\u007f\u202e\u2028]/);
    expect(mine!.subject).toContain('\uFFFD');
  });

  it('a disabled agent gets nothing more on any door: its held job, the pages of a job it started before, the approvals API, MCP', async () => {
    const agent = 'reporting-agent';
    const jobs = `/bigquery/v2/projects/${PROJECT}`;
    const held = await stack.fetch(`${jobs}/jobs`, { method: 'POST', agent, body: JSON.stringify({ configuration: { query: { query: 'SELECT entry_id FROM finance.ledger', useLegacySql: false } } }) });
    expect(held.body.status.state).toBe('PENDING');
    const running = await stack.fetch(`${jobs}/jobs`, { method: 'POST', agent, body: JSON.stringify({ configuration: { query: { query: 'SELECT order_id FROM sales.orders ORDER BY order_id', useLegacySql: false } } }) });
    expect(running.status).toBe(200);
    const page = await stack.fetch(`${jobs}/queries/${running.body.jobReference.jobId}?maxResults=1&timeoutMs=5000`, { agent });
    expect(page.status).toBe(200);
    expect(page.body.pageToken).toBeTruthy();

    expect((await stack.idp.pushSecurityEvent(`${stack.gatewayUrl}/ssf/events`, { event: 'account-disabled', subject: agent, audience: SSF_AUDIENCE })).status).toBe(202);
    // A token issued after the disable is refused as well as the old ones.
    const refusedCalls = [
      stack.fetch(`${jobs}/queries/${held.body.jobReference.jobId}?timeoutMs=0`, { agent }),
      stack.fetch(`${jobs}/jobs/${held.body.jobReference.jobId}`, { agent }),
      stack.fetch(`${jobs}/queries/${running.body.jobReference.jobId}?maxResults=1&pageToken=${encodeURIComponent(page.body.pageToken)}`, { agent }),
      stack.fetch('/approvals?status=all', { agent }),
      stack.fetch(`/approvals/${held.body.status.approval.requestId}`, { agent }),
    ];
    for (const res of await Promise.all(refusedCalls)) {
      expect(res.status).toBe(401);
      expect(JSON.stringify(res.body)).toContain('was disabled at');
    }
    const mcp = await fetch(`${stack.gatewayUrl}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await stack.mcpToken(agent)}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_query_results', arguments: { job_id: running.body.jobReference.jobId } } }),
    });
    expect(mcp.status).toBe(401);
    // Its held job's request was withdrawn: an approver can no longer let it run.
    expect((await stack.gateway.approvalStore.get(held.body.status.approval.requestId))?.status).toBe('withdrawn');
  });

  it('security event tokens signed with `none` or with HMAC keyed by the issuer\'s public key are refused', async () => {
    const receiver = `${stack.gatewayUrl}/ssf/events`;
    const claims = { iss: issuer, aud: SSF_AUDIENCE, iat: Math.floor(Date.now() / 1000), jti: randomBytes(8).toString('hex'), events: { 'https://schemas.openid.net/secevent/risc/event-type/account-disabled': { subject: { format: 'iss_sub', iss: issuer, sub: 'engineer-bot' } } } };
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const none = `${b64({ alg: 'none', typ: 'secevent+jwt' })}.${b64(claims)}.`;
    const jwks = (await (await fetch(stack.idp.jwksUri)).json()) as { keys: object[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    const secret = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
    const hmac = await new SignJWT({ ...claims, jti: randomBytes(8).toString('hex') }).setProtectedHeader({ alg: 'HS256', kid: stack.idp.signingKeyId, typ: 'secevent+jwt' }).sign(secret);
    for (const body of [none, `${none}x`, hmac]) {
      const res = await fetch(receiver, { method: 'POST', headers: { 'content-type': 'application/secevent+jwt' }, body });
      expect(res.status).toBe(400);
    }
    expect((await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, { method: 'POST', agent: 'engineer-bot', body: JSON.stringify({ query: 'SELECT COUNT(*) AS n FROM sales.orders', useLegacySql: false }) })).status).toBe(200);
  });
});
