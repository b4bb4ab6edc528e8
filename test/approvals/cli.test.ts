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
