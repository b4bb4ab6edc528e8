// Revocation on top of the stateless token check: once a token has verified, its subject must not be
// disabled, the token must not predate a revocation of the subject's sessions, and where the issuer
// is introspected the issuer must still call the token active. Wraps an Authenticator, so every door
// that authenticates (REST, MCP, the approvals API) refuses alike, with a 401 naming the reason.
import type { Identity } from '../../engine/schema-types.ts';
import type { Authenticator, AuthFailureReason, AuthResult } from '../auth/index.ts';
import type { PrincipalControl } from './control.ts';
import type { DisabledSet } from './disabled-set.ts';
import type { Introspector } from './introspection.ts';
import type { RevocationMetrics } from './metrics.ts';
import type { PrincipalStatus } from './status-store.ts';

export interface GuardLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface GuardOptions {
  disabled: DisabledSet;
  introspectors: ReadonlyMap<string, Introspector>;
  control: PrincipalControl;
  metrics: RevocationMetrics;
  log: GuardLog;
  now?: () => number;
}

const BEARER = /^Bearer +(\S+) *$/i;

function fail(reason: AuthFailureReason, message: string): AuthResult {
  return { ok: false, reason, message };
}

export function describeDisabled(status: PrincipalStatus): string {
  return `${status.subject} was disabled at ${new Date(status.changedAtMs).toISOString()} by ${status.signal}${status.reason ? ` (${status.reason})` : ''}`;
}

export function guardAuthenticator(inner: Authenticator, o: GuardOptions): Authenticator {
  const now = o.now ?? Date.now;
  // One disable per principal at a time, however many requests carry its inactive tokens.
  const disabling = new Map<string, Promise<unknown>>();

  async function check(result: Extract<AuthResult, { ok: true }>, token: string): Promise<AuthResult> {
    const { identity, tokenClaims: claims } = result;
    if (o.disabled.stale) {
      return fail('revocation_state_stale', `the gateway could not refresh its disabled principals for ${Math.round(o.disabled.ageMs)} ms; requests are refused until it can`);
    }
    const status = o.disabled.lookup(identity.issuer, identity.subject);
    const introspector = o.introspectors.get(identity.issuer);
    const issuedMs = typeof claims.iat === 'number' ? claims.iat * 1000 : undefined;
    // Disabled because the issuer called a token inactive: a newer token it calls active re-enables.
    const recheck = status?.disabled && status.signal === 'introspection' && !!introspector && issuedMs !== undefined && issuedMs > status.changedAtMs;
    if (status?.disabled && !recheck) return refuse(identity, 'principal_disabled', describeDisabled(status));
    if (status && status.notBeforeMs !== null && (issuedMs === undefined || issuedMs < status.notBeforeMs)) {
      return refuse(identity, 'session_revoked', `tokens of ${identity.subject} issued before ${new Date(status.notBeforeMs).toISOString()} were revoked by ${status.signal}${status.reason ? ` (${status.reason})` : ''}`);
    }
    if (!introspector) return result;

    const verdict = await introspector.check(token, claims);
    const issuer = identity.issuer;
    o.metrics.introspections.inc({ issuer, outcome: verdict.kind });
    switch (verdict.kind) {
      case 'active':
        if (recheck) {
          try {
            const enabled = await o.control.enable({ issuer, subject: identity.subject, reason: 'the issuer calls a token issued after the disable active', signal: 'introspection', actor: issuer });
            // Disabled meanwhile by something else than introspection: that disable stands.
            if (enabled.applied && enabled.status.disabled) return refuse(identity, 'principal_disabled', describeDisabled(enabled.status));
          } catch (error) {
            o.log.warn({ issuer, subject: identity.subject, err: { message: (error as Error).message } }, 're-enabling the principal failed');
            return refuse(identity, 'principal_disabled', describeDisabled(status!));
          }
        }
        return result;
      case 'inactive':
        if (status?.disabled) return refuse(identity, 'principal_disabled', describeDisabled(status));
        // A token past its own expiry (within the clock tolerance) is simply over; an unexpired one
        // the issuer no longer honours means the principal was cut off there.
        if (typeof claims.exp === 'number' && claims.exp * 1000 > now()) await disable(identity);
        return refuse(identity, 'token_inactive', 'the token is no longer active at its issuer (introspection)');
      case 'unavailable':
        if (status?.disabled) return refuse(identity, 'principal_disabled', describeDisabled(status));
        if (introspector.settings.fallback === 'signature_only') {
          o.metrics.signatureOnly.inc({ issuer });
          return result;
        }
        return refuse(identity, 'introspection_unavailable', `the token could not be checked with its issuer: ${verdict.message}`);
      case 'invalid':
        o.log.warn({ issuer, subject: identity.subject, reason: verdict.message }, 'introspection answer refused');
        await o.control.refused({
          action: 'introspection_refused',
          issuer,
          subject: identity.subject,
          signal: 'introspection',
          actor: issuer,
          error: { code: 'introspection_invalid', message: verdict.message },
        });
        return refuse(identity, 'introspection_invalid', `the token could not be checked with its issuer: ${verdict.message}`);
    }
  }

  function refuse(identity: Identity, reason: AuthFailureReason, message: string): AuthResult {
    o.log.info({ issuer: identity.issuer, subject: identity.subject, reason }, 'token refused by revocation');
    return fail(reason, message);
  }

  async function disable(identity: Identity): Promise<void> {
    const key = `${identity.issuer}\n${identity.subject}`;
    let pending = disabling.get(key);
    if (!pending) {
      pending = o.control
        .disable({ issuer: identity.issuer, subject: identity.subject, reason: 'the issuer calls an unexpired token inactive', signal: 'introspection', actor: identity.issuer })
        // The request is refused either way; the next inactive token tries again.
        .catch((error: Error) => o.log.warn({ issuer: identity.issuer, subject: identity.subject, err: { message: error.message } }, 'disabling the principal failed'))
        .finally(() => disabling.delete(key));
      disabling.set(key, pending);
    }
    await pending;
  }

  return {
    issuers: inner.issuers,
    keysOf: (issuer) => inner.keysOf(issuer),
    async authenticate(header) {
      const result = await inner.authenticate(header);
      if (!result.ok) return result;
      return check(result, BEARER.exec(header ?? '')![1]!);
    },
  };
}
