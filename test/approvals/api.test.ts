import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../demo/idp.ts';
import { ApprovalsClient, ApprovalsClientError, type ApprovalEvent } from '../../gateway/approvals/index.ts';
import { buildBundle, Engine } from '../../engine/index.ts';
import { storageTargets } from '../support/databases.ts';
import { bearer, closeIdentityProviders, startTestIdentityProvider } from '../support/oidc.ts';
import { financeAsk } from './support/fixtures.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from './support/human-login.ts';

describe.each(storageTargets())('approvals API with real identity-provider tokens on $engine', ({ url }) => {
  let idp: IdentityProvider;
  let storageUrl: string;
  let gateway: TestGateway;
  const events: ApprovalEvent[] = [];
  const tokens: Record<'alice' | 'bob' | 'agent' | 'otherAgent', string> = { alice: '', bob: '', agent: '', otherAgent: '' };
  let engine: Engine | undefined;

  beforeAll(async () => {
    idp = await startTestIdentityProvider({ webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] });
    storageUrl = await url();
    engine = await Engine.load((await buildBundle()).path);
    gateway = await startGateway({ storageUrl, idp, store: { onEvent: (e) => events.push(e) }, plugin: { engine } });
    tokens.alice = await humanAccessToken(idp, 'alice');
    tokens.bob = await humanAccessToken(idp, 'bob');
    tokens.agent = await idp.tokenFor('reporting-agent');
    tokens.otherAgent = await idp.tokenFor('analyst-bot');
  });

  afterAll(async () => {
    await gateway?.close();
    await closeIdentityProviders();
  });

  const client = (who: keyof typeof tokens) => new ApprovalsClient({ gateway: gateway.url, token: tokens[who] });

  /** What the pipeline does on an `approve` decision, for the agent behind `token`. */
  async function agentAsks(token: string, sql?: string) {
    const auth = await gateway.authenticator.authenticate(bearer(token));
    if (!auth.ok) throw new Error(auth.message);
    return gateway.store.requestApproval(financeAsk(auth.identity, sql ? { sql } : {}));
  }

  async function refusal(promise: Promise<unknown>): Promise<[number, string]> {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    if (!(error instanceof ApprovalsClientError)) throw new Error(`expected a refusal, got ${String(error)}`);
    return [error.status, error.code];
  }

  it('refuses calls without a valid bearer token', async () => {
    for (const authorization of [undefined, 'Bearer not.a.jwt', `Bearer ${tokens.agent.slice(0, -4)}AAAA`, `Basic ${Buffer.from('a:b').toString('base64')}`]) {
      const response = await fetch(`${gateway.url}/approvals`, { headers: authorization ? { authorization } : {} });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="sluice"/);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
    }
    const post = await fetch(`${gateway.url}/approvals/apr_x/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"comment":"x"}' });
    expect(post.status).toBe(401);
  });

  it('lets an approver list, inspect and approve; agents and outsiders cannot decide', async () => {
    const { id, approveUrl } = await agentAsks(tokens.agent);
    expect(approveUrl).toBe(`${gateway.url}/approve/requests/${id}`);

    // The requesting agent sees its own request, and may not approve it.
    expect((await client('agent').list()).map((r) => r.id)).toEqual([id]);
    expect(await refusal(client('agent').vote(id, 'approve', 'please'))).toEqual([403, 'not_human']);
    // Another agent and a person outside data-owners see nothing.
    expect(await client('otherAgent').list()).toEqual([]);
    expect(await client('bob').list()).toEqual([]);
    expect(await refusal(client('bob').show(id))).toEqual([404, 'not_found']);
    expect(await refusal(client('bob').vote(id, 'approve', 'looks fine'))).toEqual([403, 'not_an_approver']);

    const listed = await client('alice').list('pending');
    expect(listed.map((r) => r.id)).toContain(id);
    const detail = await client('alice').show(id);
    expect(detail.request).toMatchObject({ id, status: 'pending', requester: { subject: 'reporting-agent', kind: 'agent', issuer: idp.issuer } });
    expect(detail.input?.sql.hash).toBe(detail.request.sql.hash);
    // The real policy, given the proposed dataset grant, would let the query through.
    expect(detail.preview?.outcome).toBe('allow');
    expect(detail.preview?.reasons.map((r) => r.code)).toContain('grant_used');

    expect(await refusal(client('alice').vote(id, 'approve', ''))).toEqual([400, 'invalid_request']);
    const raw = await fetch(`${gateway.url}/approvals/${id}/approve`, {
      method: 'POST',
      headers: { authorization: bearer(tokens.alice), 'content-type': 'application/json' },
      body: JSON.stringify({ comment: { text: 'ok' } }),
    });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { error: { code: string } }).error.code).toBe('invalid_request');

    const result = await client('alice').vote(id, 'approve', 'month-end reconciliation');
    expect(result.request).toMatchObject({ status: 'approved', votes: [{ approver: { subject: 'alice', issuer: idp.issuer }, comment: 'month-end reconciliation' }] });
    expect(result.grant).toMatchObject({ status: 'active', subject: 'reporting-agent', issuer: idp.issuer, approvalId: id });
    expect(await refusal(client('alice').vote(id, 'reject', 'too late'))).toEqual([409, 'not_pending']);

    const agentIdentity = await gateway.authenticator.authenticate(bearer(tokens.agent));
    expect(agentIdentity.ok && (await gateway.store.activeGrants(agentIdentity.identity)).map((g) => g.id)).toEqual([result.grant!.id]);
    expect(events.filter((e) => e.action === 'refused').map((e) => [e.error?.code, e.actor?.subject])).toEqual(
      expect.arrayContaining([['not_human', 'reporting-agent'], ['not_an_approver', 'bob'], ['invalid_request', 'alice'], ['not_pending', 'alice']]),
    );
  });

  it('lists grants for their holders and approvers, and revokes them at once', async () => {
    const { id } = await agentAsks(tokens.otherAgent);
    const { grant } = await client('alice').vote(id, 'approve', 'short look');
    expect((await client('alice').grants()).map((g) => g.id)).toContain(grant!.id);
    expect((await client('otherAgent').grants()).map((g) => g.id)).toEqual([grant!.id]);
    expect(await client('bob').grants()).toEqual([]);
    expect(await refusal(client('bob').revoke(grant!.id))).toEqual([403, 'not_an_approver']);

    const revoked = await client('alice').revoke(grant!.id, 'done');
    expect(revoked).toMatchObject({ id: grant!.id, status: 'revoked', revokedBy: 'alice' });
    const holder = await gateway.authenticator.authenticate(bearer(tokens.otherAgent));
    expect(holder.ok && (await gateway.store.activeGrants(holder.identity))).toEqual([]);
    expect((await client('alice').grants()).map((g) => g.id)).not.toContain(grant!.id);
    expect((await client('alice').grants('all')).find((g) => g.id === grant!.id)?.status).toBe('revoked');
    expect(await refusal(client('alice').revoke(grant!.id))).toEqual([409, 'already_revoked']);
    expect(await refusal(client('alice').revoke('grt_nope'))).toEqual([404, 'grant_not_found']);
  });

  it('keeps pending requests and grants when the gateway restarts', async () => {
    const pending = await agentAsks(tokens.agent, 'SELECT SUM(amount) FROM `acme-analytics.finance.ledger`');
    const decided = await agentAsks(tokens.otherAgent, 'SELECT COUNT(*) FROM `acme-analytics.finance.ledger`');
    const { grant } = await client('alice').vote(decided.id, 'approve', 'before the restart');

    await gateway.close();
    gateway = await startGateway({ storageUrl, idp, store: { onEvent: (e) => events.push(e) } });

    expect((await client('alice').list('pending')).map((r) => r.id)).toContain(pending.id);
    expect((await client('otherAgent').grants()).map((g) => g.id)).toEqual([grant!.id]);
    const after = await client('alice').vote(pending.id, 'approve', 'after the restart');
    expect(after.request.status).toBe('approved');
  });
});
