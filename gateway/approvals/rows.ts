// Between database rows (JSON text, epoch milliseconds, 0/1 flags) and the views handed out.
import { createHash, randomBytes } from 'node:crypto';
import { sqlShapeHash } from '../../engine/index.ts';
import type { Approval, Grant, Identity, PolicyInput, Reason } from '../../engine/schema-types.ts';
import type { ApprovalRequestRow, ApprovalVoteRow, GrantRow } from '../store/tables.ts';
import { redactSqlLiterals, replaceLiterals } from '../audit/sql-literals.ts';
import type {
  Actor,
  ApprovalRequestView,
  ApprovalStatus,
  ApprovalSummary,
  GrantScope,
  GrantStatus,
  GrantView,
  RequestApprovalArgs,
} from './types.ts';

export function newId(prefix: 'apr' | 'grt'): string {
  return `${prefix}_${randomBytes(16).toString('hex')}`;
}

/** One approver, one vote: the key of an identity across issuers. */
export function identityKey(identity: { issuer: string; subject: string }): string {
  return JSON.stringify([identity.issuer, identity.subject]);
}

export function sameIdentity(a: { issuer: string; subject: string }, b: { issuer: string; subject: string }): boolean {
  return a.issuer === b.issuer && a.subject === b.subject;
}

export function actorOf(identity: Identity): Actor {
  return { subject: identity.subject, issuer: identity.issuer, kind: identity.kind };
}

/** The scope with its lists sorted and deduplicated, so equal scopes compare equal. */
export function canonicalScope(scope: GrantScope): GrantScope {
  const sorted = (list: string[] | undefined) => (list ? [...new Set(list)].sort() : undefined);
  const datasets = sorted(scope.datasets);
  const tables = sorted(scope.tables);
  return {
    kind: scope.kind,
    ...(datasets && { datasets }),
    ...(tables && { tables }),
    ...(scope.statement_hash !== undefined && { statement_hash: scope.statement_hash }),
    // The bytes a byte threshold's approval was asked for: what its grant pays for (a changed
    // estimate is another ask, shown with its own figure).
    ...(scope.max_bytes !== undefined && { max_bytes: scope.max_bytes }),
  };
}

/**
 * Same identity, same proposed scope, same statement shape: a repeated ask joins the pending
 * request, even with other values, comments or spacing in it (the grant it leads to is bound by
 * its scope, not by the request, so a joined ask is never let through by another's approval).
 * The approval terms are part of the key too, so after a policy change an ask never joins a
 * request that was raised under weaker terms (fewer approvals, other approvers, a longer grant).
 */
export function dedupeKey(identity: Identity, approval: Approval, shapeHash: string): string {
  const terms: unknown[] = [[...new Set(approval.approver_groups)].sort(), approval.min_approvals, approval.grant_ttl_seconds, approval.one_time === true];
  // Terms too: an ask never joins a request filed before the policy named them (whose votes they did not bound).
  if (approval.agent_groups?.length) terms.push([...new Set(approval.agent_groups)].sort());
  const material = JSON.stringify([identity.issuer, identity.subject, canonicalScope(approval.scope), shapeHash, terms]);
  return createHash('sha256').update(material).digest('hex');
}

/** The row of a new pending request, deduplicated on the shape of its statement. */
export function newRequestRow(args: RequestApprovalArgs, approval: Approval, createdMs: number, ttlMs: number): ApprovalRequestRow {
  return {
    id: newId('apr'),
    status: 'pending',
    subject: args.identity.subject,
    issuer: args.identity.issuer,
    sql_text: args.sqlText,
    sql_hash: args.sqlHash,
    sql_parameters: args.parameters === undefined || args.parameters === null ? null : JSON.stringify(args.parameters),
    dedupe_key: requestDedupeKey(args.identity, approval, args.sqlText),
    input: JSON.stringify(args.input),
    decision: JSON.stringify(args.decision),
    approver_groups: JSON.stringify([...new Set(approval.approver_groups)]),
    min_approvals: approval.min_approvals,
    grant_ttl_seconds: approval.grant_ttl_seconds,
    one_time: approval.one_time === true ? 1 : 0,
    scope: JSON.stringify(canonicalScope(approval.scope)),
    created_at_ms: createdMs,
    expires_at_ms: createdMs + ttlMs,
    decided_at_ms: null,
    grant_id: null,
    revision: 0,
  };
}

/** The dedupe key of an ask for `sqlText`. */
export function requestDedupeKey(identity: Identity, approval: Approval, sqlText: string): string {
  return dedupeKey(identity, approval, sqlShapeHash(sqlText));
}

export function tablesOf(input: PolicyInput): string[] {
  const tables = new Set<string>();
  for (const statement of input.sql?.statements ?? []) for (const table of statement.tables ?? []) tables.add(table.id);
  return [...tables].sort();
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

/** A pending request past its deadline is expired whether or not the sweeper recorded it yet. */
export function effectiveStatus(row: Pick<ApprovalRequestRow, 'status' | 'expires_at_ms'>, nowMs: number): ApprovalStatus {
  return row.status === 'pending' && row.expires_at_ms <= nowMs ? 'expired' : row.status;
}

export function grantStatus(row: GrantRow, nowMs: number): GrantStatus {
  if (row.revoked_at_ms !== null) return 'revoked';
  if (row.consumed_at_ms !== null) return 'consumed';
  if (row.expires_at_ms <= nowMs) return 'expired';
  return 'active';
}

function parse<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export interface RequestContent {
  input: PolicyInput;
  reasons: Reason[];
}

export function parseInput(text: string): PolicyInput {
  return parse<PolicyInput>(text, {} as PolicyInput);
}

export function requestContent(row: ApprovalRequestRow): RequestContent {
  const input = parseInput(row.input);
  const decision = parse<{ reasons?: Reason[] }>(row.decision, {});
  return { input, reasons: Array.isArray(decision.reasons) ? decision.reasons : [] };
}

export function toRequestView(row: ApprovalRequestRow, votes: ApprovalVoteRow[], nowMs: number, approveUrl: string): ApprovalRequestView {
  const { input, reasons } = requestContent(row);
  const requester = input.identity;
  return {
    id: row.id,
    status: effectiveStatus(row, nowMs),
    requester: {
      subject: row.subject,
      issuer: row.issuer,
      kind: requester?.kind ?? 'agent',
      groups: Array.isArray(requester?.groups) ? requester.groups : [],
    },
    sql: { text: row.sql_text, hash: row.sql_hash, ...(row.sql_parameters !== null && row.sql_parameters !== undefined && { parameters: parse<unknown>(row.sql_parameters, null) }) },
    tables: tablesOf(input),
    estimatedBytes: typeof input.estimate?.bytes === 'number' ? input.estimate.bytes : null,
    reasons,
    approverGroups: parse<string[]>(row.approver_groups, []),
    minApprovals: row.min_approvals,
    grantTtlSeconds: row.grant_ttl_seconds,
    oneTime: row.one_time === 1,
    scope: parse<GrantScope>(row.scope, { kind: 'statement' }),
    createdAt: iso(row.created_at_ms),
    expiresAt: iso(row.expires_at_ms),
    decidedAt: isoOrNull(row.decided_at_ms),
    grantId: row.grant_id,
    votes: votes
      .sort((a, b) => a.at_ms - b.at_ms)
      .map((v) => ({
        approver: { subject: v.approver_subject, issuer: v.approver_issuer },
        vote: v.vote,
        comment: v.comment,
        at: iso(v.at_ms),
      })),
    approveUrl,
  };
}

const SUMMARY_SQL_LIMIT = 1000;

export function toSummary(view: ApprovalRequestView): ApprovalSummary {
  const sqlText = view.sql.text.length > SUMMARY_SQL_LIMIT ? `${view.sql.text.slice(0, SUMMARY_SQL_LIMIT)}…` : view.sql.text;
  const { removed } = redactSqlLiterals(view.sql.text);
  return {
    id: view.id,
    status: view.status,
    requester: { subject: view.requester.subject, issuer: view.requester.issuer, kind: view.requester.kind },
    sqlText,
    tables: view.tables,
    estimatedBytes: view.estimatedBytes,
    // Announced outside the gateway (the webhook's chat channel): a reason may quote the statement,
    // so it loses the literals the statement does, as the posted statement and the audit trail's do.
    reasons: view.reasons.filter((r) => r.code !== 'grant_used').map((r) => replaceLiterals(r.message, removed)),
    approverGroups: view.approverGroups,
    minApprovals: view.minApprovals,
    scope: view.scope,
    oneTime: view.oneTime,
    grantTtlSeconds: view.grantTtlSeconds,
    expiresAt: view.expiresAt,
    approveUrl: view.approveUrl,
  };
}

export function toGrantView(row: GrantRow, nowMs: number): GrantView {
  return {
    id: row.id,
    status: grantStatus(row, nowMs),
    subject: row.subject,
    issuer: row.issuer,
    scope: parse<GrantScope>(row.scope, { kind: 'statement' }),
    oneTime: row.one_time === 1,
    approvalId: row.approval_id,
    createdAt: iso(row.created_at_ms),
    expiresAt: iso(row.expires_at_ms),
    revokedAt: isoOrNull(row.revoked_at_ms),
    revokedBy: row.revoked_by,
    consumedAt: isoOrNull(row.consumed_at_ms),
    consumedBy: row.consumed_by,
  };
}

/** The engine input's shape. Expiry rounds down: the policy never sees a grant outlive its row. */
export function toEngineGrant(row: GrantRow): Grant {
  return {
    id: row.id,
    subject: row.subject,
    scope: parse<GrantScope>(row.scope, { kind: 'statement', statement_hash: '' }),
    expires_at: Math.floor(row.expires_at_ms / 1000),
    ...(row.one_time === 1 && { one_time: true }),
  };
}
