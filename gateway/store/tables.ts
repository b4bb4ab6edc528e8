// Row types of the gateway's database: one schema for SQLite and PostgreSQL. Times are epoch
// milliseconds (bigint-safe numbers), documents are JSON text, so both engines read them alike.

export interface AuditRecordRow {
  /** Writer of this chain: one gateway instance. Records are ordered by (stream, seq). */
  stream: string;
  seq: number;
  id: string;
  at_ms: number;
  kind: string;
  request_id: string | null;
  subject: string | null;
  outcome: string | null;
  route: string | null;
  /** Tables the request touched, `,`-joined with leading and trailing `,` for LIKE filters. */
  tables: string | null;
  /** The record's content as canonical JSON; what the hash covers besides prev_hash. */
  body: string;
  prev_hash: string;
  hash: string;
}

/** Last write of an audit stream's readiness probe (gateway/audit/store-probe.ts). */
export interface AuditHeartbeatRow {
  stream: string;
  at_ms: number;
}

/** How far decision-log shipping got in an audit stream (gateway/decision-logs/). */
export interface DecisionLogCursorRow {
  stream: string;
  /** Every decision of the stream up to this seq was acknowledged by the collector (or dropped). */
  seq: number;
  updated_at_ms: number;
}

export interface ApprovalRequestRow {
  id: string;
  status: 'pending' | 'approved' | 'rejected' | 'expired';
  subject: string;
  issuer: string;
  sql_text: string;
  sql_hash: string;
  /** Who, what scope and which statement: a repeated ask reuses the pending request. */
  dedupe_key: string;
  input: string;
  decision: string;
  approver_groups: string;
  min_approvals: number;
  grant_ttl_seconds: number;
  one_time: number;
  scope: string;
  created_at_ms: number;
  expires_at_ms: number;
  decided_at_ms: number | null;
  grant_id: string | null;
  /** Bumped by every transaction that decides on the request; its row lock orders them. */
  revision: number;
}

export interface ApprovalVoteRow {
  approval_id: string;
  /** The voter's identity key (issuer and subject): one vote per approver and request. */
  approver: string;
  approver_subject: string;
  approver_issuer: string;
  vote: 'approve' | 'reject';
  comment: string;
  at_ms: number;
}

export interface GrantRow {
  id: string;
  subject: string;
  issuer: string;
  scope: string;
  one_time: number;
  approval_id: string | null;
  created_at_ms: number;
  expires_at_ms: number;
  revoked_at_ms: number | null;
  revoked_by: string | null;
  consumed_at_ms: number | null;
  consumed_by: string | null;
}

/** A job the gateway ran, shared by every replica (gateway/jobs.ts). */
export interface JobRow {
  project: string;
  job_id: string;
  /** The JobRecord as JSON: owner, masks, result policy, revision. */
  record: string;
  created_at_ms: number;
  expires_at_ms: number;
}

export interface Tables {
  audit_records: AuditRecordRow;
  audit_heartbeats: AuditHeartbeatRow;
  decision_log_cursors: DecisionLogCursorRow;
  approval_requests: ApprovalRequestRow;
  approval_votes: ApprovalVoteRow;
  grants: GrantRow;
  jobs: JobRow;
}
