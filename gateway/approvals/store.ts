// Just-in-time approvals: requests raised by `approve` decisions, votes by people in the policy's
// approver groups, and the grants an approval creates, all in the gateway's database so every
// replica sees the same state and a restart loses nothing.
//
// Races between replicas are settled by the database: every decision on a request runs in a
// transaction whose first statement updates the request row (a row lock on PostgreSQL, the write
// lock on SQLite), unique indexes allow one pending request per dedupe key, one vote per approver
// and one grant per approval, and a one-time grant is consumed by a conditional UPDATE whose row
// count says who won.
import { sql, type Kysely } from 'kysely';
import type { Approval, Grant, Identity, PolicyInput } from '../../engine/schema-types.ts';
import type { Database } from '../store/database.ts';
import type { ApprovalRequestRow, GrantRow, Tables } from '../store/tables.ts';
import { ApprovalError, isUniqueViolation, type ApprovalErrorCode } from './errors.ts';
import { decodePageToken, encodePageToken, grantCounts, grantRows, indexForListing, pageSize, requestCounts, requestRows, settlePage, type ListingFilters, type Page } from './listing.ts';
import {
  actorOf,
  effectiveStatus,
  identityKey,
  newId,
  newRequestRow,
  parseInput,
  requestDedupeKey,
  sameIdentity,
  toEngineGrant,
  toGrantView,
  toRequestView,
  toSummary,
} from './rows.ts';
import type {
  ApprovalEvent,
  ApprovalEventListener,
  ApprovalRequestView,
  ApprovalStatus,
  GrantStatus,
  GrantView,
  RequestApprovalArgs,
  RequestApprovalResult,
  VoteArgs,
  VoteResult,
} from './types.ts';
import { DecisionWaiters } from './waiters.ts';

export interface ApprovalStoreOptions {
  database: Database;
  /** External base URL of the gateway, where the approver page is served. */
  publicUrl: string;
  /** Where approvers act on a request; the request id is appended. Default `${publicUrl}/approve/requests`. */
  approveUrlBase?: string;
  /** Audit trail hook; more listeners with subscribe(). */
  onEvent?: ApprovalEventListener;
  /** How long a request waits for a decision when the policy names no request_ttl_seconds. Default 3600. */
  defaultRequestTtlSeconds?: number;
  /** How often a held caller re-reads its request (decisions made by other replicas). Default 1000. */
  pollIntervalMs?: number;
  /** How often lapsed pending requests are recorded as expired (and announced). 0 disables. Default 30000. */
  sweepIntervalMs?: number;
  /** Clock in epoch milliseconds (tests). */
  now?: () => number;
}

export interface ListRequestsOptions {
  /** Default `all`. */
  status?: ApprovalStatus | 'all';
  /** Only requests this identity asked for or may decide on. Absent: all (trusted callers only). */
  visibleTo?: Identity;
  /** Only requests about this dataset (`project.dataset`). */
  dataset?: string;
  /** Only requests of this subject. */
  requester?: string;
  /** With visibleTo: only the requests it may decide on (its approver groups'), not its own. */
  decidableOnly?: boolean;
  /** From a previous page of the same listing, for the same viewer and filters. */
  pageToken?: string;
  /** Default 50, at most 500. */
  maxResults?: number;
}

export interface ListGrantsOptions {
  /** `active` (default), one other status, or every grant. */
  status?: GrantStatus | 'all';
  /** Only grants held by this identity or that it may revoke. Absent: all (trusted callers only). */
  visibleTo?: Identity;
  /** Only grants of requests about this dataset (`project.dataset`). */
  dataset?: string;
  /** Only grants held by this subject. */
  requester?: string;
  pageToken?: string;
  maxResults?: number;
}

export type RequestPage = Page<ApprovalRequestView, ApprovalStatus>;
export type GrantPage = Page<GrantView, GrantStatus>;

export interface WaitOptions {
  /** Longest the caller is held; the request is returned still pending after it. */
  timeoutMs: number;
  /** Aborting (the caller went away) rejects with the signal's reason. */
  signal?: AbortSignal;
}

export const COMMENT_MAX_LENGTH = 2000;
/** Bounds on the requests one identity files when the policy names none (`approval.limits`). */
export const DEFAULT_MAX_OPEN_REQUESTS = 20;
export const DEFAULT_REQUESTS_PER_MINUTE = 30;

type VoteOutcome =
  | { kind: 'refused'; code: ApprovalErrorCode; message: string; expiredRow?: ApprovalRequestRow }
  | { kind: 'counted'; decided: 'approved' | 'rejected' | null; grantId?: string };

export class ApprovalStore {
  readonly publicUrl: string;
  readonly #database: Database;
  readonly #approveUrlBase: string;
  readonly #listeners = new Set<ApprovalEventListener>();
  readonly #defaultRequestTtlMs: number;
  readonly #pollIntervalMs: number;
  readonly #now: () => number;
  readonly #waiters = new DecisionWaiters();
  readonly #sweeper: NodeJS.Timeout | undefined;

  constructor(options: ApprovalStoreOptions) {
    this.#database = options.database;
    this.publicUrl = options.publicUrl.replace(/\/+$/, '');
    this.#approveUrlBase = (options.approveUrlBase ?? `${this.publicUrl}/approve/requests`).replace(/\/+$/, '');
    if (options.onEvent) this.#listeners.add(options.onEvent);
    this.#defaultRequestTtlMs = positive(options.defaultRequestTtlSeconds ?? 3600, 'defaultRequestTtlSeconds') * 1000;
    this.#pollIntervalMs = positive(options.pollIntervalMs ?? 1000, 'pollIntervalMs');
    this.#now = options.now ?? Date.now;
    const sweepMs = options.sweepIntervalMs ?? 30_000;
    if (sweepMs > 0) {
      this.#sweeper = setInterval(() => {
        this.expireDue().catch(() => {}); // the next sweep retries; reads treat lapsed requests as expired anyway
      }, sweepMs);
      this.#sweeper.unref();
    }
  }

  get #db() {
    return this.#database.db;
  }

  /** Ends an approver page session on every replica until it would have expired. */
  async endPageSession(sessionId: string, expiresAtMs: number): Promise<void> {
    await this.#db.deleteFrom('page_sessions_ended').where('expires_at_ms', '<', this.#now()).execute();
    await this.#db
      .insertInto('page_sessions_ended')
      .values({ session_id: sessionId, expires_at_ms: expiresAtMs })
      .onConflict((c) => c.column('session_id').doNothing())
      .execute();
  }

  async pageSessionEnded(sessionId: string): Promise<boolean> {
    const row = await this.#db.selectFrom('page_sessions_ended').select('session_id').where('session_id', '=', sessionId).executeTakeFirst();
    return row !== undefined;
  }

  approveUrl(id: string): string {
    return `${this.#approveUrlBase}/${encodeURIComponent(id)}`;
  }

  /** Adds an event listener; returns its removal. Listeners must not throw (errors are ignored). */
  subscribe(listener: ApprovalEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Records that the policy asks for approval, or joins the pending request of the same identity,
   * proposed scope and statement.
   */
  async requestApproval(args: RequestApprovalArgs): Promise<RequestApprovalResult> {
    const approval = checkRequest(args);
    const key = requestDedupeKey(args.identity, approval, args.sqlText);
    const limits = limitsOf(approval);
    const ttlMs = approval.request_ttl_seconds !== undefined ? approval.request_ttl_seconds * 1000 : this.#defaultRequestTtlMs;

    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.#now();
      await this.#expire(now, key); // a lapsed request must not be reused, and frees the dedupe slot
      const existing = await this.#db
        .selectFrom('approval_requests')
        .selectAll()
        .where('dedupe_key', '=', key)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (existing) {
        if (existing.expires_at_ms <= now) continue;
        this.#emit({ action: 'reused', requestId: existing.id, actor: actorOf(args.identity) });
        return { id: existing.id, status: 'pending', approveUrl: this.approveUrl(existing.id), reused: true, expiresAt: new Date(existing.expires_at_ms).toISOString() };
      }
      const row = newRequestRow(args, approval, now, ttlMs);
      let refused: { code: ApprovalErrorCode; message: string } | undefined;
      try {
        // One transaction: a request is never filed without the rows that let its approvers list
        // it, and one identity's asks are counted and filed one at a time across replicas, so its
        // bounds hold under a flood.
        refused = await this.#db.transaction().execute(async (tx) => {
          if (this.#database.dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(hashtext(${identityKey(args.identity)}))`.execute(tx);
          const over = await overLimits(tx, args.identity, limits, now);
          if (over) return over;
          await tx.insertInto('approval_requests').values(row).execute();
          await indexForListing(tx, row);
          return undefined;
        });
      } catch (error) {
        if (isUniqueViolation(error)) continue; // another replica created it first: reuse theirs
        throw error;
      }
      if (refused) {
        this.#emit({ action: 'refused', operation: 'request', actor: actorOf(args.identity), error: refused });
        throw new ApprovalError(refused.code, refused.message);
      }
      this.#emit({ action: 'requested', requestId: row.id, actor: actorOf(args.identity), request: this.#summary(row, now) });
      return { id: row.id, status: 'pending', approveUrl: this.approveUrl(row.id), reused: false, expiresAt: new Date(row.expires_at_ms).toISOString() };
    }
    throw new Error('approval request could be neither created nor reused (concurrent writers)');
  }

  /**
   * Whether an ask would be filed or joined, checked before the gateway spends a dry run on it:
   * one that would join a pending request always is; a new one over the identity's bounds is
   * refused (recorded, as `requestApproval` refuses it).
   */
  async admits(identity: Identity, approval: Approval, sqlText: string): Promise<void> {
    const now = this.#now();
    const joins = await this.#db
      .selectFrom('approval_requests')
      .select('id')
      .where('dedupe_key', '=', requestDedupeKey(identity, approval, sqlText))
      .where('status', '=', 'pending')
      .where('expires_at_ms', '>', now)
      .executeTakeFirst();
    if (joins) return;
    const refused = await overLimits(this.#db, identity, limitsOf(approval), now);
    if (!refused) return;
    this.#emit({ action: 'refused', operation: 'request', actor: actorOf(identity), error: refused });
    throw new ApprovalError(refused.code, refused.message);
  }

  /**
   * Holds the caller until the request is decided or expires, or `timeoutMs` passes (then the
   * request comes back still pending).
   */
  async waitForDecision(id: string, options: WaitOptions): Promise<ApprovalRequestView> {
    const deadline = performance.now() + Math.max(0, options.timeoutMs);
    for (;;) {
      options.signal?.throwIfAborted();
      const view = await this.get(id);
      if (!view) throw new ApprovalError('not_found', `approval request ${id} does not exist`);
      const remaining = deadline - performance.now();
      if (view.status !== 'pending' || remaining <= 0 || this.#waiters.closed) return view;
      const untilExpiry = Date.parse(view.expiresAt) - this.#now() + 1;
      await this.#waiters.sleep(id, Math.min(remaining, this.#pollIntervalMs, Math.max(untilExpiry, 1)), options.signal);
    }
  }

  /** One approver's decision. Refusals are thrown as ApprovalError and emitted as `refused` events. */
  async vote(args: VoteArgs): Promise<VoteResult> {
    const { requestId, approver, vote } = args;
    const actor = actorOf(approver);
    const comment = typeof args.comment === 'string' ? args.comment.trim() : '';
    const refuse = (code: ApprovalErrorCode, message: string): ApprovalError => {
      this.#emit({ action: 'refused', operation: 'vote', requestId, actor, vote, comment, error: { code, message } });
      return new ApprovalError(code, message);
    };
    if (vote !== 'approve' && vote !== 'reject') throw refuse('invalid_request', 'vote must be approve or reject');
    if (comment.length === 0) throw refuse('invalid_request', 'a comment is required with every vote');
    if (comment.length > COMMENT_MAX_LENGTH) throw refuse('invalid_request', `comment is longer than ${COMMENT_MAX_LENGTH} characters`);
    if (approver.kind !== 'human') throw refuse('not_human', 'only people decide on approval requests');

    const now = this.#now();
    let outcome: VoteOutcome;
    try {
      outcome = await this.#db.transaction().execute(async (tx): Promise<VoteOutcome> => {
        // Lock first: a concurrent vote on the same request waits here until this one commits.
        const locked = await tx
          .updateTable('approval_requests')
          .set({ revision: sql<number>`revision + 1` })
          .where('id', '=', requestId)
          .executeTakeFirst();
        if (Number(locked.numUpdatedRows) !== 1) return { kind: 'refused', code: 'not_found', message: `approval request ${requestId} does not exist` };
        const row = await tx.selectFrom('approval_requests').selectAll().where('id', '=', requestId).executeTakeFirstOrThrow();
        const approverGroups = JSON.parse(row.approver_groups) as string[];
        if (sameIdentity(approver, row)) return { kind: 'refused', code: 'self_approval', message: 'nobody decides on their own request' };
        // The policy counts a member of an agent group as an agent whatever kind its token says.
        const agentGroup = agentGroupsOf(row).find((g) => approver.groups.includes(g));
        if (agentGroup !== undefined) return { kind: 'refused', code: 'not_human', message: `only people decide on approval requests, and members of ${agentGroup} are agents` };
        if (!approver.groups.some((g) => approverGroups.includes(g))) {
          return { kind: 'refused', code: 'not_an_approver', message: `only members of ${approverGroups.join(', ')} decide on this request` };
        }
        if (row.status !== 'pending') return { kind: 'refused', code: 'not_pending', message: `approval request is already ${row.status}` };
        if (row.expires_at_ms <= now) {
          await tx.updateTable('approval_requests').set({ status: 'expired', decided_at_ms: now }).where('id', '=', requestId).execute();
          return { kind: 'refused', code: 'expired', message: 'approval request expired before it was decided', expiredRow: row };
        }
        const previous = await tx
          .selectFrom('approval_votes')
          .select('vote')
          .where('approval_id', '=', requestId)
          .where('approver', '=', identityKey(approver))
          .executeTakeFirst();
        if (previous) return { kind: 'refused', code: 'already_voted', message: `you already voted ${previous.vote} on this request` };

        await tx
          .insertInto('approval_votes')
          .values({
            approval_id: requestId,
            approver: identityKey(approver),
            approver_subject: approver.subject,
            approver_issuer: approver.issuer,
            vote,
            comment,
            at_ms: now,
          })
          .execute();
        if (vote === 'reject') {
          await tx.updateTable('approval_requests').set({ status: 'rejected', decided_at_ms: now }).where('id', '=', requestId).execute();
          return { kind: 'counted', decided: 'rejected' };
        }
        const { approvals } = await tx
          .selectFrom('approval_votes')
          .select((eb) => eb.fn.countAll<number>().as('approvals'))
          .where('approval_id', '=', requestId)
          .where('vote', '=', 'approve')
          .executeTakeFirstOrThrow();
        if (Number(approvals) < row.min_approvals) return { kind: 'counted', decided: null };

        const grant: GrantRow = {
          id: newId('grt'),
          subject: row.subject,
          issuer: row.issuer,
          scope: row.scope,
          one_time: row.one_time,
          approval_id: row.id,
          created_at_ms: now,
          expires_at_ms: now + row.grant_ttl_seconds * 1000,
          revoked_at_ms: null,
          revoked_by: null,
          consumed_at_ms: null,
          consumed_by: null,
        };
        await tx.insertInto('grants').values(grant).execute();
        await tx
          .updateTable('approval_requests')
          .set({ status: 'approved', decided_at_ms: now, grant_id: grant.id })
          .where('id', '=', requestId)
          .execute();
        return { kind: 'counted', decided: 'approved', grantId: grant.id };
      });
    } catch (error) {
      // Backstop of the pre-check: the unique key on (request, approver) or on the grant's approval.
      if (isUniqueViolation(error)) throw refuse('already_voted', 'you already voted on this request');
      throw error;
    }

    if (outcome.kind === 'refused') {
      if (outcome.expiredRow) this.#announceExpired([{ ...outcome.expiredRow, status: 'expired', decided_at_ms: now }], now);
      throw refuse(outcome.code, outcome.message);
    }
    this.#emit({ action: 'voted', requestId, actor, vote, comment });
    const request = await this.get(requestId);
    if (!request) throw new ApprovalError('not_found', `approval request ${requestId} does not exist`);
    const result: VoteResult = { request };
    if (outcome.decided) {
      const grant = outcome.grantId ? await this.getGrant(outcome.grantId) : undefined;
      if (grant) result.grant = grant;
      this.#emit({ action: outcome.decided, requestId, actor, comment, ...(grant && { grantId: grant.id }), request: toSummary(request) });
      this.#waiters.notify(requestId);
    }
    return result;
  }

  async get(id: string): Promise<ApprovalRequestView | undefined> {
    const row = await this.#db.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const votes = await this.#db.selectFrom('approval_votes').selectAll().where('approval_id', '=', id).execute();
    return toRequestView(row, votes, this.#now(), this.approveUrl(row.id));
  }

  /** The policy input the request was raised with (for previews and the detail view). */
  async requestInput(id: string): Promise<PolicyInput | undefined> {
    const row = await this.#db.selectFrom('approval_requests').select('input').where('id', '=', id).executeTakeFirst();
    return row ? parseInput(row.input) : undefined;
  }

  /** One page of requests, newest first, with the viewer's counts per status. */
  async listPage(options: ListRequestsOptions = {}): Promise<RequestPage> {
    const now = this.#now();
    const viewer = options.visibleTo;
    const filters: ListingFilters = { status: options.status ?? 'all', dataset: options.dataset, requester: options.requester, decidableOnly: options.decidableOnly };
    const cursor = options.pageToken === undefined ? undefined : decodePageToken('approvals', viewer, filters, options.pageToken);
    const size = pageSize(options.maxResults);
    const [found, counts] = await Promise.all([
      requestRows(this.#db, { viewer, filters, cursor, size, now }),
      requestCounts(this.#db, viewer, filters, now),
    ]);
    const page = settlePage(found, size, cursor, (at) => encodePageToken('approvals', viewer, filters, at));
    const votes = page.rows.length
      ? await this.#db.selectFrom('approval_votes').selectAll().where('approval_id', 'in', page.rows.map((r) => r.id)).execute()
      : [];
    const items = page.rows.map((row) => toRequestView(row, votes.filter((v) => v.approval_id === row.id), now, this.approveUrl(row.id)));
    return { items, counts, ...(page.nextPageToken && { nextPageToken: page.nextPageToken }), ...(page.prevPageToken && { prevPageToken: page.prevPageToken }) };
  }

  /** The first page's requests (listPage without the paging). */
  async list(options: ListRequestsOptions = {}): Promise<ApprovalRequestView[]> {
    return (await this.listPage(options)).items;
  }

  /** Whether the identity asked for the request or may decide on it. */
  mayView(identity: Identity, request: ApprovalRequestView): boolean {
    return sameIdentity(identity, request.requester) || identity.groups.some((g) => request.approverGroups.includes(g));
  }

  /**
   * The identity's unrevoked, unexpired, unconsumed grants, shaped for the engine input. Read
   * from the database on every call: a revocation counts from the next query on.
   */
  async activeGrants(identity: Identity, at: Date = new Date(this.#now())): Promise<Grant[]> {
    const atMs = at.getTime();
    const rows = await this.#db
      .selectFrom('grants')
      .selectAll()
      .where('subject', '=', identity.subject)
      .where('issuer', '=', identity.issuer)
      .where('revoked_at_ms', 'is', null)
      .where('consumed_at_ms', 'is', null)
      .where('expires_at_ms', '>', atMs)
      .orderBy('id')
      .execute();
    return rows.map(toEngineGrant);
  }

  /**
   * Spends one-time grants the policy allowed a query with, all or none. Across replicas exactly
   * one caller wins each grant; the others get `grant_unavailable` and must refuse the query.
   */
  async consumeOneTime(grantIds: readonly string[], consumedBy: string): Promise<void> {
    const ids = [...new Set(grantIds)].sort(); // one lock order for every caller: no deadlocks
    if (ids.length === 0) return;
    const now = this.#now();
    const consumed: { id: string; approval_id: string | null }[] = [];
    const spend = async (db: Kysely<Tables>, id: string) => {
      // The row count is the verdict: a concurrent spender's UPDATE finds consumed_at_ms set.
      const row = await db
        .updateTable('grants')
        .set({ consumed_at_ms: now, consumed_by: consumedBy })
        .where('id', '=', id)
        .where('one_time', '=', 1)
        .where('consumed_at_ms', 'is', null)
        .where('revoked_at_ms', 'is', null)
        .where('expires_at_ms', '>', now)
        .returning(['id', 'approval_id'])
        .executeTakeFirst();
      if (!row) throw new UnavailableGrant(id);
      consumed.push(row);
    };
    try {
      if (ids.length === 1) await spend(this.#db, ids[0]!);
      else {
        await this.#db.transaction().execute(async (tx) => {
          for (const id of ids) await spend(tx, id);
        });
      }
    } catch (error) {
      if (!(error instanceof UnavailableGrant)) throw error;
      const message = `grant ${error.grantId} is not an available one-time grant (already used, revoked or expired)`;
      this.#emit({ action: 'refused', operation: 'consume', consumedBy, grantId: error.grantId, error: { code: 'grant_unavailable', message } });
      throw new ApprovalError('grant_unavailable', message);
    }
    for (const row of consumed) {
      this.#emit({ action: 'grant_consumed', grantId: row.id, consumedBy, ...(row.approval_id && { requestId: row.approval_id }) });
    }
  }

  /**
   * Ends a grant at once. Allowed to members of the approver groups of the request that created
   * it (people only) and to the grant's own holder.
   */
  async revoke(grantId: string, by: Identity, comment = ''): Promise<GrantView> {
    const actor = actorOf(by);
    const refuse = (code: ApprovalErrorCode, message: string, requestId?: string | null): ApprovalError => {
      this.#emit({ action: 'refused', operation: 'revoke', grantId, actor, ...(requestId && { requestId }), ...(comment && { comment }), error: { code, message } });
      return new ApprovalError(code, message);
    };
    const found = await this.#db
      .selectFrom('grants')
      .leftJoin('approval_requests', 'approval_requests.id', 'grants.approval_id')
      .selectAll('grants')
      .select(['approval_requests.approver_groups', 'approval_requests.decision'])
      .where('grants.id', '=', grantId)
      .executeTakeFirst();
    if (!found) throw refuse('grant_not_found', `grant ${grantId} does not exist`);
    const approverGroups = found.approver_groups ? (JSON.parse(found.approver_groups) as string[]) : [];
    const agent = found.decision !== null && agentGroupsOf({ decision: found.decision }).some((g) => by.groups.includes(g));
    const holder = sameIdentity(by, found);
    if (!holder && !(by.kind === 'human' && !agent && by.groups.some((g) => approverGroups.includes(g)))) {
      throw refuse('not_an_approver', 'only the approver groups of the grant and its holder may revoke it', found.approval_id);
    }
    const now = this.#now();
    const updated = await this.#db
      .updateTable('grants')
      .set({ revoked_at_ms: now, revoked_by: by.subject })
      .where('id', '=', grantId)
      .where('revoked_at_ms', 'is', null)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) throw refuse('already_revoked', `grant ${grantId} is already revoked`, found.approval_id);
    this.#emit({ action: 'grant_revoked', grantId, actor, ...(found.approval_id && { requestId: found.approval_id }), ...(comment && { comment }) });
    const grant = await this.getGrant(grantId);
    if (!grant) throw new ApprovalError('grant_not_found', `grant ${grantId} does not exist`);
    return grant;
  }

  /**
   * Takes a pending request back: its requester no longer wants it (a cancelled pending job), or
   * the gateway cut the requester off (`by` null). Nobody else may withdraw it.
   */
  async withdraw(id: string, by: Identity | null, reason: string): Promise<ApprovalRequestView> {
    const actor = by ? actorOf(by) : undefined;
    const refuse = (code: ApprovalErrorCode, message: string): ApprovalError => {
      this.#emit({ action: 'refused', operation: 'withdraw', requestId: id, ...(actor && { actor }), comment: reason, error: { code, message } });
      return new ApprovalError(code, message);
    };
    const row = await this.#db.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw refuse('not_found', `approval request ${id} does not exist`);
    if (by && !sameIdentity(by, row)) throw refuse('not_requester', 'only its requester withdraws an approval request');
    const now = this.#now();
    const updated = await this.#db
      .updateTable('approval_requests')
      .set({ status: 'withdrawn', decided_at_ms: now, revision: sql<number>`revision + 1` })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where('expires_at_ms', '>', now)
      .returningAll()
      .executeTakeFirst();
    if (!updated) throw refuse('not_pending', `approval request is already ${effectiveStatus(row, now)}`);
    this.#emit({ action: 'withdrawn', requestId: id, ...(actor && { actor }), comment: reason, request: this.#summary(updated, now) });
    this.#waiters.notify(id);
    const view = await this.get(id);
    if (!view) throw new ApprovalError('not_found', `approval request ${id} does not exist`);
    return view;
  }

  /**
   * A principal cut off (disabled in its identity provider or by a kill switch): every request it
   * has pending is withdrawn and every grant it holds revoked, each recorded.
   */
  async cutOffPrincipal(issuer: string, subject: string, reason: string): Promise<{ withdrawn: string[]; revoked: string[] }> {
    const now = this.#now();
    const requests = await this.#db
      .updateTable('approval_requests')
      .set({ status: 'withdrawn', decided_at_ms: now, revision: sql<number>`revision + 1` })
      .where('issuer', '=', issuer)
      .where('subject', '=', subject)
      .where('status', '=', 'pending')
      .where('expires_at_ms', '>', now)
      .returningAll()
      .execute();
    const grants = await this.#db
      .updateTable('grants')
      .set({ revoked_at_ms: now, revoked_by: 'sluice' })
      .where('issuer', '=', issuer)
      .where('subject', '=', subject)
      .where('revoked_at_ms', 'is', null)
      .where('consumed_at_ms', 'is', null)
      .where('expires_at_ms', '>', now)
      .returning(['id', 'approval_id'])
      .execute();
    for (const row of requests) {
      this.#emit({ action: 'withdrawn', requestId: row.id, comment: reason, request: this.#summary(row, now) });
      this.#waiters.notify(row.id);
    }
    for (const grant of grants) {
      this.#emit({ action: 'grant_revoked', grantId: grant.id, comment: reason, ...(grant.approval_id && { requestId: grant.approval_id }) });
    }
    return { withdrawn: requests.map((r) => r.id).sort(), revoked: grants.map((g) => g.id).sort() };
  }

  async revokedAmong(grantIds: readonly string[]): Promise<string[]> {
    if (grantIds.length === 0) return [];
    const rows = await this.#db.selectFrom('grants').select('id').where('id', 'in', [...grantIds]).where('revoked_at_ms', 'is not', null).execute();
    return rows.map((r) => r.id).sort();
  }

  async getGrant(id: string): Promise<GrantView | undefined> {
    const row = await this.#db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toGrantView(row, this.#now()) : undefined;
  }

  /** One page of grants, newest first, with the viewer's counts per status. */
  async listGrantsPage(options: ListGrantsOptions = {}): Promise<GrantPage> {
    const now = this.#now();
    const viewer = options.visibleTo;
    const filters: ListingFilters = { status: options.status ?? 'active', dataset: options.dataset, requester: options.requester };
    const cursor = options.pageToken === undefined ? undefined : decodePageToken('grants', viewer, filters, options.pageToken);
    const size = pageSize(options.maxResults);
    const [found, counts] = await Promise.all([
      grantRows(this.#db, { viewer, filters, cursor, size, now }),
      grantCounts(this.#db, viewer, filters, now),
    ]);
    const page = settlePage(found, size, cursor, (at) => encodePageToken('grants', viewer, filters, at));
    const items = page.rows.map((row) => toGrantView(row, now));
    return { items, counts, ...(page.nextPageToken && { nextPageToken: page.nextPageToken }), ...(page.prevPageToken && { prevPageToken: page.prevPageToken }) };
  }

  /** The first page's grants (listGrantsPage without the paging). */
  async listGrants(options: ListGrantsOptions = {}): Promise<GrantView[]> {
    return (await this.listGrantsPage(options)).items;
  }

  /** Records lapsed pending requests as expired, announcing each once across replicas. */
  async expireDue(): Promise<number> {
    return this.#expire(this.#now());
  }

  /** Stops the sweeper and releases held callers (they get the request as it stands). */
  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#waiters.close();
  }

  async #expire(now: number, key?: string): Promise<number> {
    let query = this.#db
      .updateTable('approval_requests')
      .set({ status: 'expired', decided_at_ms: now, revision: sql<number>`revision + 1` })
      .where('status', '=', 'pending')
      .where('expires_at_ms', '<=', now);
    if (key !== undefined) query = query.where('dedupe_key', '=', key);
    const rows = await query.returningAll().execute();
    this.#announceExpired(rows, now);
    return rows.length;
  }

  #announceExpired(rows: ApprovalRequestRow[], now: number): void {
    for (const row of rows) {
      this.#emit({ action: 'expired', requestId: row.id, request: this.#summary(row, now) });
      this.#waiters.notify(row.id);
    }
  }

  #summary(row: ApprovalRequestRow, now: number) {
    return toSummary(toRequestView(row, [], now, this.approveUrl(row.id)));
  }

  #emit(event: Omit<ApprovalEvent, 'kind' | 'at'>): void {
    const full: ApprovalEvent = { kind: 'approval', at: new Date(this.#now()).toISOString(), ...event };
    for (const listener of this.#listeners) {
      try {
        listener(full);
      } catch {
        // A failing subscriber must not undo or block a decision that is already committed.
      }
    }
  }
}

export function createApprovalStore(options: ApprovalStoreOptions): ApprovalStore {
  return new ApprovalStore(options);
}

/** Thrown inside the consume transaction to roll it back. */
class UnavailableGrant extends Error {
  readonly grantId: string;
  constructor(grantId: string) {
    super(`grant ${grantId} is unavailable`);
    this.grantId = grantId;
  }
}

function limitsOf(approval: Approval): { open: number; perMinute: number } {
  return {
    open: approval.limits?.max_open_requests ?? DEFAULT_MAX_OPEN_REQUESTS,
    perMinute: approval.limits?.requests_per_minute ?? DEFAULT_REQUESTS_PER_MINUTE,
  };
}

/** Why one more request of this identity would break its bounds, if it would. */
async function overLimits(db: Kysely<Tables>, identity: Identity, limits: { open: number; perMinute: number }, now: number): Promise<{ code: ApprovalErrorCode; message: string } | undefined> {
  const mine = db.selectFrom('approval_requests').where('issuer', '=', identity.issuer).where('subject', '=', identity.subject);
  const { open } = await mine
    .select((eb) => eb.fn.countAll<number>().as('open'))
    .where('status', '=', 'pending')
    .where('expires_at_ms', '>', now)
    .executeTakeFirstOrThrow();
  if (Number(open) >= limits.open) {
    return { code: 'too_many_open_requests', message: `${identity.subject} already has ${Number(open)} approval requests waiting (at most ${limits.open}); wait for them to be decided or withdraw some` };
  }
  const { recent } = await mine
    .select((eb) => eb.fn.countAll<number>().as('recent'))
    .where('created_at_ms', '>', now - 60_000)
    .executeTakeFirstOrThrow();
  if (Number(recent) >= limits.perMinute) {
    return { code: 'request_rate_exceeded', message: `${identity.subject} filed ${Number(recent)} approval requests in the last minute (at most ${limits.perMinute}); try again later` };
  }
  return undefined;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number`);
  return value;
}

/** The decision must really ask for approval, for this identity and this statement. */
function checkRequest(args: RequestApprovalArgs): Approval {
  const invalid = (message: string) => new ApprovalError('invalid_request', message);
  const { identity, decision, input } = args;
  if (!identity || typeof identity.subject !== 'string' || identity.subject.length === 0) throw invalid('identity has no subject');
  if (decision?.outcome !== 'approve' || !decision.approval) throw invalid('the decision does not ask for approval');
  if (!input?.identity || !sameIdentity(input.identity, identity)) throw invalid('the input belongs to another identity');
  if (typeof args.sqlHash !== 'string' || args.sqlHash !== input.sql?.hash) throw invalid('the statement hash does not match the input');
  if (typeof args.sqlText !== 'string') throw invalid('sqlText must be a string');
  const approval = decision.approval;
  const groups = approval.approver_groups;
  if (!Array.isArray(groups) || groups.length === 0 || groups.some((g) => typeof g !== 'string' || g.length === 0)) {
    throw invalid('the approval names no approver group');
  }
  const wholePositive = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 1;
  if (!wholePositive(approval.min_approvals)) throw invalid('min_approvals must be a positive integer');
  if (!wholePositive(approval.grant_ttl_seconds)) throw invalid('grant_ttl_seconds must be a positive integer');
  if (approval.request_ttl_seconds !== undefined && !wholePositive(approval.request_ttl_seconds)) {
    throw invalid('request_ttl_seconds must be a positive integer');
  }
  const scope = approval.scope;
  if (!scope || !['dataset', 'tables', 'statement'].includes(scope.kind)) throw invalid('the approval has no valid scope');
  if (scope.kind === 'dataset' && !scope.datasets?.length) throw invalid('a dataset scope must name datasets');
  if (scope.kind === 'tables' && !scope.tables?.length) throw invalid('a tables scope must name tables');
  if (scope.kind === 'statement' && !scope.statement_hash) throw invalid('a statement scope must name the statement hash');
  return approval;
}

/** The agent groups the request's approval names (the policy's agent groups when it was filed). */
function agentGroupsOf(row: Pick<ApprovalRequestRow, 'decision'>): string[] {
  const groups = (JSON.parse(row.decision) as { approval?: Approval }).approval?.agent_groups;
  return Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [];
}
