// Where a query that needs approval is turned into an approval request the caller can point a
// human at. The gateway files it in the approval store (gateway/approvals, approvalRequestsOf);
// DerivedApprovalIds only derives a stable id (same caller + same statement + same scope = same
// request) and the approver URL, without filing anything.
import { createHash } from 'node:crypto';
import type { Approval, Decision, Identity, PolicyInput } from '../engine/schema-types.ts';

export interface ApprovalTicket {
  id: string;
  /** Where an approver acts on it, when the gateway knows. */
  url?: string | undefined;
  /** When the request lapses, in unix seconds, if it does. */
  expiresAt?: number | undefined;
}

export interface ApprovalRequest {
  identity: Identity;
  project: string;
  /** `sql.hash` of the policy input: what statement-scoped grants name. */
  sqlHash: string;
  sql: string;
  /** The query parameters sent with `sql`, as sent (part of `sqlHash`). */
  parameters?: unknown;
  approval: Approval;
  /** The pending reasons (grant_used left out). */
  reasons: { code: string; message: string }[];
  /** Everything the policy decided on, and the decision, for a store that files the request. */
  input: PolicyInput;
  decision: Decision;
  now: Date;
}

/** Where a held request stands once waiting ended. */
export interface ApprovalWaitResult {
  status: 'pending' | 'approved' | 'rejected' | 'expired' | 'withdrawn';
}

export interface ApprovalRequests {
  open(request: ApprovalRequest): Promise<ApprovalTicket>;
  /**
   * Holds the caller until the request is decided or `timeoutMs` passes (then it is still
   * `pending`). Absent: holding is not offered and the caller is answered at once.
   */
  wait?(id: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<ApprovalWaitResult>;
  /**
   * Resolves when a request for this ask would be filed or joined, rejects (an ApprovalError,
   * status 429, recorded) when it would break the identity's bounds. Absent: checked when filed.
   */
  admits?(identity: Identity, approval: Approval, sql: string): Promise<void>;
  /** Where a request stands, with the deciding approver's comment. Absent: jobs cannot be held for approval. */
  status?(id: string): Promise<ApprovalState | undefined>;
  /** Takes back a pending request of `by` (its job was cancelled). */
  withdraw?(id: string, by: Identity, reason: string): Promise<void>;
}

export interface ApprovalState {
  status: ApprovalWaitResult['status'];
  /** Who decided and what they said, for a rejected request. */
  decidedBy?: string;
  comment?: string;
}

export class DerivedApprovalIds implements ApprovalRequests {
  readonly #baseUrl: string | undefined;

  constructor(baseUrl?: string) {
    this.#baseUrl = baseUrl?.replace(/\/+$/, '');
  }

  async open(request: ApprovalRequest): Promise<ApprovalTicket> {
    const id = approvalId(request);
    const ttl = request.approval.request_ttl_seconds;
    return {
      id,
      url: this.#baseUrl ? `${this.#baseUrl}/${id}` : undefined,
      expiresAt: ttl ? Math.floor(request.now.getTime() / 1000) + ttl : undefined,
    };
  }
}

/** `apr_` + 128 bits of a digest over who asks, what for and with which scope. */
export function approvalId(request: Pick<ApprovalRequest, 'identity' | 'project' | 'sqlHash' | 'approval'>): string {
  const h = createHash('sha256');
  for (const part of [request.identity.issuer, request.identity.subject, request.project, request.sqlHash, JSON.stringify(request.approval.scope)]) {
    h.update(part).update('\u0000');
  }
  return `apr_${h.digest('hex').slice(0, 32)}`;
}
