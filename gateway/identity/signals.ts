// The OpenID Shared Signals push receiver (RFC 8935) at POST /ssf/events: a Security Event Token as
// `application/secevent+jwt`, answered 202 once its effect is committed to the shared database, or
// 400 with `{"err", "description"}` (503 while the issuer's keys cannot be fetched, so the transmitter
// retries). Every refusal is logged, counted and recorded in the audit trail, and changes nothing.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChangeResult, PrincipalControl } from './control.ts';
import type { RevocationMetrics } from './metrics.ts';
import { claimedOf, SignalError, verifySecurityEvent, type SecurityEvent, type SecurityEventOptions } from './security-event.ts';

export const SIGNALS_PATH = '/ssf/events';

const CONTENT_TYPE = 'application/secevent+jwt';
const MAX_BODY_BYTES = 64 * 1024;
/** Seen jtis past their freshness window are forgotten at most this often. */
const PURGE_INTERVAL_MS = 60_000;

export interface SignalReceiverOptions {
  verify: SecurityEventOptions;
  control: PrincipalControl;
  metrics: RevocationMetrics;
  now?: () => number;
}

export function registerSignalReceiver(app: FastifyInstance, o: SignalReceiverOptions): void {
  const now = o.now ?? Date.now;
  let lastPurge = 0;

  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) => done(null, body));
    scope.setErrorHandler(async (error: Error & { statusCode?: number }, req, reply) => {
      if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
        return refuse(req, reply, new SignalError('invalid_request', error.statusCode === 413 ? 'the body is too large' : 'the request could not be read'), undefined);
      }
      // The shared database did not take the change: nothing was applied, the transmitter retries.
      req.log.error({ err: { type: error.name, message: error.message } }, 'security event not applied');
      return reply.code(503).send({ err: 'temporarily_unavailable', description: 'the receiver could not apply the event now; retry later' });
    });
    scope.post(SIGNALS_PATH, async (req, reply) => {
      const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== CONTENT_TYPE) return refuse(req, reply, new SignalError('invalid_request', `the content type must be ${CONTENT_TYPE}`), undefined);
      const token = typeof req.body === 'string' ? req.body.trim() : '';
      let event: SecurityEvent;
      try {
        event = await verifySecurityEvent(token, o.verify);
      } catch (error) {
        if (error instanceof SignalError) return refuse(req, reply, error, token);
        throw error;
      }
      const result = await apply(event);
      if (!result.applied) return refuse(req, reply, new SignalError('invalid_request', 'this security event token was already received (jti replayed)'), token);
      o.metrics.securityEvents.inc({ outcome: 'accepted', event: event.event });
      req.log.info({ signal: { issuer: event.issuer, subject: event.subject, event: event.event, jti: event.jti } }, 'security event applied');
      if (now() - lastPurge > PURGE_INTERVAL_MS) {
        lastPurge = now();
        o.control.store.purgeSeenJtis(now()).catch(() => undefined);
      }
      return reply.code(202).send();
    });
  });

  function apply(event: SecurityEvent): Promise<ChangeResult> {
    const signal = `ssf:${event.event}`;
    const change = {
      issuer: event.issuer,
      subject: event.subject,
      reason: event.reason,
      signal,
      actor: event.issuer,
      ...(event.eventAt && { eventAt: event.eventAt }),
      occurredAt: event.eventAt ?? event.issuedAt,
      // Remembered past the last moment the same token could still pass the freshness check.
      jti: { issuer: event.issuer, jti: event.jti, expiresAtMs: event.issuedAt.getTime() + (o.verify.maxAgeSeconds + 2 * (o.verify.clockToleranceSeconds ?? 30)) * 1000 },
    };
    switch (event.event) {
      case 'account-disabled':
      case 'account-purged':
        return o.control.disable(change);
      case 'account-enabled':
        return o.control.enable(change);
      case 'session-revoked':
      case 'credential-change':
        return o.control.revokeSessions({ ...change, notBefore: event.eventAt ?? event.issuedAt });
    }
  }

  async function refuse(req: FastifyRequest, reply: FastifyReply, error: SignalError, token: string | undefined) {
    const claimed = token ? claimedOf(token) : { issuer: null, subject: null, jti: null };
    o.metrics.securityEvents.inc({ outcome: error.code, event: 'unknown' });
    req.log.warn({ signal: { issuer: claimed.issuer, jti: claimed.jti, err: error.code, message: error.message } }, 'security event refused');
    await o.control.refused({
      action: 'signal_refused',
      issuer: claimed.issuer,
      subject: claimed.subject,
      jti: claimed.jti,
      signal: 'ssf',
      error: { code: error.code, message: error.message },
    });
    return reply.code(error.status).header('content-type', 'application/json').send({ err: error.code, description: error.message });
  }
}
