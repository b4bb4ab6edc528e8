// Validates the caller's OIDC access token and turns it into the policy input's Identity.
//
// The unverified header and payload are read only to pick the trusted issuer whose keys must verify
// the token; nothing from them is used until jose's jwtVerify has checked signature, issuer, audience,
// expiry and not-before against that issuer's configuration. Anything unexpected is a refusal.

import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { Identity } from '../../engine/schema-types.ts';
import { DiscoveryCache, DiscoveryError, checkFetchableUrl } from './discovery.ts';

export type AuthFailureReason =
  | 'missing_token'
  | 'malformed_token'
  | 'untrusted_issuer'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'disallowed_algorithm'
  | 'unknown_key'
  | 'missing_subject'
  | 'invalid_groups_claim'
  | 'jwks_unavailable'
  // Revocation (gateway/identity/), checked once the token itself verified.
  | 'principal_disabled'
  | 'session_revoked'
  | 'token_inactive'
  | 'introspection_unavailable'
  | 'introspection_invalid'
  | 'revocation_state_stale';

export type AuthResult =
  | { ok: true; identity: Identity; tokenClaims: JWTPayload }
  | { ok: false; reason: AuthFailureReason; message: string };

export type IdentityKind = Identity['kind'];

/** `array`: a JSON array of strings; the others: one string of names split on spaces or commas. */
export type GroupsClaimFormat = 'array' | 'space_separated' | 'comma_separated';
const GROUPS_CLAIM_FORMATS: Record<GroupsClaimFormat, string> = {
  array: 'an array of strings',
  space_separated: 'a space-separated string',
  comma_separated: 'a comma-separated string',
};

export interface TrustedIssuer {
  /** Exact `iss` value. */
  issuer: string;
  /** Accepted `aud` value(s); the token must name at least one. */
  audience: string | string[];
  /** Claim holding the caller's groups (a dotted path reaches into objects). Default `groups`. */
  groupsClaim?: string;
  /** How the groups claim is written; a claim in another form is refused. Default `array`. */
  groupsClaimFormat?: GroupsClaimFormat;
  /** Claim holding 'agent' or 'human'. Default `sluice_kind`. */
  kindClaim?: string;
  /** Kind when the kind claim is absent or holds neither value. Default 'agent'. */
  defaultKind?: IdentityKind;
  /** Skips discovery when given. */
  jwksUri?: string;
  /** Asymmetric JWS algorithms accepted. Default RS256, ES256, PS256, EdDSA. */
  algorithms?: string[];
  /** Required JWT `typ` header (e.g. `at+jwt` to refuse ID tokens). Default: not checked. */
  tokenType?: string;
  /** Accept http:// issuer and JWKS URLs on non-loopback hosts. Default false. */
  allowInsecureHttp?: boolean;
}

export interface AuthenticatorConfig {
  issuers: TrustedIssuer[];
  /** Leeway for exp, nbf and iat (a token issued later than now plus this is refused). Default 30. */
  clockToleranceSeconds?: number;
  /** Extra token claims copied into identity.claims (JSON scalars and arrays only). */
  claims?: string[];
  /**
   * Minimum interval between JWKS refetches triggered by a token whose `kid` is not in the cached
   * set: the rate limit on how often callers can make the gateway hit an identity provider. Default 30.
   */
  jwksRefreshCooldownSeconds?: number;
  /** How long a fetched JWKS is used before it is refetched regardless. Default 600. */
  jwksCacheMaxAgeSeconds?: number;
  /** How long a discovery document is cached. Default 3600. */
  discoveryCacheSeconds?: number;
  /** How long a failed discovery is remembered before it is retried. Default 5. */
  discoveryRetrySeconds?: number;
  /** Timeout of each discovery and JWKS request. Default 5000. */
  httpTimeoutMs?: number;
  /** Longest bearer token accepted. Default 16384 characters. */
  maxTokenLength?: number;
}

export interface Authenticator {
  authenticate(authorizationHeader: string | undefined): Promise<AuthResult>;
  /** The trusted issuers, in configuration order. */
  readonly issuers: readonly string[];
  /**
   * A trusted issuer's key resolution (discovery, JWKS cache and refetch cooldown shared with token
   * checks) and accepted algorithms, for other JWTs it signs (Security Event Tokens).
   */
  keysOf(issuer: string): { getKey: JWTVerifyGetKey; algorithms: readonly string[] } | undefined;
}

export const DEFAULT_ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'PS256', 'EdDSA'];

const ASYMMETRIC_ALGORITHMS = new Set([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
]);

/**
 * Every JWS algorithm name (RFC 7518, RFC 8037, RFC 8812) the gateway knows: a refused
 * token's `alg` is named in the refusal only when it is one of these. Anything else in the unverified
 * header is the sender's free text, kept out of the answer, its challenge header and the audit trail.
 */
const JWS_ALGORITHMS = new Set([...ASYMMETRIC_ALGORITHMS, 'none', 'HS256', 'HS384', 'HS512', 'ES256K', 'Ed448']);

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

interface IssuerState {
  config: TrustedIssuer;
  audiences: string[];
  algorithms: string[];
  groupsClaim: string;
  groupsClaimFormat: GroupsClaimFormat;
  kindClaim: string;
  defaultKind: IdentityKind;
  allowInsecureHttp: boolean;
  keySet?: { uri: string; getKey: JWTVerifyGetKey };
}

export class KeySetUnavailable extends Error {
  override name = 'KeySetUnavailable';
}

function fail(reason: AuthFailureReason, message: string): AuthResult {
  return { ok: false, reason, message };
}

function readPath(payload: JWTPayload, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The groups, or undefined when the claim is present but not in the issuer's format (refused). */
function groupsFrom(value: unknown, format: GroupsClaimFormat): string[] | undefined {
  if (value === undefined) return []; // no claim: no groups
  let raw: unknown[];
  if (format === 'array') {
    if (!Array.isArray(value) || value.some((g) => typeof g !== 'string')) return undefined;
    raw = value;
  } else {
    if (typeof value !== 'string') return undefined;
    raw = format === 'space_separated' ? value.split(/\s+/) : value.split(',').map((g) => g.trim());
  }
  return [...new Set(raw.filter((g): g is string => typeof g === 'string' && g.length > 0))];
}

type ClaimValue = Identity['claims'][string];

function copyableClaim(value: unknown): value is ClaimValue {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value)) ||
    Array.isArray(value)
  );
}

function validateConfig(config: AuthenticatorConfig): void {
  if (!Array.isArray(config.issuers) || config.issuers.length === 0) {
    throw new TypeError('auth: at least one trusted issuer is required');
  }
  const seen = new Set<string>();
  for (const entry of config.issuers) {
    if (typeof entry.issuer !== 'string' || entry.issuer.length === 0) throw new TypeError('auth: issuer must be a non-empty string');
    if (seen.has(entry.issuer)) throw new TypeError(`auth: issuer ${entry.issuer} is configured twice`);
    seen.add(entry.issuer);
    const audiences = Array.isArray(entry.audience) ? entry.audience : [entry.audience];
    if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a.length === 0)) {
      throw new TypeError(`auth: issuer ${entry.issuer} needs a non-empty audience`);
    }
    for (const alg of entry.algorithms ?? []) {
      if (!ASYMMETRIC_ALGORITHMS.has(alg)) {
        throw new TypeError(`auth: algorithm ${alg} is not allowed (only asymmetric JWS algorithms)`);
      }
    }
    if (entry.algorithms && entry.algorithms.length === 0) throw new TypeError(`auth: issuer ${entry.issuer} allows no algorithm`);
    if (entry.groupsClaimFormat !== undefined && !Object.hasOwn(GROUPS_CLAIM_FORMATS, entry.groupsClaimFormat)) {
      throw new TypeError(`auth: groupsClaimFormat of ${entry.issuer} must be one of ${Object.keys(GROUPS_CLAIM_FORMATS).join(', ')}`);
    }
    if (entry.defaultKind && entry.defaultKind !== 'agent' && entry.defaultKind !== 'human') {
      throw new TypeError(`auth: defaultKind must be 'agent' or 'human'`);
    }
    checkFetchableUrl(entry.issuer, `issuer ${entry.issuer}`, entry.allowInsecureHttp ?? false);
    if (entry.jwksUri) checkFetchableUrl(entry.jwksUri, `jwksUri of ${entry.issuer}`, entry.allowInsecureHttp ?? false);
  }
}

export function createAuthenticator(config: AuthenticatorConfig): Authenticator {
  validateConfig(config);
  const clockTolerance = config.clockToleranceSeconds ?? 30;
  const cooldownDuration = (config.jwksRefreshCooldownSeconds ?? 30) * 1000;
  const cacheMaxAge = (config.jwksCacheMaxAgeSeconds ?? 600) * 1000;
  const timeoutDuration = config.httpTimeoutMs ?? 5000;
  const maxTokenLength = config.maxTokenLength ?? 16_384;
  const copiedClaims = [...(config.claims ?? [])];
  const discovery = new DiscoveryCache({
    cacheSeconds: config.discoveryCacheSeconds ?? 3600,
    failureRetrySeconds: config.discoveryRetrySeconds ?? 5,
    timeoutMs: timeoutDuration,
  });

  const states = new Map<string, IssuerState>();
  for (const entry of config.issuers) {
    states.set(entry.issuer, {
      config: entry,
      audiences: Array.isArray(entry.audience) ? [...entry.audience] : [entry.audience],
      algorithms: [...(entry.algorithms ?? DEFAULT_ALGORITHMS)],
      groupsClaim: entry.groupsClaim ?? 'groups',
      groupsClaimFormat: entry.groupsClaimFormat ?? 'array',
      kindClaim: entry.kindClaim ?? 'sluice_kind',
      defaultKind: entry.defaultKind ?? 'agent',
      allowInsecureHttp: entry.allowInsecureHttp ?? false,
    });
  }

  function keySetFor(state: IssuerState, uri: string): JWTVerifyGetKey {
    // One remote key set per URI, kept across discovery refreshes so its cache and cooldown survive.
    if (state.keySet?.uri === uri) return state.keySet.getKey;
    const remote = createRemoteJWKSet(new URL(uri), { cooldownDuration, cacheMaxAge, timeoutDuration });
    const getKey: JWTVerifyGetKey = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        if (
          error instanceof errors.JWKSNoMatchingKey ||
          error instanceof errors.JWKSMultipleMatchingKeys ||
          error instanceof errors.JOSENotSupported
        ) {
          throw error;
        }
        throw new KeySetUnavailable(
          error instanceof errors.JWKSTimeout ? 'key set request timed out' : 'key set could not be fetched or parsed',
        );
      }
    };
    state.keySet = { uri, getKey };
    return getKey;
  }

  async function resolveKeySet(state: IssuerState): Promise<JWTVerifyGetKey> {
    if (state.config.jwksUri) return keySetFor(state, state.config.jwksUri);
    try {
      const document = await discovery.get(state.config.issuer, state.allowInsecureHttp);
      return keySetFor(state, document.jwks_uri);
    } catch (error) {
      throw new KeySetUnavailable(error instanceof DiscoveryError ? error.message : 'discovery failed');
    }
  }

  function mapVerifyError(error: unknown, state: IssuerState): AuthResult {
    if (error instanceof KeySetUnavailable) return fail('jwks_unavailable', `keys of ${state.config.issuer} unavailable: ${error.message}`);
    if (error instanceof errors.JWTExpired) return fail('expired', 'token has expired');
    if (error instanceof errors.JWTClaimValidationFailed) {
      switch (error.claim) {
        case 'aud':
          return fail('wrong_audience', 'token is not meant for this gateway (audience)');
        case 'iss':
          return fail('untrusted_issuer', 'token issuer is not trusted');
        case 'nbf':
          return fail(error.reason === 'check_failed' ? 'not_yet_valid' : 'malformed_token',
            error.reason === 'check_failed' ? 'token is not valid yet' : 'token has an invalid nbf claim');
        case 'sub':
          return fail('missing_subject', 'token has no subject');
        case 'typ':
          return fail('malformed_token', 'token has the wrong type');
        default:
          return fail('malformed_token', `token has an invalid or missing ${error.claim} claim`);
      }
    }
    if (error instanceof errors.JWSSignatureVerificationFailed) return fail('bad_signature', 'token signature does not verify');
    if (error instanceof errors.JWKSMultipleMatchingKeys) return fail('bad_signature', 'token signature does not verify');
    if (error instanceof errors.JWKSNoMatchingKey) return fail('unknown_key', `token is signed with a key ${state.config.issuer} does not publish`);
    if (error instanceof errors.JOSEAlgNotAllowed) return fail('disallowed_algorithm', 'token signing algorithm is not allowed');
    if (error instanceof errors.JOSENotSupported) return fail('disallowed_algorithm', 'token signing algorithm or key type is not supported');
    if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid) return fail('malformed_token', 'token is not a valid JWT');
    // Anything else (a key that cannot be imported, an unexpected runtime error): refuse.
    return fail('bad_signature', 'token could not be verified');
  }

  function toIdentity(payload: JWTPayload, state: IssuerState, groups: string[]): Identity {
    const kindValue = readPath(payload, state.kindClaim);
    const kind: IdentityKind = kindValue === 'agent' || kindValue === 'human' ? kindValue : state.defaultKind;
    const claims: Identity['claims'] = {};
    for (const name of copiedClaims) {
      const value = readPath(payload, name);
      if (value !== undefined && copyableClaim(value)) claims[name] = value;
    }
    return {
      subject: payload.sub as string,
      issuer: state.config.issuer,
      kind,
      groups,
      claims,
    };
  }

  async function authenticate(authorizationHeader: string | undefined): Promise<AuthResult> {
    if (authorizationHeader === undefined || authorizationHeader.trim() === '') {
      return fail('missing_token', 'no bearer token presented');
    }
    if (authorizationHeader.length > maxTokenLength + 16) return fail('malformed_token', 'token is too long');
    const match = BEARER.exec(authorizationHeader);
    if (!match) return fail('malformed_token', 'expected an Authorization header of the form "Bearer <token>"');
    const token = match[1]!;
    if (token.split('.').length !== 3) return fail('malformed_token', 'token is not a signed JWT');

    // Routing only: nothing here is trusted until jwtVerify succeeds.
    let alg: unknown;
    let iss: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
      iss = decodeJwt(token).iss;
    } catch {
      return fail('malformed_token', 'token is not a valid JWT');
    }
    if (typeof alg !== 'string' || !ASYMMETRIC_ALGORITHMS.has(alg)) {
      // Covers `none` and the HMAC family (public-key-as-secret confusion) before any key is touched.
      const named = typeof alg !== 'string' ? '(none)' : JWS_ALGORITHMS.has(alg) ? alg : '(not a JWS algorithm)';
      return fail('disallowed_algorithm', `signing algorithm ${named} is not allowed`);
    }
    if (typeof iss !== 'string') return fail('untrusted_issuer', 'token names no issuer');
    const state = states.get(iss);
    if (!state) return fail('untrusted_issuer', 'token issuer is not trusted');
    if (!state.algorithms.includes(alg)) return fail('disallowed_algorithm', `signing algorithm ${alg} is not allowed for this issuer`);

    let payload: JWTPayload;
    try {
      const getKey = await resolveKeySet(state);
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: state.config.issuer,
        audience: state.audiences,
        algorithms: state.algorithms,
        clockTolerance,
        requiredClaims: ['sub', 'exp'],
        ...(state.config.tokenType ? { typ: state.config.tokenType } : {}),
      }));
    } catch (error) {
      return mapVerifyError(error, state);
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) return fail('missing_subject', 'token has no subject');
    // A token is issued when its iat says: one issued later than now (beyond the clock tolerance)
    // would outlive a revocation of the sessions begun before a time, judged by that iat.
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + clockTolerance) {
      return fail('not_yet_valid', 'token is not valid yet (it says it was issued in the future)');
    }
    // A mistyped groups claim is refused, never read loosely: a string is not a list of one group.
    const groups = groupsFrom(readPath(payload, state.groupsClaim), state.groupsClaimFormat);
    if (!groups) return fail('invalid_groups_claim', `invalid_groups_claim: the token's ${state.groupsClaim} claim is not ${GROUPS_CLAIM_FORMATS[state.groupsClaimFormat]}`);
    return { ok: true, identity: toIdentity(payload, state, groups), tokenClaims: payload };
  }

  function keysOf(issuer: string): { getKey: JWTVerifyGetKey; algorithms: readonly string[] } | undefined {
    const state = states.get(issuer);
    if (!state) return undefined;
    return { getKey: async (header, token) => (await resolveKeySet(state))(header, token), algorithms: state.algorithms };
  }

  return {
    authenticate,
    issuers: config.issuers.map((i) => i.issuer),
    keysOf,
  };
}
