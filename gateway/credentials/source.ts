// The gateway's own (source) credential, used only to call IAM Credentials generateAccessToken for the
// service account a connection impersonates.
//
// A service-account JSON key is exchanged with the OAuth 2.0 JWT-bearer grant at the key's own
// `token_uri` (RFC 7523; what Google documents for service-account keys). Other credential files
// (external_account, authorized_user, ...) and Application Default Credentials go through
// google-auth-library's GoogleAuth.

import { readFile } from 'node:fs/promises';
import { GoogleAuth, OAuth2Client } from 'google-auth-library';
import type { AuthClient } from 'google-auth-library';
import { SignJWT, importPKCS8 } from 'jose';
import { CredentialError, toCredentialError } from './errors.ts';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface ServiceAccountKey {
  type: 'service_account';
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
  universe_domain?: string;
}

function isServiceAccountKey(value: unknown): value is ServiceAccountKey {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.type === 'service_account' && typeof v.client_email === 'string' && typeof v.private_key === 'string';
}

export interface SourceClientOptions {
  connection?: string;
  timeoutMs?: number;
}

/**
 * An OAuth2Client whose tokens come from the service-account key's JWT-bearer exchange. Concurrent
 * refreshes share one exchange; google-auth-library caches the result until shortly before expiry.
 */
export function serviceAccountKeyClient(key: ServiceAccountKey, options: SourceClientOptions = {}): OAuth2Client {
  const tokenUri = key.token_uri ?? DEFAULT_TOKEN_URI;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let signingKey: ReturnType<typeof importPKCS8> | undefined;
  let pending: Promise<{ access_token: string; expiry_date: number }> | undefined;

  const exchange = async (): Promise<{ access_token: string; expiry_date: number }> => {
    signingKey ??= importPKCS8(key.private_key, 'RS256').catch(() => {
      throw new CredentialError('misconfigured', 'configuration', 'service account key has an unusable private_key', options.connection ? { connection: options.connection } : {});
    });
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: CLOUD_PLATFORM_SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) })
      .setIssuer(key.client_email)
      .setAudience(tokenUri)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(await signingKey);
    let response: Response;
    try {
      response = await fetch(tokenUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: JWT_BEARER, assertion }),
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw toCredentialError(error, 'source', options.connection, [assertion]);
    }
    const data = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (!response.ok) {
      throw toCredentialError({ response: { status: response.status, data } }, 'source', options.connection, [assertion]);
    }
    if (!data || typeof data.access_token !== 'string' || data.access_token.length === 0) {
      throw new CredentialError('upstream_invalid_response', 'source', 'source credential exchange returned no access token', options.connection ? { connection: options.connection } : {});
    }
    const expiresIn = typeof data.expires_in === 'number' && data.expires_in > 0 ? data.expires_in : 3600;
    return { access_token: data.access_token, expiry_date: Date.now() + expiresIn * 1000 };
  };

  const client = new OAuth2Client();
  client.refreshHandler = () => {
    pending ??= exchange().finally(() => {
      pending = undefined;
    });
    return pending;
  };
  return client;
}

/**
 * The source client for a connection: a key file path, or Application Default Credentials when
 * absent. Resolved once per connection.
 */
export async function loadSourceClient(sourceCredentials: string | undefined, options: SourceClientOptions = {}): Promise<AuthClient> {
  const details = options.connection ? { connection: options.connection } : {};
  if (sourceCredentials === undefined) {
    try {
      return await new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] }).getClient();
    } catch {
      throw new CredentialError('misconfigured', 'configuration', 'no Application Default Credentials available for impersonation', details);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(sourceCredentials, 'utf8'));
  } catch {
    throw new CredentialError('misconfigured', 'configuration', `source credentials file ${sourceCredentials} is missing or not JSON`, details);
  }
  if (isServiceAccountKey(parsed)) return serviceAccountKeyClient(parsed, options);
  try {
    return await new GoogleAuth({ keyFile: sourceCredentials, scopes: [CLOUD_PLATFORM_SCOPE] }).getClient();
  } catch {
    throw new CredentialError('misconfigured', 'configuration', `source credentials file ${sourceCredentials} is not a usable credential`, details);
  }
}
