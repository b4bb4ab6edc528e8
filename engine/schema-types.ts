// Generated from schemas/*.schema.json by scripts/gen-types.ts. Do not edit.

export type Strategy = "redact" | "hash" | "last-4" | "email-domain" | "null";

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
  min_approvals: number;
  grant_ttl_seconds: number;
  /**
   * How long the request waits for a decision.
   */
  request_ttl_seconds?: number;
  one_time?: boolean;
  scope: {
    kind: "dataset" | "tables" | "statement";
    datasets?: string[];
    tables?: string[];
    statement_hash?: string;
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
   * sha256 hex of the text with whitespace runs folded and ends trimmed; what statement-scoped grants name.
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
export interface Estimate {
  bytes: number;
  source: "dry_run" | "caller";
  /**
   * Tables BigQuery's dry run names (project.dataset.table). One the parser missed is a mismatch the policy sees.
   */
  referenced_tables?: string[];
  /**
   * referenced_tables that appear in no statement's tables.
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
}

/**
 * Known table schemas, keyed by project.dataset.table, in BigQuery's own TableFieldSchema shape. Lets the normalizer expand SELECT * and t.* to real columns.
 */
export interface TableSchemas {
  [k: string]: TableField[];
}
export interface TableField {
  name: string;
  type: string;
  mode?: "NULLABLE" | "REQUIRED" | "REPEATED";
  fields?: TableField[];
  policyTags?: {
    names?: string[];
  };
  description?: string;
}
