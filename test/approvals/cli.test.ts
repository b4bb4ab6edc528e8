import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../demo/idp.ts';
import { sluice } from '../support/cli.ts';
import { sqliteUrl } from '../support/databases.ts';
import { bearer, closeIdentityProviders, startTestIdentityProvider } from '../support/oidc.ts';
import { financeAsk } from './support/fixtures.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from './support/human-login.ts';

describe('sluice approvals and sluice grants against a gateway', () => {
  let idp: IdentityProvider;
  let gateway: TestGateway;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    idp = await startTestIdentityProvider({ webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] });
    gateway = await startGateway({ storageUrl: sqliteUrl(), idp });
    alice = await humanAccessToken(idp, 'alice');
    bob = await humanAccessToken(idp, 'bob');
  });

  afterAll(async () => {
    await gateway?.close();
    await closeIdentityProviders();
  });

  it('lists, shows, approves and revokes', async () => {
    const auth = await gateway.authenticator.authenticate(bearer(await idp.tokenFor('reporting-agent')));
    if (!auth.ok) throw new Error(auth.message);
    const { id } = await gateway.store.requestApproval(financeAsk(auth.identity));
    const as = ['--gateway', gateway.url, '--token', alice];

    const list = await sluice(['approvals', 'list', ...as]);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(list.stdout).toMatch(new RegExp(`^ID\\s+STATUS\\s+REQUESTER\\s+TABLES\\s+ESTIMATE\\s+DECIDE BY\\n${id}\\s+pending\\s+reporting-agent\\s+acme-analytics\\.finance\\.ledger\\s+3\\.00 GiB`));

    const show = await sluice(['approvals', 'show', id, '--gateway', gateway.url], { SLUICE_TOKEN: alice });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('requested by  reporting-agent (agent, groups: agents)');
    expect(show.stdout).toContain('approval_required: statement 0 reads acme-analytics.finance.ledger');

    const refused = await sluice(['approvals', 'approve', id, '-m', 'sure', '--gateway', gateway.url, '--token', bob]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`sluice: only members of data-owners decide on this request (HTTP 403, not_an_approver)\n`);
    expect((await sluice(['approvals', 'approve', id, ...as])).code).toBe(2); // the comment is required

    const approved = await sluice(['approvals', 'approve', id, '--comment', 'quarter end', ...as]);
    expect(approved.code).toBe(0);
    const grantId = /grant (grt_[0-9a-f]{32}) for reporting-agent/.exec(approved.stdout)?.[1];
    expect(grantId).toBeDefined();

    const grants = await sluice(['grants', 'list', ...as, '--json']);
    expect((JSON.parse(grants.stdout) as { id: string }[]).map((g) => g.id)).toEqual([grantId]);
    const revoked = await sluice(['grants', 'revoke', grantId!, '-m', 'done', ...as]);
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked ${grantId} (held by reporting-agent)\n` });
    expect((await sluice(['grants', 'list', ...as])).stdout).toBe('no active grants\n');
    expect((await sluice(['grants', 'list', '--all', ...as])).stdout).toMatch(new RegExp(`${grantId}\\s+revoked`));
  });

  it('pages with --max-results and --page-token, filters, and prints the counts', async () => {
    const auth = await gateway.authenticator.authenticate(bearer(await idp.tokenFor('analyst-bot')));
    if (!auth.ok) throw new Error(auth.message);
    const first = await gateway.store.requestApproval(financeAsk(auth.identity, { sql: 'SELECT paged_one FROM `acme-analytics.finance.ledger`' }));
    const second = await gateway.store.requestApproval(financeAsk(auth.identity, { sql: 'SELECT paged_two FROM `acme-analytics.finance.ledger`' }));
    const as = ['--gateway', gateway.url, '--token', alice];

    const one = await sluice(['approvals', 'list', '--requester', 'analyst-bot', '--max-results', '1', ...as]);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain(second.id);
    expect(one.stdout).not.toContain(first.id);
    expect(one.stdout).toContain('pending 2, approved 0, rejected 0, expired 0, withdrawn 0');
    const token = /more: --page-token (\S+)/.exec(one.stdout)?.[1];
    expect(token).toBeDefined();
    const two = await sluice(['approvals', 'list', '--requester', 'analyst-bot', '--max-results', '1', '--page-token', token!, ...as]);
    expect(two.stdout).toContain(first.id);
    expect(two.stdout).not.toContain('more: --page-token');
    // The token belongs to alice's listing with these filters: anyone or anything else is refused.
    expect(await sluice(['approvals', 'list', '--max-results', '1', '--page-token', token!, ...as])).toMatchObject({ code: 1, stderr: expect.stringContaining('(HTTP 400, invalid_request)') });
    expect((await sluice(['approvals', 'list', '--dataset', 'acme-analytics.sales', ...as])).stdout).toBe('no pending approval requests\n');
    expect(await sluice(['approvals', 'list', '--max-results', '0', ...as])).toMatchObject({ code: 2, stderr: expect.stringContaining('--max-results') });
  });

  // The agent writes the SQL: a terminal escape in a comment could erase the lines `show` prints
  // and draw another statement in their place, and a bidi control reorder what the approver reads.
  it('shows the control and bidi characters of the SQL as visible escapes, never raw', async () => {
    const auth = await gateway.authenticator.authenticate(bearer(await idp.tokenFor('reporting-agent')));
    if (!auth.ok) throw new Error(auth.message);
    const sql = 'SELECT account, amount, memo FROM `acme-analytics.finance.ledger` /*\u001b[2K\r  SELECT account FROM x */ -- a\u202eb\u2066c\u200b';
    const { id } = await gateway.store.requestApproval(financeAsk(auth.identity, { sql }));
    const show = await sluice(['approvals', 'show', id, '--gateway', gateway.url, '--token', alice]);
    expect(show.code).toBe(0);
    expect(show.stdout).not.toMatch(/[\u001b\r\u202e\u2066\u200b]/);
    expect(show.stdout).toContain('/*\\u{1B}[2K\\u{D}');
    expect(show.stdout).toContain('-- a\\u{202E}b\\u{2066}c\\u{200B}');
  });

  it('explains what is missing or wrong', async () => {
    expect(await sluice(['approvals', 'list', '--gateway', gateway.url])).toMatchObject({ code: 2, stderr: expect.stringContaining('no token') });
    expect(await sluice(['grants', 'list', '--token', alice], { SLUICE_GATEWAY: '' })).toMatchObject({ code: 2, stderr: expect.stringContaining('no gateway') });
    expect(await sluice(['approvals', 'list', '--gateway', gateway.url, '--token', 'expired.or.forged'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('(HTTP 401, unauthenticated)'),
    });
    expect(await sluice(['approvals', 'list', '--gateway', 'http://127.0.0.1:9', '--token', alice])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('could not be reached'),
    });
  });
});
