// The one error type credential minting throws. It carries no request, response, header or token
// from the underlying HTTP client: those hold bearer tokens (the source credential, the caller's
// subject token), and an error object is exactly what ends up in a log.

export type CredentialErrorCode =
  /** The request cannot be served as asked (no subject token for workload identity, bad TTL). */
  | 'invalid_request'
  /** The connection's configuration is unusable (unreadable key file, missing fields). */
  | 'misconfigured'
  /** An upstream token endpoint refused (4xx): permission denied, invalid grant, unknown account. */
  | 'upstream_denied'
  /** An upstream token endpoint could not be reached or failed (5xx, 429, timeout, network). */
  | 'upstream_unavailable'
  /** An upstream token endpoint answered something that is not a usable token. */
  | 'upstream_invalid_response';

export type CredentialStage = 'configuration' | 'source' | 'sts' | 'impersonation';

export class CredentialError extends Error {
  override name = 'CredentialError';
  readonly code: CredentialErrorCode;
  readonly stage: CredentialStage;
  /** HTTP status of the failed upstream call, when there was one. */
  readonly status: number | undefined;
  readonly connection: string | undefined;

  constructor(code: CredentialErrorCode, stage: CredentialStage, message: string, details: { status?: number; connection?: string } = {}) {
    super(message);
    this.code = code;
    this.stage = stage;
    this.status = details.status;
    this.connection = details.connection;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, stage: this.stage, status: this.status, connection: this.connection, message: this.message };
  }
}

const TOKENISH = /[A-Za-z0-9\-_]{16,}\.[A-Za-z0-9\-_.]{16,}|ya29\.[A-Za-z0-9\-_.]+|eyJ[A-Za-z0-9\-_]+/g;

/** Shortens an upstream error text and strips anything that looks like a token. */
export function scrubUpstreamText(text: unknown, secrets: readonly string[] = []): string {
  if (typeof text !== 'string') return '';
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  out = out.replace(TOKENISH, '[redacted]').replace(/\s+/g, ' ').trim();
  return out.length > 200 ? `${out.slice(0, 200)}…` : out;
}

interface HttpishError {
  status?: unknown;
  code?: unknown;
  message?: unknown;
  name?: unknown;
  response?: { status?: unknown; data?: unknown };
}

function upstreamDetail(data: unknown): unknown {
  if (typeof data !== 'object' || data === null) return undefined;
  const record = data as Record<string, unknown>;
  if (typeof record.error === 'object' && record.error !== null) {
    const nested = record.error as Record<string, unknown>;
    return [nested.status, nested.message].filter((v) => typeof v === 'string').join(': ');
  }
  return [record.error, record.error_description].filter((v) => typeof v === 'string').join(': ');
}

/**
 * Turns whatever the HTTP client threw into a CredentialError, keeping only the status and a
 * scrubbed upstream message. The original error (with its request config) is dropped on purpose.
 */
export function toCredentialError(error: unknown, stage: CredentialStage, connection: string | undefined, secrets: readonly string[]): CredentialError {
  if (error instanceof CredentialError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as HttpishError;
  const rawStatus = e.response?.status ?? e.status;
  const status = typeof rawStatus === 'number' ? rawStatus : typeof rawStatus === 'string' && /^\d{3}$/.test(rawStatus) ? Number(rawStatus) : undefined;
  const detail = scrubUpstreamText(upstreamDetail(e.response?.data), secrets);
  const what = stage === 'sts' ? 'token exchange' : stage === 'impersonation' ? 'service account impersonation' : 'source credential';
  if (status !== undefined) {
    const denied = status >= 400 && status < 500 && status !== 408 && status !== 429;
    return new CredentialError(
      denied ? 'upstream_denied' : 'upstream_unavailable',
      stage,
      `${what} failed with HTTP ${status}${detail ? `: ${detail}` : ''}`,
      { status, ...(connection ? { connection } : {}) },
    );
  }
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : '';
  const network = /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code) || name === 'TimeoutError' || name === 'AbortError' || /fetch failed|ECONNREFUSED|socket|network/i.test(String(e.message));
  if (network) {
    return new CredentialError('upstream_unavailable', stage, `${what} endpoint unreachable${code ? ` (${code})` : ''}`, connection ? { connection } : {});
  }
  return new CredentialError('upstream_invalid_response', stage, `${what} failed: ${scrubUpstreamText(e.message, secrets) || 'unexpected error'}`, connection ? { connection } : {});
}
