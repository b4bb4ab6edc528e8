// Local OpenID Connect identity provider for the demo stack and the tests: a real oidc-provider
// instance on 127.0.0.1 issuing RS256/ES256-signed JWT access tokens.
//
// Agents authenticate with the client-credentials grant and receive a JWT access token for a resource
// (audience) such as `https://sluice.local/bigquery`, carrying `sub` (the client id), `iss`, `aud`,
// `exp`, a `groups` claim and a `sluice_kind` claim. Human accounts (approvers, analysts) sign in with
// the authorization-code grant and PKCE through a minimal login page served here.
//
// It prints nothing: no development-mode warnings (own adapter, own keys, own interactions).
//
// Revocation (the gateway's gateway/identity/): a subject (client or account) can be disabled here;
// the token endpoint then refuses it, and the introspection endpoint at `/introspect` (RFC 7662,
// advertised in discovery as `introspection_endpoint`) calls its already issued tokens inactive.
// oidc-provider's own introspection refuses JWT-format access tokens, so this small route verifies
// the provider's own tokens with its own keys instead. The provider can also push Security Event
// Tokens (RFC 8417) it signs with its own signing key to a receiver (RFC 8935).

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';
import type { JWK } from 'jose';
import Provider, { errors as oidcErrors } from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { IdpStore } from './idp-store.ts';

/** Audience of tokens meant for the gateway's BigQuery facade. */
export const DEFAULT_AUDIENCE = 'https://sluice.local/bigquery';
export const GROUPS_CLAIM = 'groups';
export const KIND_CLAIM = 'sluice_kind';

export type SigningAlgorithm = 'RS256' | 'ES256';

/** A machine client (an agent) using the client-credentials grant. */
export interface IdpClient {
  /** Client id; also the token's `sub`. */
  name: string;
  groups: string[];
  /** Defaults to 'agent'. */
  kind?: 'agent' | 'human';
  /** Defaults to a random secret generated at start. */
  secret?: string;
}

/** A human account signing in through the login page (authorization code + PKCE). */
export interface IdpAccount {
  /** Account id; the token's `sub`. */
  id: string;
  groups: string[];
  name?: string;
  email?: string;
  /** When set, the login page requires it; otherwise the account name alone signs in (local demo). */
  password?: string;
}

/** A browser application (e.g. the approver page) using the authorization-code grant with PKCE. */
export interface IdpWebClient {
  clientId: string;
  redirectUris: string[];
  /** Absent: a public client (`token_endpoint_auth_method: none`, PKCE required). */
  secret?: string;
  postLogoutRedirectUris?: string[];
}

export interface IdentityProviderOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Path prefix of the issuer, e.g. `/realms/acme`. Defaults to none. */
  issuerPath?: string;
  /**
   * The `iss` to claim instead of the listening URL. Only for simulating an impostor that asserts
   * another provider's issuer; discovery still answers on the listening URL.
   */
  issuer?: string;
  /** Defaults to the reference organisation's agents (REFERENCE_CLIENTS). */
  clients?: IdpClient[];
  /** Defaults to the reference organisation's people (REFERENCE_ACCOUNTS). */
  accounts?: IdpAccount[];
  webClients?: IdpWebClient[];
  /** Resource indicators (audiences) this provider issues access tokens for. The first is the default. */
  audiences?: string[];
  /** Lifetime of issued access tokens. Defaults to 300. */
  accessTokenTtlSeconds?: number;
  signingAlgorithm?: SigningAlgorithm;
  /** Key id of the initial signing key. Defaults to its JWK thumbprint. */
  keyId?: string;
  /** The resource server's credentials at the introspection endpoint. Default: `sluice-gateway` and a random secret. */
  introspectionClient?: ClientCredentials;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface TokenOptions {
  /** Resource indicator to request. Defaults to the provider's first audience. */
  audience?: string;
  scope?: string;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

export type RequestKind = 'discovery' | 'jwks' | 'token' | 'authorization' | 'introspection' | 'other';

/** A fault the introspection endpoint can be told to show (outages and untrustworthy answers). */
export type IntrospectionFault = 'unavailable' | 'not_json' | 'other_audience';

/** The short names of the CAEP and RISC events the provider can push. */
export type SecurityEventName = 'session-revoked' | 'credential-change' | 'account-disabled' | 'account-purged' | 'account-enabled';

export interface SecurityEventOptions {
  event: SecurityEventName;
  /** The subject (`iss_sub` with this provider's issuer unless `subjectIssuer`). */
  subject: string;
  /** The receiver's audience. */
  audience: string;
  /** Default: random. */
  jti?: string;
  /** Issued at (seconds). Default: now. */
  iat?: number;
  /** The subject's issuer; default this provider's. */
  subjectIssuer?: string;
  /** The event's time (seconds); default: none. */
  eventTimestamp?: number;
  reasonAdmin?: string;
}

const SECURITY_EVENT_TYPES: Record<SecurityEventName, string> = {
  'session-revoked': 'https://schemas.openid.net/secevent/caep/event-type/session-revoked',
  'credential-change': 'https://schemas.openid.net/secevent/caep/event-type/credential-change',
  'account-disabled': 'https://schemas.openid.net/secevent/risc/event-type/account-disabled',
  'account-purged': 'https://schemas.openid.net/secevent/risc/event-type/account-purged',
  'account-enabled': 'https://schemas.openid.net/secevent/risc/event-type/account-enabled',
};

export interface IdentityProvider {
  /** The `iss` of issued tokens (and of the discovery document). */
  readonly issuer: string;
  /** Where the provider listens, including the issuer path. Equals `issuer` unless `issuer` was overridden. */
  readonly url: string;
  readonly discoveryUri: string;
  readonly jwksUri: string;
  readonly tokenEndpoint: string;
  /** The default audience (first of `audiences`). */
  readonly audience: string;
  readonly audiences: readonly string[];
  readonly clients: readonly Readonly<Required<Pick<IdpClient, 'name' | 'groups' | 'kind'>>>[];
  readonly accounts: readonly Readonly<IdpAccount>[];
  credentialsFor(clientName: string): ClientCredentials;
  /** Client-credentials grant for a configured client; resolves to the raw JWT access token. */
  tokenFor(clientName: string, options?: TokenOptions): Promise<string>;
  tokenResponseFor(clientName: string, options?: TokenOptions): Promise<TokenResponse>;
  /** Applies to tokens issued from now on. */
  setAccessTokenTtl(seconds: number): void;
  /** Key id that signs new tokens. */
  readonly signingKeyId: string;
  /** Key ids published in the JWKS. */
  readonly publishedKeyIds: readonly string[];
  /**
   * Generates a new signing key, publishes it and signs new tokens with it. The previous keys stay
   * published unless `retirePrevious`.
   */
  rotateSigningKey(options?: { retirePrevious?: boolean; keyId?: string }): Promise<string>;
  /** Where tokens are introspected (RFC 7662); also `introspection_endpoint` in discovery. */
  readonly introspectionEndpoint: string;
  /** The client a resource server (the gateway) authenticates with at the introspection endpoint. */
  readonly introspectionClient: ClientCredentials;
  /** Disables a client or account: no new tokens, and introspection calls its issued tokens inactive. */
  disableSubject(subject: string): void;
  enableSubject(subject: string): void;
  /** Makes the introspection endpoint misbehave until cleared (undefined). */
  setIntrospectionFault(fault: IntrospectionFault | undefined): void;
  /** A Security Event Token signed with the provider's current signing key. */
  signSecurityEvent(options: SecurityEventOptions): Promise<string>;
  /** Pushes a signed Security Event Token to a receiver (RFC 8935); resolves to its answer. */
  pushSecurityEvent(receiverUrl: string, options: SecurityEventOptions): Promise<{ status: number; body: unknown }>;
  /** Requests served so far, by kind. */
  requestCount(kind: RequestKind): number;
  resetRequestCounts(): void;
  close(): Promise<void>;
}

/** The reference organisation's agents. */
export const REFERENCE_CLIENTS: readonly IdpClient[] = [
  { name: 'reporting-agent', groups: ['agents'] },
  { name: 'pii-agent', groups: ['agents', 'pii-readers'] },
  { name: 'analyst-bot', groups: ['analysts'] },
  { name: 'engineer-bot', groups: ['data-engineers'] },
];

/** The reference organisation's people, for approval flows. */
export const REFERENCE_ACCOUNTS: readonly IdpAccount[] = [
  { id: 'alice', groups: ['data-owners'], name: 'Alice', email: 'alice@acme-analytics.example' },
  { id: 'bob', groups: ['analysts'], name: 'Bob', email: 'bob@acme-analytics.example' },
];

interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateJwk: JWK;
}

async function generateSigningKey(alg: SigningAlgorithm, kid?: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const keyId = kid ?? (await calculateJwkThumbprint(publicJwk, 'sha256'));
  const privateJwk = { ...(await exportJWK(privateKey)), kid: keyId, alg, use: 'sig' };
  return { kid: keyId, alg, privateJwk };
}

function normalizePath(path: string | undefined): string {
  if (!path || path === '/') return '';
  const withSlash = path.startsWith('/') ? path : `/${path}`;
  return withSlash.endsWith('/') ? withSlash.slice(0, -1) : withSlash;
}

function classify(pathname: string): RequestKind {
  if (pathname === '/.well-known/openid-configuration' || pathname === '/.well-known/oauth-authorization-server') {
    return 'discovery';
  }
  if (pathname === '/jwks') return 'jwks';
  if (pathname === '/token') return 'token';
  if (pathname === '/auth' || pathname.startsWith('/auth/')) return 'authorization';
  if (pathname === '/introspect') return 'introspection';
  return 'other';
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** HTTP Basic credentials (RFC 6749 §2.3.1: each part form-encoded). */
function basicCredentials(header: string | undefined): [string, string] | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return [decodeURIComponent(decoded.slice(0, colon)), decodeURIComponent(decoded.slice(colon + 1))];
  } catch {
    return undefined;
  }
}

function basicClientId(header: string | undefined): string | undefined {
  return basicCredentials(header)?.[0];
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readForm(req: IncomingMessage, limit = 16 * 1024): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function loginPage(action: string, clientId: string, error?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title>
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto}label,input,button{display:block;width:100%;margin:.4rem 0}
.error{color:#b00020}</style></head>
<body><h1>Sign in</h1><p>to <strong>${escapeHtml(clientId)}</strong></p>
${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}" autocomplete="off">
<label>Account <input name="login" required autofocus></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button></form></body></html>`;
}

export async function startIdentityProvider(options: IdentityProviderOptions = {}): Promise<IdentityProvider> {
  const host = options.host ?? '127.0.0.1';
  const basePath = normalizePath(options.issuerPath);
  const alg = options.signingAlgorithm ?? 'RS256';
  const audiences = options.audiences?.length ? [...options.audiences] : [DEFAULT_AUDIENCE];
  let accessTokenTtl = options.accessTokenTtlSeconds ?? 300;

  const clients = (options.clients ?? REFERENCE_CLIENTS).map((c) => ({
    name: c.name,
    groups: [...c.groups],
    kind: c.kind ?? ('agent' as const),
    secret: c.secret ?? randomBytes(24).toString('base64url'),
  }));
  const clientsById = new Map(clients.map((c) => [c.name, c]));
  const accounts = (options.accounts ?? REFERENCE_ACCOUNTS).map((a) => ({ ...a, groups: [...a.groups] }));
  const accountsById = new Map(accounts.map((a) => [a.id, a]));
  for (const web of options.webClients ?? []) {
    if (clientsById.has(web.clientId)) throw new Error(`duplicate client id ${web.clientId}`);
  }

  let keys: SigningKey[] = [await generateSigningKey(alg, options.keyId)];
  const cookieKeys = [randomBytes(32).toString('base64url')];
  const store = new IdpStore();
  const counts = new Map<RequestKind, number>();
  const disabledSubjects = new Set<string>();
  let introspectionFault: IntrospectionFault | undefined;
  const introspectionClient: ClientCredentials = options.introspectionClient ?? { clientId: 'sluice-gateway', clientSecret: randomBytes(24).toString('base64url') };

  // The listening URL is known only after bind, so the provider is built after listen().
  let provider: Provider | undefined;
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (basePath && url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const innerPath = url.pathname.slice(basePath.length) || '/';
    const kind = classify(innerPath);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    if (!provider || !handler) {
      res.statusCode = 503;
      res.end();
      return;
    }
    // Mount under the issuer path the way a framework's router would: oidc-provider derives its
    // mount path from originalUrl minus url.
    const mutable = req as IncomingMessage & { originalUrl?: string };
    mutable.originalUrl = req.url;
    req.url = `${innerPath}${url.search}`;
    const active = provider;
    if (innerPath === '/introspect') {
      introspect(req, res).catch(() => {
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      });
      return;
    }
    if (innerPath === '/token' && disabledSubjects.has(basicClientId(req.headers.authorization) ?? '')) {
      res.statusCode = 401;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: 'invalid_client', error_description: 'the client is disabled' }));
      return;
    }
    if (innerPath.startsWith('/interaction/')) {
      interaction(active, innerPath, req, res).catch(() => {
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      });
      return;
    }
    handler(req, res);
  });
  server.keepAliveTimeout = 1000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  const url = `http://${hostForUrl}:${port}${basePath}`;
  const issuer = options.issuer ?? url;

  const findAccount: Configuration['findAccount'] = async (_ctx, id) => {
    const account = accountsById.get(id);
    if (!account) return undefined;
    return {
      accountId: account.id,
      async claims() {
        return {
          sub: account.id,
          ...(account.name ? { name: account.name } : {}),
          ...(account.email ? { email: account.email } : {}),
          [GROUPS_CLAIM]: account.groups,
          [KIND_CLAIM]: 'human',
        };
      },
    };
  };

  const buildProvider = (): Provider => {
    const activeKid = keys[0]!.kid;
    const configuration: Configuration = {
      adapter: (name: string) => store.adapterFor(name),
      jwks: { keys: keys.map((k) => k.privateJwk) } as Configuration['jwks'],
      cookies: { keys: cookieKeys },
      clientDefaults: { id_token_signed_response_alg: alg, grant_types: ['authorization_code'], response_types: ['code'] },
      clients: [
        ...clients.map((c) => ({
          client_id: c.name,
          client_secret: c.secret,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_basic' as const,
        })),
        ...(options.webClients ?? []).map((w) => ({
          client_id: w.clientId,
          ...(w.secret
            ? { client_secret: w.secret, token_endpoint_auth_method: 'client_secret_basic' as const }
            : { token_endpoint_auth_method: 'none' as const }),
          grant_types: ['authorization_code'],
          response_types: ['code' as const],
          redirect_uris: w.redirectUris,
          post_logout_redirect_uris: w.postLogoutRedirectUris ?? [],
        })),
      ],
      findAccount,
      claims: {
        openid: ['sub'],
        profile: ['name'],
        email: ['email'],
        groups: [GROUPS_CLAIM, KIND_CLAIM],
      },
      scopes: ['openid', 'profile', 'email', 'groups'],
      pkce: { required: () => true },
      interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `${basePath}/interaction/${interaction.uid}` },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: false },
        revocation: { enabled: false },
        rpInitiatedLogout: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: async (_ctx, _client, oneOf) => oneOf ?? audiences[0]!,
          useGrantedResource: async () => true,
          getResourceServerInfo: async (_ctx, resourceIndicator) => {
            if (!audiences.includes(resourceIndicator)) throw new oidcErrors.InvalidTarget();
            return {
              scope: 'bigquery',
              audience: resourceIndicator,
              accessTokenTTL: accessTokenTtl,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg, kid: activeKid } },
            };
          },
        },
      },
      extraTokenClaims: async (_ctx, token) => {
        if (token.kind === 'ClientCredentials') {
          const client = token.clientId ? clientsById.get(token.clientId) : undefined;
          if (!client) return undefined;
          return { [GROUPS_CLAIM]: client.groups, [KIND_CLAIM]: client.kind };
        }
        const account = token.accountId ? accountsById.get(token.accountId) : undefined;
        if (!account) return undefined;
        return { [GROUPS_CLAIM]: account.groups, [KIND_CLAIM]: 'human' };
      },
      ttl: {
        AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? accessTokenTtl,
        ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? accessTokenTtl,
        AuthorizationCode: 60,
        IdToken: 600,
        Interaction: 600,
        Session: 8 * 3600,
        Grant: 8 * 3600,
        RefreshToken: 8 * 3600,
      },
      clientBasedCORS: () => false,
      discovery: { introspection_endpoint: `${url}/introspect`, introspection_endpoint_auth_methods_supported: ['client_secret_basic'] },
      renderError: async (ctx, out) => {
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = `${out.error}${out.error_description ? `: ${out.error_description}` : ''}\n`;
      },
    };
    const instance = new Provider(issuer, configuration);
    instance.on('server_error', () => {}); // no console noise; errors surface as HTTP 500s
    return instance;
  };

  const install = (): void => {
    provider = buildProvider();
    handler = provider.callback() as (req: IncomingMessage, res: ServerResponse) => void;
  };
  install();

  async function interaction(active: Provider, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await active.interactionDetails(req, res);
    const [, , uid, action] = path.split('/');
    if (uid !== details.uid) {
      res.statusCode = 400;
      res.end();
      return;
    }
    const clientId = String(details.params.client_id ?? '');
    if (details.prompt.name === 'login') {
      if (req.method === 'POST' && action === 'login') {
        const form = await readForm(req);
        const login = form.get('login') ?? '';
        const account = accountsById.get(login);
        const passwordOk = account && (account.password === undefined || safeEqual(form.get('password') ?? '', account.password));
        if (!account || !passwordOk) {
          res.statusCode = 401;
          res.setHeader('content-type', 'text/html; charset=utf-8');
          res.end(loginPage(`${basePath}/interaction/${details.uid}/login`, clientId, 'Unknown account or wrong password.'));
          return;
        }
        await active.interactionFinished(req, res, { login: { accountId: account.id } }, { mergeWithLastSubmission: false });
        return;
      }
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.setHeader('cache-control', 'no-store');
      res.end(loginPage(`${basePath}/interaction/${details.uid}/login`, clientId));
      return;
    }
    if (details.prompt.name === 'consent') {
      // First-party applications only: consent is implied.
      const accountId = details.session?.accountId;
      if (!accountId) throw new Error('consent without a session');
      const grant = details.grantId
        ? await active.Grant.find(details.grantId)
        : new active.Grant({ accountId, clientId });
      if (!grant) throw new Error('grant not found');
      const missing = details.prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      await active.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    res.statusCode = 400;
    res.end();
  }

  const tokenEndpoint = `${url}/token`;

  /** RFC 7662 for the provider's own JWT access tokens: verified with its own keys, its disabled set consulted. */
  async function introspect(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const answer = (status: number, body: string) => {
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.setHeader('cache-control', 'no-store');
      res.end(body);
    };
    const [id, secret] = basicCredentials(req.headers.authorization) ?? [];
    if (req.method !== 'POST') return answer(405, JSON.stringify({ error: 'invalid_request' }));
    if (id !== introspectionClient.clientId || !safeEqual(secret ?? '', introspectionClient.clientSecret)) {
      res.setHeader('www-authenticate', 'Basic realm="introspection"');
      return answer(401, JSON.stringify({ error: 'invalid_client' }));
    }
    const token = (await readForm(req)).get('token') ?? '';
    if (introspectionFault === 'unavailable') return answer(503, JSON.stringify({ error: 'temporarily_unavailable' }));
    if (introspectionFault === 'not_json') {
      res.statusCode = 200;
      res.setHeader('content-type', 'text/html');
      res.end('<html><body>Service temporarily moved</body></html>');
      return;
    }
    let claims;
    try {
      const jwks = createLocalJWKSet({ keys: keys.map(({ privateJwk: { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } }) => pub) });
      ({ payload: claims } = await jwtVerify(token, jwks, { issuer }));
    } catch {
      return answer(200, JSON.stringify({ active: false }));
    }
    if (typeof claims.sub !== 'string' || disabledSubjects.has(claims.sub)) return answer(200, JSON.stringify({ active: false }));
    const aud = introspectionFault === 'other_audience' ? 'https://elsewhere.example/api' : claims.aud;
    return answer(200, JSON.stringify({ active: true, iss: claims.iss, sub: claims.sub, aud, exp: claims.exp, iat: claims.iat, client_id: claims.client_id, scope: claims.scope, token_type: 'Bearer' }));
  }

  async function signSecurityEvent(event: SecurityEventOptions): Promise<string> {
    const key = keys[0]!;
    const subject = { format: 'iss_sub', iss: event.subjectIssuer ?? issuer, sub: event.subject };
    const body: Record<string, unknown> = { subject };
    if (event.eventTimestamp !== undefined) body.event_timestamp = event.eventTimestamp;
    if (event.reasonAdmin) body.reason_admin = { en: event.reasonAdmin };
    return new SignJWT({ jti: event.jti ?? randomBytes(12).toString('base64url'), events: { [SECURITY_EVENT_TYPES[event.event]]: body } })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'secevent+jwt' })
      .setIssuer(issuer)
      .setAudience(event.audience)
      .setIssuedAt(event.iat ?? Math.floor(Date.now() / 1000))
      .sign(await importJWK(key.privateJwk, key.alg));
  }

  const credentialsFor = (clientName: string): ClientCredentials => {
    const client = clientsById.get(clientName);
    if (!client) throw new Error(`unknown client ${clientName}`);
    return { clientId: client.name, clientSecret: client.secret };
  };

  const tokenResponseFor = async (clientName: string, tokenOptions: TokenOptions = {}): Promise<TokenResponse> => {
    const { clientId, clientSecret } = credentialsFor(clientName);
    const body = new URLSearchParams({ grant_type: 'client_credentials', resource: tokenOptions.audience ?? audiences[0]! });
    if (tokenOptions.scope) body.set('scope', tokenOptions.scope);
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    const response = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    const json = (await response.json().catch(() => ({}))) as Partial<TokenResponse> & { error?: string; error_description?: string };
    if (!response.ok || typeof json.access_token !== 'string') {
      throw new Error(`token request for ${clientName} failed: ${response.status} ${json.error ?? ''} ${json.error_description ?? ''}`.trim());
    }
    return json as TokenResponse;
  };

  return {
    issuer,
    url,
    discoveryUri: `${url}/.well-known/openid-configuration`,
    jwksUri: `${url}/jwks`,
    tokenEndpoint,
    audience: audiences[0]!,
    audiences,
    clients: clients.map(({ name, groups, kind }) => ({ name, groups, kind })),
    accounts: accounts.map(({ password: _password, ...rest }) => rest),
    credentialsFor,
    tokenResponseFor,
    async tokenFor(clientName, tokenOptions) {
      return (await tokenResponseFor(clientName, tokenOptions)).access_token;
    },
    setAccessTokenTtl(seconds) {
      if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new RangeError('access token TTL must be a positive integer');
      accessTokenTtl = seconds;
    },
    get signingKeyId() {
      return keys[0]!.kid;
    },
    get publishedKeyIds() {
      return keys.map((k) => k.kid);
    },
    async rotateSigningKey(rotation = {}) {
      const next = await generateSigningKey(alg, rotation.keyId);
      keys = rotation.retirePrevious ? [next] : [next, ...keys];
      install();
      return next.kid;
    },
    introspectionEndpoint: `${url}/introspect`,
    introspectionClient,
    disableSubject(subject) {
      disabledSubjects.add(subject);
    },
    enableSubject(subject) {
      disabledSubjects.delete(subject);
    },
    setIntrospectionFault(fault) {
      introspectionFault = fault;
    },
    signSecurityEvent,
    async pushSecurityEvent(receiverUrl, event) {
      const response = await fetch(receiverUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/secevent+jwt', accept: 'application/json' },
        body: await signSecurityEvent(event),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON (202 has no body)
      }
      return { status: response.status, body };
    },
    requestCount(kind) {
      return counts.get(kind) ?? 0;
    },
    resetRequestCounts() {
      counts.clear();
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
