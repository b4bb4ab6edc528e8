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
  status: 'pending' | 'approved' | 'rejected' | 'expired' | 'withdrawn';
  subject: string;
  issuer: string;
  sql_text: string;
  sql_hash: string;
  /** The query parameters sent with the text (JSON), part of `sql_hash`; null when none were. */
  sql_parameters: string | null;
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

/**
 * A principal's status (gateway/identity/): disabled, or its sessions revoked (tokens issued before
 * not_before_ms refused). Read by every replica's disabled set and by the principal inventory.
 */
export interface PrincipalStatusRow {
  issuer: string;
  subject: string;
  /** 1: every call refused; 0: enabled (a row may stay for its not_before_ms or as history). */
  disabled: number;
  reason: string | null;
  /** What set it: `introspection`, `cli`, `ssf:<event>` (e.g. `ssf:account-disabled`). */
  signal: string;
  changed_at_ms: number;
  /** Session revocation: tokens issued (iat) before this are refused. */
  not_before_ms: number | null;
}

/** One row (id 1) bumped by every write to principal_status; replicas poll it. */
export interface PrincipalStatusVersionRow {
  id: number;
  version: number;
}

/** Security Event Token ids already accepted, per issuer, until they could no longer be fresh. */
/** An approver page session signed out, kept until the session would have expired. */
export interface PageSessionEndedRow {
  session_id: string;
  expires_at_ms: number;
}

export interface SsfSeenJtiRow {
  issuer: string;
  jti: string;
  expires_at_ms: number;
}

/**
 * One identity the gateway has served (gateway/principals/), folded from the audit trail's request
 * records: what it last presented, when it was first and last seen, its calls by outcome.
 */
export interface PrincipalRow {
  issuer: string;
  subject: string;
  kind: 'agent' | 'human' | null;
  /** JSON array: the groups of its latest request. */
  groups: string;
  first_seen_ms: number;
  last_seen_ms: number;
  allow_count: number;
  mask_count: number;
  approve_count: number;
  deny_count: number;
  /** Calls refused before a decision (invalid, unknown project, audit store unavailable, …). */
  refused_count: number;
  /** Calls that needed no decision (result pages of a decided job, metadata reads). */
  other_count: number;
}

/** A dataset a principal's allowed or masked requests read. */
export interface PrincipalDatasetRow {
  issuer: string;
  subject: string;
  /** `project.dataset` */
  dataset: string;
  requests: number;
  last_seen_ms: number;
}

/** How far the principal inventory has folded an audit stream. */
export interface PrincipalCursorRow {
  stream: string;
  seq: number;
  updated_at_ms: number;
}

/** One approver group of an approval request, for listings filtered in SQL (gateway/approvals/listing.ts). */
export interface ApprovalRequestGroupRow {
  approval_id: string;
  group_name: string;
}

/** One dataset (`project.dataset`) an approval request is about, for listing filters. */
export interface ApprovalRequestDatasetRow {
  approval_id: string;
  dataset: string;
}

export interface Tables {
  audit_records: AuditRecordRow;
  audit_heartbeats: AuditHeartbeatRow;
  decision_log_cursors: DecisionLogCursorRow;
  approval_requests: ApprovalRequestRow;
  approval_votes: ApprovalVoteRow;
  approval_request_groups: ApprovalRequestGroupRow;
  approval_request_datasets: ApprovalRequestDatasetRow;
  grants: GrantRow;
  jobs: JobRow;
  principals: PrincipalRow;
  principal_datasets: PrincipalDatasetRow;
  principal_cursors: PrincipalCursorRow;
  principal_status: PrincipalStatusRow;
  principal_status_version: PrincipalStatusVersionRow;
  ssf_seen_jtis: SsfSeenJtiRow;
  page_sessions_ended: PageSessionEndedRow;
}
