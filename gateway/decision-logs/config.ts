// The `decision_logs` section of the gateway configuration, with its defaults filled in.
import type { GatewayConfig } from '../../engine/schema-types.ts';

export interface DecisionLogsConfig {
  /** The service URL; batches are POSTed to `${url}/logs`. */
  url: string;
  /** Sent as `Authorization: Bearer …` when set. */
  bearerToken: string | undefined;
  /** Wait between uploads when idle, and the first retry delay. */
  minDelayMs: number;
  /** Cap of the exponential retry backoff. */
  maxDelayMs: number;
  /** Largest upload, in bytes of uncompressed JSON. */
  maxBatchBytes: number;
  /** Most decisions waiting to be shipped before the oldest are dropped. */
  maxBufferedEvents: number;
  /** A decision older than this when it would be sent is dropped. */
  maxAgeMs: number;
  /** Longest wait for one upload. */
  timeoutMs: number;
}

export type DecisionLogsSection = NonNullable<GatewayConfig['decision_logs']>;

export const DECISION_LOG_DEFAULTS = {
  min_delay_seconds: 1,
  max_delay_seconds: 60,
  max_batch_bytes: 512 * 1024,
  max_buffered_events: 100_000,
  max_age_seconds: 86_400,
  timeout_seconds: 10,
} as const;

/** Undefined when the section is absent (no shipping). `fail` reports an inconsistent section. */
export function resolveDecisionLogs(section: DecisionLogsSection | undefined, fail: (message: string) => never = (m) => { throw new Error(m); }): DecisionLogsConfig | undefined {
  if (!section) return undefined;
  const d = DECISION_LOG_DEFAULTS;
  const minDelay = section.min_delay_seconds ?? d.min_delay_seconds;
  const maxDelay = section.max_delay_seconds ?? Math.max(d.max_delay_seconds, minDelay);
  if (maxDelay < minDelay) fail(`decision_logs.max_delay_seconds (${maxDelay}) is less than min_delay_seconds (${minDelay})`);
  return {
    url: section.url.replace(/\/+$/, ''),
    bearerToken: section.credentials?.bearer?.token,
    minDelayMs: Math.round(minDelay * 1000),
    maxDelayMs: Math.round(maxDelay * 1000),
    maxBatchBytes: section.max_batch_bytes ?? d.max_batch_bytes,
    maxBufferedEvents: section.max_buffered_events ?? d.max_buffered_events,
    maxAgeMs: (section.max_age_seconds ?? d.max_age_seconds) * 1000,
    timeoutMs: Math.round((section.timeout_seconds ?? d.timeout_seconds) * 1000),
  };
}
