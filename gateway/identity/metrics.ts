// Prometheus metrics of revocation, on the gateway's registry.
import { Counter, Gauge, type Registry } from 'prom-client';

export class RevocationMetrics {
  readonly introspections: Counter<'issuer' | 'outcome'>;
  readonly introspectionAvailable: Gauge<'issuer' | 'fallback'>;
  readonly signatureOnly: Counter<'issuer'>;
  readonly securityEvents: Counter<'outcome' | 'event'>;
  readonly disabledSetAge: Gauge;
  readonly disabledPrincipals: Gauge;

  constructor(registry: Registry, state: { ageSeconds: () => number; disabled: () => number }) {
    const registers = [registry];
    this.introspections = new Counter({
      name: 'sluice_introspections_total',
      help: 'Introspection verdicts on verified tokens, by issuer and outcome (active, cached answers included; inactive; unavailable; invalid).',
      labelNames: ['issuer', 'outcome'] as const,
      registers,
    });
    this.introspectionAvailable = new Gauge({
      name: 'sluice_introspection_available',
      help: '1 while the issuer\'s introspection endpoint answers, 0 while it does not (fallback: fail_closed refuses requests then; signature_only accepts them on signature alone).',
      labelNames: ['issuer', 'fallback'] as const,
      registers,
    });
    this.signatureOnly = new Counter({
      name: 'sluice_introspection_fallback_total',
      help: 'Requests accepted on signature alone because the issuer\'s introspection endpoint was down (fallback: signature_only).',
      labelNames: ['issuer'] as const,
      registers,
    });
    this.securityEvents = new Counter({
      name: 'sluice_security_events_total',
      help: 'Security Event Tokens received at /ssf/events, by outcome (accepted, or the RFC 8935 error code) and event type (short name; unknown when refused before it was read).',
      labelNames: ['outcome', 'event'] as const,
      registers,
    });
    this.disabledSetAge = new Gauge({
      name: 'sluice_disabled_set_age_seconds',
      help: 'Time since the in-memory disabled set was last refreshed from the database; beyond revocation.max_staleness_ms every request is refused.',
      registers,
      collect() {
        const age = state.ageSeconds();
        this.set(Number.isFinite(age) ? age : -1);
      },
    });
    this.disabledPrincipals = new Gauge({
      name: 'sluice_disabled_principals',
      help: 'Principals disabled, as this replica\'s disabled set holds them.',
      registers,
      collect() {
        this.set(state.disabled());
      },
    });
  }
}
