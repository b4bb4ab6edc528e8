import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../demo/idp.ts';
import { buildBundle, Engine } from '../../engine/index.ts';
import type { Identity } from '../../engine/schema-types.ts';
import { approvalAuditListener, AuditLog, type AuditRecord } from '../../gateway/audit/index.ts';
import { recordValidator } from '../audit/helpers.ts';
import { sluice } from '../support/cli.ts';
import { sqliteUrl } from '../support/databases.ts';
import { bearer, closeIdentityProviders, startTestIdentityProvider } from '../support/oidc.ts';
import { chromiumAvailable, launchBrowser } from './support/browser.ts';
import { bytesAsk, financeAsk } from './support/fixtures.ts';
import { flood } from './support/flood.ts';
import { freePort, startGateway, type TestGateway } from './support/gateway.ts';

const REPORTS = join(import.meta.dirname, '..', '..', 'reports');
const PAGE_CLIENT = 'sluice-approver';

describe.skipIf(!chromiumAvailable() && !process.env.CI)('approver page in headless Chromium', () => {
  let idp: IdentityProvider;
  let gateway: TestGateway;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let context: BrowserContext;
  let attacker: Server;
  let attackerUrl: string;
  let storage: string;
  let audit: AuditLog | undefined;

  beforeAll(async () => {
    const port = await freePort();
    const gatewayUrl = `http://127.0.0.1:${port}`;
    idp = await startTestIdentityProvider({ webClients: [{ clientId: PAGE_CLIENT, redirectUris: [`${gatewayUrl}/approve/callback`] }] });
    const engine = await Engine.load((await buildBundle()).path);
    storage = sqliteUrl();
    gateway = await startGateway({
      storageUrl: storage,
      idp,
      port,
      // The audit log opens on the gateway's database once it is up; nothing is refused before.
      store: { onEvent: (event) => audit && approvalAuditListener(audit)(event) },
      plugin: {
        record: async (event) => audit?.record(event),
        engine,
        page: {
          issuer: idp.issuer,
          clientId: PAGE_CLIENT,
          resource: idp.audience,
          scope: 'openid profile email',
          sessionSecret: 'a test secret of at least thirty-two bytes',
        },
      },
    });
    audit = await AuditLog.open(gateway.database, { stream: 'gw-page' });
    browser = await launchBrowser();
    context = browser.context;
    // Another origin on the same machine (so the same site: SameSite=Lax alone would let a
    // cookie through) serving a page that posts a vote to the gateway.
    attacker = createServer((req, res) => {
      const target = decodeURIComponent(new URL(req.url ?? '/', 'http://x').searchParams.get('target') ?? '');
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><form id="f" method="post" action="${target}"><input name="vote" value="approve"><input name="comment" value="forged"><input name="csrf" value="guess"></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await audit?.close();
    await browser?.close();
    await new Promise((resolve) => attacker?.close(resolve));
    await gateway?.close();
    await closeIdentityProviders();
  });

  async function agentAsks(client: string, ask: typeof financeAsk | typeof bytesAsk = financeAsk) {
    const auth = await gateway.authenticator.authenticate(bearer(await idp.tokenFor(client)));
    if (!auth.ok) throw new Error(auth.message);
    return gateway.store.requestApproval(ask(auth.identity));
  }

  async function signIn(page: Page, account: string): Promise<void> {
    await expect.poll(() => page.url()).toContain(idp.url);
    await page.getByLabel('Account').fill(account);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${gateway.url}/approve**`);
  }

  it('signs an approver in, approves a pending request, then revokes its grant', async () => {
    const { id } = await agentAsks('reporting-agent');
    const page = await context.newPage();

    // Not signed in: the page sends the browser to the identity provider (code + PKCE).
    await page.goto(`${gateway.url}/approve`);
    const authorize = new URL(page.url());
    expect(authorize.origin).toBe(idp.url);
    await signIn(page, 'alice');
    expect(page.url()).toBe(`${gateway.url}/approve`);

    // The pending list shows who asked, the SQL, tables, the estimate and the policy's reasons.
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Pending requests');
    await expect.poll(() => page.getByText('Signed in as').textContent()).toContain('Alice');
    const row = page.getByRole('row').filter({ hasText: 'reporting-agent' });
    expect(await row.count()).toBe(1);
    const rowText = (await row.textContent()) ?? '';
    expect(rowText).toContain('SELECT account, amount FROM `acme-analytics.finance.ledger`');
    expect(rowText).toContain('acme-analytics.finance.ledger');
    expect(rowText).toContain('3.00 GiB');
    expect(rowText).toContain('approval_required');

    await row.getByRole('link', { name: /Review/ }).click();
    await page.waitForURL(`${gateway.url}/approve/requests/${id}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Request from reporting-agent');
    expect(await page.locator('pre.sql').textContent()).toContain('WHERE booked_on >= "2025-01-01"');
    expect(await page.getByText('With the proposed grant the policy would answer').textContent()).toContain('allow');

    // Keyboard only: type the comment, tab to Approve, press Enter.
    await page.getByLabel(/Comment/).focus();
    await page.keyboard.type('Quarter-end reconciliation, one hour.');
    mkdirSync(REPORTS, { recursive: true });
    await page.screenshot({ path: join(REPORTS, 'approver-page.png'), fullPage: true });
    await page.keyboard.press('Tab');
    expect(await page.getByRole('button', { name: 'Approve' }).evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${gateway.url}/approve/requests/${id}?done=approved`);
    const notice = (await page.getByRole('status').textContent()) ?? '';
    expect(notice).toMatch(/You approved this request\. Grant grt_[0-9a-f]{32} is active\./);
    const grantId = /grt_[0-9a-f]{32}/.exec(notice)![0];
    expect(await page.locator('.facts').textContent()).toContain('approved');
    expect((await gateway.store.get(id))?.votes).toEqual([expect.objectContaining({ comment: 'Quarter-end reconciliation, one hour.' })]);

    // The grant is listed; revoking it takes effect at once.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Grants' }).click();
    await page.waitForURL(`${gateway.url}/approve/grants`);
    const grantRow = page.getByRole('row').filter({ hasText: grantId });
    expect(await grantRow.textContent()).toContain('reporting-agent');
    await grantRow.getByLabel(`Reason for revoking grant ${grantId}`).fill('reconciliation finished');
    await grantRow.getByRole('button', { name: `Revoke grant ${grantId} of reporting-agent` }).click();
    await page.waitForURL(`${gateway.url}/approve/grants?revoked=${grantId}`);
    expect(await page.getByRole('status').textContent()).toContain(`Grant ${grantId} is revoked.`);
    expect(await page.getByRole('table', { name: 'Recently ended grants' }).textContent()).toContain('revoked');
    const agent = await gateway.authenticator.authenticate(bearer(await idp.tokenFor('reporting-agent')));
    expect(agent.ok && (await gateway.store.activeGrants(agent.identity))).toEqual([]);
    await page.close();
  });

  it('refuses a vote posted from another origin, and a form without the session token', async () => {
    const { id } = await agentAsks('analyst-bot', bytesAsk);
    const page = await context.newPage();
    await page.goto(`${gateway.url}/approve/requests/${id}`); // still signed in as alice
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Request from analyst-bot');

    const voteUrl = `${gateway.url}/approve/requests/${id}/vote`;
    const forged = page.waitForResponse(voteUrl);
    await page.goto(`${attackerUrl}/?target=${encodeURIComponent(voteUrl)}`);
    expect((await forged).status()).toBe(403);
    expect((await gateway.store.get(id))?.status).toBe('pending');

    // Same origin but no valid token (the browser's cookies, nothing else).
    const response = await page.request.post(voteUrl, { form: { vote: 'approve', comment: 'no token', csrf: 'x'.repeat(43) } });
    expect(response.status()).toBe(403);
    expect((await gateway.store.get(id))?.votes).toEqual([]);
    await page.close();
  });

  it('returns to the requested page after sign-in, and shows outsiders nothing', async () => {
    const { id } = await agentAsks('engineer-bot');
    await context.clearCookies(); // signed out of the gateway and of the identity provider
    const page = await context.newPage();
    await page.goto(`${gateway.url}/approve/requests/${id}`);
    await signIn(page, 'bob');
    expect(page.url()).toBe(`${gateway.url}/approve/requests/${id}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Not found');
    await page.goto(`${gateway.url}/approve`);
    expect(await page.getByText('No request is waiting for your decision.').count()).toBe(1);

    // Every control of the pages is labelled.
    await context.clearCookies();
    await page.goto(`${gateway.url}/approve/requests/${id}`);
    await signIn(page, 'alice');
    const unlabelled = await page
      .locator('textarea, input:not([type=hidden]), button, select')
      .evaluateAll((controls) => controls.filter((el) => !el.innerText?.trim() && !el.getAttribute('aria-label') && !el.labels?.length).map((el) => el.outerHTML));
    expect(unlabelled).toEqual([]);
    expect(await page.locator('main#main').count()).toBe(1);

    // A copy of the session cookie taken before signing out (another browser, a stolen cookie).
    const copy = (await context.cookies(`${gateway.url}/approve`)).find((c) => c.name === 'sluice_approver')!;
    const withCopy = (path: string, init: RequestInit = {}) =>
      fetch(`${gateway.url}${path}`, { redirect: 'manual', ...init, headers: { cookie: `sluice_approver=${copy.value}`, ...init.headers } });
    expect((await withCopy('/approve')).status).toBe(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Signed out');
    // The gateway session is gone: the page sends the browser to sign in again.
    const after = await page.request.get(`${gateway.url}/approve`, { maxRedirects: 0 });
    expect(after.status()).toBe(303);
    expect(after.headers().location).toBe('/approve/login?next=%2Fapprove');
    // And so is every copy of it, for reading and for voting: the sign-out is recorded in the store.
    const listed = await withCopy('/approve');
    expect(listed.status).toBe(303);
    expect(listed.headers.get('location')).toBe('/approve/login?next=%2Fapprove');
    const voted = await withCopy(`/approve/requests/${id}/vote`, {
      method: 'POST',
      headers: { origin: gateway.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ vote: 'approve', comment: 'after sign-out', csrf: 'x' }).toString(),
    });
    expect(voted.status).not.toBe(200);
    expect((await gateway.store.get(id))?.votes).toEqual([]);
    await page.close();
  });

  async function lastRecord(): Promise<AuditRecord> {
    await audit!.flush();
    const row = await gateway.database.db.selectFrom('audit_records').select('body').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
    return JSON.parse(row.body) as AuditRecord;
  }

  async function identityOf(client: string) {
    const auth = await gateway.authenticator.authenticate(bearer(await idp.tokenFor(client)));
    if (!auth.ok) throw new Error(auth.message);
    return auth.identity;
  }

  it("pages an approver through what it may decide on, with counts, whatever another agent floods", async () => {
    const page = await context.newPage();
    await page.goto(`${gateway.url}/approve`);
    if (page.url().startsWith(idp.url)) await signIn(page, 'alice');
    const pendingCount = async () => Number(await page.getByRole('navigation', { name: 'Requests by status' }).getByRole('link', { name: /^pending/ }).locator('.count').textContent());
    const before = await pendingCount();

    // 60 of analyst-bot's for data-owners (older), then pii-agent's one, then 1,000 for others.
    const now = Date.now();
    const decidable = await flood(gateway.database, await identityOf('analyst-bot'), 60, { startMs: now - 600_000 });
    const quiet = await agentAsks('pii-agent');
    await flood(gateway.database, await identityOf('engineer-bot'), 1000, {
      startMs: now + 1000,
      dataset: 'acme-analytics.marketing',
      approval: { approver_groups: ['marketing-owners'], scope: { kind: 'dataset', datasets: ['acme-analytics.marketing'] } },
    });

    await page.goto(`${gateway.url}/approve`);
    expect(await pendingCount()).toBe(before + 61);
    const rows = page.getByRole('table').getByRole('row').filter({ has: page.getByRole('link', { name: /Review/ }) });
    expect(await rows.count()).toBe(50);
    expect(await rows.first().textContent()).toContain('pii-agent');
    expect(await page.getByRole('link', { name: 'Previous page' }).count()).toBe(0);
    const firstIds = await rows.getByRole('link', { name: /Review/ }).evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    expect(firstIds[0]).toBe(`/approve/requests/${quiet.id}`);

    // Next page: the rest, none twice; back: the first page again.
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.waitForURL(/\/approve\?pageToken=/);
    const secondIds = await rows.getByRole('link', { name: /Review/ }).evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    expect(secondIds.length).toBe(before + 61 - 50);
    expect(secondIds.filter((href) => firstIds.includes(href))).toEqual([]);
    expect(secondIds).toContain(`/approve/requests/${decidable[0]}`);
    await page.getByRole('link', { name: 'Previous page' }).click();
    expect(await rows.getByRole('link', { name: /Review/ }).evaluateAll((links) => links.map((a) => a.getAttribute('href')))).toEqual(firstIds);

    // A made-up page token: 400, recorded with the person who sent it.
    const forged = await page.goto(`${gateway.url}/approve?pageToken=WzEsIm4iLDEsImFwcl94IiwieCJd`);
    expect(forged?.status()).toBe(400);
    expect(await lastRecord()).toMatchObject({ kind: 'approval', data: { action: 'refused', operation: 'list', actor: 'alice', error: { code: 'invalid_request' } } });
    await page.close();
  });

  it('records every refused vote and revoke form with the signed-in person, and the chain verifies', async () => {
    const { id } = await agentAsks('reporting-agent', (identity: Identity) => financeAsk(identity, { sql: 'SELECT refused_forms FROM `acme-analytics.finance.ledger`' }));
    const page = await context.newPage();
    await page.goto(`${gateway.url}/approve/requests/${id}`);
    if (page.url().startsWith(idp.url)) await signIn(page, 'alice');
    const csrf = await page.locator('input[name=csrf]').first().inputValue();
    const voteUrl = `${gateway.url}/approve/requests/${id}/vote`;

    // Posted from another origin by the browser itself.
    const crossSite = page.waitForResponse(voteUrl);
    await page.goto(`${attackerUrl}/?target=${encodeURIComponent(voteUrl)}`);
    expect((await crossSite).status()).toBe(403);
    expect(await lastRecord()).toMatchObject({ kind: 'approval', data: { action: 'refused', operation: 'vote', vote: 'approve', approval_id: id, actor: 'alice', error: { code: 'cross_site_request' } } });
    // An Origin header of another site, with the right token.
    const badOrigin = await page.request.post(voteUrl, { form: { vote: 'approve', comment: 'x', csrf }, headers: { origin: 'https://evil.example' } });
    expect(badOrigin.status()).toBe(403);
    expect(await lastRecord()).toMatchObject({ kind: 'approval', data: { operation: 'vote', actor: 'alice', error: { code: 'cross_site_request' } } });
    // Same origin, no token / a wrong token.
    expect((await page.request.post(voteUrl, { form: { vote: 'approve', comment: 'x' } })).status()).toBe(403);
    expect(await lastRecord()).toMatchObject({ kind: 'approval', data: { operation: 'vote', actor: 'alice', error: { code: 'csrf_token_missing' } } });
    expect((await page.request.post(voteUrl, { form: { vote: 'reject', comment: 'x', csrf: `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}` } })).status()).toBe(403);
    expect(await lastRecord()).toMatchObject({ kind: 'approval', data: { operation: 'vote', vote: 'reject', actor: 'alice', error: { code: 'csrf_token_invalid' } } });
    // A vote that is neither approve nor reject, and one by someone who may not decide (the store's).
    expect((await page.request.post(voteUrl, { form: { vote: 'abstain', comment: 'x', csrf } })).status()).toBe(400);
    expect(await lastRecord()).toMatchObject({ kind: 'approval', data: { operation: 'vote', actor: 'alice', error: { code: 'invalid_request' } } });
    expect((await gateway.store.get(id))?.votes).toEqual([]);

    // Revokes: a grant of this request, then forms that must not end it.
    const { grant } = await gateway.store.vote({ requestId: id, approver: { subject: 'carol', issuer: idp.issuer, kind: 'human', groups: ['data-owners'], claims: {} }, vote: 'approve', comment: 'ok' });
    const revokeUrl = `${gateway.url}/approve/grants/${grant!.id}/revoke`;
    expect((await page.request.post(revokeUrl, { form: { comment: 'x', csrf }, headers: { origin: attackerUrl } })).status()).toBe(403);
    expect(await lastRecord()).toMatchObject({ kind: 'grant', data: { action: 'refused', grant_id: grant!.id, actor: 'alice', error: { code: 'cross_site_request' } } });
    expect((await page.request.post(revokeUrl, { form: { comment: 'x', csrf: 'forged' } })).status()).toBe(403);
    expect(await lastRecord()).toMatchObject({ kind: 'grant', data: { action: 'refused', grant_id: grant!.id, actor: 'alice', error: { code: 'csrf_token_invalid' } } });
    // Without a session at all: sent to sign in, and the attempt is recorded without an actor.
    const anonymous = await fetch(revokeUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'comment=x', redirect: 'manual' });
    expect(anonymous.status).toBe(303);
    expect(await lastRecord()).toMatchObject({ kind: 'grant', data: { action: 'refused', grant_id: grant!.id, actor: null, error: { code: 'unauthenticated' } } });
    expect((await gateway.store.getGrant(grant!.id))?.status).toBe('active');
    // A person outside the grant's approver groups: refused by the store, recorded with them.
    await context.clearCookies();
    await page.goto(`${gateway.url}/approve/grants`);
    await signIn(page, 'bob');
    const bobCsrf = await page.locator('input[name=csrf]').first().inputValue();
    expect((await page.request.post(revokeUrl, { form: { comment: 'x', csrf: bobCsrf } })).status()).toBe(403);
    expect(await lastRecord()).toMatchObject({ kind: 'grant', data: { action: 'refused', grant_id: grant!.id, actor: 'bob', error: { code: 'not_an_approver' } } });
    // Someone else's request: not found, recorded.
    expect((await page.goto(`${gateway.url}/approve/requests/${id}`))?.status()).toBe(404);
    expect(await lastRecord()).toMatchObject({ kind: 'approval', data: { action: 'refused', operation: 'view', approval_id: id, actor: 'bob' } });
    await page.close();

    await audit!.flush();
    const validate = recordValidator();
    const bodies = await gateway.database.db.selectFrom('audit_records').select('body').execute();
    for (const { body } of bodies) expect(validate(JSON.parse(body)), JSON.stringify(validate.errors)).toBe(true);
    const verified = await sluice(['audit', 'verify', '--storage', storage]);
    expect(verified.code, verified.stderr).toBe(0);
  });

  it('says a vote or revoke happened only when it did, whatever a link claims', async () => {
    // A link can carry ?done= or ?revoked= without any vote or revoke behind it.
    const { id } = await agentAsks('reporting-agent', bytesAsk);
    await context.clearCookies();
    const page = await context.newPage();
    await page.goto(`${gateway.url}/approve/requests/${id}?done=rejected`);
    await signIn(page, 'alice');
    expect(page.url()).toBe(`${gateway.url}/approve/requests/${id}?done=rejected`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Request from reporting-agent');
    expect(await page.getByRole('status').count()).toBe(0);
    expect(await page.getByText('You rejected this request.').count()).toBe(0);
    await page.goto(`${gateway.url}/approve/requests/${id}?done=approved`);
    expect(await page.getByText(/You approved this request|Your approval is recorded/).count()).toBe(0);
    expect((await gateway.store.get(id))?.status).toBe('pending');

    await page.goto(`${gateway.url}/approve/grants?revoked=grt_00000000000000000000000000000000`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Grants');
    expect(await page.getByText(/is revoked\./).count()).toBe(0);
    await page.goto(`${gateway.url}/approve/grants?revoked=${encodeURIComponent('grt_x. Your session ended: sign in again at https://evil.example')}`);
    expect(await page.getByText(/evil\.example/).count()).toBe(0);
    await page.close();
  });
});
