// The approval store's events (gateway/approvals) as audit records: each step of a request
// becomes an `approval` record, what happens to a grant a `grant` record, and an approval that
// created a grant both. The statement text the store's summaries carry is not recorded (it holds
// literals); the request's own record has it, redacted.
//
//   const approvals = createApprovalStore({ database, publicUrl, onEvent: approvalAuditListener(audit, log) });
import type { ApprovalEvent as ApprovalStoreEvent } from '../approvals/types.ts';
import type { AuditLog } from './audit-log.ts';
import type { AuditEvent } from './events.ts';

export function auditEventsOf(event: ApprovalStoreEvent): AuditEvent[] {
  const at = new Date(event.at);
  const when = Number.isNaN(at.getTime()) ? {} : { at };
  const actor = event.actor?.subject ?? null;
  const error = event.error ? { code: event.error.code, message: event.error.message } : null;

  const grantRecord = (action: 'consumed' | 'revoked' | 'refused'): AuditEvent[] =>
    event.grantId
      ? [{ kind: 'grant', ...when, grant_id: event.grantId, action, actor, approval_id: event.requestId ?? null, request_id: event.consumedBy ?? null, error }]
      : [];
  if (event.action === 'grant_consumed') return grantRecord('consumed');
  if (event.action === 'grant_revoked') return grantRecord('revoked');
  // A refused consume or revoke is about a grant; a refused vote about an approval request.
  if (event.action === 'refused' && event.operation !== 'vote' && event.grantId) return grantRecord('refused');

  const request = event.request;
  const requester = request?.requester ?? (event.action === 'requested' || event.action === 'reused' ? event.actor : undefined);
  const step: AuditEvent = {
    kind: 'approval',
    ...when,
    approval_id: event.requestId ?? null,
    action: event.action,
    subject: requester?.subject ?? null,
    actor,
    vote: event.vote ?? null,
    comment: event.comment ?? null,
    approver_groups: request?.approverGroups ?? [],
    min_approvals: request?.minApprovals ?? null,
    scope: request?.scope ?? null,
    tables: request?.tables ?? [],
    grant_id: event.grantId ?? null,
    operation: event.operation ?? null,
    error,
  };
  if (event.action !== 'approved' || !event.grantId || !request) return [step];
  const created: AuditEvent = {
    kind: 'grant',
    ...when,
    grant_id: event.grantId,
    action: 'created',
    subject: request.requester.subject,
    issuer: request.requester.issuer,
    scope: request.scope,
    one_time: request.oneTime,
    expires_at: Number.isNaN(at.getTime()) ? null : new Date(at.getTime() + request.grantTtlSeconds * 1000),
    approval_id: event.requestId ?? null,
    actor,
  };
  return [step, created];
}

/**
 * A listener for the approval store. Its events arrive after the store's transaction committed and
 * it cannot wait for them, so a record that fails is reported to `onError` (log it: the approval
 * itself stands).
 */
export function approvalAuditListener(
  audit: Pick<AuditLog, 'record'>,
  onError: (error: unknown, event: ApprovalStoreEvent) => void = () => {},
): (event: ApprovalStoreEvent) => void {
  return (event) => {
    for (const record of auditEventsOf(event)) audit.record(record).catch((error: unknown) => onError(error, event));
  };
}
