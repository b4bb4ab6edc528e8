// Security Event Tokens (RFC 8417) as the Shared Signals receiver accepts them: signed by a trusted
// issuer configured for signals (its keys, resolved as for access tokens), explicitly typed
// `secevent+jwt`, for this receiver's audience, recent, with a jti, and one supported CAEP or RISC
// event about a subject of that same issuer (RFC 9493 `iss_sub`).
import { decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { sanitizeClaim } from '../audit/claimed.ts';
import { KeySetUnavailable } from '../auth/index.ts';

export const EVENT_TYPES = {
  'https://schemas.openid.net/secevent/caep/event-type/session-revoked': 'session-revoked',
  'https://schemas.openid.net/secevent/caep/event-type/credential-change': 'credential-change',
  'https://schemas.openid.net/secevent/risc/event-type/account-disabled': 'account-disabled',
  'https://schemas.openid.net/secevent/risc/event-type/account-purged': 'account-purged',
  'https://schemas.openid.net/secevent/risc/event-type/account-enabled': 'account-enabled',
} as const;

export type EventName = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

/** RFC 8935 §2.4 error codes. */
export type SignalErrorCode = 'invalid_request' | 'invalid_key' | 'invalid_issuer' | 'invalid_audience' | 'authentication_failed' | 'access_denied';

export class SignalError extends Error {
  override name = 'SignalError';
  readonly code: SignalErrorCode;
  /** 503 when the issuer's keys could not be fetched: the transmitter should retry. */
  readonly status: 400 | 503;
  constructor(code: SignalErrorCode, message: string, status: 400 | 503 = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export interface SecurityEvent {
  issuer: string;
  subject: string;
  event: EventName;
  jti: string;
  issuedAt: Date;
  /** The event's own time (`event_timestamp`), never later than now. */
  eventAt: Date | undefined;
  /** The transmitter's reason for administrators, if any (shortened). */
  reason: string | null;
}

export interface SecurityEventOptions {
  keysOf(issuer: string): { getKey: JWTVerifyGetKey; algorithms: readonly string[] } | undefined;
  /** Issuers configured with `signals: true`. */
  issuers: ReadonlySet<string>;
  audience: string;
  maxAgeSeconds: number;
  clockToleranceSeconds?: number;
  now?: () => number;
}

const MAX_TEXT = 256;

/** What a refused token claimed (unverified): for the audit record only. */
export function claimedOf(token: string): { issuer: string | null; subject: string | null; jti: string | null } {
  try {
    const p = decodeJwt(token);
    const events = typeof p.events === 'object' && p.events !== null ? Object.values(p.events as object) : [];
    const sub = subjectOf(p, typeof events[0] === 'object' && events[0] !== null ? (events[0] as Record<string, unknown>) : undefined);
    // Unverified and caller-written: control and invisible characters replaced, as for token_failure records.
    const text = (v: unknown) => sanitizeClaim(v);
    return { issuer: text(p.iss), subject: text(sub?.sub), jti: text(p.jti) };
  } catch {
    return { issuer: null, subject: null, jti: null };
  }
}

export async function verifySecurityEvent(token: string, o: SecurityEventOptions): Promise<SecurityEvent> {
  const now = o.now ?? Date.now;
  const tolerance = o.clockToleranceSeconds ?? 30;
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) throw new SignalError('invalid_request', 'the body is not a signed JWT (JWS compact serialization)');
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch {
    throw new SignalError('invalid_request', 'the body is not a valid JWT');
  }
  if (typeof iss !== 'string' || !o.issuers.has(iss)) throw new SignalError('invalid_issuer', 'the issuer is not trusted to send security events');
  const keys = o.keysOf(iss);
  if (!keys) throw new SignalError('invalid_issuer', 'the issuer is not trusted to send security events');

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys.getKey, {
      issuer: iss,
      audience: o.audience,
      algorithms: [...keys.algorithms],
      typ: 'secevent+jwt',
      maxTokenAge: o.maxAgeSeconds,
      clockTolerance: tolerance,
      currentDate: new Date(now()),
      requiredClaims: ['jti', 'iat'],
    }));
  } catch (error) {
    throw verifyError(error);
  }
  if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > MAX_TEXT) throw new SignalError('invalid_request', 'the jti claim must be a string of 1 to 256 characters');

  const events = payload.events;
  if (typeof events !== 'object' || events === null || Array.isArray(events)) throw new SignalError('invalid_request', 'the events claim must be an object');
  const types = Object.keys(events);
  if (types.length !== 1) throw new SignalError('invalid_request', 'a security event token must carry exactly one event');
  const type = types[0]!;
  if (!Object.hasOwn(EVENT_TYPES, type)) throw new SignalError('invalid_request', `event type ${type.slice(0, MAX_TEXT)} is not supported`);
  const event = (events as Record<string, unknown>)[type];
  if (typeof event !== 'object' || event === null) throw new SignalError('invalid_request', 'the event must be an object');
  const body = event as Record<string, unknown>;

  const subject = subjectOf(payload, body);
  if (!subject) throw new SignalError('invalid_request', 'the event names no subject in the iss_sub format (RFC 9493)');
  if (subject.iss !== iss) throw new SignalError('invalid_request', 'the subject belongs to another issuer than the one that signed the event');

  let eventAt: Date | undefined;
  if (body.event_timestamp !== undefined) {
    if (typeof body.event_timestamp !== 'number' || !Number.isFinite(body.event_timestamp)) throw new SignalError('invalid_request', 'event_timestamp must be a number (seconds)');
    eventAt = new Date(Math.min(body.event_timestamp * 1000, now()));
  }
  return {
    issuer: iss,
    subject: subject.sub,
    event: EVENT_TYPES[type as keyof typeof EVENT_TYPES],
    jti: payload.jti,
    issuedAt: new Date((payload.iat as number) * 1000),
    eventAt,
    reason: reasonOf(body.reason_admin),
  };
}

/** The subject: SSF's top-level `sub_id`, or the event's `subject` (CAEP, RISC). */
function subjectOf(payload: JWTPayload, event?: Record<string, unknown>): { iss: string; sub: string } | undefined {
  const id = (payload.sub_id ?? event?.subject) as Record<string, unknown> | undefined;
  if (typeof id !== 'object' || id === null || id.format !== 'iss_sub') return undefined;
  if (typeof id.iss !== 'string' || typeof id.sub !== 'string' || id.sub.length === 0 || id.sub.length > MAX_TEXT) return undefined;
  return { iss: id.iss, sub: id.sub };
}

function reasonOf(value: unknown): string | null {
  const text = typeof value === 'string' ? value : typeof value === 'object' && value !== null ? (value as Record<string, unknown>).en : undefined;
  return typeof text === 'string' && text.length > 0 ? text.slice(0, MAX_TEXT) : null;
}

function verifyError(error: unknown): SignalError {
  if (error instanceof KeySetUnavailable) return new SignalError('invalid_key', `the issuer's keys are unavailable: ${error.message}`, 503);
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new SignalError('invalid_key', 'the signature does not verify with the issuer\'s keys');
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return new SignalError('invalid_key', 'the signing algorithm is not allowed');
  // maxTokenAge reports an iat older than the window as JWTExpired on the iat claim.
  if (error instanceof errors.JWTExpired) return new SignalError('invalid_request', error.claim === 'iat' ? 'the security event token is not recent (iat)' : 'the security event token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return new SignalError('invalid_audience', 'the security event token is not meant for this receiver (audience)');
    if (error.claim === 'iss') return new SignalError('invalid_issuer', 'the issuer is not trusted to send security events');
    if (error.claim === 'iat') return new SignalError('invalid_request', 'the security event token is not recent (iat)');
    if (error.claim === 'typ') return new SignalError('invalid_request', 'the token is not typed secevent+jwt');
    return new SignalError('invalid_request', `the ${error.claim} claim is missing or invalid`);
  }
  return new SignalError('invalid_request', 'the security event token could not be verified');
}
