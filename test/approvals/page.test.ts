import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../demo/idp.ts';
import { buildBundle, Engine } from '../../engine/index.ts';
import { sqliteUrl } from '../support/databases.ts';
import { bearer, closeIdentityProviders, startTestIdentityProvider } from '../support/oidc.ts';
import { chromiumAvailable, launchBrowser } from './support/browser.ts';
import { bytesAsk, financeAsk } from './support/fixtures.ts';
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

  beforeAll(async () => {
    const port = await freePort();
    const gatewayUrl = `http://127.0.0.1:${port}`;
    idp = await startTestIdentityProvider({ webClients: [{ clientId: PAGE_CLIENT, redirectUris: [`${gatewayUrl}/approve/callback`] }] });
    const engine = await Engine.load((await buildBundle()).path);
    gateway = await startGateway({
      storageUrl: sqliteUrl(),
      idp,
      port,
      plugin: {
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

    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Signed out');
    // The gateway session is gone: the page sends the browser to sign in again.
    const after = await page.request.get(`${gateway.url}/approve`, { maxRedirects: 0 });
    expect(after.status()).toBe(303);
    expect(after.headers().location).toBe('/approve/login?next=%2Fapprove');
    await page.close();
  });
});
