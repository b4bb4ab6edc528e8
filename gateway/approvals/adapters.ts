// The store behind the enforcement pipeline's two seams: the grants handed to the policy with
// every request (GrantSource) and the filing of a request when the policy answers `approve`
// (ApprovalRequests).
import type { Identity } from '../../engine/schema-types.ts';
import type { ApprovalRequest, ApprovalRequests, ApprovalState, ApprovalTicket } from '../approval-requests.ts';
import type { GrantSource } from '../grants.ts';
import type { ApprovalStore } from './store.ts';

export function grantSourceOf(store: ApprovalStore): GrantSource {
  return {
    active: (identity, now) => store.activeGrants(identity, now),
    consume: (ids, requestId) => store.consumeOneTime(ids, requestId),
    revokedAmong: (ids) => store.revokedAmong(ids),
  };
}

export function approvalRequestsOf(store: ApprovalStore): ApprovalRequests {
  return {
    async open(request: ApprovalRequest): Promise<ApprovalTicket> {
      const filed = await store.requestApproval({
        identity: request.identity,
        sqlText: request.sql,
        sqlHash: request.sqlHash,
        ...(request.parameters !== undefined && { parameters: request.parameters }),
        input: request.input,
        decision: request.decision,
      });
      return { id: filed.id, url: filed.approveUrl, expiresAt: Math.floor(Date.parse(filed.expiresAt) / 1000) };
    },
    wait: (id, options) => store.waitForDecision(id, options),
    admits: (identity, approval, sql) => store.admits(identity, approval, sql),
    async status(id: string): Promise<ApprovalState | undefined> {
      const view = await store.get(id);
      if (!view) return undefined;
      const deciding = view.status === 'rejected' ? view.votes.find((v) => v.vote === 'reject') : undefined;
      return { status: view.status, ...(deciding && { decidedBy: deciding.approver.subject, comment: deciding.comment }) };
    },
    async withdraw(id: string, by: Identity, reason: string): Promise<void> {
      await store.withdraw(id, by, reason);
    },
  };
}
