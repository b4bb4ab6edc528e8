// What the approval workflow hands out: views of requests and grants for the API, the approver
// page and the CLI, and the events the audit trail and the webhook subscribe to.
import type { Approval, Identity, PolicyInput, Reason } from '../../engine/schema-types.ts';
import type { ApprovalErrorCode } from './errors.ts';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'withdrawn';
export type GrantStatus = 'active' | 'expired' | 'revoked' | 'consumed';
export type VoteChoice = 'approve' | 'reject';
export type GrantScope = Approval['scope'];

/** Who did something, without groups or claims. */
export interface Actor {
  subject: string;
  issuer: string;
  kind: Identity['kind'];
}

export interface Vote {
  approver: { subject: string; issuer: string };
  vote: VoteChoice;
  comment: string;
  at: string;
}

export interface ApprovalRequestView {
  id: string;
  /** `expired` as soon as the deadline passed, even before the sweeper records it. */
  status: ApprovalStatus;
  requester: { subject: string; issuer: string; kind: Identity['kind']; groups: string[] };
  /** `parameters`: the query parameters sent with the text, as sent (their values are part of the hash). */
  sql: { text: string; hash: string; parameters?: unknown };
  /** Every table the statements touch (project.dataset.table). */
  tables: string[];
  estimatedBytes: number | null;
  reasons: Reason[];
  approverGroups: string[];
  minApprovals: number;
  grantTtlSeconds: number;
  oneTime: boolean;
  scope: GrantScope;
  createdAt: string;
  expiresAt: string;
  decidedAt: string | null;
  grantId: string | null;
  votes: Vote[];
  approveUrl: string;
}

export interface GrantView {
  id: string;
  status: GrantStatus;
  subject: string;
  issuer: string;
  scope: GrantScope;
  oneTime: boolean;
  approvalId: string | null;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
  consumedAt: string | null;
  consumedBy: string | null;
}

export interface RequestApprovalArgs {
  identity: Identity;
  sqlText: string;
  /** `input.sql.hash`: what statement-scoped grants name. */
  sqlHash: string;
  /** The query parameters sent with the text, as sent: bound into `sqlHash`, shown to approvers. */
  parameters?: unknown;
  input: PolicyInput;
  /** The policy's decision; its outcome must be `approve` and carry `approval`. */
  decision: { outcome: string; reasons: Reason[]; approval?: Approval };
}

export interface RequestApprovalResult {
  id: string;
  status: ApprovalStatus;
  approveUrl: string;
  /** True when a pending request for the same identity, scope and statement was reused. */
  reused: boolean;
  expiresAt: string;
}

export interface VoteArgs {
  requestId: string;
  approver: Identity;
  vote: VoteChoice;
  comment: string;
}

export interface VoteResult {
  request: ApprovalRequestView;
  /** Present when this vote completed the approval. */
  grant?: GrantView;
}

/** A short, display-ready account of a request, carried by events for notifications. */
export interface ApprovalSummary {
  id: string;
  status: ApprovalStatus;
  requester: Actor;
  sqlText: string;
  tables: string[];
  estimatedBytes: number | null;
  reasons: string[];
  approverGroups: string[];
  minApprovals: number;
  scope: GrantScope;
  oneTime: boolean;
  grantTtlSeconds: number;
  expiresAt: string;
  approveUrl: string;
}

export type ApprovalAction =
  | 'requested'
  | 'reused'
  | 'voted'
  | 'approved'
  | 'rejected'
  | 'expired'
  | 'withdrawn'
  | 'grant_revoked'
  | 'grant_consumed'
  | 'refused';

export interface ApprovalEvent {
  kind: 'approval';
  action: ApprovalAction;
  at: string;
  /** The approval request concerned (absent for a refusal that names no known request). */
  requestId?: string;
  grantId?: string;
  /** Absent for what the gateway did by itself (expiry). */
  actor?: Actor;
  /** With `voted` and `refused` votes. */
  vote?: VoteChoice;
  comment?: string;
  /** With `refused`: what was attempted and why it was refused. */
  operation?: 'request' | 'vote' | 'revoke' | 'consume' | 'withdraw';
  error?: { code: ApprovalErrorCode; message: string };
  /** With `grant_consumed` and refused consumes: the gateway request that used the grant. */
  consumedBy?: string;
  /** With `requested`, `approved`, `rejected`, `expired` and `withdrawn`. */
  request?: ApprovalSummary;
}

export type ApprovalEventListener = (event: ApprovalEvent) => void;
