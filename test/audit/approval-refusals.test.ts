// Every refusal of the approvals JSON API is in the audit trail, with the actor when known: bad
// tokens (token_failure, with the issuer and subject the token claimed, unverified and bounded,
// never the token), mistyped groups claims, votes and revokes refused by the store or before it,
// requests the caller may not see, forged page tokens. The chain still verifies with the real CLI.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProvider } from '../../demo/idp.ts';
import { approvalAuditListener, AuditLog, type AuditRecord } from '../../gateway/audit/index.ts';
import { createAuthenticator } from '../../gateway/auth/index.ts';
import { resolveConfig } from '../../gateway/config/load.ts';
import { toTrustedIssuer } from '../../gateway/server.ts';
import { openDatabase, type Database } from '../../gateway/store/database.ts';
import { financeAsk } from '../approvals/support/fixtures.ts';
import { startGateway, type TestGateway } from '../approvals/support/gateway.ts';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { sluice } from '../support/cli.ts';
import { storageTargets } from '../support/databases.ts';
import { bearer, closeIdentityProviders, resignedWithForeignKey, startTestIdentityProvider, startTestKeyServer, type TestKeyServer } from '../support/oidc.ts';
import { recordValidator } from './helpers.ts';

const STRICT_ISSUER = 'https://strict.idp.test';
const SPACED_ISSUER = 'https://spaced.idp.test';

describe.each(storageTargets())('refusals of the approvals API in the audit trail on $engine', ({ url }) => {
  let idp: IdentityProvider;
  let keys: TestKeyServer;
  let storage: string;
  let database: Database;
  let audit: AuditLog;
  let gateway: TestGateway;
  const tokens: Record<'alice' | 'bob' | 'agent', string> = { alice: '', bob: '', agent: '' };
  const presented: string[] = [];

  beforeAll(async () => {
    idp = await startTestIdentityProvider({ webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] });
    keys = await startTestKeyServer();
    storage = await url();
    database = await openDatabase(storage);
    audit = await AuditLog.open(database, { stream: 'gw-refusals' });
    // The issuers as an operator configures them: groups_claim_format goes through the config.
    const config = resolveConfig({
      listen: { port: 9999 },
      bundle: 'bundle.tar.gz',
      masking: { hash_key_env: 'SLUICE_HASH_KEY' },
      issuers: [
        { issuer: idp.issuer, audience: idp.audience },
        { issuer: STRICT_ISSUER, audience: idp.audience, jwks_uri: keys.jwksUri },
        { issuer: SPACED_ISSUER, audience: idp.audience, jwks_uri: keys.jwksUri, groups_claim_format: 'space_separated' },
      ],
      connections: [{ name: 'acme', upstream: 'https://bigquery.googleapis.com/', project: 'acme-analytics', credentials: { mode: 'impersonate', target_principal: 'reader@acme-analytics.iam.gserviceaccount.com' } }],
    });
    gateway = await startGateway({
      storageUrl: storage,
      idp,
      authenticator: createAuthenticator({ issuers: config.issuers.map(toTrustedIssuer) }),
      store: { onEvent: approvalAuditListener(audit) },
      plugin: { record: (event) => audit.record(event) },
    });
    tokens.alice = await humanAccessToken(idp, 'alice');
    tokens.bob = await humanAccessToken(idp, 'bob');
    tokens.agent = await idp.tokenFor('reporting-agent');
  });

  afterAll(async () => {
    await gateway?.close();
    await audit?.close();
    await database?.close();
    await keys?.close();
    await closeIdentityProviders();
  });

  async function call(method: 'GET' | 'POST', path: string, token: string | undefined, body?: unknown): Promise<{ status: number; error?: { code: string; message: string } }> {
    if (token) presented.push(token);
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { ...(token !== undefined && { authorization: bearer(token) }), ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const json = (await response.json()) as { error?: { code: string; message: string } };
    return { status: response.status, ...(json.error && { error: json.error }) };
  }

  async function records(): Promise<AuditRecord[]> {
    await audit.flush();
    const rows = await database.db.selectFrom('audit_records').select('body').orderBy('seq').execute();
    return rows.map((r) => JSON.parse(r.body) as AuditRecord);
  }

  async function lastRecord(): Promise<AuditRecord> {
    return (await records()).at(-1)!;
  }

  const claims = (issuer: string, extra: Record<string, unknown>) => ({ iss: issuer, aud: idp.audience, sub: 'grace', exp: Math.floor(Date.now() / 1000) + 120, ...extra });

  it('records each 401 on /approvals and /grants with the claimed issuer and subject, never the token', async () => {
    expect(await call('GET', '/approvals', undefined)).toMatchObject({ status: 401, error: { code: 'unauthenticated' } });
    expect(await lastRecord()).toMatchObject({ kind: 'token_failure', data: { reason: 'missing_token', route: 'GET /approvals', claimed_issuer: null, claimed_subject: null, token_sha256: null } });

    // A real token of the trusted provider, re-signed with a key it never published.
    const forged = await resignedWithForeignKey(tokens.agent);
    expect((await call('GET', '/grants', forged)).status).toBe(401);
    expect(await lastRecord()).toMatchObject({
      kind: 'token_failure',
      data: {
        route: 'GET /grants',
        reason: expect.stringMatching(/^(unknown_key|bad_signature)$/),
        claimed_issuer: idp.issuer,
        claimed_subject: 'reporting-agent',
        token_sha256: createHash('sha256').update(forged).digest('hex').slice(0, 16),
      },
    });

    // The claims are the caller's to write: control and bidi characters replaced, length bounded.
    const hostile = await keys.sign(claims('https://evil.example/\u0000\u202eadmin', { sub: `${'x'.repeat(5000)}\r\ninjected` }));
    expect((await call('POST', '/approvals/apr_x/approve', hostile, { comment: 'x' })).status).toBe(401);
    const record = await lastRecord();
    expect(record).toMatchObject({ kind: 'token_failure', data: { reason: 'untrusted_issuer', route: 'POST /approvals/:id/approve', claimed_issuer: 'https://evil.example/\uFFFD\uFFFDadmin' } });
    const subject = (record.data as { claimed_subject: string }).claimed_subject;
    expect(subject.length).toBe(256);
    expect(subject).toMatch(/^x{255}…$/);

    // Not a JWT at all: nothing was claimed.
    expect((await call('GET', '/approvals', 'not-a-jwt')).status).toBe(401);
    expect(await lastRecord()).toMatchObject({ kind: 'token_failure', data: { reason: 'malformed_token', claimed_issuer: null, claimed_subject: null } });
  });

  it('refuses a groups claim that is not an array of strings (401, recorded), and reads the configured space-separated form', async () => {
    const asString = await keys.sign(claims(STRICT_ISSUER, { groups: 'data-owners', sluice_kind: 'human' }));
    const refused = await call('GET', '/approvals', asString);
    expect(refused).toMatchObject({ status: 401, error: { code: 'unauthenticated', message: expect.stringContaining('invalid_groups_claim') } });
    expect(await lastRecord()).toMatchObject({ kind: 'token_failure', data: { reason: 'invalid_groups_claim', claimed_issuer: STRICT_ISSUER, claimed_subject: 'grace' } });
    for (const groups of [['data-owners', 1], [{ name: 'data-owners' }]]) {
      expect((await call('GET', '/approvals', await keys.sign(claims(STRICT_ISSUER, { groups })))).status).toBe(401);
      expect(await lastRecord()).toMatchObject({ kind: 'token_failure', data: { reason: 'invalid_groups_claim' } });
    }

    // The issuer configured with groups_claim_format: space_separated: the same string is a list.
    const agent = await gateway.authenticator.authenticate(bearer(tokens.agent));
    if (!agent.ok) throw new Error(agent.message);
    const { id } = await gateway.store.requestApproval(financeAsk(agent.identity, { sql: 'SELECT spaced FROM `acme-analytics.finance.ledger`' }));
    const spaced = await keys.sign(claims(SPACED_ISSUER, { groups: 'analysts data-owners', sluice_kind: 'human' }));
    const response = await fetch(`${gateway.url}/approvals`, { headers: { authorization: bearer(spaced) } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { requests: { id: string }[] }).requests.map((r) => r.id)).toContain(id);
  });

  it("records refused votes and revokes, views of others' requests and forged page tokens with the actor", async () => {
    const agent = await gateway.authenticator.authenticate(bearer(tokens.agent));
    if (!agent.ok) throw new Error(agent.message);
    const { id } = await gateway.store.requestApproval(financeAsk(agent.identity, { sql: 'SELECT refusals FROM `acme-analytics.finance.ledger`' }));

    // 403 of a non-approver (the store's own refusal).
    expect(await call('POST', `/approvals/${id}/approve`, tokens.bob, { comment: 'looks fine' })).toMatchObject({ status: 403, error: { code: 'not_an_approver' } });
    expect(await lastRecord()).toMatchObject({ kind: 'approval', data: { action: 'refused', operation: 'vote', approval_id: id, actor: 'bob', error: { code: 'not_an_approver' } } });
    // A vote refused before the store saw it: its body is not a comment.
    expect(await call('POST', `/approvals/${id}/reject`, tokens.alice, { comment: { text: 'no' } })).toMatchObject({ status: 400, error: { code: 'invalid_request' } });
    expect(await lastRecord()).toMatchObject({ kind: 'approval', data: { action: 'refused', operation: 'vote', vote: 'reject', approval_id: id, actor: 'alice', error: { code: 'invalid_request' } } });
    // Someone else's request: 404, and the attempt is on record.
    expect(await call('GET', `/approvals/${id}`, tokens.bob)).toMatchObject({ status: 404, error: { code: 'not_found' } });
    expect(await lastRecord()).toMatchObject({ kind: 'approval', data: { action: 'refused', operation: 'view', approval_id: id, actor: 'bob', error: { code: 'not_found' } } });

    const { grant } = await gateway.store.vote({ requestId: id, approver: (await identityOf(tokens.alice)), vote: 'approve', comment: 'ok' });
    expect(await call('POST', `/grants/${grant!.id}/revoke`, tokens.bob, { comment: 'mine now' })).toMatchObject({ status: 403, error: { code: 'not_an_approver' } });
    expect(await lastRecord()).toMatchObject({ kind: 'grant', data: { action: 'refused', grant_id: grant!.id, actor: 'bob', error: { code: 'not_an_approver' } } });
    expect(await call('POST', `/grants/${grant!.id}/revoke`, tokens.alice, { comment: { text: 'not a string' } })).toMatchObject({ status: 400, error: { code: 'invalid_request' } });
    expect(await lastRecord()).toMatchObject({ kind: 'grant', data: { action: 'refused', grant_id: grant!.id, actor: 'alice', error: { code: 'invalid_request' } } });

    // Page tokens: garbage, and a genuine one of alice's presented by bob; 400 in the API's shape.
    expect(await call('GET', '/approvals?pageToken=%7B%7D', tokens.alice)).toMatchObject({ status: 400, error: { code: 'invalid_request' } });
    expect(await lastRecord()).toMatchObject({ kind: 'approval', data: { action: 'refused', operation: 'list', approval_id: null, actor: 'alice' } });
    const more = await gateway.store.requestApproval(financeAsk(agent.identity, { sql: 'SELECT second_page FROM `acme-analytics.finance.ledger`' }));
    const page = (await (await fetch(`${gateway.url}/approvals?maxResults=1`, { headers: { authorization: bearer(tokens.alice) } })).json()) as { requests: { id: string }[]; nextPageToken: string };
    expect(page.requests.map((r) => r.id)).toEqual([more.id]);
    expect(await call('GET', `/approvals?maxResults=1&pageToken=${page.nextPageToken}`, tokens.bob)).toMatchObject({ status: 400, error: { code: 'invalid_request' } });
    expect(await lastRecord()).toMatchObject({ kind: 'approval', data: { action: 'refused', operation: 'list', actor: 'bob' } });
    expect(await call('GET', `/grants?pageToken=${page.nextPageToken}`, tokens.alice)).toMatchObject({ status: 400, error: { code: 'invalid_request' } });
    expect(await lastRecord()).toMatchObject({ kind: 'approval', data: { action: 'refused', operation: 'list_grants', actor: 'alice' } });
  });

  it('keeps every record valid, free of the tokens presented, and the chain verifies with sluice audit verify', async () => {
    const all = await records();
    const validate = recordValidator();
    for (const record of all) expect(validate(record), JSON.stringify(validate.errors)).toBe(true);
    const text = JSON.stringify(all);
    for (const token of presented) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(token.split('.')[1]!); // not even the payload
    }
    expect(all.filter((r) => r.kind === 'token_failure').length).toBeGreaterThanOrEqual(7);
    const verified = await sluice(['audit', 'verify', '--storage', storage]);
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
  });

  async function identityOf(token: string) {
    const result = await gateway.authenticator.authenticate(bearer(token));
    if (!result.ok) throw new Error(result.message);
    return result.identity;
  }
});
