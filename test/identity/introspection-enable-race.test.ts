// Attack on the introspection re-enable: a principal the issuer's introspection disabled is let back
// in by the first newer token the issuer calls active. An agent presents such a token; while its
// introspection is on the wire, the issuer disables the account and its Security Event Token lands.
// The re-enable decided on what the replica knew before must not lift that disable: an
// introspection answer only ever lifts a disable introspection made.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authenticator, AuthResult } from '../../gateway/auth/index.ts';
import { guardAuthenticator } from '../../gateway/identity/guard.ts';
import { DisabledSet } from '../../gateway/identity/disabled-set.ts';
import { PrincipalControl, PrincipalStatusStore } from '../../gateway/identity/index.ts';
import type { Introspector } from '../../gateway/identity/introspection.ts';
import { RevocationMetrics } from '../../gateway/identity/metrics.ts';
import { openDatabase, type Database } from '../../gateway/store/database.ts';
import { sqliteUrl } from '../support/databases.ts';

const ISSUER = 'https://idp.example';
const AGENT = 'reporting-agent';

describe('an introspection re-enable racing an account-disabled signal', () => {
  let database: Database;

  beforeAll(async () => {
    database = await openDatabase(sqliteUrl());
  });
  afterAll(async () => {
    await database?.close();
  });

  it('does not lift the disable the signal made meanwhile', async () => {
    const store = new PrincipalStatusStore(database.db);
    const disabled = new DisabledSet(store, { pollIntervalMs: 60_000, maxStalenessMs: 600_000 });
    const control = new PrincipalControl({
      store,
      audit: { record: async () => ({ id: '', stream: '', seq: 0, hash: '', at: '' }) },
      approvals: { cutOffPrincipal: async () => ({ withdrawn: [], revoked: [] }) },
      onChange: (status) => disabled.note(status),
    });
    // The issuer called an older token inactive: disabled by introspection.
    const disabledAt = Date.now() - 60_000;
    await store.apply({ action: 'disable', issuer: ISSUER, subject: AGENT, reason: 'token inactive', signal: 'introspection', atMs: disabledAt });
    await disabled.start();

    // A newer token, which the issuer still calls active when asked; the answer is held until the
    // account-disabled signal has been applied.
    let asked!: () => void;
    const askedPromise = new Promise<void>((r) => (asked = r));
    let answer!: () => void;
    const answerPromise = new Promise<void>((r) => (answer = r));
    const introspector = {
      settings: { issuer: ISSUER, fallback: 'fail_closed' },
      check: async () => {
        asked();
        await answerPromise;
        return { kind: 'active' as const };
      },
    } as unknown as Introspector;
    const inner: Authenticator = {
      issuers: [ISSUER],
      keysOf: () => undefined,
      authenticate: async (): Promise<AuthResult> => ({
        ok: true,
        identity: { subject: AGENT, issuer: ISSUER, kind: 'agent', groups: [], claims: {} },
        tokenClaims: { iss: ISSUER, sub: AGENT, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 300 },
      }),
    } as Authenticator;
    const guard = guardAuthenticator(inner, {
      disabled,
      introspectors: new Map([[ISSUER, introspector]]),
      control,
      metrics: new RevocationMetrics(new Registry(), { ageSeconds: () => 0, disabled: () => 0 }),
      log: { info: () => {}, warn: () => {} },
    });

    const request = guard.authenticate('Bearer newer-token');
    await askedPromise;
    await control.disable({ issuer: ISSUER, subject: AGENT, reason: 'offboarded', signal: 'ssf:account-disabled', actor: ISSUER });
    answer();
    expect((await request).ok).toBe(false);

    expect(await store.get(ISSUER, AGENT)).toMatchObject({ disabled: true, signal: 'ssf:account-disabled' });
    const next = await guard.authenticate('Bearer newer-token');
    expect(next.ok).toBe(false);
    disabled.close();
  });
});
