// Attack on the precedence of revocation signals: an introspection-made disable is lifted by the
// next token the provider calls active, so it must never replace a disable of another origin (the
// kill switch, a Shared Signals event) that a lagging replica had not seen yet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrincipalControl, PrincipalStatusStore } from '../../gateway/identity/index.ts';
import { refusal } from '../support/refusals.ts';
import type { Stack } from '../support/stack.ts';
import { fixedTokenClient, ORDERS_SQL, revocationStack } from '../identity/support.ts';

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
