// Token introspection (RFC 7662) for one trusted issuer: asked once a token's signature, issuer,
// audience and expiry have checked out, so forged tokens never reach the provider. An `active`
// answer consistent with the verified token is cached briefly, keyed by the token's sha256 (the
// token itself is never kept); inactive answers and errors are never cached. Concurrent checks of
// one token share one request.
import { createHash } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { DiscoveryCache, DiscoveryError, checkFetchableUrl } from '../auth/index.ts';
import type { IntrospectionSettings } from './settings.ts';

export type IntrospectionVerdict =
  | { kind: 'active' }
  | { kind: 'inactive' }
  /** The endpoint could not be asked or answered an error: an outage. */
  | { kind: 'unavailable'; message: string }
  /** The endpoint answered something the gateway cannot trust (not JSON, another token's claims). */
  | { kind: 'invalid'; message: string };

export interface IntrospectionHealth {
  available: boolean;
  /** When the endpoint last changed between available and unavailable (epoch ms). */
  since: number;
  reason: string | undefined;
}

/** The cache is bounded: the oldest entries go first beyond this many tokens. */
const MAX_CACHED = 10_000;
const MAX_ANSWER_BYTES = 64 * 1024;

export class Introspector {
  readonly settings: IntrospectionSettings;
  readonly #discovery: DiscoveryCache;
  readonly #now: () => number;
  readonly #cache = new Map<string, number>();
  readonly #inFlight = new Map<string, Promise<IntrospectionVerdict>>();
  #health: IntrospectionHealth;
  readonly #onHealth: ((health: IntrospectionHealth) => void) | undefined;

  constructor(settings: IntrospectionSettings, options: { discovery: DiscoveryCache; now?: () => number; onHealth?: (health: IntrospectionHealth) => void }) {
    if (settings.endpoint) checkFetchableUrl(settings.endpoint, `introspection endpoint of ${settings.issuer}`, false);
    this.settings = settings;
    this.#discovery = options.discovery;
    this.#now = options.now ?? Date.now;
    this.#onHealth = options.onHealth;
    this.#health = { available: true, since: this.#now(), reason: undefined };
  }

  get health(): IntrospectionHealth {
    return { ...this.#health };
  }

  /** Is the verified token (`claims`) still active at its issuer? */
  check(token: string, claims: JWTPayload): Promise<IntrospectionVerdict> {
    const digest = createHash('sha256').update(token).digest('base64url');
    const until = this.#cache.get(digest);
    if (until !== undefined) {
      if (until > this.#now()) return Promise.resolve({ kind: 'active' });
      this.#cache.delete(digest);
    }
    const pending = this.#inFlight.get(digest);
    if (pending) return pending;
    const asked = this.#ask(token, claims)
      .then((verdict) => {
        if (verdict.kind === 'active') this.#remember(digest, claims);
        return verdict;
      })
      .finally(() => this.#inFlight.delete(digest));
    this.#inFlight.set(digest, asked);
    return asked;
  }

  /** Asks about a token that cannot be active: whether the endpoint answers (readiness while it is down). */
  async probe(): Promise<void> {
    await this.#ask('sluice-readiness-probe', {});
  }

  #remember(digest: string, claims: JWTPayload): void {
    if (this.settings.cacheMs <= 0) return;
    const expiry = typeof claims.exp === 'number' ? claims.exp * 1000 : Infinity;
    const until = Math.min(this.#now() + this.settings.cacheMs, expiry);
    if (until <= this.#now()) return;
    if (this.#cache.size >= MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(digest, until);
  }

  async #ask(token: string, claims: JWTPayload): Promise<IntrospectionVerdict> {
    let endpoint: string;
    try {
      endpoint = await this.#endpoint();
    } catch (error) {
      return this.#unavailable(error instanceof DiscoveryError ? error.message : 'the introspection endpoint is unknown');
    }
    const basic = Buffer.from(`${encodeURIComponent(this.settings.clientId)}:${encodeURIComponent(this.settings.clientSecret)}`).toString('base64');
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
        redirect: 'error',
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
    } catch (error) {
      const why = error instanceof Error && error.name === 'TimeoutError' ? `timed out after ${this.settings.timeoutMs} ms` : 'failed';
      return this.#unavailable(`introspection request to ${new URL(endpoint).origin} ${why}`);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      return this.#unavailable(`introspection endpoint answered HTTP ${response.status}`);
    }
    this.#available();
    const text = await response.text().catch(() => undefined);
    let answer: unknown;
    try {
      if (text === undefined || text.length > MAX_ANSWER_BYTES) throw new Error('unreadable');
      answer = JSON.parse(text);
    } catch {
      return { kind: 'invalid', message: 'the introspection answer is not JSON' };
    }
    return judge(answer, claims);
  }

  async #endpoint(): Promise<string> {
    if (this.settings.endpoint) return this.settings.endpoint;
    const document = await this.#discovery.get(this.settings.issuer);
    const endpoint = document.introspection_endpoint;
    if (typeof endpoint !== 'string') throw new DiscoveryError(`the discovery document of ${this.settings.issuer} names no introspection_endpoint`);
    checkFetchableUrl(endpoint, 'introspection_endpoint', false);
    return endpoint;
  }

  #unavailable(reason: string): IntrospectionVerdict {
    if (this.#health.available || this.#health.reason !== reason) {
      this.#health = { available: false, since: this.#health.available ? this.#now() : this.#health.since, reason };
      this.#onHealth?.(this.health);
    }
    return { kind: 'unavailable', message: reason };
  }

  #available(): void {
    if (this.#health.available) return;
    this.#health = { available: true, since: this.#now(), reason: undefined };
    this.#onHealth?.(this.health);
  }
}

/** RFC 7662 §2.2: `active` decides; the claims an active answer carries must be the verified token's. */
function judge(answer: unknown, claims: JWTPayload): IntrospectionVerdict {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return { kind: 'invalid', message: 'the introspection answer is not a JSON object' };
  const a = answer as Record<string, unknown>;
  if (typeof a.active !== 'boolean') return { kind: 'invalid', message: 'the introspection answer has no boolean active member' };
  if (!a.active) return { kind: 'inactive' };
  if (a.sub !== undefined && a.sub !== claims.sub) return { kind: 'invalid', message: 'the introspection answer is about another subject' };
  if (a.iss !== undefined && a.iss !== claims.iss) return { kind: 'invalid', message: 'the introspection answer is about another issuer' };
  if (a.aud !== undefined) {
    const answered = Array.isArray(a.aud) ? a.aud : [a.aud];
    const verified = Array.isArray(claims.aud) ? claims.aud : claims.aud === undefined ? [] : [claims.aud];
    if (!answered.some((x) => typeof x === 'string' && verified.includes(x))) {
      return { kind: 'invalid', message: 'the introspection answer is about another audience' };
    }
  }
  return { kind: 'active' };
}
