// Token introspection (RFC 7662) against the demo's real identity provider: a token the provider
// stops honouring is refused within the cache window and its principal cut off; an outage refuses
// (fail closed) and /readyz and metrics say why until the endpoint returns, or, with
// `fallback: signature_only`, passes and says so; answers that cannot be trusted are refused,
// logged and audited and change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AUDIENCE } from '../../demo/idp.ts';
import { PrincipalStatusStore } from '../../gateway/identity/index.ts';
import { sluice } from '../support/cli.ts';
import { refusal } from '../support/refusals.ts';
import type { Stack } from '../support/stack.ts';
import { expectDisabled, fixedTokenClient, grantAndPending, ORDERS_SQL, records, revocationStack, until } from './support.ts';

const CACHE_SECONDS = 1;

describe('introspection, fail closed', () => {
  let stack: Stack;
  let issuer: string;

  beforeAll(async () => {
    ({ stack, issuer } = await revocationStack({ introspection: { cache_seconds: CACHE_SECONDS, timeout_ms: 1000 } }));
  });
  afterAll(async () => {
    stack.idp.setIntrospectionFault(undefined);
    await stack?.close();
  });

  it('refuses the same unexpired token within the cache window once the provider disables the agent, and cuts the agent off', async () => {
    const token = await stack.token('pii-agent');
    const agent = fixedTokenClient(stack.gatewayUrl, token);
    const { grantId, pendingId } = await grantAndPending(stack, stack.gatewayUrl, token);
    const [rows] = await agent.query(ORDERS_SQL);
    expect(rows.length).toBe(1);

    stack.idp.disableSubject('pii-agent');
    // The cached `active` answer may serve the token until the cache window ends, not longer.
    const disabledAt = Date.now();
    await until(async () => (await agent.query(ORDERS_SQL).then(() => false, () => true)), CACHE_SECONDS * 1000 + 1000);
    expect(Date.now() - disabledAt).toBeLessThanOrEqual(CACHE_SECONDS * 1000 + 1000);

    // The first refusal says the token is inactive; the principal is disabled from then on.
    await expectDisabled(agent.query(ORDERS_SQL), 'introspection');
    const status = await new PrincipalStatusStore(stack.gateway.database.db).get(issuer, 'pii-agent');
    expect(status).toMatchObject({ disabled: true, signal: 'introspection' });

    const principal = (await records(stack, 'principal')).filter((r) => r.kind === 'principal' && r.data.subject === 'pii-agent');
    expect(principal).toHaveLength(1);
    expect(principal[0]!.data).toMatchObject({ action: 'disabled', issuer, signal: 'introspection', withdrawn: [pendingId], revoked: [grantId] });
    const failures = (await records(stack, 'token_failure')).map((r) => (r.kind === 'token_failure' ? r.data.reason : ''));
    expect(failures).toContain('token_inactive');
    expect(failures).toContain('principal_disabled');
    const approvals = await records(stack, 'approval');
    expect(approvals.some((r) => r.kind === 'approval' && r.data.action === 'withdrawn' && r.data.approval_id === pendingId)).toBe(true);
    const grants = await records(stack, 'grant');
    expect(grants.some((r) => r.kind === 'grant' && r.data.action === 'revoked' && r.data.grant_id === grantId)).toBe(true);
    // No token in the trail: only digests.
    const body = JSON.stringify(await records(stack, 'token_failure'));
    expect(body).not.toContain(token);

    // A disabled agent gets no new token either; re-enabled at the provider, a new token passes
    // introspection and lifts the introspection-made disable.
    await expect(stack.token('pii-agent')).rejects.toThrow(/invalid_client/);
    stack.idp.enableSubject('pii-agent');
    await new Promise((r) => setTimeout(r, 1100)); // a token issued in a later second than the disable
    const fresh = fixedTokenClient(stack.gatewayUrl, await stack.token('pii-agent'));
    expect((await fresh.query(ORDERS_SQL))[0]).toHaveLength(1);
    expect((await new PrincipalStatusStore(stack.gateway.database.db).get(issuer, 'pii-agent'))?.disabled).toBe(false);

    await stack.gateway.audit.flush();
    const verify = await sluice(['audit', 'verify', '--storage', stack.storageUrl]);
    expect(verify.code, verify.stderr).toBe(0);
  });

  it('refuses while the endpoint is down, says why on /readyz and in metrics, and resumes when it returns', async () => {
    const agent = fixedTokenClient(stack.gatewayUrl, await stack.token('reporting-agent'));
    stack.idp.setIntrospectionFault('unavailable');
    try {
      // A token seen for the first time cannot be vouched for.
      const err = await refusal(fixedTokenClient(stack.gatewayUrl, await stack.token('analyst-bot')).query(ORDERS_SQL));
      expect(err.code).toBe(401);
      expect(err.message).toContain('could not be checked with its issuer: introspection endpoint answered HTTP 503');
      // Nor one that was fine a moment ago, once its cached answer ends.
      await until(async () => agent.query(ORDERS_SQL).then(() => false, () => true), CACHE_SECONDS * 1000 + 1000);

      const ready = await stack.fetch('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.introspection[issuer]).toBe('unavailable (requests refused): introspection endpoint answered HTTP 503');
      const metrics = String((await stack.fetch('/metrics')).body);
      expect(metrics).toContain(`sluice_introspection_available{issuer="${issuer}",fallback="fail_closed"} 0`);
      expect(metrics).toMatch(new RegExp(`sluice_introspections_total\\{issuer="${issuer.replace(/[.]/g, '\\.')}",outcome="unavailable"\\} [1-9]`));
      const status = await stack.fetch('/status');
      expect(status.body.revocation.introspection[issuer]).toMatchObject({ fallback: 'fail_closed', state: 'refusing' });
      // Nothing was disabled by an outage.
      expect(await new PrincipalStatusStore(stack.gateway.database.db).get(issuer, 'reporting-agent')).toBeUndefined();
    } finally {
      stack.idp.setIntrospectionFault(undefined);
    }
    // /readyz asks the endpoint again while it is down, so readiness returns without traffic.
    await until(async () => (await stack.fetch('/readyz')).status === 200, 5000, 250);
    expect((await agent.query(ORDERS_SQL))[0]).toHaveLength(1);
    expect(String((await stack.fetch('/metrics')).body)).toContain(`sluice_introspection_available{issuer="${issuer}",fallback="fail_closed"} 1`);
  });

  it('refuses an answer that is not JSON, and one active for another audience: logged, audited, nothing disabled', async () => {
    for (const [fault, message] of [
      ['not_json', 'the introspection answer is not JSON'],
      ['other_audience', 'the introspection answer is about another audience'],
    ] as const) {
      stack.idp.setIntrospectionFault(fault);
      try {
        const token = await stack.token('engineer-bot');
        const err = await refusal(fixedTokenClient(stack.gatewayUrl, token).query(ORDERS_SQL));
        expect(err.code).toBe(401);
        expect(err.message).toContain(message);
        expect(JSON.stringify(err.response?.body)).toContain('INTROSPECTION_INVALID');
      } finally {
        stack.idp.setIntrospectionFault(undefined);
      }
      const refused = (await records(stack, 'principal')).filter((r) => r.kind === 'principal' && r.data.action === 'introspection_refused' && r.data.error?.message === message);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(refused.at(-1)!.data).toMatchObject({ issuer, subject: 'engineer-bot', error: { code: 'introspection_invalid' } });
      expect(stack.logs.some((line) => line.includes('introspection answer refused') && line.includes(message))).toBe(true);
    }
    expect(await new PrincipalStatusStore(stack.gateway.database.db).get(issuer, 'engineer-bot')).toBeUndefined();
    // The endpoint back to normal, the same agent passes.
    expect((await fixedTokenClient(stack.gatewayUrl, await stack.token('engineer-bot')).query(ORDERS_SQL))[0]).toHaveLength(1);
  });

  it('asks the provider once for a burst of calls with one new token, and never for a forged one', async () => {
    const token = await stack.token('reporting-agent');
    stack.idp.resetRequestCounts();
    const burst = await Promise.all(Array.from({ length: 20 }, () => stack.fetch('/bigquery/v2/projects/acme-analytics/datasets', { headers: { authorization: `Bearer ${token}` } })));
    expect(burst.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(stack.idp.requestCount('introspection')).toBe(1);
    // A token that fails its signature is refused before any introspection request.
    const forged = await stack.fetch('/bigquery/v2/projects/acme-analytics/datasets', { headers: { authorization: `Bearer ${token.slice(0, -6)}AAAAAA` } });
    expect(forged.status).toBe(401);
    expect(stack.idp.requestCount('introspection')).toBe(1);
  });

  it('refuses the MCP door alike', async () => {
    stack.idp.setIntrospectionFault('unavailable');
    try {
      const res = await fetch(stack.mcpResource, {
        method: 'POST',
        headers: { authorization: `Bearer ${await stack.idp.tokenFor('analyst-bot', { audience: stack.mcpResource })}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error_description: string }).error_description).toContain('introspection endpoint answered HTTP 503');
    } finally {
      stack.idp.setIntrospectionFault(undefined);
    }
  });
});

describe('introspection, fallback signature_only', () => {
  let stack: Stack;
  let issuer: string;

  beforeAll(async () => {
    ({ stack, issuer } = await revocationStack({ introspection: { cache_seconds: 0, fallback: 'signature_only' } }));
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('passes verified tokens while the endpoint is down, and /status and metrics show the fallback', async () => {
    stack.idp.setIntrospectionFault('unavailable');
    try {
      const agent = fixedTokenClient(stack.gatewayUrl, await stack.token('reporting-agent'));
      expect((await agent.query(ORDERS_SQL))[0]).toHaveLength(1);
      const status = await stack.fetch('/status');
      expect(status.body.revocation.introspection[issuer]).toMatchObject({ fallback: 'signature_only', state: 'signature_only', reason: 'introspection endpoint answered HTTP 503' });
      const metrics = String((await stack.fetch('/metrics')).body);
      expect(metrics).toContain(`sluice_introspection_available{issuer="${issuer}",fallback="signature_only"} 0`);
      expect(metrics).toMatch(/sluice_introspection_fallback_total\{issuer="[^"]+"\} [1-9]/);
      const ready = await stack.fetch('/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body.introspection[issuer]).toMatch(/^unavailable \(tokens accepted on signature alone\)/);
      // A forged token still fails its signature: the fallback skips introspection only.
      const forged = await refusal(fixedTokenClient(stack.gatewayUrl, `${(await stack.token('reporting-agent')).slice(0, -4)}AAAA`).query(ORDERS_SQL));
      expect(forged.code).toBe(401);
    } finally {
      stack.idp.setIntrospectionFault(undefined);
    }
    // With the endpoint up, introspection decides again: the provider's disable is honoured.
    stack.idp.disableSubject('analyst-bot');
    const token = await stack.idp.tokenFor('engineer-bot', { audience: DEFAULT_AUDIENCE });
    expect((await fixedTokenClient(stack.gatewayUrl, token).query(ORDERS_SQL))[0]).toHaveLength(1);
  });
});
