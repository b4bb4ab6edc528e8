// Outgoing webhook: approval events become signed Slack-compatible messages, queued in memory and
// delivered by a background loop with exponential backoff. Enqueueing never waits on the network,
// so the data path is never held up by a slow or failing receiver; what cannot be delivered is
// reported through onEvent (the audit trail) and dropped.
import { randomUUID } from 'node:crypto';
import type { ApprovalEvent } from '../approvals/types.ts';
import { messageFor, type SlackMessage } from './payload.ts';
import { SIGNATURE_HEADER, signatureFor } from './signature.ts';

export interface WebhookOptions {
  url: string;
  /** HMAC-SHA256 key of X-Sluice-Signature; at least 16 bytes. */
  secret: string;
  /** Attempts per message, the first included. Default 6. */
  maxAttempts?: number;
  /** Delay before the second attempt; doubles each time. Default 1000. */
  initialDelayMs?: number;
  /** Cap of the delay between attempts (a Retry-After is honoured up to it). Default 60000. */
  maxDelayMs?: number;
  /** Timeout of one delivery attempt. Default 5000. */
  timeoutMs?: number;
  /** Messages waiting at most; newer ones are dropped (and reported) beyond it. Default 1000. */
  queueLimit?: number;
  /** Deliveries in flight at once. Default 2. */
  concurrency?: number;
  onEvent?: (event: WebhookEvent) => void;
  /** Injected for tests. */
  fetch?: typeof fetch;
  /** Adds up to this fraction of each delay at random, so retries of many gateways spread out. Default 0.2. */
  jitter?: number;
}

export interface WebhookEvent {
  kind: 'webhook';
  action: 'delivered' | 'retrying' | 'failed' | 'dropped';
  at: string;
  deliveryId: string;
  /** The approval event's action, e.g. `requested`. */
  event: string;
  requestId?: string;
  attempt: number;
  status?: number;
  error?: string;
  nextAttemptInMs?: number;
}

interface Delivery {
  id: string;
  event: string;
  requestId?: string;
  body: string;
  attempt: number;
  dueAt: number;
}

const RETRIABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export class WebhookDispatcher {
  readonly #url: string;
  readonly #secret: string;
  readonly #maxAttempts: number;
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #timeoutMs: number;
  readonly #queueLimit: number;
  readonly #concurrency: number;
  readonly #jitter: number;
  readonly #onEvent: (event: WebhookEvent) => void;
  readonly #fetch: typeof fetch;
  readonly #queue: Delivery[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #abort = new AbortController();

  constructor(options: WebhookOptions) {
    const target = new URL(options.url);
    if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new TypeError('webhook url must be http(s)');
    if (typeof options.secret !== 'string' || Buffer.byteLength(options.secret) < 16) throw new TypeError('webhook secret must have at least 16 bytes');
    this.#url = target.href;
    this.#secret = options.secret;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 6);
    this.#initialDelayMs = Math.max(1, options.initialDelayMs ?? 1000);
    this.#maxDelayMs = Math.max(this.#initialDelayMs, options.maxDelayMs ?? 60_000);
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#queueLimit = Math.max(1, options.queueLimit ?? 1000);
    this.#concurrency = Math.max(1, options.concurrency ?? 2);
    this.#jitter = Math.min(Math.max(options.jitter ?? 0.2, 0), 1);
    this.#onEvent = options.onEvent ?? (() => {});
    this.#fetch = options.fetch ?? fetch;
  }

  /** Listener for ApprovalStore.subscribe: queues a message for the events worth one. */
  readonly listener = (event: ApprovalEvent): void => {
    const message = messageFor(event);
    if (message) this.send(message, `approval.${event.action}`, event.requestId);
  };

  /** Queues a message; returns at once. */
  send(message: SlackMessage, eventName: string, requestId?: string): void {
    const delivery: Delivery = {
      id: randomUUID(),
      event: eventName,
      ...(requestId && { requestId }),
      body: JSON.stringify(message),
      attempt: 0,
      dueAt: Date.now(),
    };
    if (this.#closed || this.#queue.length >= this.#queueLimit) {
      this.#report('dropped', delivery, { error: this.#closed ? 'webhook is closed' : 'queue is full' });
      return;
    }
    this.#queue.push(delivery);
    this.#schedule();
  }

  /** Messages queued or being delivered. */
  get pending(): number {
    return this.#queue.length + this.#inFlight.size;
  }

  /** Waits until nothing is queued or in flight (tests, graceful shutdown), at most `timeoutMs`. */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.pending === 0;
  }

  /** Stops delivering: attempts in flight are aborted and everything left is reported dropped. */
  async close(graceMs = 0): Promise<void> {
    if (graceMs > 0) await this.drain(graceMs);
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    await Promise.allSettled([...this.#inFlight]);
    for (const delivery of this.#queue.splice(0)) this.#report('dropped', delivery, { error: 'webhook closed before delivery' });
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = Date.now();
    this.#queue.sort((a, b) => a.dueAt - b.dueAt);
    while (this.#inFlight.size < this.#concurrency && this.#queue.length > 0 && this.#queue[0]!.dueAt <= now) {
      const delivery = this.#queue.shift()!;
      const running = this.#attempt(delivery).finally(() => {
        this.#inFlight.delete(running);
        this.#schedule();
      });
      this.#inFlight.add(running);
    }
    const next = this.#queue[0];
    if (next && this.#inFlight.size < this.#concurrency) {
      this.#timer = setTimeout(() => this.#schedule(), Math.max(0, next.dueAt - now));
      this.#timer.unref();
    }
  }

  async #attempt(delivery: Delivery): Promise<void> {
    delivery.attempt++;
    let status: number | undefined;
    let retryAfterMs: number | undefined;
    let error: string | undefined;
    try {
      const response = await this.#fetch(this.#url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'sluice-webhook/1',
          [SIGNATURE_HEADER]: signatureFor(this.#secret, delivery.body, Math.floor(Date.now() / 1000)),
          'x-sluice-event': delivery.event,
          'x-sluice-delivery': delivery.id,
        },
        body: delivery.body,
        redirect: 'error',
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#timeoutMs)]),
      });
      status = response.status;
      retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      await response.body?.cancel().catch(() => {});
      if (response.ok) {
        this.#report('delivered', delivery, { status });
        return;
      }
      error = `HTTP ${status}`;
    } catch (thrown) {
      error = thrown instanceof Error ? (thrown.name === 'TimeoutError' ? 'timed out' : thrown.message) : String(thrown);
    }
    const retriable = status === undefined || RETRIABLE_STATUS.has(status);
    if (this.#closed || !retriable || delivery.attempt >= this.#maxAttempts) {
      this.#report(this.#closed ? 'dropped' : 'failed', delivery, { ...(status !== undefined && { status }), error });
      return;
    }
    const backoff = Math.min(this.#initialDelayMs * 2 ** (delivery.attempt - 1), this.#maxDelayMs);
    const delay = Math.min(Math.max(backoff * (1 + Math.random() * this.#jitter), retryAfterMs ?? 0), this.#maxDelayMs);
    delivery.dueAt = Date.now() + delay;
    this.#report('retrying', delivery, { ...(status !== undefined && { status }), error, nextAttemptInMs: Math.round(delay) });
    this.#queue.push(delivery);
  }

  #report(action: WebhookEvent['action'], delivery: Delivery, extra: Partial<WebhookEvent>): void {
    try {
      this.#onEvent({
        kind: 'webhook',
        action,
        at: new Date().toISOString(),
        deliveryId: delivery.id,
        event: delivery.event,
        ...(delivery.requestId && { requestId: delivery.requestId }),
        attempt: delivery.attempt,
        ...extra,
      });
    } catch {
      // Reporting must not break the delivery loop.
    }
  }
}

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export function createWebhook(options: WebhookOptions): WebhookDispatcher {
  return new WebhookDispatcher(options);
}
