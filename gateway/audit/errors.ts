// Audit failures. The gateway fails closed on AuditUnavailableError: a request whose record cannot
// be committed is answered with a 503 and never forwarded (or its result never released).

/** The store could not durably commit the record: unreachable, full, read-only, too slow. */
export class AuditUnavailableError extends Error {
  override name = 'AuditUnavailableError';
  /** Records that were in the failed commit (this caller's included). */
  readonly batchSize: number;
  constructor(message: string, options: { cause?: unknown; batchSize?: number } = {}) {
    super(message, { cause: options.cause });
    this.batchSize = options.batchSize ?? 1;
  }
}

/** The event itself cannot be recorded (not JSON, a required field missing): a caller bug. */
export class AuditRecordError extends TypeError {
  override name = 'AuditRecordError';
}

/** The log was closed; nothing more is accepted. */
export class AuditClosedError extends Error {
  override name = 'AuditClosedError';
}

export interface BigQueryErrorBody {
  error: {
    code: number;
    message: string;
    errors: { message: string; domain: string; reason: string }[];
    status: string;
  };
}

/**
 * The body the gateway answers with when the audit trail is unavailable: BigQuery's own shape for
 * a transient backend failure (HTTP 503, reason backendError), which the client libraries retry
 * with backoff. The message names no storage detail (URL, host, error text) to the caller.
 */
export const NOT_RUN_UNRECORDED = 'The request could not be recorded in the audit trail, so it was not run. Retry later.';
export const ANSWER_WITHHELD = 'The answer could not be recorded in the audit trail, so it was withheld. Retry later.';

export function auditUnavailableBody(message = NOT_RUN_UNRECORDED): BigQueryErrorBody {
  return {
    error: {
      code: 503,
      message,
      errors: [{ message, domain: 'global', reason: 'backendError' }],
      status: 'UNAVAILABLE',
    },
  };
}
