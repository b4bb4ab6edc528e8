// What a refused token claimed to be, for its token_failure record: the `iss` and `sub` of its
// payload, read WITHOUT verifying anything. The caller controls every byte of them, so they are
// recorded as unverified hints (claimed_issuer, claimed_subject), only when they are strings,
// with control and invisible formatting characters replaced and at most CLAIM_MAX_LENGTH long.
import { decodeJwt } from 'jose';

export const CLAIM_MAX_LENGTH = 256;
const UNPRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]$/u;

export interface ClaimedIdentity {
  issuer: string | null;
  subject: string | null;
}

export function claimedIdentity(token: string | null | undefined): ClaimedIdentity {
  if (!token) return { issuer: null, subject: null };
  try {
    const payload = decodeJwt(token);
    return { issuer: sanitizeClaim(payload.iss), subject: sanitizeClaim(payload.sub) };
  } catch {
    return { issuer: null, subject: null }; // not a JWT: nothing was claimed
  }
}

/** A claimed value fit for a record: a string, no control/format characters, bounded. */
export function sanitizeClaim(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0) return null;
  // Code points, not UTF-16 units: a cut never splits a pair; a lone surrogate is replaced too.
  const chars = Array.from(value.slice(0, CLAIM_MAX_LENGTH * 2), (c) => (UNPRINTABLE.test(c) ? '\uFFFD' : c));
  return chars.length <= CLAIM_MAX_LENGTH ? chars.join('') : `${chars.slice(0, CLAIM_MAX_LENGTH - 1).join('')}…`;
}
