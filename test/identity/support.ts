// Revocation tests: a stack whose identity provider listens on a port chosen up front, so the
// gateway's configuration can name its issuer with introspection and signals; a second gateway
// replica on the same database, provider and emulator; and an agent with a grant and a pending
// approval request to be cut off.
import { randomBytes } from 'node:crypto';
import { freePort } from '../support/ports.ts';
import pino from 'pino';
import { expect } from 'vitest';
import { DEFAULT_AUDIENCE } from '../../demo/idp.ts';
import { listRecords, type AuditPrincipalRecord, type AuditRecord } from '../../gateway/audit/index.ts';
import { resolveConfig } from '../../gateway/config/load.ts';
import { createGateway, type Gateway } from '../../gateway/server.ts';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { approvalIdOf, refusal } from '../support/refusals.ts';
import { agentClient, PROJECT, startStack, type Stack, type StackOptions } from '../support/stack.ts';

export const SSF_AUDIENCE = 'https://sluice.local/ssf';
export const FINANCE_SQL = 'SELECT account, SUM(amount) AS total FROM finance.ledger GROUP BY account ORDER BY account';
export const FINANCE_SQL_2 = 'SELECT account FROM finance.ledger ORDER BY account';
export const ORDERS_SQL = 'SELECT COUNT(*) AS n FROM sales.orders';
export const SECRET_ENV = 'SLUICE_TEST_INTROSPECTION_SECRET';

export interface RevocationStackOptions {
  /** The issuer's `introspection:` block (client id and secret env are filled in). */
  introspection?: Record<string, unknown>;
  signals?: boolean;
  revocation?: Record<string, unknown>;
  storageUrl?: string;
  stream?: string;
  stack?: StackOptions;
}

/** A stack trusting its provider with introspection and/or signals as asked. */
export async function revocationStack(o: RevocationStackOptions = {}): Promise<{ stack: Stack; issuer: string; issuerConfig: Record<string, unknown> }> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const secret = randomBytes(24).toString('base64url');
  process.env[SECRET_ENV] = secret;
  const issuerConfig = {
    issuer,
    audience: DEFAULT_AUDIENCE,
    ...(o.introspection && { introspection: { client_id: 'sluice-gateway', client_secret_env: SECRET_ENV, ...o.introspection } }),
    ...(o.signals && { signals: true }),
  };
  const stack = await startStack({
    ...o.stack,
    ...(o.storageUrl && { storageUrl: o.storageUrl }),
    idp: { port, introspectionClient: { clientId: 'sluice-gateway', clientSecret: secret }, webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] },
    config: { issuers: [issuerConfig], revocation: { poll_interval_ms: 100, ...(o.signals && { signals: { audience: SSF_AUDIENCE } }), ...o.revocation } },
    // Queries needing approval are refused (approvalRequired) rather than held as pending jobs.
    connection: { approval_hold: 'refuse', ...o.stack?.connection },
    gateway: { ...(o.stream && { audit: { stream: o.stream } }), ...o.stack?.gateway },
  });
  return { stack, issuer, issuerConfig };
}

/** Another gateway on the stack's database, provider and emulator (its own audit stream). */
export async function secondReplica(stack: Stack, issuerConfig: Record<string, unknown>, revocation: Record<string, unknown>): Promise<{ gateway: Gateway; url: string }> {
  const port = await freePort();
  const config = resolveConfig({
    listen: { host: '127.0.0.1', port },
    storage: { url: stack.storageUrl },
    issuers: [issuerConfig],
    connections: [{ name: 'acme', upstream: stack.emulator.url, project: PROJECT, credentials: { mode: 'none' }, require_referenced_tables: false, approval_hold: 'refuse' }],
    approvals: { url: 'http://127.0.0.1/approvals' },
    revocation,
  });
  const gateway = await createGateway({
    config,
    engine: stack.gateway.engine,
    hashKey: randomBytes(32),
    logger: pino({ level: 'silent' }),
    processMetrics: false,
    audit: { stream: 'replica-two' },
    approvalStore: { sweepIntervalMs: 0, pollIntervalMs: 100 },
  });
  return { gateway, url: await gateway.listen() };
}

/** The official client holding one fixed token (no refresh: the same token every call). */
export function fixedTokenClient(url: string, token: string) {
  return agentClient(url, async () => token);
}

/** `agent` gets one finance grant (approved by alice) and leaves one more request pending. */
export async function grantAndPending(stack: Stack, gatewayUrl: string, token: string): Promise<{ grantId: string; pendingId: string }> {
  const agent = fixedTokenClient(gatewayUrl, token);
  const alice = await humanAccessToken(stack.idp, 'alice');
  // Both asked before either is approved: the grant (dataset scope) would let the second run.
  const approvedId = approvalIdOf(await refusal(agent.query(FINANCE_SQL)));
  const pendingId = approvalIdOf(await refusal(agent.query(FINANCE_SQL_2)));
  const vote = await fetch(`${gatewayUrl}/approvals/${approvedId}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
    body: JSON.stringify({ comment: 'month end' }),
  });
  expect(vote.status).toBe(200);
  const view = (await (await fetch(`${gatewayUrl}/approvals/${approvedId}`, { headers: { authorization: `Bearer ${alice}` } })).json()) as { request: { grantId: string } };
  return { grantId: view.request.grantId, pendingId };
}

/** The refusal of a disabled principal, as the official client reports it. */
export async function expectDisabled(promise: Promise<unknown>, signal: string): Promise<void> {
  const err = await refusal(promise);
  expect(err.code).toBe(401);
  expect(err.message).toMatch(/was disabled at \d{4}-\d\d-\d\dT[\d:.]+Z by /);
  expect(err.message).toContain(`by ${signal}`);
  expect(JSON.stringify(err.response?.body)).toContain('PRINCIPAL_DISABLED');
}

export async function records(stack: Stack, kind: AuditRecord['kind']): Promise<AuditRecord[]> {
  await stack.gateway.audit.flush();
  return (await listRecords(stack.gateway.database.db, { kinds: [kind], limit: 1000, order: 'oldest' })).map((r) => r.record);
}

export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5000, stepMs = 20): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The trail's `principal` records, oldest first. */
export async function principalRecords(stack: Stack): Promise<AuditPrincipalRecord['data'][]> {
  return (await records(stack, 'principal')).flatMap((r) => (r.kind === 'principal' ? [r.data] : []));
}
export { freePort };
