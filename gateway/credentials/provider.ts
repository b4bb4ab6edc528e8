// Short-lived upstream credentials for forwarding a query to BigQuery.
//
//   none               forward without an Authorization header (the BigQuery emulator).
//   impersonate        the gateway's source credential calls IAM Credentials generateAccessToken for
//                      the connection's service account, scope BigQuery only, lifetime = the
//                      decision's credential TTL.
//   workload-identity  the caller's own OIDC token is exchanged at Google STS (workload identity
//                      federation), optionally followed by service-account impersonation with the
//                      decision's TTL as lifetime; upstream audit logs then name the caller.
//
// Tokens are cached per (connection, principal) only while they are valid for at least the safety
// margin, and never past the lifetime the current request allows. They are never logged, and errors
// carry no token (see errors.ts).

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { IdentityPoolClient, Impersonated } from 'google-auth-library';
import type { AuthClient } from 'google-auth-library';
import { decodeJwt } from 'jose';
import type { Identity } from '../../engine/schema-types.ts';
import { callerKey } from '../auth/caller-key.ts';
import { CredentialError, toCredentialError } from './errors.ts';
import type { CredentialStage } from './errors.ts';
import { loadSourceClient } from './source.ts';

export const BIGQUERY_SCOPE = 'https://www.googleapis.com/auth/bigquery';
const JWT_SUBJECT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const DEFAULT_TTL_SECONDS = 300;
const MAX_LIFETIME_SECONDS = 3600;

// google-auth-library prints a console warning each time an `Impersonated` client is built, meant
// for applications that load credential configuration from untrusted input. Connection settings
// here come from the operator's own configuration, and a client is built per mint, so the warning
// is silenced with the library's own suppression helper when it is available.
const suppressConstructionWarning: <T>(fn: () => T) => T = (() => {
  try {
    const util = createRequire(import.meta.url)('google-auth-library/build/src/util.js') as { suppressAdcWarning?: unknown };
    if (typeof util.suppressAdcWarning === 'function') return util.suppressAdcWarning as <T>(fn: () => T) => T;
  } catch {
    // Layout changed: fall through and let the library warn.
  }
  return <T>(fn: () => T): T => fn();
})();

export type ConnectionCredentials =
  | { mode: 'none' }
  | {
      mode: 'impersonate';
      /** Service account email to impersonate. */
      targetPrincipal: string;
      /** Path of a credentials file (a service-account key); absent: Application Default Credentials. */
      sourceCredentials?: string;
      /** Lifetime when the decision names none. Default 300. */
      lifetimeSeconds?: number;
      /** IAM Credentials API base URL. Default https://iamcredentials.googleapis.com. */
      iamEndpoint?: string;
      delegates?: string[];
    }
  | {
      mode: 'workload-identity';
      /** Workload identity pool provider, `//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/Q`. */
      audience: string;
      /** STS token endpoint. Default https://sts.googleapis.com/v1/token. */
      tokenUrl?: string;
      /** `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/SA:generateAccessToken`. */
      serviceAccountImpersonationUrl?: string;
      /** Lifetime of the impersonated token when the decision names none. Default 300. */
      tokenLifetimeSeconds?: number;
      subjectTokenType?: string;
    };

export interface CredentialRequest {
  identity: Identity;
  /** The caller's raw OIDC token (required for workload identity). */
  subjectToken?: string;
  /** The decision's credential_ttl_seconds. */
  ttlSeconds?: number;
}

export interface CredentialProvider {
  readonly mode: ConnectionCredentials['mode'];
  headers(request: CredentialRequest): Promise<Record<string, string>>;
  /** Drops cached tokens. */
  clear(): void;
}

/** The subset of a pino logger used here. */
export interface CredentialLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface CredentialProviderOptions {
  /** Connection name, for cache keys, logs and errors. Default 'default'. */
  connection?: string;
  logger?: CredentialLogger;
  /** A cached token is reused only while it stays valid this much longer. Default 60 (capped at a quarter of the token's lifetime). */
  safetyMarginSeconds?: number;
  /** Upper bound on any requested lifetime. Default 3600 (the IAM Credentials default maximum). */
  maxLifetimeSeconds?: number;
  /** Cached principals per connection. Default 10000. */
  maxCacheEntries?: number;
  /** Source credential override (tests, or a client built elsewhere) for impersonation. */
  sourceClient?: AuthClient;
}

interface CachedToken {
  token: string;
  expiresAt: number; // epoch ms
  lifetimeMs: number;
}

interface Minted {
  token: string;
  expiresAt: number;
}

function validTtl(ttl: number | undefined, fallback: number, max: number, connection: string): number {
  const value = ttl ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new CredentialError('invalid_request', 'configuration', `credential TTL must be a positive number of seconds`, { connection });
  }
  return Math.min(Math.ceil(value), max);
}

function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 12);
}

function checkConfig(conn: ConnectionCredentials, connection: string): void {
  const bad = (why: string) => new CredentialError('misconfigured', 'configuration', why, { connection });
  if (conn.mode === 'impersonate') {
    if (typeof conn.targetPrincipal !== 'string' || !/^[^\s/@]+@[^\s/@]+$/.test(conn.targetPrincipal)) {
      throw bad('impersonate: targetPrincipal must be a service account email');
    }
  } else if (conn.mode === 'workload-identity') {
    if (typeof conn.audience !== 'string' || conn.audience.length === 0) throw bad('workload-identity: audience is required');
    if (conn.serviceAccountImpersonationUrl !== undefined && !/serviceAccounts\/[^/:]+:generateAccessToken$/.test(conn.serviceAccountImpersonationUrl)) {
      throw bad('workload-identity: serviceAccountImpersonationUrl must end in serviceAccounts/SA:generateAccessToken');
    }
  } else if (conn.mode !== 'none') {
    throw bad(`unknown credential mode ${(conn as { mode: unknown }).mode}`);
  }
}

export function createCredentialProvider(conn: ConnectionCredentials, options: CredentialProviderOptions = {}): CredentialProvider {
  const connection = options.connection ?? 'default';
  checkConfig(conn, connection);
  if (conn.mode === 'none') {
    return { mode: 'none', headers: async () => ({}), clear() {} };
  }

  const marginMs = (options.safetyMarginSeconds ?? 60) * 1000;
  const maxLifetime = options.maxLifetimeSeconds ?? MAX_LIFETIME_SECONDS;
  const maxEntries = options.maxCacheEntries ?? 10_000;
  const log = options.logger;
  const cache = new Map<string, CachedToken>();
  const inFlight = new Map<string, Promise<Minted>>();

  function cached(key: string, ttlSeconds: number): string | undefined {
    const entry = cache.get(key);
    if (!entry) return undefined;
    const now = Date.now();
    const margin = Math.min(marginMs, entry.lifetimeMs / 4);
    if (entry.expiresAt - margin <= now) {
      cache.delete(key);
      return undefined;
    }
    // Never hand out a token that outlives what this request's decision allows.
    if (entry.expiresAt > now + ttlSeconds * 1000) return undefined;
    return entry.token;
  }

  function remember(key: string, minted: Minted, lifetimeMs: number): void {
    cache.delete(key);
    cache.set(key, { token: minted.token, expiresAt: minted.expiresAt, lifetimeMs });
    while (cache.size > maxEntries) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
  }

  async function obtain(key: string, ttlSeconds: number, logFields: Record<string, unknown>, mint: () => Promise<Minted>): Promise<string> {
    const hit = cached(key, ttlSeconds);
    if (hit) return hit;
    const flightKey = `${key}\u0000${ttlSeconds}`;
    let flight = inFlight.get(flightKey);
    if (!flight) {
      const started = Date.now();
      flight = mint()
        .then((minted) => {
          const now = Date.now();
          if (!minted.token || !Number.isFinite(minted.expiresAt) || minted.expiresAt <= now) {
            throw new CredentialError('upstream_invalid_response', 'impersonation', 'upstream returned an unusable or already expired token', { connection });
          }
          // Bound by what was asked for, whatever the upstream says.
          const bounded = { token: minted.token, expiresAt: Math.min(minted.expiresAt, started + ttlSeconds * 1000) };
          remember(key, bounded, bounded.expiresAt - started);
          log?.info(
            { event: 'credential_minted', connection, mode: conn.mode, ...logFields, lifetime_seconds: ttlSeconds, expires_at: new Date(bounded.expiresAt).toISOString() },
            'minted upstream credential',
          );
          return bounded;
        })
        .catch((error: unknown) => {
          const failure = error instanceof CredentialError ? error : toCredentialError(error, 'impersonation', connection, []);
          log?.warn(
            { event: 'credential_failed', connection, mode: conn.mode, ...logFields, code: failure.code, stage: failure.stage, status: failure.status },
            'upstream credential could not be minted',
          );
          throw failure;
        })
        .finally(() => inFlight.delete(flightKey));
      inFlight.set(flightKey, flight);
    }
    return (await flight).token;
  }

  if (conn.mode === 'impersonate') {
    let source: Promise<AuthClient> | undefined = options.sourceClient ? Promise.resolve(options.sourceClient) : undefined;
    const sourceClient = (): Promise<AuthClient> => {
      source ??= loadSourceClient(conn.sourceCredentials, { connection }).catch((error: unknown) => {
        source = undefined; // retry on the next request
        throw error;
      });
      return source;
    };
    const key = `impersonate\u0000${conn.targetPrincipal}`;
    return {
      mode: 'impersonate',
      async headers(request) {
        const ttl = validTtl(request.ttlSeconds, conn.lifetimeSeconds ?? DEFAULT_TTL_SECONDS, maxLifetime, connection);
        const token = await obtain(key, ttl, { principal: conn.targetPrincipal }, async () => {
          const sourceAuth = await sourceClient();
          const client = suppressConstructionWarning(
            () =>
              new Impersonated({
                sourceClient: sourceAuth,
                targetPrincipal: conn.targetPrincipal,
                targetScopes: [BIGQUERY_SCOPE],
                delegates: conn.delegates ?? [],
                lifetime: ttl,
                ...(conn.iamEndpoint ? { endpoint: conn.iamEndpoint.replace(/\/+$/, '') } : {}),
              }),
          );
          try {
            const { token: accessToken } = await client.getAccessToken();
            return { token: accessToken ?? '', expiresAt: client.credentials.expiry_date ?? Number.NaN };
          } catch (error) {
            if (error instanceof CredentialError) {
              // A source-credential failure, re-thrown by the library with a prefixed message.
              const message = error.message.replace(/^unable to impersonate: (CredentialError: )?/, '');
              throw new CredentialError(error.code, error.stage, message, { ...(error.status !== undefined ? { status: error.status } : {}), connection });
            }
            throw toCredentialError(error, 'impersonation', connection, []);
          }
        });
        return { Authorization: `Bearer ${token}` };
      },
      clear() {
        cache.clear();
      },
    };
  }

  // workload-identity
  const wif = conn;
  return {
    mode: 'workload-identity',
    async headers(request) {
      const subjectToken = request.subjectToken;
      if (typeof subjectToken !== 'string' || subjectToken.length === 0) {
        throw new CredentialError('invalid_request', 'sts', 'workload identity needs the caller token as subject token', { connection });
      }
      let ttl = validTtl(request.ttlSeconds, wif.tokenLifetimeSeconds ?? DEFAULT_TTL_SECONDS, maxLifetime, connection);
      // The exchanged credential must not outlive the caller's own token.
      const subjectExp = (() => {
        try {
          const exp = decodeJwt(subjectToken).exp;
          return typeof exp === 'number' ? exp : undefined;
        } catch {
          return undefined;
        }
      })();
      if (subjectExp !== undefined) {
        const remaining = Math.floor(subjectExp - Date.now() / 1000);
        if (remaining <= 0) throw new CredentialError('invalid_request', 'sts', 'caller token has expired', { connection });
        ttl = Math.min(ttl, remaining);
      }
      const key = `wif\u0000${callerKey(request.identity)}`;
      const token = await obtain(key, ttl, { subject: request.identity.subject, issuer: request.identity.issuer, subject_token: shortHash(subjectToken) }, async () => {
        const client = new IdentityPoolClient({
          type: 'external_account',
          audience: wif.audience,
          subject_token_type: wif.subjectTokenType ?? JWT_SUBJECT_TOKEN_TYPE,
          subject_token_supplier: { getSubjectToken: async () => subjectToken },
          scopes: [BIGQUERY_SCOPE],
          ...(wif.tokenUrl ? { token_url: wif.tokenUrl } : {}),
          ...(wif.serviceAccountImpersonationUrl
            ? { service_account_impersonation_url: wif.serviceAccountImpersonationUrl, service_account_impersonation: { token_lifetime_seconds: ttl } }
            : {}),
        });
        let stage: CredentialStage = 'sts';
        try {
          const { token: accessToken } = await client.getAccessToken();
          // An STS answer without expires_in is taken to last exactly the allowed TTL.
          return { token: accessToken ?? '', expiresAt: client.credentials.expiry_date ?? Date.now() + ttl * 1000 };
        } catch (error) {
          const url = (error as { config?: { url?: unknown } } | null)?.config?.url;
          if (wif.serviceAccountImpersonationUrl && String(url) === wif.serviceAccountImpersonationUrl) stage = 'impersonation';
          throw toCredentialError(error, stage, connection, [subjectToken]);
        }
      });
      return { Authorization: `Bearer ${token}` };
    },
    clear() {
      cache.clear();
    },
  };
}
