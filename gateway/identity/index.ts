// Revocation that takes effect now (see README.md, "Revocation"): a disabled set every replica keeps
// in memory from the shared database, per-issuer token introspection, the Shared Signals receiver,
// and the kill switch the CLI writes through PrincipalControl.
//
//   const revocation = await Revocation.start({ settings, issuers, database, audit, approvals, registry, log });
//   const authenticator = revocation.guard(createAuthenticator(…));
//   revocation.registerSignals(app, authenticator);
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { TrustedIssuerConfig } from '../../engine/schema-types.ts';
import type { AuditLog } from '../audit/index.ts';
import { DiscoveryCache, type Authenticator } from '../auth/index.ts';
import type { Database } from '../store/database.ts';
import { PrincipalControl, type CutOff } from './control.ts';
import { DisabledSet } from './disabled-set.ts';
import { describeDisabled, guardAuthenticator, type GuardLog } from './guard.ts';
import { Introspector } from './introspection.ts';
import { RevocationMetrics } from './metrics.ts';
import { introspectionOf, type RevocationSettings } from './settings.ts';
import { registerSignalReceiver } from './signals.ts';
import { PrincipalStatusStore } from './status-store.ts';

export { PrincipalControl, type CutOff, type ChangeRequest, type ChangeResult } from './control.ts';
export { PrincipalStatusStore, type PrincipalStatus } from './status-store.ts';
export { resolveRevocation, RevocationConfigError, type RevocationSettings } from './settings.ts';
export { describeDisabled } from './guard.ts';
export { SIGNALS_PATH } from './signals.ts';
export { EVENT_TYPES } from './security-event.ts';

export interface RevocationOptions {
  settings: RevocationSettings;
  issuers: readonly TrustedIssuerConfig[];
  database: Pick<Database, 'db'>;
  audit: Pick<AuditLog, 'record'>;
  approvals: CutOff;
  registry: Registry;
  log: GuardLog & { error(fields: object, message: string): void };
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

/** While an endpoint is down, readiness asks it again at most this often. */
const PROBE_INTERVAL_MS = 2000;

export class Revocation {
  readonly control: PrincipalControl;
  readonly disabled: DisabledSet;
  readonly #o: RevocationOptions;
  readonly #introspectors: Map<string, Introspector>;
  readonly #metrics: RevocationMetrics;
  #lastProbe = 0;

  private constructor(o: RevocationOptions) {
    this.#o = o;
    const now = o.now ?? Date.now;
    const store = new PrincipalStatusStore(o.database.db);
    this.disabled = new DisabledSet(store, {
      pollIntervalMs: o.settings.pollIntervalMs,
      maxStalenessMs: o.settings.maxStalenessMs,
      now,
      onRefresh: (error) =>
        error
          ? o.log.error({ err: { message: error.message } }, 'the disabled set cannot be refreshed from the database; requests are refused once it is stale')
          : o.log.info({}, 'the disabled set is refreshed again'),
    });
    this.#metrics = new RevocationMetrics(o.registry, { ageSeconds: () => this.disabled.ageMs / 1000, disabled: () => this.disabled.size });
    this.control = new PrincipalControl({
      store,
      audit: o.audit,
      approvals: o.approvals,
      now,
      onChange: (status) => this.disabled.note(status),
      onError: (error, what) => o.log.error({ err: { message: error.message } }, `${what} failed`),
    });
    if (!o.settings.signals && o.issuers.some((i) => i.signals)) {
      o.log.warn({}, 'issuers are configured with signals: true but revocation.signals is not: no Shared Signals receiver is served');
    }
    const discovery = new DiscoveryCache({ cacheSeconds: 3600, failureRetrySeconds: 5, timeoutMs: 5000 });
    this.#introspectors = new Map();
    for (const issuer of o.issuers) {
      const settings = introspectionOf(issuer, o.env);
      if (!settings) continue;
      const gauge = this.#metrics.introspectionAvailable.labels({ issuer: settings.issuer, fallback: settings.fallback });
      gauge.set(1);
      this.#introspectors.set(
        issuer.issuer,
        new Introspector(settings, {
          discovery,
          now,
          onHealth: (health) => {
            gauge.set(health.available ? 1 : 0);
            if (health.available) o.log.info({ issuer: settings.issuer }, 'the introspection endpoint answers again');
            else o.log.warn({ issuer: settings.issuer, reason: health.reason, fallback: settings.fallback }, settings.fallback === 'signature_only' ? 'the introspection endpoint is down: tokens are accepted on signature alone' : 'the introspection endpoint is down: requests are refused');
          },
        }),
      );
    }
  }

  /** Loads the disabled set and keeps it current. */
  static async start(options: RevocationOptions): Promise<Revocation> {
    const revocation = new Revocation(options);
    await revocation.disabled.start();
    return revocation;
  }

  /** The authenticator with revocation checked after each token verifies. */
  guard(authenticator: Authenticator): Authenticator {
    return guardAuthenticator(authenticator, {
      disabled: this.disabled,
      introspectors: this.#introspectors,
      control: this.control,
      metrics: this.#metrics,
      log: this.#o.log,
      ...(this.#o.now && { now: this.#o.now }),
    });
  }

  /**
   * Why a session begun with a token at `since` must no longer act (disabled, its sessions revoked
   * since, or the disabled set stale), or undefined: for doors that keep a sign-in past its token.
   */
  refusal(identity: { issuer: string; subject: string }, since: number): string | undefined {
    if (this.disabled.stale) return 'the gateway could not refresh its disabled principals';
    const status = this.disabled.lookup(identity.issuer, identity.subject);
    if (status?.disabled) return describeDisabled(status);
    if (status && status.notBeforeMs !== null && since < status.notBeforeMs) return `sessions of ${identity.subject} begun before ${new Date(status.notBeforeMs).toISOString()} were revoked by ${status.signal}`;
    return undefined;
  }

  /** Serves the Shared Signals receiver when `revocation.signals` is configured. */
  registerSignals(app: FastifyInstance, authenticator: Pick<Authenticator, 'keysOf'>): void {
    const signals = this.#o.settings.signals;
    if (!signals) return;
    registerSignalReceiver(app, {
      verify: {
        keysOf: (issuer) => authenticator.keysOf(issuer),
        issuers: new Set(this.#o.issuers.filter((i) => i.signals).map((i) => i.issuer)),
        audience: signals.audience,
        maxAgeSeconds: signals.maxAgeSeconds,
        ...(this.#o.now && { now: this.#o.now }),
      },
      control: this.control,
      metrics: this.#metrics,
      ...(this.#o.now && { now: this.#o.now }),
    });
  }

  /** For /readyz: not ready while the disabled set is stale or a fail-closed introspection endpoint is down. */
  async readiness(): Promise<{ ready: boolean; disabled_set: string; introspection: Record<string, string> }> {
    const down = [...this.#introspectors.values()].filter((i) => !i.health.available);
    const now = (this.#o.now ?? Date.now)();
    if (down.length && now - this.#lastProbe >= PROBE_INTERVAL_MS) {
      this.#lastProbe = now;
      await Promise.all(down.map((i) => i.probe()));
    }
    const introspection: Record<string, string> = {};
    let ready = !this.disabled.stale;
    for (const [issuer, i] of this.#introspectors) {
      const h = i.health;
      if (h.available) introspection[issuer] = 'available';
      else if (i.settings.fallback === 'signature_only') introspection[issuer] = `unavailable (tokens accepted on signature alone): ${h.reason}`;
      else {
        introspection[issuer] = `unavailable (requests refused): ${h.reason}`;
        ready = false;
      }
    }
    const disabledSet = this.disabled.stale ? `stale: not refreshed for ${Math.round(this.disabled.ageMs)} ms (requests refused)` : 'current';
    return { ready, disabled_set: disabledSet, introspection };
  }

  /** For /status. */
  status(): object {
    return {
      disabled_set: this.disabled.status(),
      introspection: Object.fromEntries(
        [...this.#introspectors].map(([issuer, i]) => {
          const h = i.health;
          const mode = i.settings.fallback;
          return [issuer, { fallback: mode, state: h.available ? 'available' : mode === 'signature_only' ? 'signature_only' : 'refusing', since: new Date(h.since).toISOString(), reason: h.reason ?? null }];
        }),
      ),
      signals: this.#o.settings.signals ? { audience: this.#o.settings.signals.audience, issuers: this.#o.issuers.filter((i) => i.signals).map((i) => i.issuer) } : null,
    };
  }

  close(): void {
    this.disabled.close();
  }
}
