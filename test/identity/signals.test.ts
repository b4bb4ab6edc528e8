// The Shared Signals receiver (RFC 8935 push of RFC 8417 Security Event Tokens) on two gateway
// replicas sharing one PostgreSQL database: a RISC account-disabled event pushed by the demo's
// identity provider, signed with its own key, to one replica is honoured by both on the next
// request; account-enabled lets the agent back; CAEP session-revoked refuses tokens issued before
// it. Forged, replayed, untrusted, cross-issuer, mis-addressed and stale events are refused with
// RFC 8935's error body, logged and audited, and change nothing.
import { randomBytes } from 'node:crypto';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../gateway/server.ts';
import { PrincipalStatusStore } from '../../gateway/identity/index.ts';
import { startTestIdentityProvider, closeIdentityProviders } from '../support/oidc.ts';
import { freshPostgresDatabase } from '../support/databases.ts';
import { sluice } from '../support/cli.ts';
import { refusal } from '../support/refusals.ts';
import type { Stack } from '../support/stack.ts';
import { expectDisabled, fixedTokenClient, grantAndPending, ORDERS_SQL, principalRecords, revocationStack, secondReplica, SSF_AUDIENCE, until } from './support.ts';

const postgresUrl = process.env.SLUICE_TEST_POSTGRES_URL ?? inject('postgresUrl');
const POLL_MS = 100;

describe.runIf(postgresUrl)('Shared Signals on two replicas (PostgreSQL)', () => {
  let stack: Stack;
  let issuer: string;
  let two: { gateway: Gateway; url: string };
  let receiver: string;

  beforeAll(async () => {
    const storageUrl = await freshPostgresDatabase(postgresUrl!);
    const started = await revocationStack({ signals: true, storageUrl, stream: 'replica-one', revocation: { poll_interval_ms: POLL_MS } });
    ({ stack, issuer } = started);
    two = await secondReplica(stack, started.issuerConfig, { poll_interval_ms: POLL_MS, signals: { audience: SSF_AUDIENCE } });
    receiver = `${stack.gatewayUrl}/ssf/events`;
  }, 120_000);

  afterAll(async () => {
    await two?.gateway.close();
    await stack?.close();
    await closeIdentityProviders();
  });

  const status = (subject: string) => new PrincipalStatusStore(stack.gateway.database.db).get(issuer, subject);

  it('account-disabled pushed to one replica refuses the agent on both within a poll; account-enabled lets it back', async () => {
    const token = await stack.token('reporting-agent');
    const one = fixedTokenClient(stack.gatewayUrl, token);
    const other = fixedTokenClient(two.url, token);
    const { grantId, pendingId } = await grantAndPending(stack, stack.gatewayUrl, token);
    expect((await other.query(ORDERS_SQL))[0]).toHaveLength(1);

    const pushed = await stack.idp.pushSecurityEvent(receiver, { event: 'account-disabled', subject: 'reporting-agent', audience: SSF_AUDIENCE, reasonAdmin: 'offboarded' });
    expect(pushed).toEqual({ status: 202, body: '' });
    // The receiving replica at once; the other within its poll interval (well under a second).
    await expectDisabled(one.query(ORDERS_SQL), 'ssf:account-disabled');
    const lag = await until(async () => other.query(ORDERS_SQL).then(() => false, () => true), 1000, 10);
    expect(lag).toBeLessThan(1000);
    await expectDisabled(other.query(ORDERS_SQL), 'ssf:account-disabled');
    const err = await refusal(other.query(ORDERS_SQL));
    expect(err.message).toContain('(offboarded)');

    const [disabled] = (await principalRecords(stack)).filter((r) => r.action === 'disabled');
    expect(disabled).toMatchObject({ issuer, subject: 'reporting-agent', signal: 'ssf:account-disabled', actor: issuer, reason: 'offboarded', withdrawn: [pendingId], revoked: [grantId] });
    expect(disabled!.jti).toMatch(/\S/);

    const enabled = await stack.idp.pushSecurityEvent(`${two.url}/ssf/events`, { event: 'account-enabled', subject: 'reporting-agent', audience: SSF_AUDIENCE });
    expect(enabled.status).toBe(202);
    await until(async () => one.query(ORDERS_SQL).then(() => true, () => false), 1000, 10);
    expect((await other.query(ORDERS_SQL))[0]).toHaveLength(1);
    expect(await status('reporting-agent')).toMatchObject({ disabled: false, signal: 'ssf:account-enabled' });
  });

  it('session-revoked refuses tokens issued before the event, not those issued after', async () => {
    const before = await stack.token('analyst-bot');
    await new Promise((r) => setTimeout(r, 1100)); // the event a second later than the token's iat
    const pushed = await stack.idp.pushSecurityEvent(receiver, { event: 'session-revoked', subject: 'analyst-bot', audience: SSF_AUDIENCE, eventTimestamp: Math.floor(Date.now() / 1000) });
    expect(pushed.status).toBe(202);
    await until(async () => fixedTokenClient(two.url, before).query(ORDERS_SQL).then(() => false, () => true), 1000, 10);
    const err = await refusal(fixedTokenClient(stack.gatewayUrl, before).query(ORDERS_SQL));
    expect(err.code).toBe(401);
    expect(err.message).toMatch(/tokens of analyst-bot issued before \S+ were revoked by ssf:session-revoked/);
    await new Promise((r) => setTimeout(r, 1100));
    const after = await stack.token('analyst-bot');
    expect((await fixedTokenClient(two.url, after).query(ORDERS_SQL))[0]).toHaveLength(1);
    expect(await status('analyst-bot')).toMatchObject({ disabled: false, signal: 'ssf:session-revoked' });
  });

  it('an account-enabled that happened before the account-disabled in force, delivered after it, does not lift it', async () => {
    const subject = 'pii-agent';
    const token = await stack.token(subject);
    const client = fixedTokenClient(stack.gatewayUrl, token);
    const earlier = Math.floor(Date.now() / 1000) - 60;
    // Signed a minute ago (a transmitter's retry, a push held back), for an enable that happened then.
    const held = await stack.idp.signSecurityEvent({ event: 'account-enabled', subject, audience: SSF_AUDIENCE, iat: earlier, eventTimestamp: earlier });
    const heldNoTime = await stack.idp.signSecurityEvent({ event: 'account-enabled', subject, audience: SSF_AUDIENCE, iat: earlier });
    expect((await stack.idp.pushSecurityEvent(receiver, { event: 'account-disabled', subject, audience: SSF_AUDIENCE, reasonAdmin: 'compromised' })).status).toBe(202);
    await expectDisabled(client.query(ORDERS_SQL), 'ssf:account-disabled');

    const post = (body: string) => fetch(receiver, { method: 'POST', headers: { 'content-type': 'application/secevent+jwt' }, body });
    expect((await post(held)).status).toBe(202);
    expect((await post(heldNoTime)).status).toBe(202);
    expect(await status(subject)).toMatchObject({ disabled: true, signal: 'ssf:account-disabled' });
    await expectDisabled(client.query(ORDERS_SQL), 'ssf:account-disabled');
    const stale = (await principalRecords(stack)).filter((r) => r.action === 'signal_refused' && r.subject === subject);
    expect(stale.map((r) => r.error?.code)).toEqual(['stale_event', 'stale_event']);
    expect(stale[0]!.error?.message).toMatch(/before ssf:account-disabled disabled it at .*; an earlier event does not lift a later disable/);

    // An enable that happened after the disable lifts it.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await stack.idp.pushSecurityEvent(receiver, { event: 'account-enabled', subject, audience: SSF_AUDIENCE })).status).toBe(202);
    expect(await status(subject)).toMatchObject({ disabled: false, signal: 'ssf:account-enabled' });
  });

  it('refuses forged, replayed, untrusted, cross-issuer, mis-addressed, stale and mistyped events: 400, logged, audited, nothing changed', async () => {
    const subject = 'engineer-bot';
    const event = { event: 'account-disabled' as const, subject, audience: SSF_AUDIENCE };
    const post = async (body: string, contentType = 'application/secevent+jwt') => {
      const res = await fetch(receiver, { method: 'POST', headers: { 'content-type': contentType }, body });
      return { status: res.status, body: (await res.json()) as { err: string; description: string } };
    };

    // Forged: the provider's claims, signed with another key (same kid).
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ jti: randomBytes(8).toString('hex'), events: { 'https://schemas.openid.net/secevent/risc/event-type/account-disabled': { subject: { format: 'iss_sub', iss: issuer, sub: subject } } } })
      .setProtectedHeader({ alg: 'RS256', kid: stack.idp.signingKeyId, typ: 'secevent+jwt' })
      .setIssuer(issuer)
      .setAudience(SSF_AUDIENCE)
      .setIssuedAt()
      .sign(privateKey);
    expect(await post(forged)).toEqual({ status: 400, body: { err: 'invalid_key', description: expect.stringContaining('signature does not verify') } });

    // Replayed: the same signed token twice (here an account-enabled, which changes nothing harmful).
    const once = await stack.idp.signSecurityEvent({ event: 'account-enabled', subject, audience: SSF_AUDIENCE });
    expect((await fetch(receiver, { method: 'POST', headers: { 'content-type': 'application/secevent+jwt' }, body: once })).status).toBe(202);
    const replay = await fetch(`${two.url}/ssf/events`, { method: 'POST', headers: { 'content-type': 'application/secevent+jwt' }, body: once });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toEqual({ err: 'invalid_request', description: expect.stringContaining('jti replayed') });

    // Untrusted issuer: a real provider the gateway does not trust, with its own valid signature.
    const stranger = await startTestIdentityProvider();
    const untrusted = await stranger.pushSecurityEvent(receiver, event);
    expect(untrusted).toEqual({ status: 400, body: { err: 'invalid_issuer', description: expect.any(String) } });

    // The trusted provider speaking about another issuer's subject.
    expect(await stack.idp.pushSecurityEvent(receiver, { ...event, subjectIssuer: stranger.issuer })).toEqual({
      status: 400,
      body: { err: 'invalid_request', description: 'the subject belongs to another issuer than the one that signed the event' },
    });
    // Another audience; too old; not the SET media type; an access token posted as a SET.
    expect((await stack.idp.pushSecurityEvent(receiver, { ...event, audience: 'https://elsewhere.example/ssf' })).body).toMatchObject({ err: 'invalid_audience' });
    expect((await stack.idp.pushSecurityEvent(receiver, { ...event, iat: Math.floor(Date.now() / 1000) - 3600 })).body).toMatchObject({ err: 'invalid_request', description: expect.stringContaining('not recent') });
    expect(await post(await stack.idp.signSecurityEvent(event), 'application/json')).toMatchObject({ status: 400, body: { err: 'invalid_request' } });
    expect(await post(await stack.token(subject))).toMatchObject({ status: 400, body: { err: 'invalid_request', description: 'the token is not typed secevent+jwt' } });
    expect(await post('not a jwt')).toMatchObject({ status: 400, body: { err: 'invalid_request' } });

    // A flood of garbage is refused cheaply, each answer RFC 8935's shape.
    const flood = await Promise.all(Array.from({ length: 30 }, (_, i) => post(`${'x'.repeat(i + 10)}.${'y'.repeat(20)}.z`)));
    expect(new Set(flood.map((r) => `${r.status} ${r.body.err}`))).toEqual(new Set(['400 invalid_request']));

    // Nothing was disabled, and the agent still works on both replicas.
    expect((await status(subject))?.disabled ?? false).toBe(false);
    expect((await fixedTokenClient(two.url, await stack.token(subject)).query(ORDERS_SQL))[0]).toHaveLength(1);

    const refused = (await principalRecords(stack)).filter((r) => r.action === 'signal_refused');
    const codes = refused.map((r) => r.error?.code);
    for (const code of ['invalid_key', 'invalid_issuer', 'invalid_audience', 'invalid_request']) expect(codes).toContain(code);
    expect(refused.length).toBeGreaterThanOrEqual(8);
    expect(stack.logs.filter((l) => l.includes('security event refused')).length).toBeGreaterThanOrEqual(7);
    const metrics = String((await stack.fetch('/metrics')).body);
    expect(metrics).toMatch(/sluice_security_events_total\{outcome="invalid_key",event="unknown"\} 1/);

    await stack.gateway.audit.flush();
    await two.gateway.audit.flush();
    const verify = await sluice(['audit', 'verify', '--storage', stack.storageUrl]);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
  });
});
