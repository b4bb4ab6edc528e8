// GET /approvals and GET /grants with real identity-provider tokens, on both engines: after one
// agent floods, another agent's request is on its approver's first page; the flooding agent pages
// through exactly what it filed; filters and counts are decided for the caller; page tokens and
// the query are checked before anything is listed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../demo/idp.ts';
import type { Identity } from '../../engine/schema-types.ts';
import { ApprovalsClient, ApprovalsClientError } from '../../gateway/approvals/index.ts';
import { storageTargets } from '../support/databases.ts';
import { bearer, closeIdentityProviders, startTestIdentityProvider } from '../support/oidc.ts';
import { financeAsk } from './support/fixtures.ts';
import { flood } from './support/flood.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from './support/human-login.ts';

const FLOOD = 1000;

describe.each(storageTargets())('paged approval listings over the API on $engine', ({ url }) => {
  let idp: IdentityProvider;
  let gateway: TestGateway;
  const tokens: Record<'alice' | 'bob' | 'flooder' | 'quiet', string> = { alice: '', bob: '', flooder: '', quiet: '' };
  const identities: Partial<Record<keyof typeof tokens, Identity>> = {};
  let flooded: string[] = [];
  let quietId = '';

  beforeAll(async () => {
    idp = await startTestIdentityProvider({ webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] });
    gateway = await startGateway({ storageUrl: await url(), idp });
    tokens.alice = await humanAccessToken(idp, 'alice');
    tokens.bob = await humanAccessToken(idp, 'bob');
    tokens.flooder = await idp.tokenFor('analyst-bot');
    tokens.quiet = await idp.tokenFor('reporting-agent');
    for (const who of Object.keys(tokens) as (keyof typeof tokens)[]) {
      const result = await gateway.authenticator.authenticate(bearer(tokens[who]));
      if (!result.ok) throw new Error(result.message);
      identities[who] = result.identity;
    }
    // The quiet agent files one request through the store's real path; the flood comes after it.
    quietId = (await gateway.store.requestApproval(financeAsk(identities.quiet!))).id;
    flooded = await flood(gateway.database, identities.flooder!, FLOOD, {
      startMs: Date.now() + 1000,
      dataset: 'acme-analytics.marketing',
      approval: { approver_groups: ['marketing-owners'], scope: { kind: 'dataset', datasets: ['acme-analytics.marketing'] } },
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await closeIdentityProviders();
  });

  const client = (who: keyof typeof tokens) => new ApprovalsClient({ gateway: gateway.url, token: tokens[who] });

  it("puts another agent's request on its approver's first page, with the approver's counts", async () => {
    const page = await client('alice').listPage();
    expect(page.requests.map((r) => r.id)).toEqual([quietId]);
    expect(page.counts).toEqual({ pending: 1, approved: 0, rejected: 0, expired: 0, withdrawn: 0 });
    expect(page.nextPageToken).toBeUndefined();
    expect((await client('quiet').list()).map((r) => r.id)).toEqual([quietId]);
    expect(await client('bob').list()).toEqual([]);
  });

  it('lets the flooding agent page through every request it filed, each once', async () => {
    const seen: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const page = await client('flooder').listPage({ status: 'all', maxResults: 500, ...(pageToken && { pageToken }) });
      expect(page.counts.pending).toBe(FLOOD);
      seen.push(...page.requests.map((r) => r.id));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken && pages < 10);
    expect(pages).toBe(2);
    expect(seen.length).toBe(FLOOD);
    expect(new Set(seen)).toEqual(new Set(flooded));
    // Filters narrow it in SQL: another dataset, another requester.
    expect((await client('flooder').listPage({ dataset: 'acme-analytics.finance' })).counts.pending).toBe(0);
    expect((await client('flooder').listPage({ dataset: 'acme-analytics.marketing', maxResults: 1 })).counts.pending).toBe(FLOOD);
    expect(await client('flooder').listPage({ requester: 'reporting-agent' })).toMatchObject({ requests: [], counts: { pending: 0 } });
  });

  it('answers grants with counts and page tokens too', async () => {
    const { grant } = await gateway.store.vote({ requestId: quietId, approver: identities.alice!, vote: 'approve', comment: 'ok' });
    const mine = await client('quiet').grantsPage({ status: 'all' });
    expect(mine.grants.map((g) => g.id)).toEqual([grant!.id]);
    expect(mine.counts).toEqual({ active: 1, expired: 0, revoked: 0, consumed: 0 });
    expect((await client('alice').grantsPage({ dataset: 'acme-analytics.finance' })).grants.map((g) => g.id)).toEqual([grant!.id]);
    expect((await client('bob').grantsPage({ status: 'all' })).counts).toEqual({ active: 0, expired: 0, revoked: 0, consumed: 0 });
  });

  it('refuses malformed listing queries with 400 in the API error shape', async () => {
    const refused = async (query: string, token = tokens.alice) => {
      const response = await fetch(`${gateway.url}/approvals?${query}`, { headers: { authorization: bearer(token) } });
      return [response.status, ((await response.json()) as { error: { code: string } }).error.code];
    };
    expect(await refused('maxResults=0')).toEqual([400, 'invalid_request']);
    expect(await refused('maxResults=501')).toEqual([400, 'invalid_request']);
    expect(await refused('status=everything')).toEqual([400, 'invalid_request']);
    expect(await refused(`pageToken=${'A'.repeat(513)}`)).toEqual([400, 'invalid_request']);
    expect(await refused('pageToken=WzEsIm4iLDEsImFwcl94IiwieCJd')).toEqual([400, 'invalid_request']); // [1,"n",1,"apr_x","x"]
    const error = await client('flooder').listPage({ pageToken: (await client('alice').listPage({ maxResults: 1 })).nextPageToken ?? 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApprovalsClientError);
    expect((error as ApprovalsClientError).status).toBe(400);
  });
});
