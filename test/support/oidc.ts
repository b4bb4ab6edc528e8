// Helpers around the real local identity provider (demo/idp.ts) for tests: start/stop providers,
// and forge the hostile tokens an attacker could build from a real token's claims.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, exportJWK, exportSPKI, generateKeyPair, importJWK } from 'jose';
import type { JWK, JWTPayload } from 'jose';
import { startIdentityProvider } from '../../demo/idp.ts';
import type { IdentityProvider, IdentityProviderOptions } from '../../demo/idp.ts';

export { DEFAULT_AUDIENCE } from '../../demo/idp.ts';

const started: IdentityProvider[] = [];

/** Starts a provider that `closeIdentityProviders()` will stop. */
export async function startTestIdentityProvider(options: IdentityProviderOptions = {}): Promise<IdentityProvider> {
  const idp = await startIdentityProvider(options);
  started.push(idp);
  return idp;
}

export async function closeIdentityProviders(): Promise<void> {
  await Promise.all(started.splice(0).map((idp) => idp.close()));
}

export function bearer(token: string): string {
  return `Bearer ${token}`;
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The claims of a real token re-wrapped as an unsecured JWT (`alg: none`, empty signature). */
export function unsecuredCopy(token: string): string {
  const header = decodeProtectedHeader(token);
  return `${b64url({ ...header, alg: 'none' })}.${b64url(decodeJwt(token))}.`;
}

/**
 * The algorithm-confusion attack: the real token's claims signed with HS256 using the issuer's
 * *public* key (as published in its JWKS, in PEM form) as the HMAC secret, keeping the real `kid`.
 */
export async function hmacWithPublicKey(token: string, jwksUri: string): Promise<string> {
  const header = decodeProtectedHeader(token);
  const jwks = (await (await fetch(jwksUri)).json()) as { keys: JWK[] };
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error('kid of the token not in the JWKS');
  const publicKey = await importJWK(jwk, jwk.alg ?? 'RS256');
  const pem = await exportSPKI(publicKey as Parameters<typeof exportSPKI>[0]);
  return new SignJWT(decodeJwt(token))
    .setProtectedHeader({ alg: 'HS256', typ: header.typ, kid: header.kid })
    .sign(new TextEncoder().encode(pem));
}

/** The real token's claims signed with a freshly generated key the issuer never published. */
export async function resignedWithForeignKey(token: string, kid?: string): Promise<string> {
  const header = decodeProtectedHeader(token);
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const keyId = kid ?? (await calculateJwkThumbprint(await exportJWK(publicKey)));
  return new SignJWT(decodeJwt(token))
    .setProtectedHeader({ alg: 'RS256', typ: header.typ, kid: keyId })
    .sign(privateKey);
}

/**
 * A bare JWKS server with a key the test holds: for shapes of token the provider never issues
 * (no `sub`, `nbf` in the future). Serves `/jwks` and counts fetches.
 */
export interface TestKeyServer {
  readonly jwksUri: string;
  readonly kid: string;
  sign(claims: JWTPayload): Promise<string>;
  fetches(): number;
  close(): Promise<void>;
}

export async function startTestKeyServer(): Promise<TestKeyServer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  let fetches = 0;
  const server = createServer((req, res) => {
    if (req.url === '/jwks') {
      fetches++;
      res.setHeader('content-type', 'application/jwk-set+json');
      res.end(JSON.stringify({ keys: [{ ...publicJwk, kid, alg: 'ES256', use: 'sig' }] }));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    jwksUri: `http://127.0.0.1:${port}/jwks`,
    kid,
    sign: (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(privateKey),
    fetches: () => fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Drives the authorization-code + PKCE flow of a web client through the provider's login page the
 * way a browser would (cookies, redirects, form post). Resolves to the token endpoint's answer.
 */
export async function signInAsHuman(
  idp: IdentityProvider,
  options: { clientId: string; redirectUri: string; account: string; password?: string; resource?: string; scope?: string },
): Promise<{ access_token: string; id_token?: string; token_type: string; expires_in: number }> {
  const jar = new Map<string, string>();
  const remember = (response: Response) => {
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) jar.delete(name);
      else jar.set(name, value);
    }
  };
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const origin = new URL(idp.url).origin;
  const go = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const response = await fetch(new URL(url, origin), { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string> | undefined), cookie: cookieHeader() } });
    remember(response);
    return response;
  };

  const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
  const challenge = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString('base64url');
  const state = Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('base64url');
  const authorize = new URL(`${idp.url}/auth`);
  authorize.search = new URLSearchParams({
    client_id: options.clientId,
    response_type: 'code',
    redirect_uri: options.redirectUri,
    scope: options.scope ?? 'openid profile groups',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    ...(options.resource ? { resource: options.resource } : {}),
  }).toString();

  let response = await go(authorize.href);
  for (let hop = 0; hop < 12; hop++) {
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      if (location.startsWith(options.redirectUri)) {
        const callback = new URL(location);
        if (callback.searchParams.get('state') !== state) throw new Error('state mismatch');
        const code = callback.searchParams.get('code');
        if (!code) throw new Error(`authorization failed: ${callback.searchParams.get('error')} ${callback.searchParams.get('error_description')}`);
        const tokenResponse = await fetch(idp.tokenEndpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            redirect_uri: options.redirectUri,
            code_verifier: verifier,
            client_id: options.clientId,
            ...(options.resource ? { resource: options.resource } : {}),
          }),
        });
        const json = (await tokenResponse.json()) as { access_token: string; id_token?: string; token_type: string; expires_in: number; error?: string };
        if (!tokenResponse.ok) throw new Error(`token exchange failed: ${json.error}`);
        return json;
      }
      response = await go(location);
      continue;
    }
    const html = await response.text();
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    if (response.status !== 200 || !action) throw new Error(`unexpected page (${response.status}): ${html.slice(0, 200)}`);
    response = await go(action.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c))), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: options.account, password: options.password ?? '' }).toString(),
    });
  }
  throw new Error('too many redirects');
}
