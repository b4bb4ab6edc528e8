// The local kill switch: `sluice principals disable` (the real CLI, reading the gateway's
// configuration file) refuses the agent on both replicas of one PostgreSQL database within a
// second, through the REST and the MCP door, withdraws its pending approval requests and revokes
// its grants, all in the audit trail; `enable` lets it back. A replica whose disabled set cannot be
// refreshed refuses everyone once the set is older than its bound.
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { DEFAULT_AUDIENCE } from '../../demo/idp.ts';
import { createAuthenticator } from '../../gateway/auth/index.ts';
import { PrincipalControl, PrincipalStatusStore, Revocation, resolveRevocation } from '../../gateway/identity/index.ts';
import { openDatabase } from '../../gateway/store/database.ts';
import type { Gateway } from '../../gateway/server.ts';
import { Registry } from 'prom-client';
import { sluice } from '../support/cli.ts';
import { freshPostgresDatabase, sqliteUrl } from '../support/databases.ts';
import { bearer, closeIdentityProviders, startTestIdentityProvider } from '../support/oidc.ts';
import { refusal } from '../support/refusals.ts';
import type { Stack } from '../support/stack.ts';
import { expectDisabled, fixedTokenClient, grantAndPending, ORDERS_SQL, principalRecords, revocationStack, secondReplica, until } from './support.ts';

const postgresUrl = process.env.SLUICE_TEST_POSTGRES_URL ?? inject('postgresUrl');

describe.runIf(postgresUrl)('sluice principals disable / enable on two replicas (PostgreSQL)', () => {
  let stack: Stack;
  let issuer: string;
  let two: { gateway: Gateway; url: string };
  let configFile: string;

  beforeAll(async () => {
    const storageUrl = await freshPostgresDatabase(postgresUrl!);
    const started = await revocationStack({ storageUrl, stream: 'replica-one' });
    ({ stack, issuer } = started);
    two = await secondReplica(stack, started.issuerConfig, {});
    configFile = join(await mkdtemp(join(tmpdir(), 'sluice-kill-')), 'gateway.yaml');
    await writeFile(
      configFile,
      stringify({
        storage: { url: storageUrl },
        issuers: [{ issuer, audience: DEFAULT_AUDIENCE }],
        connections: [{ name: 'acme', upstream: stack.emulator.url, project: 'acme-analytics', credentials: { mode: 'none' } }],
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await two?.gateway.close();
    await stack?.close();
  });

  it('refuses the agent on both replicas within a second, on both doors, cuts it off, and enable lets it back', async () => {
    const token = await stack.token('pii-agent');
    const one = fixedTokenClient(stack.gatewayUrl, token);
    const other = fixedTokenClient(two.url, token);
    const { grantId, pendingId } = await grantAndPending(stack, stack.gatewayUrl, token);
    const mcpToken = await stack.mcpToken('pii-agent');

    const run = await sluice(['principals', 'disable', issuer, 'pii-agent', '--reason', 'credential leaked', '--config', configFile, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out).toMatchObject({ action: 'disable', issuer, subject: 'pii-agent', withdrawn: [pendingId], revoked: [grantId], recorded: true, status: { disabled: true, signal: 'cli', reason: 'credential leaked' } });

    // Both replicas refuse within a second of the command returning (the CLI's own start-up, which
    // a loaded machine stretches, is not part of it).
    await Promise.all([one, other].map((client) => until(async () => client.query(ORDERS_SQL).then(() => false, () => true), 1000, 10)));
    await expectDisabled(one.query(ORDERS_SQL), 'cli');
    await expectDisabled(other.query(ORDERS_SQL), 'cli');
    const err = await refusal(other.query(ORDERS_SQL));
    expect(err.message).toContain('pii-agent was disabled at');
    expect(err.message).toContain('by cli (credential leaked)');

    // The MCP door refuses too, with the same reason.
    const mcp = await fetch(stack.mcpResource, {
      method: 'POST',
      headers: { authorization: bearer(mcpToken), 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(mcp.status).toBe(401);
    expect(((await mcp.json()) as { error_description: string }).error_description).toContain('pii-agent was disabled at');

    // The approvals API as well: a disabled principal cannot list or act.
    expect((await fetch(`${two.url}/approvals`, { headers: { authorization: bearer(token) } })).status).toBe(401);

    const [disabled] = (await principalRecords(stack)).filter((r) => r.action === 'disabled');
    expect(disabled).toMatchObject({ issuer, subject: 'pii-agent', signal: 'cli', reason: 'credential leaked', withdrawn: [pendingId], revoked: [grantId] });
    expect(disabled!.actor).toMatch(/\S/);
    const refusals = await stack.fetch(`/metrics`);
    expect(String(refusals.body)).toMatch(/sluice_disabled_principals 1/);

    const enable = await sluice(['principals', 'enable', issuer, 'pii-agent', '--config', configFile]);
    expect(enable).toMatchObject({ code: 0, stdout: `enabled pii-agent of ${issuer}\n` });
    // Each replica lets it back once its own refresh reads the change.
    await Promise.all([one, other].map((client) => until(async () => client.query(ORDERS_SQL).then(() => true, () => false), 1000, 10)));
    expect((await one.query(ORDERS_SQL))[0]).toHaveLength(1);
    expect((await principalRecords(stack)).map((r) => r.action)).toEqual(['disabled', 'enabled']);

    await stack.gateway.audit.flush();
    await two.gateway.audit.flush();
    const verify = await sluice(['audit', 'verify', '--storage', stack.storageUrl]);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
  });

  it('refuses bad usage with exit 2 and changes nothing', async () => {
    const unknown = await sluice(['principals', 'disable', 'https://impostor.example', 'pii-agent', '--reason', 'x', '--config', configFile]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('is not a trusted issuer');
    const noReason = await sluice(['principals', 'disable', issuer, 'pii-agent', '--config', configFile]);
    expect(noReason.code).toBe(2);
    const noStore = await sluice(['principals', 'disable', issuer, 'pii-agent', '--reason', 'x'], { SLUICE_CONFIG: '' });
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toContain('no database');
    expect(await new PrincipalStatusStore(stack.gateway.database.db).get('https://impostor.example', 'pii-agent')).toBeUndefined();
    expect((await new PrincipalStatusStore(stack.gateway.database.db).get(issuer, 'pii-agent'))?.disabled).toBe(false);
  });
});

describe('a disabled set that cannot be refreshed', () => {
  afterAll(closeIdentityProviders);

  it('refuses every token once older than max_staleness_ms, and serves again when the database returns', async () => {
    const idp = await startTestIdentityProvider();
    const database = await openDatabase(sqliteUrl());
    let broken = false;
    // The real store, its reads failing while "the database is down".
    const db = new Proxy(database.db, {
      get(target, name) {
        if (broken && (name === 'selectFrom' || name === 'transaction')) throw new Error('database unreachable');
        const value = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const revocation = await Revocation.start({
      settings: resolveRevocation({ poll_interval_ms: 50, max_staleness_ms: 500 }),
      issuers: [{ issuer: idp.issuer, audience: DEFAULT_AUDIENCE }],
      database: { db },
      audit: { record: async () => ({ id: '', stream: '', seq: 0, hash: '', at: '' }) },
      approvals: { cutOffPrincipal: async () => ({ withdrawn: [], revoked: [] }) },
      registry: new Registry(),
      log: { info() {}, warn() {}, error() {} },
    });
    try {
      const auth = revocation.guard(createAuthenticator({ issuers: [{ issuer: idp.issuer, audience: DEFAULT_AUDIENCE }] }));
      const token = bearer(await idp.tokenFor('reporting-agent'));
      expect((await auth.authenticate(token)).ok).toBe(true);
      broken = true;
      // Within the bound the last set is trusted; past it, every request is refused.
      expect((await auth.authenticate(token)).ok).toBe(true);
      await until(async () => !(await auth.authenticate(token)).ok, 2000, 20);
      expect(await auth.authenticate(token)).toMatchObject({ ok: false, reason: 'revocation_state_stale' });
      expect(await revocation.readiness()).toMatchObject({ ready: false, disabled_set: expect.stringMatching(/^stale: not refreshed for \d+ ms/) });
      broken = false;
      await until(async () => (await auth.authenticate(token)).ok, 2000, 20);
    } finally {
      revocation.close();
      await database.close();
    }
  });

  it('bumps the shared change counter with every change, lists the principal among the restricted, and accepts a jti once (SQLite)', async () => {
    const database = await openDatabase(sqliteUrl());
    const store = new PrincipalStatusStore(database.db);
    const control = new PrincipalControl({ store, audit: { record: async () => ({ id: '', stream: '', seq: 0, hash: '', at: '' }) }, approvals: { cutOffPrincipal: async () => ({ withdrawn: [], revoked: [] }) } });
    const before = await store.version();
    // Disabled by the provider (a kill switch, `cli`, would be lifted only by a local enable).
    await control.disable({ issuer: 'https://idp.example', subject: 'a', reason: 'r', signal: 'ssf:account-disabled', actor: 'https://idp.example' });
    expect(await store.version()).toBe(before + 1);
    expect((await store.restricted()).statuses).toEqual([expect.objectContaining({ issuer: 'https://idp.example', subject: 'a', disabled: true })]);
    // A jti is accepted once per issuer: the replay changes nothing and bumps nothing.
    const jti = { issuer: 'https://idp.example', jti: 'j-1', expiresAtMs: Date.now() + 60_000 };
    const request = { issuer: 'https://idp.example', subject: 'a', reason: null, signal: 'ssf:account-enabled', actor: 'https://idp.example', jti };
    expect((await control.enable(request)).applied).toBe(true);
    expect(await control.enable(request)).toEqual({ applied: false, reason: 'replayed' });
    expect(await control.disable({ ...request, signal: 'ssf:account-disabled' })).toEqual({ applied: false, reason: 'replayed' });
    expect(await store.version()).toBe(before + 2);
    expect((await store.get('https://idp.example', 'a'))?.disabled).toBe(false);
    await database.close();
  });
});
