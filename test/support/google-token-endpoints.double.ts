// TEST DOUBLE for Google's token endpoints, which cannot run here:
//   POST /token                                                    OAuth 2.0 token endpoint, JWT-bearer grant (service-account keys)
//   POST /v1/token                                                 Security Token Service, token exchange (workload identity federation)
//   POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken IAM Credentials
//
// It is small but strict: it verifies what it receives the way the real services do (assertion
// signatures against registered service-account keys, STS subject tokens against the real local
// identity provider's JWKS, bearer tokens it issued itself, impersonation permissions, lifetime
// format and bounds), records every request for assertions, and can be told to fail.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import type { JWTVerifyGetKey } from 'jose';

export const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

export type DoubleEndpoint = 'oauth-token' | 'sts' | 'generate-access-token';

export interface RecordedRequest {
  endpoint: DoubleEndpoint;
  status: number;
  /** Principal the presented credential belongs to (SA email, federated principal), when known. */
  principal?: string;
  /** generateAccessToken: the impersonated service account. */
  target?: string;
  scopes: string[];
  /** generateAccessToken: requested lifetime in seconds. */
  lifetimeSeconds?: number;
  /** sts: verified `sub` of the subject token; audience parameter. */
  subject?: string;
  audience?: string;
  /** Raw Authorization header value, for leak checks. */
  authorization?: string;
}

export interface IssuedToken {
  endpoint: DoubleEndpoint;
  principal: string;
  scopes: string[];
  expiresAt: number;
}

export interface WorkloadIdentityPool {
  /** `//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/Q` */
  audience: string;
  /** The OIDC issuer the pool provider trusts, and where its keys are. */
  issuer: string;
  jwksUri: string;
  /** Audiences accepted in subject tokens. */
  allowedAudiences: string[];
}

export interface GoogleTokenEndpointsDoubleOptions {
  workloadIdentity?: WorkloadIdentityPool;
  /** target service account → principals allowed to mint tokens for it. */
  impersonation?: Record<string, string[]>;
  stsTokenLifetimeSeconds?: number;
  sourceTokenLifetimeSeconds?: number;
}

export interface ServiceAccountKeyFile {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  token_uri: string;
}

export interface GoogleTokenEndpointsDouble {
  readonly url: string;
  /** For a service-account key's token_uri. */
  readonly oauthTokenUri: string;
  /** For a workload-identity connection's tokenUrl. */
  readonly stsTokenUrl: string;
  /** For an impersonation connection's iamEndpoint. */
  readonly iamEndpoint: string;
  impersonationUrlFor(serviceAccount: string): string;
  /** Generates an RSA service-account key whose token_uri points here, and registers its public half. */
  createServiceAccountKey(email: string): ServiceAccountKeyFile;
  allowImpersonation(target: string, principal: string): void;
  /** Federated principal name for a subject of the workload identity pool. */
  federatedPrincipal(subject: string): string;
  readonly requests: readonly RecordedRequest[];
  requestsTo(endpoint: DoubleEndpoint): RecordedRequest[];
  /** Every token this double has issued, for inspection and leak checks. */
  readonly issued: ReadonlyMap<string, IssuedToken>;
  /** The next `times` requests to the endpoint answer with this status and body. */
  failNext(endpoint: DoubleEndpoint, failure: { status: number; body?: unknown; times?: number }): void;
  reset(): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

function googleError(status: number, code: string, message: string): unknown {
  return { error: { code: status, status: code, message } };
}

export async function startGoogleTokenEndpointsDouble(options: GoogleTokenEndpointsDoubleOptions = {}): Promise<GoogleTokenEndpointsDouble> {
  const stsLifetime = options.stsTokenLifetimeSeconds ?? 3600;
  const sourceLifetime = options.sourceTokenLifetimeSeconds ?? 3600;
  const keys = new Map<string, { email: string; publicKeyPem: string }>(); // by private_key_id
  const impersonation = new Map<string, Set<string>>(
    Object.entries(options.impersonation ?? {}).map(([target, principals]) => [target, new Set(principals)]),
  );
  const issued = new Map<string, IssuedToken>();
  const requests: RecordedRequest[] = [];
  const failures = new Map<DoubleEndpoint, { status: number; body?: unknown; times: number }>();
  let poolKeys: JWTVerifyGetKey | undefined;
  if (options.workloadIdentity) poolKeys = createRemoteJWKSet(new URL(options.workloadIdentity.jwksUri));

  let url = '';
  const oauthTokenUri = () => `${url}/token`;

  const issue = (endpoint: DoubleEndpoint, principal: string, scopes: string[], lifetimeSeconds: number): { token: string; expiresAt: number } => {
    const token = `ya29.double-${randomBytes(24).toString('base64url')}`;
    const expiresAt = Date.now() + lifetimeSeconds * 1000;
    issued.set(token, { endpoint, principal, scopes, expiresAt });
    return { token, expiresAt };
  };

  const injectedFailure = (endpoint: DoubleEndpoint): { status: number; body?: unknown } | undefined => {
    const failure = failures.get(endpoint);
    if (!failure) return undefined;
    if (--failure.times <= 0) failures.delete(endpoint);
    return failure;
  };

  function federatedPrincipal(subject: string): string {
    const audience = options.workloadIdentity?.audience ?? '';
    const pool = audience.replace(/^\/\//, '').replace(/\/providers\/[^/]+$/, '');
    return `principal://${pool}/subject/${subject}`;
  }

  async function oauthToken(form: URLSearchParams, record: RecordedRequest): Promise<[number, unknown]> {
    if (form.get('grant_type') !== JWT_BEARER) return [400, { error: 'unsupported_grant_type' }];
    const assertion = form.get('assertion') ?? '';
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(assertion).kid;
    } catch {
      return [400, { error: 'invalid_grant', error_description: 'Invalid JWT' }];
    }
    const key = kid ? keys.get(kid) : undefined;
    if (!key) return [400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }];
    try {
      const { payload } = await jwtVerify(assertion, await importSPKI(key.publicKeyPem, 'RS256'), {
        algorithms: ['RS256'],
        issuer: key.email,
        audience: oauthTokenUri(),
        requiredClaims: ['iat', 'exp'],
      });
      if (payload.exp! - payload.iat! > 3600) return [400, { error: 'invalid_grant', error_description: 'Invalid JWT: exp too far' }];
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
      if (scopes.length === 0) return [400, { error: 'invalid_scope', error_description: 'Invalid OAuth scope' }];
      record.principal = key.email;
      record.scopes = scopes;
      const { token } = issue('oauth-token', key.email, scopes, sourceLifetime);
      return [200, { access_token: token, expires_in: sourceLifetime, token_type: 'Bearer' }];
    } catch {
      return [400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }];
    }
  }

  async function sts(form: URLSearchParams, record: RecordedRequest): Promise<[number, unknown]> {
    const pool = options.workloadIdentity;
    if (!pool || !poolKeys) return [400, { error: 'invalid_target', error_description: 'no workload identity pool configured' }];
    record.audience = form.get('audience') ?? undefined;
    record.scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
    if (form.get('grant_type') !== TOKEN_EXCHANGE) return [400, { error: 'unsupported_grant_type' }];
    if (form.get('requested_token_type') !== ACCESS_TOKEN_TYPE) return [400, { error: 'invalid_request', error_description: 'requested_token_type' }];
    if (form.get('subject_token_type') !== JWT_TOKEN_TYPE) return [400, { error: 'invalid_request', error_description: 'subject_token_type' }];
    if (form.get('audience') !== pool.audience) return [400, { error: 'invalid_target', error_description: 'The target service indicated by the "audience" parameters is invalid.' }];
    if (record.scopes.length === 0) return [400, { error: 'invalid_scope' }];
    try {
      const { payload } = await jwtVerify(form.get('subject_token') ?? '', poolKeys, {
        issuer: pool.issuer,
        audience: pool.allowedAudiences,
        algorithms: ['RS256', 'ES256'],
        requiredClaims: ['sub', 'exp'],
      });
      record.subject = payload.sub;
      record.principal = federatedPrincipal(payload.sub!);
    } catch {
      return [400, { error: 'invalid_grant', error_description: 'The subject token is invalid or expired.' }];
    }
    const { token } = issue('sts', record.principal, record.scopes, stsLifetime);
    return [200, { access_token: token, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: stsLifetime }];
  }

  async function generateAccessToken(target: string, authorization: string | undefined, body: string, record: RecordedRequest): Promise<[number, unknown]> {
    record.target = target;
    const bearer = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
    const caller = bearer ? issued.get(bearer) : undefined;
    if (!caller || caller.expiresAt <= Date.now()) {
      return [401, googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.')];
    }
    record.principal = caller.principal;
    if (!caller.scopes.includes(CLOUD_PLATFORM) && !caller.scopes.includes('https://www.googleapis.com/auth/iam')) {
      return [403, googleError(403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.')];
    }
    let parsed: { scope?: unknown; lifetime?: unknown; delegates?: unknown };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      return [400, googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.')];
    }
    const scopes = Array.isArray(parsed.scope) ? parsed.scope.filter((s): s is string => typeof s === 'string') : [];
    record.scopes = scopes;
    const lifetimeMatch = typeof parsed.lifetime === 'string' ? /^(\d+)(?:\.\d+)?s$/.exec(parsed.lifetime) : null;
    const lifetime = lifetimeMatch ? Number(lifetimeMatch[1]) : parsed.lifetime === undefined ? 3600 : Number.NaN;
    if (Number.isFinite(lifetime)) record.lifetimeSeconds = lifetime;
    if (scopes.length === 0) return [400, googleError(400, 'INVALID_ARGUMENT', 'Scope is required.')];
    if (!Number.isFinite(lifetime) || lifetime <= 0 || lifetime > 3600) {
      return [400, googleError(400, 'INVALID_ARGUMENT', 'The lifetime must be between 1s and 3600s.')];
    }
    if (!impersonation.get(target)?.has(caller.principal)) {
      return [403, googleError(403, 'PERMISSION_DENIED', "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")];
    }
    const { token, expiresAt } = issue('generate-access-token', target, scopes, lifetime);
    return [200, { accessToken: token, expireTime: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z') }];
  }

  const server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://double').pathname;
      const body = await readBody(req);
      let endpoint: DoubleEndpoint | undefined;
      let target: string | undefined;
      if (req.method === 'POST' && path === '/token') endpoint = 'oauth-token';
      else if (req.method === 'POST' && path === '/v1/token') endpoint = 'sts';
      else {
        const m = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(path);
        if (req.method === 'POST' && m) {
          endpoint = 'generate-access-token';
          target = decodeURIComponent(m[1]!);
        }
      }
      if (!endpoint) {
        send(res, 404, googleError(404, 'NOT_FOUND', 'not found'));
        return;
      }
      const record: RecordedRequest = { endpoint, status: 0, scopes: [], ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) };
      requests.push(record);
      let status: number;
      let payload: unknown;
      const failure = injectedFailure(endpoint);
      if (failure) {
        [status, payload] = [failure.status, failure.body ?? googleError(failure.status, 'INTERNAL', 'injected failure')];
        if (endpoint === 'generate-access-token') record.target = target;
      } else if (endpoint === 'oauth-token') {
        [status, payload] = await oauthToken(new URLSearchParams(body), record);
      } else if (endpoint === 'sts') {
        [status, payload] = await sts(new URLSearchParams(body), record);
      } else {
        [status, payload] = await generateAccessToken(target!, req.headers.authorization, body, record);
      }
      record.status = status;
      send(res, status, payload);
    })().catch(() => {
      if (!res.headersSent) send(res, 500, googleError(500, 'INTERNAL', 'double failed'));
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    oauthTokenUri: oauthTokenUri(),
    stsTokenUrl: `${url}/v1/token`,
    iamEndpoint: url,
    impersonationUrlFor: (sa) => `${url}/v1/projects/-/serviceAccounts/${sa}:generateAccessToken`,
    createServiceAccountKey(email) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const privateKeyId = randomBytes(20).toString('hex');
      keys.set(privateKeyId, { email, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
      return {
        type: 'service_account',
        project_id: email.split('@')[1]?.split('.')[0] ?? 'acme-analytics',
        private_key_id: privateKeyId,
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        client_email: email,
        client_id: String(BigInt(`0x${randomBytes(8).toString('hex')}`)),
        token_uri: oauthTokenUri(),
      };
    },
    allowImpersonation(target, principal) {
      const set = impersonation.get(target) ?? new Set<string>();
      set.add(principal);
      impersonation.set(target, set);
    },
    federatedPrincipal,
    requests,
    requestsTo: (endpoint) => requests.filter((r) => r.endpoint === endpoint),
    issued,
    failNext(endpoint, failure) {
      failures.set(endpoint, { status: failure.status, body: failure.body, times: failure.times ?? 1 });
    },
    reset() {
      requests.length = 0;
      failures.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
