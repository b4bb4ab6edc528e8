// Polls a bundle server (OPA's bundle service API: GET the bundle with If-None-Match, 304 when it
// did not change) and activates each new bundle: downloaded within a size limit, unpacked, its
// signature verified (when configured), its policy loaded and checked off to the side, then
// swapped into the engine with one reference assignment — a decision in flight finishes on the
// policy it started with. On any failure the active policy stays. The last activated bundle is
// persisted, and restored at start when the server cannot be reached.
import { Engine, type PreparedPolicy } from '../../engine/index.ts';
import { describeThrown } from '../../engine/errors.ts';
import { backoffDelay } from '../backoff.ts';
import type { BundleServerConfig } from './config.ts';
import { signedAt, verifyBundle } from './signature.ts';
import { BundleStore } from './store.ts';
import { BundleRefused, readTarball } from './tarball.ts';

export interface ActivationEvent {
  ok: boolean;
  /** Where the bundle came from: the server URL, or the persisted file at start. */
  source: string;
  /** The revision now active (on failure: the one that stays active, '' when none). */
  revision: string;
  previousRevision: string;
  /** On failure: download, too_large, not_a_bundle, signature, downgrade, load, http_<status>. */
  reason?: string;
  error?: string;
  /** The signing key that verified the bundle. */
  keyId?: string;
}

export interface BundleStatus {
  active_revision: string | null;
  source: string | null;
  etag: string | null;
  verification: boolean;
  last_success: { at: string; revision: string; source: string } | null;
  last_failure: { at: string; source: string; reason: string; error: string } | null;
}

export interface BundlePollerOptions {
  config: BundleServerConfig;
  engine: Engine;
  /** Called once per activation or refusal (log, metrics, audit). Errors it throws are ignored. */
  report: (event: ActivationEvent) => void | Promise<void>;
  fetch?: typeof fetch;
  random?: () => number;
}

export class BundlePoller {
  readonly #config: BundleServerConfig;
  readonly #engine: Engine;
  readonly #report: BundlePollerOptions['report'];
  readonly #fetch: typeof fetch;
  readonly #random: () => number;
  readonly #store: BundleStore;
  #etag: string | undefined;
  #source: string | undefined;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #abort = new AbortController();
  #inFlight: Promise<unknown> | undefined;
  #running: Promise<boolean> | undefined;
  #lastSuccess: BundleStatus['last_success'] = null;
  #lastFailure: BundleStatus['last_failure'] = null;
  /** When the active bundle was signed (its `iat`): no bundle signed earlier is activated after it. */
  #signedAt: number | undefined;

  constructor(options: BundlePollerOptions) {
    this.#config = options.config;
    this.#engine = options.engine;
    this.#report = options.report;
    this.#fetch = options.fetch ?? fetch;
    this.#random = options.random ?? Math.random;
    this.#store = new BundleStore(options.config.persistDir);
  }

  /** Activates the persisted bundle, if there is one (verified like a downloaded one). */
  async restore(): Promise<boolean> {
    let persisted: Awaited<ReturnType<BundleStore['load']>>;
    try {
      persisted = await this.#store.load(this.#config.maxSizeBytes);
    } catch (error) {
      await this.#refuse(this.#store.bundlePath, error instanceof BundleRefused ? error : new BundleRefused('load', describeThrown(error)));
      return false;
    }
    if (!persisted) return false;
    const ok = await this.#activate(persisted.bytes, this.#store.bundlePath, undefined, false);
    if (ok) this.#etag = persisted.meta?.etag;
    return ok;
  }

  /** Polls now, then keeps polling until closed. */
  start(): void {
    this.#schedule(0);
  }

  /** One poll (joining the one under way, if any): resolves to whether a new bundle was activated. */
  poll(): Promise<boolean> {
    if (this.#running) return this.#running;
    const run = this.#poll().finally(() => {
      this.#running = undefined;
    });
    this.#running = run;
    this.#inFlight = run.catch(() => undefined);
    return run;
  }

  status(): BundleStatus {
    return {
      active_revision: this.#engine.active ? this.#engine.revision : null,
      source: this.#source ?? null,
      etag: this.#etag ?? null,
      verification: this.#config.verification !== undefined,
      last_success: this.#lastSuccess,
      last_failure: this.#lastFailure,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#abort.abort(new Error('the gateway is closing'));
    await this.#inFlight;
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      void this.poll().finally(() => this.#schedule(this.#nextDelay()));
    }, delayMs);
    this.#timer.unref();
  }

  /** A random delay between min and max; after failures, an exponential backoff from min capped at max. */
  #nextDelay(): number {
    const { minDelayMs: min, maxDelayMs: max } = this.#config;
    if (this.#failures === 0) return min + this.#random() * (max - min);
    return backoffDelay(this.#failures, min, max, this.#random);
  }

  async #poll(): Promise<boolean> {
    const { url } = this.#config;
    let bytes: Uint8Array | undefined;
    let etag: string | undefined;
    try {
      ({ bytes, etag } = await this.#download());
    } catch (error) {
      if (this.#closed) return false;
      const refused = error instanceof BundleRefused ? error : new BundleRefused('download', describeThrown(error));
      await this.#refuse(url, refused);
      return false;
    }
    if (!bytes) {
      this.#failures = 0; // 304: the active bundle is current
      return false;
    }
    return this.#activate(bytes, url, etag, true);
  }

  async #download(): Promise<{ bytes?: Uint8Array; etag?: string }> {
    const { url, bearerToken, timeoutMs, maxSizeBytes } = this.#config;
    const headers: Record<string, string> = { accept: 'application/gzip, application/octet-stream' };
    if (this.#etag) headers['if-none-match'] = this.#etag;
    if (bearerToken) headers.authorization = `Bearer ${bearerToken}`;
    let response: Response;
    try {
      response = await this.#fetch(url, { headers, signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.#abort.signal]), redirect: 'follow' });
    } catch (error) {
      throw new BundleRefused('download', `the bundle server cannot be reached: ${describeThrown((error as Error).cause ?? error)}`);
    }
    if (response.status === 304) {
      await response.body?.cancel();
      return {};
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new BundleRefused(`http_${response.status}`, `the bundle server answered HTTP ${response.status}`);
    }
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (declared > maxSizeBytes) {
      await response.body?.cancel();
      throw new BundleRefused('too_large', `the bundle is ${declared} bytes, more than the limit of ${maxSizeBytes}`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = response.body?.getReader();
    try {
      for (;;) {
        const { done, value } = reader ? await reader.read() : { done: true, value: undefined };
        if (done) break;
        size += value.byteLength;
        if (size > maxSizeBytes) {
          await reader?.cancel();
          throw new BundleRefused('too_large', `the bundle is more than the limit of ${maxSizeBytes} bytes`);
        }
        chunks.push(value);
      }
    } catch (error) {
      if (error instanceof BundleRefused) throw error;
      throw new BundleRefused('download', `the bundle download failed: ${describeThrown(error)}`);
    }
    return { bytes: Buffer.concat(chunks), etag: response.headers.get('etag') ?? undefined };
  }

  /** Verifies, prepares and swaps in a bundle; refuses it (policy unchanged) on any failure. */
  async #activate(bytes: Uint8Array, source: string, etag: string | undefined, persist: boolean): Promise<boolean> {
    const previousRevision = this.#engine.revision;
    let prepared: PreparedPolicy;
    let keyId: string | undefined;
    let signed: number | undefined;
    try {
      const files = readTarball(bytes, this.#config.maxSizeBytes);
      if (this.#config.verification) {
        const verified = await verifyBundle(files, this.#config.verification);
        keyId = verified.keyId;
        signed = signedAt(verified.payload);
        if (this.#signedAt !== undefined && signed < this.#signedAt) {
          const at = (s: number) => new Date(s * 1000).toISOString();
          throw new BundleRefused(
            'downgrade',
            `the bundle was signed at ${at(signed)}, before the active one (${at(this.#signedAt)}): an older bundle is never activated over a newer one; to roll back, sign the older policy again`,
          );
        }
      }
      try {
        prepared = await Engine.prepare(bytes);
      } catch (error) {
        throw new BundleRefused('load', describeThrown(error));
      }
    } catch (error) {
      await this.#refuse(source, error instanceof BundleRefused ? error : new BundleRefused('load', describeThrown(error)));
      return false;
    }
    if (this.#closed) return false;
    const revision = this.#engine.activate(prepared);
    this.#signedAt = signed;
    this.#etag = etag;
    this.#source = source;
    this.#failures = 0;
    const at = new Date().toISOString();
    this.#lastSuccess = { at, revision, source };
    let persistError: string | undefined;
    if (persist) {
      try {
        await this.#store.save(bytes, { ...(etag !== undefined && { etag }), revision, source, activated_at: at });
      } catch (error) {
        persistError = `activated, but not persisted to ${this.#config.persistDir}: ${describeThrown(error)}`;
      }
    }
    await this.#emit({ ok: true, source, revision, previousRevision, ...(keyId && { keyId }), ...(persistError && { error: persistError }) });
    return true;
  }

  async #refuse(source: string, error: BundleRefused): Promise<void> {
    this.#failures++;
    this.#lastFailure = { at: new Date().toISOString(), source, reason: error.reason, error: error.message };
    const revision = this.#engine.revision;
    await this.#emit({ ok: false, source, revision, previousRevision: revision, reason: error.reason, error: error.message });
  }

  async #emit(event: ActivationEvent): Promise<void> {
    try {
      await this.#report(event);
    } catch {
      /* reporting must not stop the poller */
    }
  }
}
