// Attack on the precedence of revocation signals: an introspection-made disable is lifted by the
// next token the provider calls active, so it must never replace a disable of another origin (the
// kill switch, a Shared Signals event) that a lagging replica had not seen yet. And a local kill
// switch is lifted only locally: the provider's account-enabled signal does not undo it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrincipalControl, PrincipalStatusStore } from '../../gateway/identity/index.ts';
import { refusal } from '../support/refusals.ts';
import type { Stack } from '../support/stack.ts';
import { fixedTokenClient, ORDERS_SQL, principalRecords, revocationStack, SSF_AUDIENCE } from '../identity/support.ts';

describe('revocation precedence', () => {
  let stack: Stack;
  let issuer: string;

  beforeAll(async () => {
    ({ stack, issuer } = await revocationStack({ introspection: { cache_seconds: 1, timeout_ms: 1000 } }));
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a kill switch stays in force when a lagging replica then disables the same agent for an inactive token', async () => {
    const subject = 'engineer-bot';
    const store = new PrincipalStatusStore(stack.gateway.database.db);
    const control = new PrincipalControl({ store, audit: stack.gateway.audit, approvals: stack.gateway.approvalStore });
    await control.disable({ issuer, subject, reason: 'incident 42', signal: 'cli', actor: 'admin' });
    // What a replica whose disabled set had not caught up yet does with an inactive token of the agent.
    await control.disable({ issuer, subject, reason: 'the issuer calls an unexpired token inactive', signal: 'introspection', actor: issuer });
    expect(await store.get(issuer, subject)).toMatchObject({ disabled: true, signal: 'cli', reason: 'incident 42' });

    // The provider never disabled the agent: a token it issues later is active there, and must not lift the kill switch.
    await new Promise((r) => setTimeout(r, 1100));
    const err = await refusal(fixedTokenClient(stack.gatewayUrl, await stack.token(subject)).query(ORDERS_SQL));
    expect(err.code).toBe(401);
    expect(err.message).toContain('by cli');
    expect((await store.get(issuer, subject))?.disabled).toBe(true);
  });
});

describe('a kill switch against the provider\'s signals', () => {
  let stack: Stack;
  let issuer: string;

  beforeAll(async () => {
    ({ stack, issuer } = await revocationStack({ signals: true }));
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('account-enabled from the provider does not lift `sluice principals disable`; a local enable does', async () => {
    const subject = 'analyst-bot';
    const store = new PrincipalStatusStore(stack.gateway.database.db);
    const control = new PrincipalControl({ store, audit: stack.gateway.audit, approvals: stack.gateway.approvalStore });
    await control.disable({ issuer, subject, reason: 'incident 43', signal: 'cli', actor: 'admin' });

    const pushed = await stack.idp.pushSecurityEvent(`${stack.gatewayUrl}/ssf/events`, { event: 'account-enabled', subject, audience: SSF_AUDIENCE });
    expect(pushed.status).toBe(202);
    expect(await store.get(issuer, subject)).toMatchObject({ disabled: true, signal: 'cli', reason: 'incident 43' });
    await new Promise((r) => setTimeout(r, 300)); // past the replica's poll interval
    const err = await refusal(fixedTokenClient(stack.gatewayUrl, await stack.token(subject)).query(ORDERS_SQL));
    expect(err.code).toBe(401);
    expect(err.message).toContain('by cli');
    const records = await principalRecords(stack);
    expect(records.some((r) => r.subject === subject && r.action === 'enabled')).toBe(false);
    expect(records.find((r) => r.subject === subject && r.action === 'signal_refused')).toMatchObject({ signal: 'ssf:account-enabled', error: { code: 'kill_switch_in_force' } });

    await control.enable({ issuer, subject, reason: 'incident closed', signal: 'cli', actor: 'admin' });
    expect((await store.get(issuer, subject))?.disabled).toBe(false);
  });
});
