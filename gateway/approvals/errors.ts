// Typed refusals of the approval workflow. Every refusal is also emitted as an event, so the
// audit trail sees attempts that changed nothing.

export type ApprovalErrorCode =
  | 'invalid_request'
  | 'not_found'
  | 'not_pending'
  | 'expired'
  | 'self_approval'
  | 'not_an_approver'
  | 'not_human'
  | 'not_requester'
  | 'too_many_open_requests'
  | 'request_rate_exceeded'
  | 'already_voted'
  | 'grant_not_found'
  | 'already_revoked'
  | 'grant_unavailable';

const HTTP_STATUS: Record<ApprovalErrorCode, number> = {
  invalid_request: 400,
  not_found: 404,
  not_pending: 409,
  expired: 409,
  self_approval: 403,
  not_an_approver: 403,
  not_human: 403,
  not_requester: 403,
  too_many_open_requests: 429,
  request_rate_exceeded: 429,
  already_voted: 409,
  grant_not_found: 404,
  already_revoked: 409,
  grant_unavailable: 409,
};

export class ApprovalError extends Error {
  override name = 'ApprovalError';
  readonly code: ApprovalErrorCode;

  constructor(code: ApprovalErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

/** A unique or primary-key violation, on either engine: the other writer won a race. */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
