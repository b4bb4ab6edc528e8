// Errors in BigQuery's own JSON shape, so unmodified clients surface them the way they surface
// BigQuery's: `{"error":{"code","message","errors":[{"reason","message","domain"}],"status"}}`.
// Status codes are chosen with the clients' retry rules in mind: a refusal is never a code they
// retry (408/429/5xx), so a denied query is not re-sent three times.

/** BigQuery error reasons the gateway uses (https://cloud.google.com/bigquery/docs/error-messages). */
export type BigQueryReason =
  | 'accessDenied'
  | 'approvalRequired'
  | 'authError'
  | 'invalid'
  | 'invalidQuery'
  | 'notFound'
  | 'duplicate'
  | 'rateLimitExceeded'
  | 'backendError'
  | 'internalError'
  | 'notImplemented'
  | 'responseTooLarge'
  | 'bytesBilledLimitExceeded';

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** Structured detail (google.rpc.ErrorInfo) so programs need not parse the message. */
export interface ErrorInfo {
  '@type': 'type.googleapis.com/google.rpc.ErrorInfo';
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

export interface BigQueryErrorBody {
  error: {
    code: number;
    message: string;
    errors: { reason: string; message: string; domain: 'global'; location?: string; locationType?: string }[];
    status: string;
    details?: ErrorInfo[];
  };
}

export class BigQueryError extends Error {
  override name = 'BigQueryError';
  readonly code: number;
  readonly reason: BigQueryReason | string;
  readonly details: ErrorInfo[] | undefined;
  /** Extra response headers (WWW-Authenticate on 401). */
  readonly headers: Record<string, string>;

  constructor(code: number, reason: BigQueryReason | string, message: string, options: { details?: ErrorInfo[]; headers?: Record<string, string> } = {}) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }

  toJSON(): BigQueryErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        errors: [{ reason: this.reason, message: this.message, domain: 'global' }],
        status: STATUS_NAMES[this.code] ?? 'UNKNOWN',
        ...(this.details && { details: this.details }),
      },
    };
  }
}

export function errorInfo(reason: string, metadata: Record<string, string>): ErrorInfo {
  return { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'sluice.dev', metadata };
}

export const accessDenied = (message: string, details?: ErrorInfo[]) =>
  new BigQueryError(403, 'accessDenied', message, details ? { details } : {});

export const invalid = (message: string) => new BigQueryError(400, 'invalid', message);

/** The query cannot run as written (BigQuery's own 400 for syntax and unknown names); never retried. */
export const invalidQuery = (message: string) => new BigQueryError(400, 'invalidQuery', message);

/** Too many requests of one caller; clients back off and retry it. */
export const rateLimited = (message: string, details?: ErrorInfo[]) =>
  new BigQueryError(429, 'rateLimitExceeded', message, details ? { details } : {});

export const notFound = (message: string) => new BigQueryError(404, 'notFound', message);

export const unauthenticated = (message: string, detail: string) =>
  new BigQueryError(401, 'authError', message, {
    details: [errorInfo(detail.toUpperCase(), {})],
    headers: { 'www-authenticate': `Bearer realm="sluice", error="invalid_token"` },
  });

/** An upstream that did not answer or answered garbage: retryable on the client's side. */
export const backendError = (message: string) => new BigQueryError(502, 'backendError', message);

/** The gateway's own database (grants, approvals) did not answer: refused, and retryable. */
export const storeUnavailable = (what: string, consequence = 'the query was not run') =>
  new BigQueryError(503, 'backendError', `sluice could not reach its database to ${what}; ${consequence}. Retry later.`);

export function isBigQueryErrorBody(value: unknown): value is BigQueryErrorBody {
  const error = (value as BigQueryErrorBody | null)?.error;
  return !!error && typeof error === 'object' && typeof error.code === 'number' && typeof error.message === 'string';
}

/** Rebuilds an upstream error body, keeping only the fields BigQuery defines. */
export function fromUpstream(status: number, body: unknown, rewrite: (message: string) => string = (m) => m): BigQueryError {
  if (!isBigQueryErrorBody(body)) {
    return status >= 500 ? backendError(`BigQuery answered HTTP ${status}`) : new BigQueryError(status, 'invalid', `BigQuery answered HTTP ${status}`);
  }
  const first = body.error.errors?.[0];
  return new BigQueryError(status, first?.reason ?? (status >= 500 ? 'backendError' : 'invalid'), rewrite(body.error.message));
}
