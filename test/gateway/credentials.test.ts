import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Identity } from '../../engine/schema-types.ts';
import type { IdentityProvider } from '../../demo/idp.ts';
import { createAuthenticator } from '../../gateway/auth/index.ts';
import { BIGQUERY_SCOPE, CredentialError, createCredentialProvider } from '../../gateway/credentials/index.ts';
import type { CredentialProvider } from '../../gateway/credentials/index.ts';
import { CLOUD_PLATFORM, startGoogleTokenEndpointsDouble } from '../support/google-token-endpoints.double.ts';
import type { GoogleTokenEndpointsDouble, ServiceAccountKeyFile } from '../support/google-token-endpoints.double.ts';
import { DEFAULT_AUDIENCE, bearer, closeIdentityProviders, sleep, startTestIdentityProvider } from '../support/oidc.ts';

const GATEWAY_SA = 'sluice-gateway@acme-analytics.iam.gserviceaccount.com';
const READER_SA = 'bq-reader@acme-analytics.iam.gserviceaccount.com';
const AGENT_SA = 'bq-agents@acme-analytics.iam.gserviceaccount.com';
const POOL_AUDIENCE = '//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/sluice/providers/local-idp';

function bearerOf(headers: Record<string, string>): string {
  const match = /^Bearer (.+)$/.exec(headers.Authorization ?? '');
  if (!match) throw new Error('no bearer token in headers');
  return match[1]!;
}

async function rejection(promise: Promise<unknown>): Promise<CredentialError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CredentialError) return error;
    throw new Error(`expected a CredentialError, got ${inspect(error)}`);
  }
  throw new Error('expected a rejection');
}

describe('short-lived upstream credentials', () => {
  let idp: IdentityProvider;
  let google: GoogleTokenEndpointsDouble;
  let dir: string;
  let keyFile: string;
  let key: ServiceAccountKeyFile;
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  const errors: unknown[] = [];
  const subjectTokens: string[] = [];

  async function callerFor(client: string): Promise<{ identity: Identity; subjectToken: string }> {
    const subjectToken = await idp.tokenFor(client);
    subjectTokens.push(subjectToken);
    const auth = createAuthenticator({ issuers: [{ issuer: idp.issuer, audience: DEFAULT_AUDIENCE }] });
    const result = await auth.authenticate(bearer(subjectToken));
    if (!result.ok) throw new Error(`caller token refused: ${result.reason}`);
    return { identity: result.identity, subjectToken };
  }

  async function failing(promise: Promise<unknown>): Promise<CredentialError> {
    const error = await rejection(promise);
    errors.push(error);
    return error;
  }

  beforeAll(async () => {
    idp = await startTestIdentityProvider();
    google = await startGoogleTokenEndpointsDouble({
      workloadIdentity: { audience: POOL_AUDIENCE, issuer: idp.issuer, jwksUri: idp.jwksUri, allowedAudiences: [DEFAULT_AUDIENCE] },
    });
    google.allowImpersonation(READER_SA, GATEWAY_SA);
    google.allowImpersonation(AGENT_SA, google.federatedPrincipal('pii-agent'));
    key = google.createServiceAccountKey(GATEWAY_SA);
    dir = await mkdtemp(join(tmpdir(), 'sluice-credentials-'));
    keyFile = join(dir, 'gateway-sa.json');
    await writeFile(keyFile, JSON.stringify(key), { mode: 0o600 });
  });

  afterAll(async () => {
    await google?.close();
    await closeIdentityProviders();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => google.reset());

  function impersonating(extra: Partial<{ targetPrincipal: string; sourceCredentials: string; safetyMarginSeconds: number }> = {}): CredentialProvider {
    return createCredentialProvider(
      { mode: 'impersonate', targetPrincipal: extra.targetPrincipal ?? READER_SA, sourceCredentials: extra.sourceCredentials ?? keyFile, iamEndpoint: google.iamEndpoint },
      { connection: 'warehouse', logger, ...(extra.safetyMarginSeconds !== undefined ? { safetyMarginSeconds: extra.safetyMarginSeconds } : {}) },
    );
  }

  it('mode none adds no credentials', async () => {
    const provider = createCredentialProvider({ mode: 'none' });
    const { identity, subjectToken } = await callerFor('reporting-agent');
    expect(await provider.headers({ identity, subjectToken, ttlSeconds: 300 })).toEqual({});
  });

  describe('service account impersonation', () => {
    it('mints a BigQuery-only token for the target account with the decision TTL as lifetime', async () => {
      const provider = impersonating();
      const { identity } = await callerFor('reporting-agent');
      const before = Date.now();
      const headers = await provider.headers({ identity, ttlSeconds: 120 });
      const token = bearerOf(headers);
      expect(Object.keys(headers)).toEqual(['Authorization']);

      // The whole chain ran: key → JWT-bearer exchange → generateAccessToken.
      const [sourceExchange] = google.requestsTo('oauth-token');
      expect(sourceExchange).toMatchObject({ status: 200, principal: GATEWAY_SA, scopes: [CLOUD_PLATFORM] });
      const [generate] = google.requestsTo('generate-access-token');
      expect(generate).toMatchObject({ status: 200, principal: GATEWAY_SA, target: READER_SA, scopes: [BIGQUERY_SCOPE], lifetimeSeconds: 120 });

      const minted = google.issued.get(token);
      expect(minted).toMatchObject({ endpoint: 'generate-access-token', principal: READER_SA, scopes: [BIGQUERY_SCOPE] });
      expect(minted!.expiresAt - before).toBeLessThanOrEqual(121_000);
      expect(minted!.expiresAt - before).toBeGreaterThan(118_000);
    });

    it('reuses a token within its lifetime, never beyond the TTL a request allows, and shares concurrent mints', async () => {
      const provider = impersonating();
      const { identity } = await callerFor('reporting-agent');
      const burst = await Promise.all(Array.from({ length: 5 }, () => provider.headers({ identity, ttlSeconds: 300 })));
      expect(new Set(burst.map(bearerOf)).size).toBe(1);
      expect(google.requestsTo('generate-access-token')).toHaveLength(1);

      const again = await provider.headers({ identity, ttlSeconds: 300 });
      expect(bearerOf(again)).toBe(bearerOf(burst[0]!));
      // Another caller, same connection and target principal: same token.
      const other = await callerFor('analyst-bot');
      expect(bearerOf(await provider.headers({ identity: other.identity, ttlSeconds: 300 }))).toBe(bearerOf(burst[0]!));
      expect(google.requestsTo('generate-access-token')).toHaveLength(1);

      // A stricter decision: the cached 300 s token would outlive it, so a 30 s one is minted.
      const strict = await provider.headers({ identity, ttlSeconds: 30 });
      expect(bearerOf(strict)).not.toBe(bearerOf(burst[0]!));
      expect(google.requestsTo('generate-access-token').map((r) => r.lifetimeSeconds)).toEqual([300, 30]);
      // The source credential was exchanged once and reused.
      expect(google.requestsTo('oauth-token')).toHaveLength(1);
    });

    it('refreshes after the token expires (less the safety margin)', async () => {
      const provider = impersonating({ safetyMarginSeconds: 0.5 });
      const { identity } = await callerFor('reporting-agent');
      const first = bearerOf(await provider.headers({ identity, ttlSeconds: 2 }));
      expect(bearerOf(await provider.headers({ identity, ttlSeconds: 2 }))).toBe(first);
      await sleep(1600);
      const second = bearerOf(await provider.headers({ identity, ttlSeconds: 2 }));
      expect(second).not.toBe(first);
      expect(google.requestsTo('generate-access-token').map((r) => r.lifetimeSeconds)).toEqual([2, 2]);
    });

    it('caps lifetimes at the IAM maximum and refuses nonsense TTLs', async () => {
      const provider = impersonating();
      const { identity } = await callerFor('reporting-agent');
      await provider.headers({ identity, ttlSeconds: 86_400 });
      expect(google.requestsTo('generate-access-token')[0]).toMatchObject({ status: 200, lifetimeSeconds: 3600 });
      for (const ttlSeconds of [0, -5, Number.NaN]) {
        expect(await failing(provider.headers({ identity, ttlSeconds }))).toMatchObject({ code: 'invalid_request' });
      }
    });

    it('turns endpoint errors into typed errors, and recovers afterwards', async () => {
      const provider = impersonating();
      const { identity } = await callerFor('reporting-agent');

      google.failNext('generate-access-token', {
        status: 403,
        body: { error: { code: 403, status: 'PERMISSION_DENIED', message: "Permission 'iam.serviceAccounts.getAccessToken' denied" } },
      });
      const denied = await failing(provider.headers({ identity, ttlSeconds: 60 }));
      expect(denied).toMatchObject({ code: 'upstream_denied', stage: 'impersonation', status: 403, connection: 'warehouse' });
      expect(denied.message).toContain('PERMISSION_DENIED');

      // A transient 503 is retried by the client library...
      google.reset();
      google.failNext('generate-access-token', { status: 503 });
      const retried = await provider.headers({ identity, ttlSeconds: 45 });
      expect(google.issued.get(bearerOf(retried))?.principal).toBe(READER_SA);
      expect(google.requestsTo('generate-access-token').map((r) => r.status)).toEqual([503, 200]);
      // ...a lasting one becomes upstream_unavailable.
      provider.clear();
      google.failNext('generate-access-token', { status: 503, times: 100 });
      const unavailable = await failing(provider.headers({ identity, ttlSeconds: 60 }));
      expect(unavailable).toMatchObject({ code: 'upstream_unavailable', stage: 'impersonation', status: 503 });
      google.reset();

      // Failures are not cached: the next request mints.
      const ok = await provider.headers({ identity, ttlSeconds: 60 });
      expect(google.issued.get(bearerOf(ok))?.principal).toBe(READER_SA);
    });

    it('is refused for a service account the source may not impersonate', async () => {
      const provider = impersonating({ targetPrincipal: 'bq-admin@acme-analytics.iam.gserviceaccount.com' });
      const { identity } = await callerFor('engineer-bot');
      const error = await failing(provider.headers({ identity, ttlSeconds: 60 }));
      expect(error).toMatchObject({ code: 'upstream_denied', status: 403 });
      expect(google.requestsTo('generate-access-token')[0]).toMatchObject({ status: 403, principal: GATEWAY_SA });
    });

    it('reports source credential problems', async () => {
      const { identity } = await callerFor('reporting-agent');
      const missing = impersonating({ sourceCredentials: join(dir, 'absent.json') });
      expect(await failing(missing.headers({ identity, ttlSeconds: 60 }))).toMatchObject({ code: 'misconfigured', stage: 'configuration' });

      // A key the token endpoint does not know (revoked or foreign).
      const foreignKey = { ...key, private_key_id: 'revoked-key-id' };
      const foreignFile = join(dir, 'revoked.json');
      await writeFile(foreignFile, JSON.stringify(foreignKey), { mode: 0o600 });
      const revoked = impersonating({ sourceCredentials: foreignFile });
      const error = await failing(revoked.headers({ identity, ttlSeconds: 60 }));
      expect(error).toMatchObject({ code: 'upstream_denied', stage: 'source', status: 400 });
      expect(error.message).toMatch(/^source credential failed with HTTP 400: invalid_grant/);
      expect(google.requestsTo('generate-access-token')).toHaveLength(0);

      expect(() => createCredentialProvider({ mode: 'impersonate', targetPrincipal: 'not an email' })).toThrow(CredentialError);
    });
  });

  describe('workload identity federation', () => {
    function federated(impersonate: boolean): CredentialProvider {
      return createCredentialProvider(
        {
          mode: 'workload-identity',
          audience: POOL_AUDIENCE,
          tokenUrl: google.stsTokenUrl,
          ...(impersonate ? { serviceAccountImpersonationUrl: google.impersonationUrlFor(AGENT_SA) } : {}),
        },
        { connection: 'federated', logger },
      );
    }

    it('exchanges the caller token at STS for a BigQuery-scoped federated token', async () => {
      const provider = federated(false);
      const caller = await callerFor('pii-agent');
      const token = bearerOf(await provider.headers({ ...caller, ttlSeconds: 300 }));
      const [exchange] = google.requestsTo('sts');
      expect(exchange).toMatchObject({ status: 200, audience: POOL_AUDIENCE, scopes: [BIGQUERY_SCOPE], subject: 'pii-agent' });
      expect(google.issued.get(token)).toMatchObject({ endpoint: 'sts', principal: google.federatedPrincipal('pii-agent'), scopes: [BIGQUERY_SCOPE] });

      // Cached per subject...
      expect(bearerOf(await provider.headers({ ...(await callerFor('pii-agent')), ttlSeconds: 300 }))).toBe(token);
      expect(google.requestsTo('sts')).toHaveLength(1);
      // ...and never shared between subjects.
      const other = bearerOf(await provider.headers({ ...(await callerFor('analyst-bot')), ttlSeconds: 300 }));
      expect(other).not.toBe(token);
      expect(google.issued.get(other)?.principal).toBe(google.federatedPrincipal('analyst-bot'));
      expect(google.requestsTo('sts').map((r) => r.subject)).toEqual(['pii-agent', 'analyst-bot']);
    });

    it('impersonates the connection service account with the decision TTL after the exchange', async () => {
      const provider = federated(true);
      const caller = await callerFor('pii-agent');
      const token = bearerOf(await provider.headers({ ...caller, ttlSeconds: 90 }));
      expect(google.requestsTo('sts')[0]).toMatchObject({ status: 200, scopes: [CLOUD_PLATFORM], subject: 'pii-agent' });
      expect(google.requestsTo('generate-access-token')[0]).toMatchObject({
        status: 200,
        principal: google.federatedPrincipal('pii-agent'),
        target: AGENT_SA,
        scopes: [BIGQUERY_SCOPE],
        lifetimeSeconds: 90,
      });
      expect(google.issued.get(token)).toMatchObject({ principal: AGENT_SA, scopes: [BIGQUERY_SCOPE] });

      // A caller whose federated principal may not impersonate the account is refused upstream.
      const stranger = await callerFor('reporting-agent');
      const error = await failing(provider.headers({ ...stranger, ttlSeconds: 90 }));
      expect(error).toMatchObject({ code: 'upstream_denied', stage: 'impersonation', status: 403 });
    });

    it('never outlives the caller token', async () => {
      const shortIdp = await startTestIdentityProvider({ accessTokenTtlSeconds: 45 });
      const google2 = await startGoogleTokenEndpointsDouble({
        workloadIdentity: { audience: POOL_AUDIENCE, issuer: shortIdp.issuer, jwksUri: shortIdp.jwksUri, allowedAudiences: [DEFAULT_AUDIENCE] },
      });
      try {
        google2.allowImpersonation(AGENT_SA, google2.federatedPrincipal('pii-agent'));
        const provider = createCredentialProvider(
          { mode: 'workload-identity', audience: POOL_AUDIENCE, tokenUrl: google2.stsTokenUrl, serviceAccountImpersonationUrl: google2.impersonationUrlFor(AGENT_SA) },
          { connection: 'federated-short', logger },
        );
        const subjectToken = await shortIdp.tokenFor('pii-agent');
        subjectTokens.push(subjectToken);
        const identity: Identity = { subject: 'pii-agent', issuer: shortIdp.issuer, kind: 'agent', groups: ['agents'], claims: {} };
        await provider.headers({ identity, subjectToken, ttlSeconds: 600 });
        const lifetime = google2.requestsTo('generate-access-token')[0]?.lifetimeSeconds;
        expect(lifetime).toBeGreaterThan(40);
        expect(lifetime).toBeLessThanOrEqual(45);
      } finally {
        await google2.close();
      }
    });

    it('fails closed on a refused exchange or a missing subject token', async () => {
      const provider = federated(false);
      const caller = await callerFor('pii-agent');
      expect(await failing(provider.headers({ identity: caller.identity, ttlSeconds: 60 }))).toMatchObject({ code: 'invalid_request' });

      // A token from a provider the pool does not trust: STS verifies and refuses it.
      const stranger = await startTestIdentityProvider();
      const foreign = await stranger.tokenFor('pii-agent');
      subjectTokens.push(foreign);
      const error = await failing(provider.headers({ identity: { ...caller.identity, issuer: stranger.issuer }, subjectToken: foreign, ttlSeconds: 60 }));
      expect(error).toMatchObject({ code: 'upstream_denied', stage: 'sts', status: 400 });
      expect(google.requestsTo('sts')[0]).toMatchObject({ status: 400 });

      google.failNext('sts', { status: 500, times: 100 });
      const down = await failing(provider.headers({ ...(await callerFor('engineer-bot')), ttlSeconds: 60 }));
      expect(down).toMatchObject({ code: 'upstream_unavailable', stage: 'sts', status: 500 });
      google.reset();
    });
  });

  it('never writes a token to the logs or into an error', () => {
    const secrets = [...google.issued.keys(), ...subjectTokens, key.private_key.split('\n')[1]!];
    // Tokens seen on the wire by the double (source tokens included).
    for (const r of google.requests) if (r.authorization) secrets.push(r.authorization.replace(/^Bearer /, ''));
    expect(secrets.length).toBeGreaterThan(5);
    expect(logLines.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(5);
    const haystacks = [
      ...logLines,
      ...errors.map((e) => JSON.stringify(e)),
      ...errors.map((e) => inspect(e, { depth: 10, showHidden: true })),
      ...errors.map((e) => String((e as Error).stack)),
    ];
    for (const secret of secrets) {
      for (const hay of haystacks) expect(hay.includes(secret)).toBe(false);
    }
    // Errors are ours, stripped of the HTTP client's request/response objects.
    for (const e of errors) {
      expect(e).toBeInstanceOf(CredentialError);
      expect(Object.keys(e as object).sort()).toEqual(['code', 'connection', 'name', 'stage', 'status']);
    }
    const minted = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'credential_minted');
    expect(minted.length).toBeGreaterThan(3);
  });
});
