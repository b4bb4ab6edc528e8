// Generated from schemas/*.schema.json by scripts/gen-types.ts. Do not edit.

/**
 * One record of the audit trail, exactly as hashed: the canonical JSON of this document (keys sorted) is the `body` column, and `hash = sha256(prev_hash || body)` links it to the record before it in its stream. Every field is always present (null when unknown), so a record reads the same on every storage engine.
 */
export type AuditRecord =
  | AuditRequestRecord
  | AuditForwardRecord
  | AuditApprovalRecord
  | AuditGrantRecord
  | AuditTokenFailureRecord
  | AuditConfigReloadRecord
  | AuditPrincipalRecord
  | AuditAccessRefusedRecord
  | AuditCheckpointRecord;
/**
 * Format version of the record body.
 */
export type AuditRecordVersion = 1;
/**
 * The chain the record belongs to: one per gateway instance.
 */
export type AuditStream = string;
/**
 * Position in the stream, from 1, without gaps.
 */
export type AuditSeq = number;
/**
 * RFC 3339 UTC time with milliseconds.
 */
export type AuditTime = string;
export type AuditCellValue = string | null | AuditTableRow | {v: AuditCellValue}[];

export interface AuditRequestRecord {
  v: AuditRecordVersion;
  stream: AuditStream;
  seq: AuditSeq;
  id: string;
  at: AuditTime;
  kind: "request";
  data: AuditRequestData;
}
/**
 * One BigQuery API call through the gateway: who, what, the decision, what ran upstream and what the agent got back.
 */
export interface AuditRequestData {
  /**
   * Set when the query was sent without a dry run, under the policy's byte cap (estimate_mode cap): the cap, and whether BigQuery refused the job for it (then a dry run and a second decision followed).
   */
  byte_cap?: null | AuditByteCap;
  /**
   * Set when the tables a job run under a cap read were checked against the decision before its rows were released.
   */
  job_check?: null | AuditJobCheck;
  /**
   * Set when the call came through a door other than the BigQuery REST API: the MCP server (its method, the tool called, and the request id of the tool call's own record).
   */
  door?: null | AuditDoor;
  request_id: string;
  identity: AuditIdentity;
  /**
   * The gateway connection (upstream project binding) the request used.
   */
  connection: string | null;
  /**
   * The BigQuery API call: jobs.query, jobs.insert, jobs.getQueryResults, tabledata.list, …
   */
  route: string;
  /**
   * Project the job runs in.
   */
  project: string | null;
  /**
   * The SQL text, with literal values and comments replaced by `?` unless the log keeps them (see `redactions`).
   */
  sql: string | null;
  /**
   * input.sql.hash: identifies the statement as BigQuery runs it (its tokens, naming context and parameters); identifies it even when its literals are redacted.
   */
  sql_hash: string | null;
  /**
   * The policy input document the decision was made on (schemas/input.schema.json), redacted like `sql`.
   */
  input: PolicyInput | null;
  /**
   * The decision document (schemas/decision.schema.json).
   */
  decision: Decision | null;
  /**
   * Revision of the policy bundle that decided.
   */
  revision: string | null;
  /**
   * Policy evaluation time, nanoseconds.
   */
  eval_ns: number | null;
  /**
   * Set when the engine refused to decide (the decision is then a deny with this code).
   */
  engine_error: null | AuditProblem;
  bytes: AuditBytes;
  job: null | AuditJob;
  /**
   * HTTP status the agent received.
   */
  status: number;
  /**
   * The BigQuery error the agent received (reason: accessDenied, approvalRequired, backendError, …).
   */
  error: null | AuditApiError;
  timings_ms: AuditTimings;
  approval_ids: string[];
  grant_ids: string[];
  masking: null | AuditMasking;
  response: null | AuditResponse;
  /**
   * Set when the gateway stopped waiting on the caller's job (the caller hung up, or the upstream timed out) and cancelled it upstream with jobs.cancel.
   */
  upstream_cancel?: null | AuditUpstreamCancel;
  /**
   * JSON pointers (RFC 6901, relative to `data`) of values the recorder rewrote before storing: SQL literals, values found by the content scan.
   */
  redactions: string[];
}
export interface AuditByteCap {
  maximum_bytes_billed: number;
  exceeded: boolean;
}
export interface AuditJobCheck {
  /**
   * The tables the job's statistics name; null when they name none (unknown).
   */
  referenced_tables: string[] | null;
  outcome: "passed" | "withheld";
  reasons: string[];
}
export interface AuditDoor {
  protocol: "mcp";
  /**
   * The MCP method: tools/call, tools/list, …; `other` for a method the MCP specification does not define, `(none)` when the body named none.
   */
  method: string;
  /**
   * The tool called (tools/call); `other` for a name that is none of the gateway's tools.
   */
  tool: string | null;
  /**
   * Request id of the MCP call's own record; set on the records of the BigQuery calls it made.
   */
  call_id: string | null;
}
export interface AuditIdentity {
  subject: string;
  issuer: string;
  kind: "agent" | "human" | null;
  groups: string[];
}
export interface AuditProblem {
  code: string;
  message: string;
}
export interface AuditBytes {
  /**
   * The dry run's totalBytesProcessed.
   */
  estimated: number | null;
  /**
   * What the job reported processing.
   */
  processed: number | null;
  billed: number | null;
}
export interface AuditJob {
  id: string;
  project: string | null;
  location: string | null;
}
export interface AuditApiError {
  reason: string;
  message: string;
}
/**
 * Milliseconds spent in each stage; null for a stage the request did not reach.
 */
export interface AuditTimings {
  decision: number | null;
  dry_run: number | null;
  upstream: number | null;
  total: number | null;
}
/**
 * What in-flight masking did to the rows the agent received.
 */
export interface AuditMasking {
  cells_masked: number;
  content_scan_cells: number;
  detections: {
    [k: string]: number;
  };
}
/**
 * The result as the agent received it (after masking), capped in size.
 */
export interface AuditResponse {
  /**
   * The result schema sent to the agent (BigQuery TableSchema).
   */
  schema: {fields: TableField[]} | null;
  /**
   * BigQuery TableRow objects ({f: [{v}]}), masked.
   */
  rows: AuditTableRow[];
  /**
   * BigQuery's totalRows for the query.
   */
  total_rows: string | null;
  /**
   * Rows the agent received in this response.
   */
  rows_received: number;
  rows_recorded: number;
  /**
   * True when rows were left out to respect the size cap.
   */
  truncated: boolean;
  /**
   * Values the recorder's own content scan redacted (a backstop; normally 0).
   */
  scrubbed_values: number;
}
export interface AuditTableRow {
  f: {
    v: AuditCellValue;
  }[];
}
export interface AuditUpstreamCancel {
  job_id: string;
  reason: "caller_gone" | "upstream_timeout";
  /**
   * `cancelled` when BigQuery accepted the cancel, else what went wrong.
   */
  outcome: string;
  /**
   * How long the jobs.cancel call took.
   */
  ms: number;
}
export interface AuditForwardRecord {
  v: AuditRecordVersion;
  stream: AuditStream;
  seq: AuditSeq;
  id: string;
  at: AuditTime;
  kind: "forward";
  data: AuditForwardData;
}
/**
 * Written ahead: a BigQuery API call the gateway is about to send upstream on the caller's behalf, committed before it is sent. The call's `request` record (same request_id) follows once the answer is known; a forward record without one is a call whose answer was withheld because it could not be recorded.
 */
export interface AuditForwardData {
  /**
   * Set when the call came through a door other than the BigQuery REST API: the MCP server (its method, the tool called, and the request id of the tool call's own record).
   */
  door?: null | AuditDoor;
  request_id: string;
  identity: AuditIdentity;
  connection: string | null;
  /**
   * The BigQuery API call the agent made.
   */
  route: string;
  /**
   * The upstream call about to be made: jobs.query, jobs.insert, jobs.getQueryResults, tabledata.list, …
   */
  operation: string;
  project: string | null;
  /**
   * As in the request record: literal values and comments replaced by `?` unless the log keeps them.
   */
  sql: string | null;
  sql_hash: string | null;
  /**
   * The decision that let the call through (null for calls that carry no SQL, such as reading a recorded job's results).
   */
  outcome: "allow" | "mask" | null;
  revision: string | null;
  /**
   * Fully qualified tables the call reads or writes.
   */
  tables: string[];
  job: null | AuditJob;
  grant_ids: string[];
  redactions: string[];
}
export interface AuditApprovalRecord {
  v: AuditRecordVersion;
  stream: AuditStream;
  seq: AuditSeq;
  id: string;
  at: AuditTime;
  kind: "approval";
  data: AuditApprovalData;
}
/**
 * A step of a just-in-time approval: requested (or joined), a vote, the outcome, or an attempt that was refused.
 */
export interface AuditApprovalData {
  /**
   * The approval request; null for a refused attempt that named none.
   */
  approval_id: string | null;
  action: "requested" | "reused" | "voted" | "approved" | "rejected" | "expired" | "withdrawn" | "refused";
  /**
   * The gateway request that asked for approval.
   */
  request_id: string | null;
  /**
   * Who the approval is for (the requester), when the step names them.
   */
  subject: string | null;
  /**
   * Who acted: the requester, an approver; null for the gateway itself (expiry).
   */
  actor: string | null;
  vote: "approve" | "reject" | null;
  comment: string | null;
  approver_groups: string[];
  min_approvals: number | null;
  scope: null | AuditScope;
  /**
   * Tables of the statement the approval is about.
   */
  tables: string[];
  sql_hash: string | null;
  /**
   * The grant an approval created.
   */
  grant_id: string | null;
  /**
   * With `refused`: what was attempted (`request`: an approval request over the identity's bounds; `view`: a request the caller may not see; `list`, `list_grants`: a listing with a page token not issued for it).
   */
  operation: "request" | "vote" | "revoke" | "consume" | "withdraw" | "view" | "list" | "list_grants" | null;
  /**
   * With `refused`: why.
   */
  error: null | AuditProblem;
}
export interface AuditScope {
  kind: "dataset" | "tables" | "statement";
  datasets?: string[];
  tables?: string[];
  statement_hash?: string;
  /**
   * For the byte threshold's statement grant: the bytes the statement was estimated to scan when it was approved. The grant pays for a scan up to this plus the billing headroom (`maximum_bytes_billed.headroom_percent`), and caps the job there under `estimate_mode: cap`.
   */
  max_bytes?: number;
}
export interface AuditGrantRecord {
  v: AuditRecordVersion;
  stream: AuditStream;
  seq: AuditSeq;
  id: string;
  at: AuditTime;
  kind: "grant";
  data: AuditGrantData;
}
/**
 * A grant created, spent by a query, revoked, or an attempt on it refused. Fields the event does not carry (a revocation names the grant only) are null.
 */
export interface AuditGrantData {
  grant_id: string;
  action: "created" | "consumed" | "revoked" | "refused";
  /**
   * Who the grant is for.
   */
  subject: string | null;
  issuer: string | null;
  scope: null | AuditScope;
  one_time: boolean | null;
  expires_at: null | AuditTime;
  approval_id: string | null;
  /**
   * Who revoked it; null when not a person's act.
   */
  actor: string | null;
  /**
   * The gateway request that consumed it (or tried to).
   */
  request_id: string | null;
  /**
   * With `refused`: why.
   */
  error: null | AuditProblem;
}
export interface AuditTokenFailureRecord {
  v: AuditRecordVersion;
  stream: AuditStream;
  seq: AuditSeq;
  id: string;
  at: AuditTime;
  kind: "token_failure";
  data: AuditTokenFailureData;
}
/**
 * A refused bearer token. Never the token: its unverified claims are hints, not an identity.
 */
export interface AuditTokenFailureData {
  /**
   * Set when the call came through a door other than the BigQuery REST API: the MCP server (its method, the tool called, and the request id of the tool call's own record).
   */
  door?: null | AuditDoor;
  request_id: string | null;
  route: string | null;
  connection: string | null;
  /**
   * missing_token, bad_signature, expired, …; revocation (gateway/identity/): principal_disabled (the subject is disabled: the message says when and by which signal), session_revoked (the token was issued before the subject's sessions were revoked), token_inactive (the issuer's introspection says the token is no longer active), introspection_unavailable (the introspection endpoint could not be asked; fail closed), introspection_invalid (its answer was not usable: not JSON, or active for another audience, subject or issuer), revocation_state_stale (the disabled set could not be refreshed from the database; fail closed)
   */
  reason: string;
  message: string;
  /**
   * UNVERIFIED: the `iss` the refused token's payload claimed, read without checking its signature (the caller controls it). Control characters replaced, at most 256 characters; null when the token had none or was not a JWT.
   */
  claimed_issuer: string | null;
  /**
   * UNVERIFIED: the `sub` the refused token's payload claimed; as claimed_issuer.
   */
  claimed_subject: string | null;
  /**
   * First 16 hex digits of the token's sha256: correlates repeated failures without keeping the token.
   */
  token_sha256: string | null;
}
export interface AuditConfigReloadRecord {
  v: AuditRecordVersion;
  stream: AuditStream;
  seq: AuditSeq;
  id: string;
  at: AuditTime;
  kind: "config_reload";
  data: AuditConfigReloadData;
}
export interface AuditConfigReloadData {
  /**
   * What was reloaded: policy, config, issuers, …
   */
  component: string;
  /**
   * False when the reload was refused and the previous state stayed active.
   */
  ok: boolean;
  /**
   * File or URL it came from.
   */
  source: string | null;
  /**
   * Revision now active.
   */
  revision: string | null;
  previous_revision: string | null;
  error: string | null;
}
export interface AuditPrincipalRecord {
  v: AuditRecordVersion;
  stream: AuditStream;
  seq: AuditSeq;
  id: string;
  at: AuditTime;
  kind: "principal";
  data: AuditPrincipalData;
}
/**
 * A change of a principal's status (disabled, enabled, sessions revoked) and the signal that made it, or a signal or introspection answer the gateway refused (which changed nothing).
 */
export interface AuditPrincipalData {
  /**
   * disabled / enabled / sessions_revoked: the status changed; signal_refused: a Security Event Token was refused (400); introspection_refused: an introspection answer was not usable and the request was refused.
   */
  action: "disabled" | "enabled" | "sessions_revoked" | "signal_refused" | "introspection_refused";
  /**
   * The principal's issuer (for a refused signal: the issuer it claimed, unverified).
   */
  issuer: string | null;
  subject: string | null;
  /**
   * introspection, cli, or ssf:<event> (session-revoked, credential-change, account-disabled, account-purged, account-enabled).
   */
  signal: string | null;
  /**
   * Why, as the operator or the signal gave it.
   */
  reason: string | null;
  /**
   * Who made the change: the operating-system user of the CLI, or the signal's issuer.
   */
  actor: string | null;
  /**
   * When the event happened, as the signal says.
   */
  event_at: null | AuditTime;
  /**
   * sessions_revoked: tokens issued before this time are refused.
   */
  not_before: null | AuditTime;
  /**
   * The Security Event Token's jti.
   */
  jti: string | null;
  /**
   * Pending approval requests of the principal withdrawn by this change.
   */
  withdrawn: string[];
  /**
   * Grants of the principal revoked by this change.
   */
  revoked: string[];
  /**
   * Why a signal or an introspection answer was refused.
   */
  error: null | {
    code: string;
    message: string;
  };
}
export interface AuditAccessRefusedRecord {
  v: AuditRecordVersion;
  stream: AuditStream;
  seq: AuditSeq;
  id: string;
  at: AuditTime;
  kind: "access_refused";
  data: AuditAccessRefusedData;
}
/**
 * A call to one of the gateway's own JSON APIs (the principal inventory, GET /principals) refused to an authenticated caller it is not for: who asked, the route, why. A refused token is a token_failure record instead.
 */
export interface AuditAccessRefusedData {
  request_id: string | null;
  /**
   * The API call refused, e.g. principals.list, principals.get.
   */
  route: string;
  identity: AuditIdentity;
  /**
   * HTTP status the caller received.
   */
  status: number;
  error: AuditProblem;
}
export interface AuditCheckpointRecord {
  v: AuditRecordVersion;
  stream: AuditStream;
  seq: AuditSeq;
  id: string;
  at: AuditTime;
  kind: "checkpoint";
  data: AuditCheckpointData;
}
/**
 * Written by retention: the records up to `through_seq` were deleted; the first remaining record must link to `through_hash`.
 */
export interface AuditCheckpointData {
  reason: "purge";
  through_seq: number;
  through_hash: string;
  through_at: AuditTime;
  purged_records: number;
  cutoff: AuditTime;
  actor: string | null;
}

/**
 * How a masked value is transformed. BigQuery's data masking rules, by BigQuery's names and with its semantics (values keep their column's type; a rule BigQuery does not allow on the column's type refuses the result): `SHA256` (STRING, BYTES: the SHA-256 digest, base64 text on STRING), `ALWAYS_NULL` (any type: NULL; the strictest rule, gateway/masking STRICTEST_STRATEGY, used for policy tags that map to no rule), `DEFAULT_MASKING_VALUE` (the type's default: '', b'', 0, 0.0, FALSE, 1970-01-01, 1970-01-01T00:00:00, 00:00:00, 1970-01-01 00:00:00 UTC, POINT(0 0), [] for arrays, NULL for JSON; a STRUCT's leaves each their own), `LAST_FOUR_CHARACTERS` / `FIRST_FOUR_CHARACTERS` (STRING: XXXXX and the last / the first four then XXXXX; four characters or fewer: SHA256), `EMAIL_MASK` (STRING: XXXXX@domain; not an address: SHA256), `DATE_YEAR_MASK` (DATE, DATETIME, TIMESTAMP: 1 January of the year, UTC), `RANDOM_HASH` (STRING, BYTES: SHA-256 under a salt per query job). The gateway's own names are kept, on any type, each turning the value into STRING text (but `null`): `redact` ('[REDACTED]'; closest BigQuery rule: DEFAULT_MASKING_VALUE), `hash` (keyed HMAC token 'hash:…', stable across queries; closest: SHA256), `last-4` (letters and digits starred but the last four, at most half; closest: LAST_FOUR_CHARACTERS), `email-domain` ('***@domain', '[REDACTED]' otherwise; closest: EMAIL_MASK), `null` (as ALWAYS_NULL). Several masks on one value: the strictest applies (ALWAYS_NULL, null, redact, DEFAULT_MASKING_VALUE, DATE_YEAR_MASK, RANDOM_HASH, hash, email-domain, EMAIL_MASK, FIRST_FOUR_CHARACTERS, last-4, LAST_FOUR_CHARACTERS, SHA256). As a content scan strategy a rule replaces the matched text (DEFAULT_MASKING_VALUE: with ''); DATE_YEAR_MASK cannot be one.
 */
export type Strategy =
  | "redact"
  | "hash"
  | "last-4"
  | "email-domain"
  | "null"
  | "SHA256"
  | "ALWAYS_NULL"
  | "DEFAULT_MASKING_VALUE"
  | "LAST_FOUR_CHARACTERS"
  | "FIRST_FOUR_CHARACTERS"
  | "EMAIL_MASK"
  | "DATE_YEAR_MASK"
  | "RANDOM_HASH";

/**
 * What the policy entrypoint `sluice/decision` returns. The engine validates it; a decision that fails this schema is a deny.
 */
export interface Decision {
  /**
   * deny beats approve beats mask beats allow.
   */
  outcome: "allow" | "deny" | "approve" | "mask";
  reasons: Reason[];
  /**
   * Output columns to transform before rows reach the caller (outcome mask).
   */
  masks: Mask[];
  approval?: Approval;
  limits?: Limits;
  /**
   * Lifetime of the short-lived upstream credential minted for this request.
   */
  credential_ttl_seconds?: number;
  content_scan?: ContentScan;
}
export interface Reason {
  code: string;
  message: string;
  /**
   * The Rego rule that produced it (package.rule).
   */
  rule?: string;
  statement?: number;
  /**
   * The id of the grant the decision relies on; required on `grant_used` reasons. The gateway spends a one-time grant named here before forwarding the query.
   */
  grant?: string;
}
export interface Mask {
  statement?: number;
  /**
   * Result column name (lower-case), or `*` for every output column.
   */
  output: string;
  /**
   * Field path inside a RECORD output column; absent masks the whole column.
   */
  path?: string[];
  strategy: Strategy;
  source?: {
    table: string;
    column: string;
  };
}
export interface Approval {
  /**
   * @minItems 1
   */
  approver_groups: [string, ...string[]];
  /**
   * Groups whose members are agents (data.org.identity.agent_groups): none of them decides on the request, whatever kind its token says.
   */
  agent_groups?: string[];
  min_approvals: number;
  grant_ttl_seconds: number;
  /**
   * How long the request waits for a decision.
   */
  request_ttl_seconds?: number;
  one_time?: boolean;
  /**
   * How the caller waits: as a PENDING job its client polls (`job`) or refused with approvalRequired until approved (`refuse`). Absent: the connection's `approval_hold`.
   */
  hold?: "job" | "refuse";
  /**
   * Bounds on the requests one identity files. Absent: 20 open, 30 a minute.
   */
  limits?: {
    /**
     * Pending requests one identity may have open at once.
     */
    max_open_requests?: number;
    /**
     * New requests one identity may file in any minute.
     */
    requests_per_minute?: number;
  };
  scope: {
    kind: "dataset" | "tables" | "statement";
    datasets?: string[];
    tables?: string[];
    statement_hash?: string;
    /**
     * For the byte threshold's statement grant: the bytes the statement was estimated to scan when it was approved. The grant pays for a scan up to this plus the billing headroom (`maximum_bytes_billed.headroom_percent`), and caps the job there under `estimate_mode: cap`.
     */
    max_bytes?: number;
  };
}
export interface Limits {
  maximum_bytes_billed?: number;
}
/**
 * Backstop: scan values of columns the lineage did not flag and mask matches.
 */
export interface ContentScan {
  /**
   * @minItems 1
   */
  detectors: ["ssn" | "card" | "email" | "phone", ...("ssn" | "card" | "email" | "phone")[]];
  strategy: Strategy;
  /**
   * Which answers are scanned: every one (`all`, the default), or only an answer that carries columns the query did not ask for (`unexpected_answers`: an upstream answering something else). A scanned answer is scanned whole.
   */
  scope?: "all" | "unexpected_answers";
}

/**
 * A byte count: an integer, or a string with a binary or decimal unit (`10 GiB`, `1TiB`, `500 MB`).
 */
export type FixtureBytes = number | string;
/**
 * Table schemas keyed by project.dataset.table (BigQuery TableFieldSchema lists), or the name of a shared schemas file: `acme` finds `schemas/acme.yaml` beside the suite or in a folder above it; a path with `/` or an extension is relative to the suite.
 */
export type FixtureSchemasRef =
  | string
  | {
      [k: string]: {}[];
    };
export type FixtureRoute = "jobs.query" | "jobs.insert" | "tabledata.list" | "cli";
export type FixtureName = string;
/**
 * A byte count: an integer, or a string with a binary or decimal unit (`10 GiB`, `1TiB`, `500 MB`).
 */
export type FixtureBytes1 = number | string;
/**
 * Name of an identity of the suite, or one written inline.
 */
export type FixtureIdentityRef = FixtureName | FixtureIdentity;
/**
 * Name of a request of the suite, or one written inline.
 */
export type FixtureRequestRef = FixtureName | FixtureRequest;
/**
 * An outcome alone, or what the decision must hold.
 */
export type FixtureExpectation =
  | FixtureOutcome
  | {
      outcome: FixtureOutcome;
      /**
       * Codes that must all be among the decision's reasons.
       */
      reasons?: string[];
      /**
       * Codes of which at least one must be among the decision's reasons (where a policy may say it either way).
       *
       * @minItems 1
       */
      any_reasons?: [string, ...string[]];
      /**
       * The exact set of the decision's reason codes.
       */
      exact_reasons?: string[];
      /**
       * Codes that must not be among the decision's reasons.
       */
      absent_reasons?: string[];
      /**
       * The exact set of masks (output, strategy, path).
       */
      masks?: {
        output: string;
        strategy:
          | "redact"
          | "hash"
          | "last-4"
          | "email-domain"
          | "null"
          | "SHA256"
          | "ALWAYS_NULL"
          | "DEFAULT_MASKING_VALUE"
          | "LAST_FOUR_CHARACTERS"
          | "FIRST_FOUR_CHARACTERS"
          | "EMAIL_MASK"
          | "DATE_YEAR_MASK"
          | "RANDOM_HASH";
        path?: string[];
      }[];
      /**
       * Fields the decision's approval must have (arrays compare as sets).
       */
      approval?: {
        approver_groups?: string[];
        min_approvals?: number;
        grant_ttl_seconds?: number;
        request_ttl_seconds?: number;
        one_time?: boolean;
        scope?: {
          kind?: "dataset" | "tables" | "statement";
          datasets?: string[];
          tables?: string[];
          statement_hash?: string;
          max_bytes?: FixtureBytes;
        };
      };
      /**
       * Fields the decision's limits must have.
       */
      limits?: {
        maximum_bytes_billed?: FixtureBytes;
      };
    };
export type FixtureOutcome = "allow" | "deny" | "approve" | "mask";

/**
 * A policy fixture suite (`*_test.yaml`) run by `sluice test`: named identities and requests, and cases that expect a decision for an identity and a request. Every case goes through the production normalizer and the compiled policy.
 */
export interface FixtureSuite {
  name: string;
  description?: string;
  /**
   * Evaluation time (RFC 3339) for every case, so grant expiry is deterministic. Absent: the real clock.
   */
  now?: string;
  defaults?: FixtureDefaults;
  identities?: {
    [k: string]: FixtureIdentity;
  };
  requests?: {
    [k: string]: FixtureRequest;
  };
  /**
   * @minItems 1
   */
  cases: [FixtureCase, ...FixtureCase[]];
}
/**
 * Applied to every request that does not say otherwise.
 */
export interface FixtureDefaults {
  /**
   * Project the jobs run in.
   */
  project?: string;
  /**
   * Default dataset (`dataset` or `project.dataset`) for unqualified table names.
   */
  dataset?: string;
  estimate_bytes?: FixtureBytes;
  schemas?: FixtureSchemasRef;
  route?: FixtureRoute;
}
export interface FixtureIdentity {
  /**
   * Default: the identity's name.
   */
  subject?: string;
  issuer?: string;
  /**
   * Default: agent.
   */
  kind?: "agent" | "human";
  groups: string[];
  claims?: {
    [k: string]: string | number | boolean | unknown[] | null;
  };
}
/**
 * A request: `sql`, or `extends` a named request and overrides some fields.
 */
export interface FixtureRequest {
  extends?: FixtureName;
  sql?: string;
  project?: string;
  dataset?: string;
  route?: FixtureRoute;
  /**
   * Bytes processed the estimate carries (an estimate for dry_run and caller, the job's figure for job); `null` sends no estimate even when defaults set one. Not with estimate_source cap, which ignores the default.
   */
  estimate_bytes?: FixtureBytes | null;
  /**
   * The estimate's `source` (input schema `Estimate`). Absent: dry_run when referenced_tables or referenced_tables_expected is set, else caller, and no estimate at all without estimate_bytes. dry_run, caller and job need estimate_bytes; cap sends `{source: cap}` (no bytes, no referenced_tables), and the decision's `limits.maximum_bytes_billed` is the cap BigQuery would enforce.
   */
  estimate_source?: "dry_run" | "caller" | "cap" | "job";
  /**
   * Tables the dry run (or, with estimate_source job, the finished job) names (project.dataset.table); makes the estimate's source dry_run unless estimate_source says otherwise.
   */
  referenced_tables?: string[];
  /**
   * The connection requires dry runs and job statistics to name their tables (`require_referenced_tables`); makes the estimate's source dry_run unless estimate_source says otherwise.
   */
  referenced_tables_expected?: boolean;
  grants?: FixtureGrant[];
  schemas?: FixtureSchemasRef;
}
/**
 * An active grant of the identity. Exactly one of expires_in (seconds after `now`, negative for already expired) or expires_at.
 */
export interface FixtureGrant {
  /**
   * Default: a name derived from the request and the grant's position.
   */
  id?: string;
  /**
   * Subject the grant was issued to. Default: the case identity's subject.
   */
  subject?: string;
  scope: {
    kind: "dataset" | "tables" | "statement";
    /**
     * project.dataset
     */
    datasets?: string[];
    /**
     * project.dataset.table
     */
    tables?: string[];
    /**
     * Default for kind statement: the hash of `statement_sql`, else of this request's SQL.
     */
    statement_hash?: string;
    /**
     * SQL whose hash the grant names (kind statement).
     */
    statement_sql?: string;
    max_bytes?: FixtureBytes1;
  };
  /**
   * Seconds after the suite's `now`.
   */
  expires_in?: number;
  /**
   * RFC 3339 time or unix seconds.
   */
  expires_at?: string | number;
  one_time?: boolean;
}
/**
 * One identity and one request, or a matrix: `identities` × `requests` with `expect` keyed by identity name (an outcome, an expectation, or per request name). A pair the expectations leave out must be denied.
 */
export interface FixtureCase {
  name: string;
  description?: string;
  identity?: FixtureIdentityRef;
  request?: FixtureRequestRef;
  /**
   * @minItems 1
   */
  identities?: [FixtureName, ...FixtureName[]];
  /**
   * @minItems 1
   */
  requests?: [FixtureName, ...FixtureName[]];
  expect: FixtureExpectation | FixtureMatrixExpectation;
}
export interface FixtureMatrixExpectation {
  [k: string]:
    | FixtureExpectation
    | {
        [k: string]: FixtureExpectation;
      };
}

/**
 * The gateway's configuration file (YAML). Paths are relative to the file; `${VAR}` in a string is replaced by that environment variable.
 */
export interface GatewayConfig {
  listen?: {
    host?: string;
    port?: number;
  };
  /**
   * URL agents reach the gateway at; the discovery document's rootUrl. Defaults to the listen address.
   */
  public_url?: string;
  log_level?: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /**
   * The policy bundle: a file path (`sluice build`; default build/bundle.tar.gz of the project), or a bundle server the gateway polls (OPA's bundle service API), optionally with signature verification.
   */
  bundle?:
    | string
    | {
        /**
         * The bundle (tar.gz) to GET; polled with If-None-Match.
         */
        url: string;
        poll?: {
          /**
           * Shortest wait between polls (a random delay between min and max is used).
           */
          min_delay_seconds?: number;
          /**
           * Longest wait between polls, and the cap of the backoff while the server fails.
           */
          max_delay_seconds?: number;
        };
        credentials?: {
          bearer?: {
            /**
             * Sent as `Authorization: Bearer <token>`; use `${VAR}`.
             */
            token: string;
          };
        };
        /**
         * Where the last activated bundle (and its ETag) is kept, so a restart without the server starts with it.
         */
        persist_dir: string;
        /**
         * Largest bundle accepted, downloaded and unpacked.
         */
        max_size_bytes?: number;
        /**
         * Timeout of one download.
         */
        timeout_seconds?: number;
        /**
         * Require bundles signed as OPA signs them (`.signatures.json`, `opa build --signing-key`, `sluice build --signing-key`); unsigned or mis-signed bundles are refused.
         */
        verification?: {
          keys: {
            [k: string]: {
              /**
               * PEM public key (or a file holding one, relative to this file); an HS* shared secret.
               */
              key: string;
              algorithm?:
                | "RS256"
                | "RS384"
                | "RS512"
                | "PS256"
                | "PS384"
                | "PS512"
                | "ES256"
                | "ES384"
                | "ES512"
                | "EdDSA"
                | "HS256"
                | "HS384"
                | "HS512";
              scope?: string;
            };
          };
          /**
           * The key to verify with; default: the signature's `kid` header, else its `keyid` claim.
           */
          key_id?: string;
          /**
           * The scope the signature must carry; default: the key's scope, else none.
           */
          scope?: string;
        };
      };
  storage?: {
    /**
     * sqlite:PATH or postgres://… (approvals, grants, audit).
     */
    url: string;
  };
  masking?: {
    /**
     * Environment variable holding the secret of the `hash` strategy (at least 16 bytes).
     */
    hash_key_env: string;
  };
  approvals?: {
    /**
     * Where approvers act on a request; the request id is appended.
     */
    url?: string;
    /**
     * The approver page at /approve: people sign in with the issuer's authorization-code flow (PKCE) and vote. Secrets come from the environment through `${VAR}`.
     */
    page?: {
      /**
       * OIDC issuer people sign in with (discovery).
       */
      issuer: string;
      client_id: string;
      /**
       * Absent: a public client, authenticated by PKCE alone.
       */
      client_secret?: string;
      /**
       * Default `openid profile email`.
       */
      scope?: string;
      /**
       * RFC 8707 resource indicator: the audience the gateway accepts for the page's tokens.
       */
      resource?: string;
      /**
       * Key the session cookies are encrypted under; replicas must share it. Default: random per process.
       */
      session_secret?: string;
      /**
       * How long a sign-in lasts. Default 3600.
       */
      session_ttl_seconds?: number;
    };
  };
  /**
   * The principal inventory's JSON API (GET /principals): who may read it.
   */
  principals?: {
    /**
     * Groups whose people (identities of kind human) may list principals. Absent or empty: the API refuses everyone.
     */
    reviewer_groups?: string[];
  };
  /**
   * OIDC issuers whose access tokens the gateway accepts.
   *
   * @minItems 1
   */
  issuers: [TrustedIssuerConfig, ...TrustedIssuerConfig[]];
  /**
   * Upstream BigQuery endpoints; a request goes to the connection serving its project.
   *
   * @minItems 1
   */
  connections: [ConnectionConfig, ...ConnectionConfig[]];
  /**
   * The MCP door: Streamable HTTP at /mcp, tools that run through the same enforcement pipeline as the REST API.
   */
  mcp?: {
    enabled?: boolean;
    /**
     * The MCP server's resource identifier (RFC 8707/9728): tokens must name it as their audience. Default: public_url + /mcp.
     */
    resource?: string;
    /**
     * Project a tool call runs in when it names none. Default: the first connection's.
     */
    default_project?: string;
    /**
     * Longest SQL text a tool call accepts.
     */
    max_sql_bytes?: number;
    /**
     * Most rows one execute_sql or get_query_results page returns.
     */
    max_rows?: number;
    /**
     * Longest a tool call is held for an approval.
     */
    max_wait_seconds?: number;
  };
  limits?: {
    /**
     * How long fetched table schemas are reused.
     */
    schema_cache_seconds?: number;
    /**
     * How long one caller's dry-run estimate is reused for the same SQL, parameters and default dataset. The decision is still made on every request; maximumBytesBilled bounds what a stale estimate can cost. 0 disables.
     */
    dry_run_cache_seconds?: number;
    /**
     * How long the gateway remembers a job's masks.
     */
    job_retention_seconds?: number;
    /**
     * Longest wait for one upstream call, whole answer included, for connections that set none of their own. Long polls (the timeoutMs of jobs.query and jobs.getQueryResults) are shortened to end 5 s before it.
     */
    upstream_timeout_ms?: number;
    body_limit_bytes?: number;
    /**
     * Time each caller's queries may spend being analysed and decided on a replica's event loop, which every caller shares: a bucket of `burst_ms` that refills at `per_second_ms` each second. A caller whose bucket is empty is refused with BigQuery's 429 (rateLimitExceeded) until it refills; a decision under way always finishes. Counted per identity (issuer and subject) and per replica.
     */
    decision_time?: {
      burst_ms?: number;
      per_second_ms?: number;
    };
  };
  revocation?: RevocationConfig;
  /**
   * Ship every decision to a collector in OPA's decision-log service format: gzip-compressed JSON arrays of events POSTed to `<url>/logs`. Read from the committed audit trail after the fact (never on the request path); a cursor in the database resumes shipping after a restart or an outage.
   */
  decision_logs?: {
    /**
     * The decision-log service; events are POSTed to this URL + `/logs`.
     */
    url: string;
    credentials?: {
      bearer?: {
        /**
         * Sent as `Authorization: Bearer <token>`; use `${VAR}`.
         */
        token: string;
      };
    };
    /**
     * Wait between uploads when there is nothing more to send, and the first retry delay.
     */
    min_delay_seconds?: number;
    /**
     * Cap of the exponential retry backoff (jittered) while the collector fails.
     */
    max_delay_seconds?: number;
    /**
     * Largest upload, in bytes of uncompressed JSON; a single event larger than this is dropped.
     */
    max_batch_bytes?: number;
    /**
     * Most decisions waiting to be shipped; beyond it the oldest are dropped (counted and logged).
     */
    max_buffered_events?: number;
    /**
     * A decision not shipped within this long after it was made is dropped (counted and logged).
     */
    max_age_seconds?: number;
    /**
     * Longest wait for one upload.
     */
    timeout_seconds?: number;
  };
}
export interface TrustedIssuerConfig {
  issuer: string;
  audience: string | [string, ...string[]];
  groups_claim?: string;
  /**
   * How the groups claim is written: `array` (a JSON array of strings), `space_separated` or `comma_separated` (one string). A claim in any other form is refused (401 invalid_groups_claim).
   */
  groups_claim_format?: "array" | "space_separated" | "comma_separated";
  kind_claim?: string;
  default_kind?: "agent" | "human";
  jwks_uri?: string;
  /**
   * @minItems 1
   */
  algorithms?: [string, ...string[]];
  token_type?: string;
  introspection?: IntrospectionConfig;
  /**
   * Accept OpenID Shared Signals (RFC 8935 push of RFC 8417 Security Event Tokens) signed by this issuer at the gateway's POST /ssf/events receiver (revocation.signals).
   */
  signals?: boolean;
}
/**
 * Token introspection (RFC 7662) against the issuer on every request, with a short positive cache: a token the issuer no longer considers active is refused at once.
 */
export interface IntrospectionConfig {
  /**
   * The introspection endpoint; default: `introspection_endpoint` of the issuer's discovery document.
   */
  endpoint?: string;
  /**
   * The gateway's client id at the issuer (HTTP Basic client authentication).
   */
  client_id: string;
  /**
   * Environment variable holding the client secret (the name, never the secret itself).
   */
  client_secret_env: string;
  /**
   * How long an `active` answer is reused for the same token (keyed by the token's sha256, never the token; never past the token's expiry). Errors and inactive answers are never cached. 0 disables the cache.
   */
  cache_seconds?: number;
  /**
   * Timeout of one introspection request.
   */
  timeout_ms?: number;
  /**
   * When the endpoint cannot be reached or answers an error: `fail_closed` (default) refuses the request; `signature_only` accepts a token whose signature, issuer, audience and expiry check out, and says so in /status and metrics.
   */
  fallback?: "fail_closed" | "signature_only";
}
export interface ConnectionConfig {
  name: string;
  /**
   * REST root of the BigQuery API (https://bigquery.googleapis.com, or an emulator); `/bigquery/v2` is appended.
   */
  upstream: string;
  /**
   * The project whose jobs this connection runs.
   */
  project: string;
  /**
   * How the short-lived upstream credential for each request is obtained (gateway/credentials).
   */
  credentials: NoCredentials | ImpersonationCredentials | WorkloadIdentityCredentials;
  /**
   * How a jobs.query is held to the policy's byte thresholds. `cap`: decided without a byte figure and sent at once under `maximumBytesBilled` set to the lowest threshold that would change the outcome, which BigQuery enforces; only a query BigQuery refuses for the cap is dry-run and decided again, and the tables a finished job read are checked before any row is released. `dry_run`: a dry run before every new query. Default: `cap` for BigQuery itself (https://bigquery.googleapis.com), `dry_run` for any other upstream (an emulator enforces no cap).
   */
  estimate_mode?: "cap" | "dry_run";
  /**
   * What a client gets when its query needs an approval and the policy's `approval.hold` does not say. `job`: a job in state PENDING, linked to the approval request, which every official client polls like any other job; once approved, the query is decided again on the fresh grants and run, and a rejection or expiry ends the job with `accessDenied`. `refuse`: a 403 `approvalRequired` naming the request, to be run again once approved. Calls through the MCP door, dry runs and calls sending `X-Sluice-Wait-Approval` always get the refusal. Default `job`.
   */
  approval_hold?: "job" | "refuse";
  /**
   * The upstream names the tables a query reads in every dry run, as BigQuery does: a dry run naming none for a query that reads tables is then refused (`referenced_tables_missing`), since the parser's reading could not be cross-checked. Turn off only for an upstream that never names them (a local emulator).
   */
  require_referenced_tables?: boolean;
  /**
   * Longest wait for one upstream call of this connection (default: limits.upstream_timeout_ms). A call that takes longer is a 502 backendError, and a job the caller was waiting on is cancelled.
   */
  timeout_ms?: number;
  /**
   * After an upstream answer the gateway could not use (timed out, cut off, not JSON, the wrong shape, rows that do not match their schema), the same caller's calls through this connection are refused at once (503 backendError, Retry-After) for this long, doubling on each further fault up to 64 times it; a usable answer resets it. Keeps client retries from hammering a failing upstream. 0 turns it off.
   */
  fault_backoff_seconds?: number;
}
/**
 * No Authorization header upstream (a local emulator).
 */
export interface NoCredentials {
  mode: "none";
}
/**
 * The gateway's own credential impersonates one service account, BigQuery scope only, lifetime = the decision's credential TTL.
 */
export interface ImpersonationCredentials {
  mode: "impersonate";
  /**
   * Service account email to impersonate.
   */
  target_principal: string;
  /**
   * Service-account key file; absent: Application Default Credentials.
   */
  source_credentials?: string;
  /**
   * Lifetime when the decision names none.
   */
  lifetime_seconds?: number;
  iam_endpoint?: string;
  delegates?: string[];
}
/**
 * The caller's own OIDC token is exchanged at Google STS (workload identity federation), optionally then impersonating a service account; upstream audit logs name the caller.
 */
export interface WorkloadIdentityCredentials {
  mode: "workload-identity";
  /**
   * //iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/Q
   */
  audience: string;
  token_url?: string;
  service_account_impersonation_url?: string;
  token_lifetime_seconds?: number;
  subject_token_type?: string;
}
/**
 * Principals disabled at once (gateway/identity/): the Shared Signals receiver, and the disabled set each replica keeps in memory and refreshes from the database.
 */
export interface RevocationConfig {
  /**
   * The Shared Signals push receiver at POST /ssf/events (RFC 8935), for the issuers configured with `signals: true`.
   */
  signals?: {
    /**
     * The `aud` every Security Event Token must name: the gateway's receiver identifier.
     */
    audience: string;
    /**
     * How old a SET's `iat` may be; its `jti` is remembered this long against replays.
     */
    max_age_seconds?: number;
  };
  /**
   * How often each replica reads the shared change counter of principal status (and reloads the disabled set when it moved).
   */
  poll_interval_ms?: number;
  /**
   * A disabled set not refreshed for this long (database unreachable) refuses every request: fail closed.
   */
  max_staleness_ms?: number;
}

export type Category = "read" | "write" | "ddl" | "admin" | "export" | "script" | "unknown";

/**
 * The normalized request document a policy decides on. Built by the engine's normalizer from an identity and a BigQuery SQL text; the policy sees nothing else. Names of projects, datasets, tables and columns are lower-cased (BigQuery compares them case-insensitively).
 */
export interface PolicyInput {
  now: Clock;
  identity: Identity;
  request: RequestContext;
  sql: Sql;
  estimate?: Estimate;
  /**
   * The identity's active (unrevoked, unexpired at `now`) grants. The policy decides what each grant allows.
   */
  grants: Grant[];
}
/**
 * Evaluation time. Supplied here because the WebAssembly target has no clock (time.* is refused at build time).
 */
export interface Clock {
  /**
   * Seconds since the epoch.
   */
  unix: number;
  rfc3339: string;
}
export interface Identity {
  subject: string;
  issuer: string;
  kind: "agent" | "human";
  groups: string[];
  /**
   * Selected token claims (never the token itself).
   */
  claims: {
    [k: string]: string | number | boolean | unknown[] | null;
  };
}
export interface RequestContext {
  /**
   * Project the job runs in (billing project).
   */
  project: string;
  /**
   * project.dataset used to qualify unqualified table names.
   */
  default_dataset?: string;
  /**
   * The BigQuery API call that carried the request.
   */
  route: "jobs.query" | "jobs.insert" | "tabledata.list" | "cli";
  connection?: string;
  dry_run?: boolean;
}
export interface Sql {
  text: string;
  /**
   * Identifies the statement as BigQuery runs it: sha256 hex of the project and default dataset that qualify its names, of its tokens as written (layout and comments between them folded to one space, literals whole) and of the parameter values sent with it. What statement-scoped grants name.
   */
  hash: string;
  /**
   * True when every statement was parsed.
   */
  parsed: boolean;
  statements: Statement[];
}
export interface Statement {
  index: number;
  /**
   * Upper-case statement keyword(s): SELECT, INSERT, UPDATE, DELETE, MERGE, TRUNCATE, CREATE_TABLE, CREATE_VIEW, CREATE_FUNCTION, DROP_TABLE, ALTER_TABLE, EXPORT_DATA, EXECUTE_IMMEDIATE, DECLARE, SET, BEGIN, CALL, GRANT, REVOKE, UNKNOWN, …
   */
  type: string;
  category: Category;
  parsed: boolean;
  /**
   * Why the statement could not be parsed (parsed=false).
   */
  error?: string;
  tables: TableRef[];
  /**
   * Every source column the statement references.
   */
  columns: ColumnRef[];
  /**
   * Source columns whose values decide which rows the statement touches or returns, how many, or in what order, without being returned as such: WHERE, JOIN ON and USING, HAVING, QUALIFY, ORDER BY, GROUP BY (ALL, ROLLUP, CUBE and GROUPING SETS too) and DISTINCT, set operations other than UNION ALL, window PARTITION BY and ORDER BY, PIVOT's FOR column, UNPIVOT dropping NULLs, the array of an UNNEST computed from columns, and conditions inside expressions (IF, CASE, NULLIF), in the statement and every query inside it. Masking an output does not hide a value used here (`WHERE ssn = '…'` tells which rows match). A column `*` stands for any column of its table, where a clause's lineage could not be traced.
   */
  predicate_columns: ColumnRef[];
  /**
   * Upper-case names of functions called.
   */
  functions: string[];
  outputs: Output[];
}
export interface TableRef {
  /**
   * project.dataset.table
   */
  id: string;
  project: string;
  dataset: string;
  /**
   * For a wildcard table, the prefix followed by `*`.
   */
  table: string;
  mode: "read" | "write" | "ddl";
  wildcard?: boolean;
  /**
   * The ref names a BigQuery ML model, not a table: read by `ML.PREDICT(MODEL m, …)` and the other ML table-valued functions, written by CREATE MODEL. The policy judges it as a table of its dataset (a model it does not list is unknown); its outputs' lineage from the model is unknown and names it, for a model's predictions, weights and metrics derive from its training data.
   */
  model?: true;
  /**
   * The ref names a routine, not a table: a function, table function or procedure created in a dataset (CREATE FUNCTION, CREATE TABLE FUNCTION, CREATE PROCEDURE), with mode `ddl`. The policy judges creating it as DDL of its dataset. What its body names is recorded beside it: the tables a SQL function's or table function's query reads, and the tables a procedure's body names, as read; a table function's outputs are its query's columns, which flow to its callers.
   */
  routine?: true;
  /**
   * The table's columns that carry BigQuery policy tags (column-level security), read from its known schema (tables.get `schema.fields[].policyTags.names`): column path (lower-cased, dotted for a RECORD's fields, as in `ColumnRef.column`) → the tags' resource names as BigQuery gives them (`projects/p/locations/l/taxonomies/t/policyTags/g`). Every tagged column of the table is listed, whether or not the statement names it, so a lineage source (`outputs[].sources`, `columns`, `predicate_columns`) of this table finds its tags here by `table` = `id` and `column`, as does a RECORD holding a tagged field. Empty (`{}`) when the schema is known and no column is tagged; absent when the table's schema is not known (a wildcard table, a table the upstream did not describe, `sluice eval` without schemas), so a policy can refuse a read it cannot judge (`tagged` datasets: `policy_tags_unknown`).
   */
  policy_tags?: {
    /**
     * @minItems 1
     */
    [k: string]: [string, ...string[]];
  };
}
export interface ColumnRef {
  /**
   * project.dataset.table the column belongs to.
   */
  table: string;
  /**
   * Column name; a nested field as a dotted path (address.city).
   */
  column: string;
}
export interface Output {
  index: number;
  /**
   * Result column name as the client will see it (lower-cased).
   */
  name: string;
  sources: ColumnRef[];
  /**
   * known: sources are complete. unknown: some source could not be determined (see reason); the policy must assume any column of `tables` may flow here.
   */
  lineage: "known" | "unknown";
  /**
   * True when the output is exactly one source column passed through (aliases, CTEs, subqueries, UNION), not transformed.
   */
  direct: boolean;
  reason?: string;
  /**
   * With lineage=unknown: the tables whose columns may flow into this output.
   */
  tables?: string[];
}
/**
 * What the request's bytes are judged on. `source` says which kind of figure it is: an estimate before running (`dry_run`, `caller`), no figure but a cap BigQuery enforces (`cap`), or what a finished job reported (`job`). `bytes` is present for every source but `cap`.
 */
export interface Estimate {
  /**
   * Bytes processed: BigQuery's dry-run estimate (dry_run), the caller's own figure (caller), or what the finished job processed (job). Absent for cap.
   */
  bytes?: number;
  /**
   * dry_run: BigQuery's dry run of this query, before it runs. caller: a figure the caller supplied (`sluice eval`, fixtures), before it runs. cap: no figure yet; the query is to run at once under the decision's `limits.maximum_bytes_billed`, which BigQuery enforces (a job that would bill more fails with bytesBilledLimitExceeded, at no cost), so the policy sets that cap at the lowest byte threshold that would change its outcome. job: figures a finished job reported (its statistics), judged after it ran.
   */
  source: "dry_run" | "caller" | "cap" | "job";
  /**
   * Tables BigQuery names for the query (project.dataset.table): the dry run's list (dry_run) or the finished job's statistics (job). One the parser missed is a mismatch the policy sees. Absent when BigQuery named none: unknown, not an empty list. Never present for cap (nothing has run).
   */
  referenced_tables?: string[];
  /**
   * The upstream names every table a query reads, in its dry run and in a finished job's statistics (the connection's `require_referenced_tables`), so a dry run or job naming none for a query that reads tables is a mismatch. Ignored for cap, which names no tables.
   */
  referenced_tables_expected?: boolean;
  /**
   * referenced_tables that appear in no statement's tables (added by the normalizer).
   */
  unparsed_tables?: string[];
}
export interface Grant {
  id: string;
  /**
   * Subject the grant was issued to.
   */
  subject: string;
  scope: GrantScope;
  /**
   * Unix seconds.
   */
  expires_at: number;
  one_time?: boolean;
}
export interface GrantScope {
  kind: "dataset" | "tables" | "statement";
  /**
   * project.dataset
   */
  datasets?: string[];
  /**
   * project.dataset.table
   */
  tables?: string[];
  statement_hash?: string;
  /**
   * For the byte threshold's statement grant: the bytes the statement was estimated to scan when it was approved. The grant pays for a scan up to this plus the billing headroom (`maximum_bytes_billed.headroom_percent`), and caps the job there under `estimate_mode: cap`.
   */
  max_bytes?: number;
}

/**
 * Known table schemas, keyed by project.dataset.table, in BigQuery's own TableFieldSchema shape. Lets the normalizer expand SELECT * and t.* to real columns, and tell the policy which columns carry policy tags.
 */
export interface TableSchemas {
  [k: string]: TableField[];
}
export interface TableField {
  name: string;
  type: string;
  mode?: "NULLABLE" | "REQUIRED" | "REPEATED";
  fields?: TableField[];
  /**
   * BigQuery column-level security: the policy tags on this column (resource names). The normalizer hands them to the policy as `policy_tags` on the statement's table refs (input.schema.json `TableRef`), which the default policy maps to masks (data `policy_tags`).
   */
  policyTags?: {
    names?: string[];
  };
  description?: string;
}
