// Jobs held for an approval. A query that needs one is answered as a job in state PENDING
// (BigQuery's own "waiting to be executed"), which every official client already polls with
// jobs.get and jobs.getQueryResults until it is DONE. Nothing runs upstream meanwhile. Once the
// request is approved, the next poll decides the query again on the caller's fresh grants (the
// approval itself lets nothing through) and inserts it upstream under the same job id; from then
// on the job is served like any other. A rejection, an expiry, a withdrawal or a refusal on the
// fresh decision ends the job with its error instead.
//
// The held job lives in the job store, so a restart forgets none and every replica serves it;
// the store's compare-and-replace lets exactly one poll launch it.
import type { ApprovalRequests, ApprovalState } from '../approval-requests.ts';
import { fromStore, type Authorization, type Caller, type Enforcer, type HeldForApproval, type QueryContext } from '../enforce.ts';
import type { HeldJob, JobRecord, JobStore } from '../jobs.ts';
import { BigQueryError, accessDenied } from './errors.ts';
import { parseInsertJob, type ParsedInsertJob } from './query-request.ts';

/** How long one poll may take to decide and insert an approved job before another takes it over. */
export const LAUNCH_TIMEOUT_MS = 30_000;
/** Longest a getQueryResults poll is held for the approval (BigQuery's own default long poll). */
export const MAX_HELD_WAIT_MS = 10_000;

type JobError = NonNullable<HeldJob['error']>;

export interface HeldJobsOptions {
  enforcer: Enforcer;
  jobs: JobStore;
  approvals: ApprovalRequests;
  /** The job record of a decided query, as the facade registers it. */
  recordOf(who: Caller, rec: JobRecord, auth: Authorization): JobRecord;
}

/**
 * Inserts the approved job upstream: resolves to the location BigQuery answered it runs in, when
 * it said; a BigQueryError (sanitized) when BigQuery refused it.
 */
export type InsertJob = (rec: JobRecord, parsed: ParsedInsertJob, auth: Authorization) => Promise<string | undefined>;

/** The poll's own context: its caller, and its audit trail for the fresh decision and the insert. */
export type PollContext = Omit<QueryContext, 'route' | 'spec' | 'project'>;

/** Where a poll found the job: still held (answer from the record), or running upstream. */
export type Advanced = { rec: JobRecord; headers?: Record<string, string> };

export class HeldJobs {
  readonly #o: HeldJobsOptions;

  constructor(options: HeldJobsOptions) {
    this.#o = options;
  }

  /** The record of a new held job; nothing has run upstream. */
  record(base: Pick<JobRecord, 'project' | 'jobId' | 'location' | 'connection' | 'owner'>, held: HeldForApproval['held'], job: Record<string, unknown>): JobRecord {
    return {
      ...base,
      outcome: 'approve',
      masks: [],
      revision: held.revision,
      sqlHash: held.sqlHash,
      createdAt: Date.now(),
      held: { approvalId: held.approvalId, ...(held.approvalUrl && { approvalUrl: held.approvalUrl }), job },
    };
  }

  /**
   * Moves a held job on as far as its approval allows: waits up to `waitMs` for a decision, ends
   * the job when the request was not approved, and launches it when it was. `ctx` is the poll's
   * own context (its audit trail records the fresh decision and the insert).
   */
  async advance(ctx: PollContext, rec: JobRecord, waitMs: number, insert: InsertJob): Promise<Advanced> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const held = rec.held;
      if (!held || held.error) return { rec };
      if (rec.launching !== undefined) {
        if (Date.now() - rec.launching < LAUNCH_TIMEOUT_MS) return { rec };
        // The poll launching it stalled: whether or not its insert reached BigQuery, the job is
        // decided and inserted again, never taken as launched (a job under that id it did not
        // insert must never be served). An insert that had landed makes the next one a 409,
        // which ends the job: closed, not open.
        const again: JobRecord = { ...rec, launching: undefined };
        rec = (await this.#replace(rec, again)) ? again : await this.#reread(rec);
        continue;
      }
      const state = await this.#state(held.approvalId, waitMs, ctx.signal);
      if (state.status === 'pending') return { rec };
      if (state.status !== 'approved') {
        const ended = withError(rec, { reason: 'accessDenied', message: endedMessage(held.approvalId, state) });
        if (await this.#replace(rec, ended)) return { rec: ended };
        rec = await this.#reread(rec);
        continue;
      }
      const launched = await this.#launch(ctx, rec, insert);
      if (launched) return launched;
      rec = await this.#reread(rec);
    }
    return { rec };
  }

  /** jobs.cancel of a held job: its approval request is withdrawn and the job ends. */
  async cancel(who: Caller, rec: JobRecord): Promise<JobRecord> {
    const held = rec.held;
    if (!held || held.error || rec.launching !== undefined) return rec;
    const withdraw = this.#o.approvals.withdraw;
    if (withdraw) {
      try {
        await fromStore('withdraw the approval request', () => withdraw.call(this.#o.approvals, held.approvalId, who.identity, 'the job waiting for it was cancelled'));
      } catch (error) {
        // Decided meanwhile (or shared with another job of the same caller that ended it): the job ends all the same.
        if ((error as { code?: unknown }).code !== 'not_pending') throw error;
      }
    }
    const ended = withError(rec, { reason: 'stopped', message: `Job execution was cancelled: User requested cancellation. Approval request ${held.approvalId} was withdrawn.` });
    if (await this.#replace(rec, ended)) return ended;
    return this.#reread(rec);
  }

  async #state(approvalId: string, waitMs: number, signal: AbortSignal | undefined): Promise<ApprovalState> {
    const { approvals } = this.#o;
    const read = async () => (await fromStore('read the approval request', () => approvals.status!(approvalId))) ?? { status: 'withdrawn' as const };
    const state = await read();
    if (state.status !== 'pending' || waitMs <= 0 || !approvals.wait) return state;
    await fromStore('wait for the approval', () => approvals.wait!(approvalId, { timeoutMs: Math.min(waitMs, MAX_HELD_WAIT_MS), ...(signal && { signal }) }));
    return read();
  }

  /** Decides the approved query again and, when it may run, claims the job and inserts it. Undefined: another poll changed the job first. */
  async #launch(ctx: PollContext, rec: JobRecord, insert: InsertJob): Promise<Advanced | undefined> {
    const held = rec.held!;
    // Claimed before it is decided again: a racing poll neither spends a one-time grant nor ends the job for a launch another poll is making.
    const deciding: JobRecord = { ...rec, launching: Date.now() };
    if (!(await this.#replace(rec, deciding))) return undefined;
    const parsed = parseInsertJob(rec.project, { ...held.job, jobReference: { projectId: rec.project, jobId: rec.jobId, ...(rec.location && { location: rec.location }) } });
    let auth: Authorization | HeldForApproval;
    try {
      auth = await this.#o.enforcer.authorizeOrHold({ ...ctx, project: rec.project, route: 'jobs.insert', spec: parsed.spec, holdMs: 0 });
    } catch (error) {
      // Refused on the fresh decision: the job ends with the refusal. A failure worth retrying (a
      // database or upstream outage) leaves it held for the next poll.
      if (!(error instanceof BigQueryError) || error.code >= 500 || error.code === 429) {
        await this.#replace(deciding, rec).catch(() => undefined); // else held again once the claim times out
        throw error;
      }
      const ended = withError(deciding, { reason: error.reason, message: error.message });
      return (await this.#replace(deciding, ended)) ? { rec: ended } : undefined;
    }
    if ('held' in auth) {
      // The fresh decision needs another approval (another statement, a byte threshold): wait for that one.
      const next: JobRecord = { ...rec, held: { ...held, approvalId: auth.held.approvalId, approvalUrl: auth.held.approvalUrl } };
      return (await this.#replace(deciding, next)) ? { rec: next } : undefined;
    }
    const claimed: JobRecord = { ...this.#o.recordOf(ctx.caller, rec, auth), createdAt: rec.createdAt, held, launching: Date.now() };
    if (!(await this.#replace(deciding, claimed))) return undefined;
    let location: string | undefined;
    try {
      location = await insert(claimed, parsed, auth);
    } catch (error) {
      if (!(error instanceof BigQueryError) || error.code >= 500) {
        // Unknown whether it landed: held again, for the next poll to decide and insert anew.
        await this.#replace(claimed, { ...claimed, launching: undefined }).catch(() => undefined);
        throw error;
      }
      const ended = withError(claimed, { reason: error.reason, message: error.message });
      return (await this.#replace(claimed, ended)) ? { rec: ended } : { rec: await this.#reread(claimed) };
    }
    const { held: _held, launching: _launching, ...inserted } = claimed;
    // Read from then on where BigQuery put it (it picks a location when the request names none).
    const launched: JobRecord = { ...inserted, location: location ?? inserted.location };
    // Only the poll whose claim still stands serves the job it inserted.
    if (!(await this.#replace(claimed, launched))) return { rec: await this.#reread(claimed) };
    return { rec: launched, headers: auth.headers };
  }

  #replace(expected: JobRecord, next: JobRecord): Promise<boolean> {
    return fromStore('record the job', () => this.#o.jobs.replace(expected, next));
  }

  async #reread(rec: JobRecord): Promise<JobRecord> {
    const current = await fromStore('look the job up', () => this.#o.jobs.get(rec.project, rec.jobId));
    if (!current) throw accessDenied(`Access Denied: Job ${rec.project}:${rec.jobId} is no longer known to the gateway.`);
    return current;
  }
}

function withError(rec: JobRecord, error: JobError): JobRecord {
  return { ...rec, launching: undefined, held: { ...rec.held!, error, endedAt: Date.now() } };
}

function endedMessage(approvalId: string, state: ApprovalState): string {
  switch (state.status) {
    case 'rejected':
      return `Access Denied: approval request ${approvalId} was rejected${state.decidedBy ? ` by ${state.decidedBy}` : ''}${state.comment ? `: ${state.comment}` : ''}.`;
    case 'expired':
      return `Access Denied: approval request ${approvalId} expired before anyone decided on it.`;
    default:
      return `Access Denied: approval request ${approvalId} was withdrawn.`;
  }
}

/** The job resource of a held job, as jobs.insert and jobs.get answer it. */
export function heldJobResource(rec: JobRecord): Record<string, unknown> {
  const held = rec.held!;
  const reference = { projectId: rec.project, jobId: rec.jobId, ...(rec.location && { location: rec.location }) };
  const status = held.error
    ? { state: 'DONE', errorResult: { ...held.error, domain: 'global' }, errors: [{ ...held.error, domain: 'global' }] }
    : rec.launching !== undefined
      ? { state: 'RUNNING' }
      : // Not in `errors`: clients take any entry there for a failure (the Node client's createQueryJob does).
        { state: 'PENDING', approval: { requestId: held.approvalId, ...(held.approvalUrl && { url: held.approvalUrl }), message: waitingMessage(held) } };
  return {
    kind: 'bigquery#job',
    id: `${rec.project}:${rec.location ? `${rec.location}.` : ''}${rec.jobId}`,
    jobReference: reference,
    configuration: held.job.configuration,
    status,
    statistics: {
      creationTime: String(rec.createdAt),
      ...(held.endedAt !== undefined && { endTime: String(held.endedAt) }),
    },
    user_email: rec.owner.subject,
  };
}

/** A getQueryResults / jobs.query answer for a job that has not finished: clients poll again. */
export function pendingResults(rec: JobRecord, kind: 'bigquery#queryResponse' | 'bigquery#getQueryResultsResponse'): Record<string, unknown> {
  return {
    kind,
    jobReference: { projectId: rec.project, jobId: rec.jobId, ...(rec.location && { location: rec.location }) },
    jobComplete: false,
  };
}

/** What reading the results of a held job that ended answers: its error. */
export function endedError(rec: JobRecord): BigQueryError {
  const error = rec.held!.error!;
  return new BigQueryError(error.reason === 'accessDenied' ? 403 : 400, error.reason, error.message);
}

function waitingMessage(held: HeldJob): string {
  return `Waiting for approval request ${held.approvalId}${held.approvalUrl ? ` at ${held.approvalUrl}` : ''}; the query runs once it is approved.`;
}
