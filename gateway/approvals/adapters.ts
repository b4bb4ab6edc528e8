// The store behind the enforcement pipeline's two seams: the grants handed to the policy with
// every request (GrantSource) and the filing of a request when the policy answers `approve`
// (ApprovalRequests).
import type { ApprovalRequest, ApprovalRequests, ApprovalTicket } from '../approval-requests.ts';
import type { GrantSource } from '../grants.ts';
import type { ApprovalStore } from './store.ts';

export function grantSourceOf(store: ApprovalStore): GrantSource {
  return { active: (identity, now) => store.activeGrants(identity, now) };
}

export function approvalRequestsOf(store: ApprovalStore): ApprovalRequests {
  return {
    async open(request: ApprovalRequest): Promise<ApprovalTicket> {
      const filed = await store.requestApproval({
        identity: request.identity,
        sqlText: request.sql,
        sqlHash: request.sqlHash,
        input: request.input,
        decision: request.decision,
      });
      return { id: filed.id, url: filed.approveUrl, expiresAt: Math.floor(Date.parse(filed.expiresAt) / 1000) };
    },
  };
}
