// OpenID Connect discovery for trusted issuers: fetch `${issuer}/.well-known/openid-configuration`,
// check it names the same issuer, and hand back its JWKS URI. Documents are cached; failures are
// remembered briefly so a burst of requests while an identity provider is down does not turn into a
// burst of discovery fetches.

export class DiscoveryError extends Error {
  override name = 'DiscoveryError';
}

export interface DiscoveryDocument {
  issuer: string;
  jwks_uri: string;
  [key: string]: unknown;
}

export interface DiscoveryOptions {
  cacheSeconds: number;
  failureRetrySeconds: number;
  timeoutMs: number;
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Issuer and key-set URLs must be https; plain http is accepted only on a loopback address (the local
 * demo and the tests), or everywhere when explicitly allowed.
 */
export function checkFetchableUrl(value: string, what: string, allowInsecureHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DiscoveryError(`${what} is not a URL`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && (allowInsecureHttp || isLoopbackHost(url.hostname))) return url;
  throw new DiscoveryError(`${what} must use https (got ${url.protocol}//${url.host})`);
}

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

interface CacheEntry {
  at: number;
  result: Promise<DiscoveryDocument>;
  failed: boolean;
}

export class DiscoveryCache {
  readonly #options: DiscoveryOptions;
  readonly #entries = new Map<string, CacheEntry>();

  constructor(options: DiscoveryOptions) {
    this.#options = options;
  }

  get(issuer: string, allowInsecureHttp = false): Promise<DiscoveryDocument> {
    const now = Date.now();
    const entry = this.#entries.get(issuer);
    if (entry) {
      const ttl = (entry.failed ? this.#options.failureRetrySeconds : this.#options.cacheSeconds) * 1000;
      if (now - entry.at < ttl) return entry.result;
    }
    const fresh: CacheEntry = { at: now, failed: false, result: this.#fetch(issuer, allowInsecureHttp) };
    fresh.result.catch(() => {
      fresh.failed = true;
      fresh.at = Date.now();
    });
    // Keep serving a previously good document while a refresh is in flight or failing.
    if (entry && !entry.failed) {
      fresh.result = fresh.result.catch(() => entry.result);
    }
    this.#entries.set(issuer, fresh);
    return fresh.result;
  }

  async #fetch(issuer: string, allowInsecureHttp: boolean): Promise<DiscoveryDocument> {
    const url = checkFetchableUrl(discoveryUrl(issuer), 'discovery URL', allowInsecureHttp);
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
    } catch (error) {
      const why = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'failed';
      throw new DiscoveryError(`discovery request to ${url.origin} ${why}`);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new DiscoveryError(`discovery document at ${url.href} answered HTTP ${response.status}`);
    }
    let document: unknown;
    try {
      document = await response.json();
    } catch {
      throw new DiscoveryError(`discovery document at ${url.href} is not JSON`);
    }
    if (typeof document !== 'object' || document === null) {
      throw new DiscoveryError(`discovery document at ${url.href} is not an object`);
    }
    const doc = document as Record<string, unknown>;
    // OpenID Connect Discovery 1.0 §4.3: the issuer in the document must equal the one it was fetched for.
    if (doc.issuer !== issuer) {
      throw new DiscoveryError(`discovery document at ${url.href} names a different issuer`);
    }
    if (typeof doc.jwks_uri !== 'string') {
      throw new DiscoveryError(`discovery document at ${url.href} has no jwks_uri`);
    }
    checkFetchableUrl(doc.jwks_uri, 'jwks_uri', allowInsecureHttp);
    return doc as DiscoveryDocument;
  }
}
