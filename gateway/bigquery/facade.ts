// The BigQuery REST v2 surface agents talk to, unchanged clients pointed at the gateway:
// jobs.query, jobs.insert (query jobs), jobs.get, jobs.cancel, jobs.getQueryResults,
// tabledata.list, tables.get, and the catalog reads datasets.list, datasets.get and tables.list
// (filtered to what the caller may see, see catalog.ts). Everything else under /bigquery/v2 is refused.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PolicyInput } from '../../engine/index.ts';
import { canonicalTableId } from '../../engine/sql/tables.ts';
import type { HashKey, TableRow, TableSchema } from '../masking/index.ts';
import type { Connections, Connection } from '../connections.ts';
import { grantsCited } from '../approvals/grant-usage.ts';
import { fromStore, type Authorization, type Caller, type Enforcer, type HeldForApproval, type Route } from '../enforce.ts';
import { ForgedInternalCall, type InternalCalls } from '../internal-calls.ts';
import { ownedBy, queryDigest, type JobRecord, type JobStore } from '../jobs.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { trailOf, type RequestTrail } from '../request-audit.ts';
import { UpstreamFault, expectAnswer, invalidAnswer, type AnswerKind } from '../upstream/answers.ts';
import type { UpstreamResponse } from '../upstream/http.ts';
import type { Headers, Query } from '../upstream/bigquery.ts';
import {
  DATASET_ID,
  JudgeLimitReached,
  TABLE_ID,
  TableJudge,
  columnMasks,
  hasVisibleTable,
  visibleTables,
  wholeTableSpec,
  withColumnMasks,
  type TablePage,
} from './catalog.ts';
import { BigQueryError, accessDenied, errorInfo, invalid, isBigQueryErrorBody, unauthenticated } from './errors.ts';
import { HeldJobs, MAX_HELD_WAIT_MS, endedError, heldJobResource, pendingResults, type InsertJob } from './held-jobs.ts';
import { callerRequestId, parseInsertJob, parseQueryRequest, queryRequestAsJob, type QuerySpec } from './query-request.ts';
import {
  compileFor,
  jobKey,
  maskQueryResults,
  maskTableData,
  masksWithin,
  passesThrough,
  projectRows,
  resultPolicy,
  sanitizeJob,
  selectFields,
  upstreamMessage,
  WITHHELD_MESSAGE,
  type MaskCounts,
  type ResultPolicy,
} from './results.ts';

export interface FacadeOptions {
  enforcer: Enforcer;
  connections: Connections;
  jobs: JobStore;
  metrics: GatewayMetrics;
  hashKey: HashKey;
  /**
   * Commits the request's forward record; called before every upstream call that carries a
   * caller's request, and throws (a BigQuery 503) when the record cannot be written.
   */
  beforeForward: (req: FastifyRequest, operation: string) => Promise<void>;
  /** Calls the gateway's other doors (MCP) make on an authenticated caller's behalf. */
  internal: InternalCalls;
}

export const API_PREFIX = '/bigquery/v2';

type Params = Record<string, string>;
type Generic = { Params: Params; Querystring: Record<string, string | undefined>; Body: unknown };
type Req = FastifyRequest<Generic>;

/**
 * Query parameters forwarded to jobs.getQueryResults (`fields` is applied by the gateway). Not
 * `location`: the job's own is sent (see `atJobLocation`).
 */
const RESULTS_PARAMS = ['pageToken', 'startIndex', 'maxResults', 'timeoutMs', 'formatOptions.useInt64Timestamp', 'formatOptions.timestampOutputFormat'];
/** tabledata.list parameters forwarded (`selectedFields` is applied by the gateway after masking). */
const TABLEDATA_PARAMS = ['pageToken', 'startIndex', 'maxResults', 'formatOptions.useInt64Timestamp', 'formatOptions.timestampOutputFormat'];

/** A project id as the REST routes accept it (another door calling the enforcer directly checks it too). */
export const PROJECT_ID = /^(?:[a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,61}[a-z0-9]$/;
const JOB_ID = /^[A-Za-z0-9_-]{1,1024}$/;

/** Holding mode: `X-Sluice-Wait-Approval: <seconds>` waits this long at most for an approval. */
export const WAIT_APPROVAL_HEADER = 'x-sluice-wait-approval';
export const MAX_WAIT_APPROVAL_SECONDS = 300;

/** Milliseconds the caller asked to be held for an approval (capped); 0 without the header. */
export function holdMsOf(headers: Record<string, string | string[] | undefined>): number {
  const raw = headers[WAIT_APPROVAL_HEADER];
  if (raw === undefined) return 0;
  const text = (Array.isArray(raw) ? raw[0] ?? '' : raw).trim();
  if (!/^\d{1,9}$/.test(text)) {
    throw invalid(`Invalid X-Sluice-Wait-Approval header '${text.slice(0, 32)}': give whole seconds (at most ${MAX_WAIT_APPROVAL_SECONDS} are waited)`);
  }
  return Math.min(Number(text), MAX_WAIT_APPROVAL_SECONDS) * 1000;
}

export function registerFacade(app: FastifyInstance, o: FacadeOptions): void {
  const { enforcer, connections, jobs, metrics, hashKey, beforeForward, internal } = o;

  /** Route options naming the API method, for the request metrics (see server.ts onResponse). */
  const route = (name: string) => ({ config: { apiMethod: name } });

  const caller = async (req: Req): Promise<Caller> => {
    let call;
    try {
      call = internal.of(req);
    } catch (error) {
      if (!(error instanceof ForgedInternalCall)) throw error;
      const t = trailOf(req);
      if (t) t.tokenFailure = { reason: 'forged_internal_call', message: error.message, token: null };
      throw unauthenticated(`Request had invalid authentication credentials: ${error.message}.`, 'forged_internal_call');
    }
    if (!call) return enforcer.authenticate(req.headers.authorization, trailOf(req));
    const t = trailOf(req);
    if (t) {
      t.identity = call.caller.identity;
      t.door = call.door;
    }
    return call.caller;
  };

  /** Where the call's audit record collects what happened; a no-op sink outside the API routes. */
  const trail = (req: Req): RequestTrail | undefined => trailOf(req);

  /**
   * Aborted once the caller hangs up before its answer is written: held approvals end, upstream
   * calls are abandoned (and the job they wait on cancelled).
   */
  const hangUps = new WeakMap<FastifyReply, AbortSignal>();
  const hangUp = (reply: FastifyReply): AbortSignal => {
    let signal = hangUps.get(reply);
    if (!signal) {
      const gone = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) gone.abort(new Error('the caller went away'));
      });
      // A call through another door ends when that door's caller goes away.
      const door = internal.of(reply.request)?.signal;
      hangUps.set(reply, (signal = door ? AbortSignal.any([gone.signal, door]) : gone.signal));
    }
    return signal;
  };

  /** An upstream call on the caller's behalf: written ahead to the audit trail, then timed. Not sent once the caller is gone. */
  const upstream = async <T>(req: Req, reply: FastifyReply, operation: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const signal = hangUp(reply);
    await beforeForward(req, operation);
    if (signal.aborted) throw callerGone();
    const started = performance.now();
    try {
      return await metrics.time(metrics.upstreamSeconds, { operation }, () => call(signal));
    } catch (error) {
      throw signal.aborted ? callerGone() : error;
    } finally {
      trail(req)?.time('upstream', performance.now() - started);
    }
  };

  /**
   * The part of a call that reaches the upstream: refused at once while the caller waits out an
   * earlier unusable answer, and each unusable answer counted against the caller.
   */
  const throughUpstream = <T>(who: Caller, connection: Connection, work: () => Promise<T>): Promise<T> =>
    connection.faults.through(who.identity, work, (fault) => metrics.upstreamFaults.inc({ connection: connection.name, kind: fault.timedOut ? 'timeout' : 'unusable' }));

  /**
   * Cancels the caller's job upstream once the gateway stops waiting on it for the caller, and
   * says so in the request's record.
   */
  const cancelAbandoned = async (req: Req, connection: Connection, projectId: string, jobId: string, location: string | undefined, headers: Headers, reason: 'caller_gone' | 'upstream_timeout') => {
    const started = performance.now();
    let outcome: string;
    try {
      const res = await connection.upstream.cancelJob(projectId, jobId, location ? { location } : {}, headers);
      outcome = res.status === 200 ? 'cancelled' : `refused with HTTP ${res.status}`;
    } catch (error) {
      outcome = `failed: ${(error as Error).message}`;
    }
    metrics.upstreamCancels.inc({ reason, outcome: outcome === 'cancelled' ? 'cancelled' : 'failed' });
    req.log.info({ job: jobId, reason, outcome }, 'upstream job cancelled');
    const t = trail(req);
    if (t) t.upstreamCancel = { job_id: jobId, reason, outcome, ms: performance.now() - started };
  };

  /** Why the gateway stopped waiting on a job: the caller left, or the upstream timed out. */
  const abandonment = (signal: AbortSignal, error: unknown): 'caller_gone' | 'upstream_timeout' | undefined =>
    signal.aborted ? 'caller_gone' : error instanceof UpstreamFault && error.timedOut ? 'upstream_timeout' : undefined;

  const project = (req: Req): string => {
    const p = req.params.projectId ?? '';
    if (!PROJECT_ID.test(p)) throw invalid(`Invalid project ID '${p}'`);
    return p;
  };

  const datasetRef = (req: Req): { projectId: string; datasetId: string } => {
    const projectId = project(req);
    const { datasetId = '' } = req.params;
    if (!DATASET_ID.test(datasetId)) throw invalid(`Invalid dataset ID '${datasetId}'`);
    return { projectId, datasetId };
  };

  const tableRef = (req: Req): TableRef => {
    const { tableId = '' } = req.params;
    const dataset = datasetRef(req);
    if (!TABLE_ID.test(tableId)) throw invalid(`Invalid table ID '${tableId}'`);
    return { ...dataset, tableId };
  };

  const count = (req: Req, counts: MaskCounts) => {
    if (counts.cells > counts.scanned) metrics.maskedCells.inc({ kind: 'mask' }, counts.cells - counts.scanned);
    if (counts.scanned) metrics.maskedCells.inc({ kind: 'content_scan' }, counts.scanned);
    const t = trail(req);
    if (t) t.maskedCells = counts;
  };

  /** The masked answer, as the agent receives it, for the audit record (never upstream rows). */
  const answered = (req: Req, body: { schema?: TableSchema; rows?: TableRow[]; totalRows?: string } | undefined) => {
    const t = trail(req);
    if (t && body) t.response = { schema: body.schema ?? null, rows: body.rows ?? [], total_rows: body.totalRows ?? null };
  };

  const queryContext = (req: Req, reply: FastifyReply, who: Caller, connection: Connection, projectId: string, routeName: Route, spec: QuerySpec, dryRunFirst: boolean) => {
    const t = trail(req);
    if (t) {
      t.connection = connection.name;
      t.project = projectId;
      t.sql = spec.sql;
    }
    const holdMs = holdMsOf(req.headers);
    // A caller that hangs up ends its hold.
    const signal = holdMs > 0 ? hangUp(reply) : undefined;
    return { caller: who, connection, project: projectId, route: routeName, spec, log: req.log, requestId: req.id, trail: t, holdMs, signal, dryRunFirst };
  };

  const authorize = async (req: Req, reply: FastifyReply, who: Caller, connection: Connection, projectId: string, routeName: Route, spec: QuerySpec, dryRunFirst = false) => {
    const auth = await enforcer.authorize(queryContext(req, reply, who, connection, projectId, routeName, spec, dryRunFirst));
    internal.of(req)?.decisions.push(auth.decision);
    return auth;
  };

  /** As `authorize`, but a query needing approval may come back held, to be answered as a PENDING job. The MCP door's calls never are. */
  const authorizeOrHold = async (req: Req, reply: FastifyReply, who: Caller, connection: Connection, projectId: string, routeName: Route, spec: QuerySpec, dryRunFirst = false): Promise<Authorization | HeldForApproval> =>
    internal.of(req) ? authorize(req, reply, who, connection, projectId, routeName, spec, dryRunFirst) : enforcer.authorizeOrHold(queryContext(req, reply, who, connection, projectId, routeName, spec, dryRunFirst));

  const noteJob = (req: Req, id: string, projectId: string, location: string | undefined) => {
    const t = trail(req);
    if (t) t.job = { id, project: projectId, location };
  };

  const record = (who: Caller, connection: Connection, projectId: string, jobId: string, location: string | undefined, auth: Authorization): JobRecord => ({
    project: projectId,
    jobId,
    location,
    connection: connection.name,
    owner: { issuer: who.identity.issuer, subject: who.identity.subject },
    outcome: auth.decision.outcome,
    ...resultPolicy(auth.decision, auth.input),
    credentialTtlSeconds: auth.decision.credential_ttl_seconds,
    revision: auth.revision,
    sqlHash: auth.input.sql.hash,
    createdAt: Date.now(),
    grantIds: grantsCited(auth.decision, auth.input.grants ?? []),
  });

  const heldJobs = new HeldJobs({
    enforcer,
    jobs,
    approvals: enforcer.approvals,
    recordOf: (who, rec, auth) => record(who, connections.forProject(rec.project), rec.project, rec.jobId, rec.location, auth),
  });

  /** A new job held for an approval: registered, nothing sent upstream. */
  const holdJob = async (req: Req, who: Caller, connection: Connection, projectId: string, jobId: string, location: string | undefined, held: HeldForApproval['held'], job: Record<string, unknown>): Promise<JobRecord> => {
    noteJob(req, jobId, projectId, location);
    const rec = heldJobs.record({ project: projectId, jobId, location, connection: connection.name, owner: { issuer: who.identity.issuer, subject: who.identity.subject } }, held, job);
    if (!(await fromStore('record the job', () => jobs.register(rec)))) throw new BigQueryError(409, 'duplicate', `Already Exists: Job ${projectId}:${jobId}`);
    req.log.info({ held_job: { job: jobId, approval: held.approvalId } }, 'query held as a pending job');
    return rec;
  };

  /** A held job moved on as far as its approval allows (launched once approved). */
  const advanceHeld = async (req: Req, reply: FastifyReply, who: Caller, c: JobContext, waitMs: number): Promise<JobContext> => {
    if (!c.rec.held) return c;
    const ctx = { caller: who, connection: c.connection, log: req.log, requestId: req.id, trail: trail(req), signal: hangUp(reply) };
    // Written ahead to this poll's audit record, and not bound to it: a job claimed for launch is
    // inserted even if the caller hangs up meanwhile.
    const insert: InsertJob = async (claimed, parsed, auth) => {
      noteJob(req, claimed.jobId, claimed.project, claimed.location);
      await beforeForward(req, 'jobs.insert');
      const res = await metrics.time(metrics.upstreamSeconds, { operation: 'jobs.insert' }, () =>
        c.connection.upstream.insertJob(claimed.project, parsed.forwardJob(claimed.jobId, auth.decision.limits?.maximum_bytes_billed), auth.headers),
      );
      // A 409 means the id names a job made elsewhere (a stalled launch is never inserted again): it ends the held job, never serves that job.
      expectAnswer<object>('jobs.insert', res, 'job', upstreamMessage(resultPolicy(auth.decision, auth.input)));
      return answeredLocation(res.body);
    };
    const { rec, headers } = await heldJobs.advance(ctx, c.rec, waitMs, insert);
    if (rec.held) return { ...c, rec };
    return { ...c, rec, headers: headers ?? (await enforcer.credentialHeaders(c.connection, who, rec.credentialTtlSeconds)) };
  };

  /** Pages of a job whose grant was revoked are refused; a grant that merely expired keeps them readable. */
  const refuseRevokedGrants = async (req: Req, rec: { jobId?: string | undefined; grantIds?: readonly string[] | undefined }) => {
    const revoked = await enforcer.revokedGrants(rec.grantIds);
    if (revoked.length === 0) return;
    req.log.info({ job: rec.jobId, revoked_grants: revoked }, 'results refused: a grant the job relied on was revoked');
    throw accessDenied(`Access Denied: the grant(s) ${revoked.join(', ')} this job relied on were revoked; its results are no longer served. [grant_revoked]`, [
      errorInfo('GRANT_REVOKED', { reasons: 'grant_revoked', grants: revoked.join(','), ...(rec.jobId && { job_id: rec.jobId }), request_id: req.id }),
    ]);
  };

  /** The job, if the gateway ran it for this caller; refused otherwise (whether or not it exists). */
  const ownJob = async (who: Caller, projectId: string, jobId: string): Promise<JobRecord> => {
    if (!JOB_ID.test(jobId)) throw invalid(`Invalid job ID '${jobId}'`);
    const rec = await fromStore('look the job up', () => jobs.get(projectId, jobId));
    if (!rec || !ownedBy(rec, who.identity)) {
      throw accessDenied(`Access Denied: Job ${projectId}:${jobId}: only jobs this gateway ran for ${who.identity.subject} can be read through it.`);
    }
    return rec;
  };

  /** What every call on an existing job needs: its owner checked, its connection and a credential. */
  const jobContext = async (req: Req, reply: FastifyReply, who: Caller): Promise<JobContext> => {
    const projectId = project(req);
    const rec = await ownJob(who, projectId, req.params.jobId!);
    noteJob(req, rec.jobId, projectId, rec.location);
    // Until its insert is answered, the id may name a job made outside the gateway (read or cancelled in its place).
    if (rec.inserting) {
      throw new BigQueryError(404, 'notFound', `Not found: Job ${projectId}:${rec.jobId}: its insert has not been answered yet, so the job cannot be read or cancelled through the gateway; try again once jobs.insert has answered.`);
    }
    const connection = connections.forProject(projectId);
    // A held job has run nothing upstream yet: no credential until it is launched.
    const headers = rec.held ? {} : await enforcer.credentialHeaders(connection, who, rec.credentialTtlSeconds);
    const c = { projectId, rec, connection, headers };
    return rec.unconfirmed && rec.sent !== undefined ? confirmed(req, reply, who, c) : c;
  };

  /**
   * A job whose insert failed in transit: the id may name a job made outside the gateway, which
   * its owner would read (or cancel) with the masks of its own query. Served only once BigQuery
   * shows a job under the id running the query the gateway sent; refused otherwise, as a job
   * the gateway did not run for the caller is.
   */
  const confirmed = async (req: Req, reply: FastifyReply, who: Caller, c: JobContext): Promise<JobContext> => {
    const { projectId, rec, connection, headers } = c;
    const res = await throughUpstream(who, connection, () =>
      upstream(req, reply, 'jobs.get', (signal) => connection.upstream.getJob(projectId, rec.jobId, atJobLocation(rec), headers, { signal })),
    );
    const job = res.status === 404 ? undefined : expectAnswer<{ configuration?: { query?: unknown } }>('jobs.get', res, 'job', () => WITHHELD_MESSAGE);
    if (!job || queryDigest(job.configuration?.query) !== rec.sent) {
      req.log.info({ job: rec.jobId }, 'unconfirmed job refused: BigQuery shows no job under its id running the query the gateway sent');
      throw accessDenied(`Access Denied: Job ${projectId}:${rec.jobId}: only jobs this gateway ran for ${who.identity.subject} can be read through it.`);
    }
    // Still never cancelled on the gateway's own account: a job made elsewhere may run the same query.
    const { sent: _sent, ...checked } = rec;
    await fromStore('record the job', () => jobs.update(checked));
    return { ...c, rec: checked };
  };

  const policyOf = (rec: JobRecord): ResultPolicy => ({ masks: rec.masks, contentScan: rec.contentScan, outputs: rec.outputs, withholdErrors: rec.withholdErrors, rowless: rec.rowless });

  /**
   * The tables a finished job read, as its statistics name them, decided on again with the input
   * the query was decided on: a table the parser missed withholds every row, as the dry-run check
   * would have refused the query. Recorded in the call's trail either way.
   */
  const checkJobTables = async (req: Req, reply: FastifyReply, connection: Connection, input: PolicyInput, projectId: string, jobId: string, location: string | undefined, headers: Headers, route: Route | 'jobs.getQueryResults' | 'jobs.get') => {
    const res = await upstream(req, reply, 'jobs.get', (signal) => connection.upstream.getJob(projectId, jobId, location ? { location } : {}, headers, { signal }));
    const job = expectAnswer<JobStatistics>('jobs.get', res, 'job', () => WITHHELD_MESSAGE);
    const stats = job.statistics?.query;
    const named = stats?.referencedTables?.map((t) => `${t.projectId}.${t.datasetId}.${t.tableId}`);
    const referencedTables = named?.length ? named : undefined;
    const bytes = Number(stats?.totalBytesProcessed ?? job.statistics?.totalBytesProcessed ?? 0);
    const evaluation = enforcer.recheck({ route: 'jobs.query', connection, trail: trail(req), log: req.log }, input, { bytes: Number.isFinite(bytes) ? bytes : 0, referencedTables });
    const { outcome, reasons } = evaluation.decision;
    const passed = outcome === 'allow' || outcome === 'mask';
    const t = trail(req);
    if (t) t.jobCheck = { referenced_tables: referencedTables ?? null, outcome: passed ? 'passed' : 'withheld', reasons: reasons.map((r) => r.code) };
    req.log.info({ job_check: { route, job: jobId, outcome: passed ? 'passed' : 'withheld', reasons: reasons.map((r) => r.code) } }, 'job tables checked');
    if (passed) return;
    const codes = reasons.map((r) => r.code);
    throw accessDenied(
      `Access Denied: the query ran, but the sluice policy withholds its results: ${reasons.map((r) => r.message).join('; ') || 'no reason given'}. [${codes.join(', ')}]`,
      [errorInfo('POLICY_DENIED', { reasons: codes.join(','), policy_revision: evaluation.revision, request_id: req.id, job_id: jobId })],
    );
  };

  // jobs.query
  app.post<Generic>(`${API_PREFIX}/projects/:projectId/queries`, route('jobs.query'), async (req, reply) => {
    const who = await caller(req);
    const projectId = project(req);
    const connection = connections.forProject(projectId);
    const parsed = parseQueryRequest(projectId, req.body);
    /** A query held for an approval: a job whose results the client polls for, as for any query that has not finished. */
    const held = async (h: HeldForApproval) => {
      const rec = await holdJob(req, who, connection, projectId, `sluice_${randomUUID().replaceAll('-', '_')}`, parsed.spec.location, h.held, queryRequestAsJob(req.body));
      return pendingResults(rec, 'bigquery#queryResponse');
    };
    return throughUpstream(who, connection, async () => {
      const decided = await authorizeOrHold(req, reply, who, connection, projectId, 'jobs.query', parsed.spec);
      if ('held' in decided) return held(decided);
      let auth = decided;
      // Not abandoned when the caller hangs up: the job's id comes only with the answer, and is
      // needed to cancel it.
      // Under a cap the finished job's tables are checked before any row is released (when the
      // connection requires them named), so the query must make a job whose statistics say so.
      const checksTables = (a: typeof auth) => a.estimate === undefined && connection.requireReferencedTables && !parsed.spec.dryRun;
      const send = (a: typeof auth) => {
        const body = connection.upstream.boundLongPoll(callerRequestId(parsed.forward(a.decision.limits?.maximum_bytes_billed), who.identity));
        const forward = checksTables(a) ? { ...body, jobCreationMode: 'JOB_CREATION_REQUIRED' } : body;
        return upstream(req, reply, 'jobs.query', () => connection.upstream.query(projectId, forward, a.headers));
      };
      let res = await send(auth);
      const cap = auth.estimate === undefined ? auth.decision.limits?.maximum_bytes_billed : undefined;
      if (cap !== undefined && refusedForCap(res) && (parsed.spec.maximumBytesBilled === undefined || parsed.spec.maximumBytesBilled >= cap)) {
        // BigQuery refused the job for the policy's cap, billing nothing: decide again on a dry run's
        // estimate, which answers as the dry-run-first mode would (an approval request, a denial, or
        // the query run again under the cap that estimate gives).
        const t = trail(req);
        if (t) t.byteCap = { maximum_bytes_billed: cap, exceeded: true };
        const again = await authorizeOrHold(req, reply, who, connection, projectId, 'jobs.query', parsed.spec, true);
        if ('held' in again) return held(again);
        auth = again;
        res = await send(auth);
      } else if (cap !== undefined) {
        const t = trail(req);
        if (t) t.byteCap = { maximum_bytes_billed: cap, exceeded: false };
      }
      const policy = resultPolicy(auth.decision, auth.input);
      const answer = expectAnswer<QueryResults>('jobs.query', res, 'query results', upstreamMessage(policy));
      // Under a cap, the tables the finished job read are checked before any row is released.
      const checkTables = checksTables(auth);
      // A dry run reads nothing: rows in its answer (an upstream that ran the query anyway, or one
      // repeating an earlier answer for the requestId) are not the dry run's, and are dropped. Nor
      // are the rows a job still running has written so far (incremental results) released before
      // its tables are checked.
      const body = parsed.spec.dryRun || (checkTables && answer.jobComplete === false) ? withoutRows(answer) : answer;
      const jobId = body.jobReference?.jobId;
      if (jobId) noteJob(req, jobId, projectId, body.jobReference?.location);
      const t = trail(req);
      if (t && body.totalBytesProcessed !== undefined) t.processedBytes = body.totalBytesProcessed;
      if (checkTables && !jobId) {
        throw accessDenied('Access Denied: BigQuery ran the query without a job, so the tables it read cannot be checked; its results are withheld.');
      }
      // Checked before the job is registered: a job whose rows are withheld is never served later.
      if (checkTables && jobId && body.jobComplete !== false) {
        await checkJobTables(req, reply, connection, auth.input, projectId, jobId, body.jobReference?.location, auth.headers, 'jobs.query');
      }
      if (jobId && !parsed.spec.dryRun) {
        const rec = record(who, connection, projectId, jobId, body.jobReference?.location, auth);
        // Still running: the first page that finds it done checks its tables.
        if (checkTables && body.jobComplete === false) rec.tablesCheck = { input: { ...auth.input, sql: { ...auth.input.sql, text: '' } } };
        const consequence = 'the query ran, but its results are withheld';
        // A retry with the same requestId gets the same job back from BigQuery: the caller's own
        // job for the same statement is known already, and keeps the record it got first.
        const known = async () => {
          const existing = await jobs.get(projectId, jobId);
          return existing !== undefined && ownedBy(existing, who.identity) && existing.sqlHash === rec.sqlHash;
        };
        if (!(await fromStore('record the job', () => jobs.register(rec), consequence)) && !(await fromStore('record the job', known, consequence))) {
          throw accessDenied(`Access Denied: Job ${projectId}:${jobId} is already known to the gateway under another request.`);
        }
      }
      // A grant revoked while the query ran lets none of its rows out, as it lets out no later page.
      if (!parsed.spec.dryRun) await refuseRevokedGrants(req, { jobId, grantIds: grantsCited(auth.decision, auth.input.grants ?? []) });
      // Only now is the job known to be this caller's: one it has left is cancelled.
      if (hangUp(reply).aborted) {
        if (jobId && !parsed.spec.dryRun && body.jobComplete === false) {
          await cancelAbandoned(req, connection, projectId, jobId, body.jobReference?.location, auth.headers, 'caller_gone');
        }
        throw callerGone();
      }
      const counts = { cells: 0, scanned: 0 };
      // The job as getQueryResults names it for its later pages (RANDOM_HASH agrees on all of them).
      const masked = maskQueryResults('jobs.query', body, policy, hashKey, counts, jobId ? jobKey(projectId, jobId) : undefined);
      count(req, counts);
      answered(req, masked);
      return masked;
    });
  });

  // jobs.insert (query jobs only)
  app.post<Generic>(`${API_PREFIX}/projects/:projectId/jobs`, route('jobs.insert'), async (req, reply) => {
    const who = await caller(req);
    const projectId = project(req);
    const connection = connections.forProject(projectId);
    const parsed = parseInsertJob(projectId, req.body);
    return throughUpstream(who, connection, async () => {
      const auth = await authorizeOrHold(req, reply, who, connection, projectId, 'jobs.insert', parsed.spec);
      const jobId = parsed.jobId ?? `sluice_${randomUUID().replaceAll('-', '_')}`;
      if ('held' in auth) {
        const { jobReference: _reference, ...job } = req.body as Record<string, unknown>;
        return heldJobResource(await holdJob(req, who, connection, projectId, jobId, parsed.spec.location, auth.held, job));
      }
      const policy = resultPolicy(auth.decision, auth.input);
      noteJob(req, jobId, projectId, parsed.spec.location);
      const cap = auth.decision.limits?.maximum_bytes_billed;
      // Recorded (with its job id) before it is registered: a job refused for want of a record is
      // not left registered. Registered before the job exists upstream, so a poll racing the insert
      // finds it.
      await beforeForward(req, 'jobs.insert');
      if (!parsed.spec.dryRun && !(await fromStore('record the job', () => jobs.register({ ...record(who, connection, projectId, jobId, parsed.spec.location, auth), inserting: true })))) {
        throw new BigQueryError(409, 'duplicate', `Already Exists: Job ${projectId}:${jobId}`);
      }
      // Not abandoned when the caller hangs up, nor cancelled when it times out: only a 200 says
      // this call created the job (the id may name a job made outside the gateway), and only a
      // job it created is cancelled. A transport failure leaves the record, marked unconfirmed:
      // the job may exist upstream, and its owner may read it.
      let res;
      let sent = false;
      const forwarded = parsed.forwardJob(jobId, cap);
      try {
        res = await upstream(req, reply, 'jobs.insert', () => {
          sent = true;
          return connection.upstream.insertJob(projectId, forwarded, auth.headers);
        });
      } catch (error) {
        if (!parsed.spec.dryRun && !sent) {
          // Never sent (the caller hung up first): the id names no job this insert made. Left
          // registered, it stays unreadable (never answered) until it expires.
          await jobs.delete(projectId, jobId).catch((e: Error) => req.log.warn({ job: jobId, err: { type: e.name, message: e.message } }, 'job not forgotten'));
        } else if (!parsed.spec.dryRun) {
          const unconfirmed = { ...record(who, connection, projectId, jobId, parsed.spec.location, auth), unconfirmed: true, sent: queryDigest((forwarded.configuration as { query?: unknown }).query) };
          await jobs.update(unconfirmed).catch((e: Error) => req.log.warn({ job: jobId, err: { type: e.name, message: e.message } }, 'job not marked unconfirmed'));
        }
        throw error;
      }
      if (res.status !== 200 && !parsed.spec.dryRun) {
        // Nothing was created (or the id belonged to a job made elsewhere): forget it.
        await fromStore('forget the job', () => jobs.delete(projectId, jobId));
      } else if (!parsed.spec.dryRun) {
        // Only now is the job known to be the one this insert made: it is served from here on, in
        // the location BigQuery put it (it picks one when the caller names none).
        const location = answeredLocation(res.body) ?? parsed.spec.location;
        await fromStore('record the job', () => jobs.update(record(who, connection, projectId, jobId, location, auth)), 'the job was created, but it cannot be read through the gateway');
      }
      const job = expectAnswer<object>('jobs.insert', res, 'job', upstreamMessage(policy));
      if (hangUp(reply).aborted && !parsed.spec.dryRun) {
        // Where BigQuery put the job: named without a location, the id may name another job in the default one.
        await cancelAbandoned(req, connection, projectId, jobId, answeredLocation(res.body) ?? parsed.spec.location, auth.headers, 'caller_gone');
        throw callerGone();
      }
      return sanitizeJob(job, policy, hashKey);
    });
  });

  /**
   * A call on one of the caller's jobs. One that waits on the job (the getQueryResults long poll)
   * cancels it when the gateway stops waiting; a status read or a cancel does not (a client's
   * short HTTP timeout on a status read must not end the job it still wants).
   */
  const onJob = async (req: Req, reply: FastifyReply, who: Caller, c: JobContext, operation: string, kind: AnswerKind, waits: boolean, call: (c: JobContext, signal: AbortSignal) => Promise<UpstreamResponse>) => {
    return throughUpstream(who, c.connection, async () => {
      let res;
      try {
        res = await upstream(req, reply, operation, (signal) => call(c, signal));
      } catch (error) {
        const why = waits && !c.rec.unconfirmed && abandonment(hangUp(reply), error);
        if (why) await cancelAbandoned(req, c.connection, c.projectId, c.rec.jobId, c.rec.location, c.headers, why);
        throw error;
      }
      return { c, body: expectAnswer<Record<string, unknown>>(operation, res, kind, upstreamMessage(policyOf(c.rec))) };
    });
  };

  /** The caller and its job; a job held for an approval is moved on as far as its approval allows. */
  const ownJobCall = async (req: Req, reply: FastifyReply, heldWaitMs: number | undefined) => {
    const who = await caller(req);
    const c = await jobContext(req, reply, who);
    return { who, c: heldWaitMs === undefined ? c : await advanceHeld(req, reply, who, c, heldWaitMs) };
  };

  // jobs.get
  app.get<Generic>(`${API_PREFIX}/projects/:projectId/jobs/:jobId`, route('jobs.get'), async (req, reply) => {
    const { who, c: job } = await ownJobCall(req, reply, 0);
    if (job.rec.held) return selectFields(heldJobResource(job.rec), req.query.fields);
    const { c, body } = await onJob(req, reply, who, job, 'jobs.get', 'job', false, ({ projectId, rec, connection, headers }, signal) =>
      connection.upstream.getJob(projectId, rec.jobId, atJobLocation(rec), headers, { signal }),
    );
    const pending = c.rec.tablesCheck;
    if (pending) {
      // A job whose tables are not checked yet shows none of its statistics (its result's schema,
      // the tables it read, its plan's row counts): once it is done, its tables are checked first.
      if (!doneWithoutError(body)) return selectFields(sanitizeJob(withoutStatistics(body), policyOf(c.rec), hashKey), req.query.fields);
      await checkJobTables(req, reply, c.connection, pending.input, c.projectId, c.rec.jobId, c.rec.location, c.headers, 'jobs.get');
      const { tablesCheck: _, ...checked } = c.rec;
      await fromStore('record the job\'s table check', () => jobs.update(checked), 'the query ran, but its results are withheld');
    }
    return selectFields(sanitizeJob(body, policyOf(c.rec), hashKey), req.query.fields);
  });

  // jobs.cancel (own jobs)
  app.post<Generic>(`${API_PREFIX}/projects/:projectId/jobs/:jobId/cancel`, route('jobs.cancel'), async (req, reply) => {
    const { who, c: job } = await ownJobCall(req, reply, undefined);
    if (job.rec.held) {
      // Cancelling a held job withdraws its approval request; one already launched is cancelled upstream.
      const rec = await heldJobs.cancel(who, job.rec);
      if (rec.held) return { kind: 'bigquery#jobCancelResponse', job: heldJobResource(rec) };
      job.rec = rec;
      job.headers = await enforcer.credentialHeaders(job.connection, who, rec.credentialTtlSeconds);
    }
    const { c, body } = await onJob(req, reply, who, job, 'jobs.cancel', 'cancel answer', false, ({ projectId, rec, connection, headers }) =>
      connection.upstream.cancelJob(projectId, rec.jobId, atJobLocation(rec), headers),
    );
    // A job whose tables are not checked yet shows none of its statistics (see jobs.get).
    const cancelled = body.job && c.rec.tablesCheck ? withoutStatistics(body.job as Record<string, unknown>) : body.job;
    return cancelled ? { ...body, job: sanitizeJob(cancelled as object, policyOf(c.rec), hashKey) } : body;
  });

  // jobs.getQueryResults: every page masked with the masks decided when the job was created.
  app.get<Generic>(`${API_PREFIX}/projects/:projectId/queries/:jobId`, route('jobs.getQueryResults'), async (req, reply) => {
    const timeoutMs = Number(req.query.timeoutMs ?? MAX_HELD_WAIT_MS);
    const { who, c: job } = await ownJobCall(req, reply, Number.isFinite(timeoutMs) ? Math.max(0, timeoutMs) : 0);
    if (job.rec.held) {
      if (job.rec.held.error) throw endedError(job.rec);
      return selectFields(pendingResults(job.rec, 'bigquery#getQueryResultsResponse'), req.query.fields);
    }
    await refuseRevokedGrants(req, job.rec);
    const { c, body } = await onJob(req, reply, who, job, 'jobs.getQueryResults', 'query results', true, ({ projectId, rec, connection, headers }, signal) =>
      connection.upstream.getQueryResults(projectId, rec.jobId, connection.upstream.boundLongPoll({ ...pick(req.query, RESULTS_PARAMS), ...atJobLocation(rec) }), headers, { signal }),
    );
    const pending = c.rec.tablesCheck;
    if (pending && body.jobComplete !== false) {
      await checkJobTables(req, reply, c.connection, pending.input, c.projectId, c.rec.jobId, c.rec.location, c.headers, 'jobs.getQueryResults');
      const { tablesCheck: _, ...checked } = c.rec;
      await fromStore('record the job\'s table check', () => jobs.update(checked), 'the query ran, but its results are withheld');
    }
    // The rows a job still running has written so far (incremental results) wait for its table check.
    const page = pending && body.jobComplete === false ? withoutRows(body) : body;
    const counts = { cells: 0, scanned: 0 };
    // Named by the job the caller asked about, as jobs.query names it: RANDOM_HASH agrees on every page.
    const masked = maskQueryResults('jobs.getQueryResults', page as QueryResults, policyOf(c.rec), hashKey, counts, jobKey(c.projectId, c.rec.jobId));
    count(req, counts);
    answered(req, masked);
    return selectFields(masked, req.query.fields);
  });

  /** `SELECT *` on a table, as tabledata.list and tables.get are judged. */
  const wholeTable = async (req: Req, reply: FastifyReply, who: Caller, connection: Connection, ref: TableRef, dryRun: boolean) => {
    const auth = await authorize(req, reply, who, connection, ref.projectId, 'tabledata.list', wholeTableSpec(ref, dryRun));
    const fields = auth.schemas[canonicalTableId(`${ref.projectId}.${ref.datasetId}.${ref.tableId}`)];
    // Every column of the table is asked for.
    const policy: ResultPolicy = { masks: auth.decision.masks, contentScan: auth.decision.content_scan, outputs: fields?.map((f) => f.name.toLowerCase()) };
    return { auth, policy, fields };
  };

  // tabledata.list: judged as `SELECT *` on the table, masked the same way.
  app.get<Generic>(`${API_PREFIX}/projects/:projectId/datasets/:datasetId/tables/:tableId/data`, route('tabledata.list'), async (req, reply) => {
    const who = await caller(req);
    const ref = tableRef(req);
    const connection = connections.forProject(ref.projectId);
    return throughUpstream(who, connection, async () => {
      const { auth, policy, fields } = await wholeTable(req, reply, who, connection, ref, false);
      const res = await upstream(req, reply, 'tabledata.list', (signal) =>
        connection.upstream.listTableData(ref.projectId, ref.datasetId, ref.tableId, pick(req.query, TABLEDATA_PARAMS), auth.headers, { signal }),
      );
      const body = expectAnswer<{ rows?: TableRow[]; totalRows?: string }>('tabledata.list', res, 'table data', upstreamMessage(policy));
      // Rows are read by the table's schema: without it they can be neither checked nor masked.
      if (!fields && body.rows?.length) {
        throw accessDenied(`Access Denied: Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}: its schema is unknown to the gateway, so its rows cannot be checked or masked.`);
      }
      const counts = { cells: 0, scanned: 0 };
      const masked = fields ? maskTableData(body, { fields } as TableSchema, policy, hashKey, counts) : body;
      count(req, counts);
      const selectedFields = fieldList(req.query, 'selectedFields');
      if (fields && masked.rows && selectedFields) {
        masked.rows = projectRows(masked.rows, { fields } as TableSchema, selectedFields);
      }
      // Rows only reach the agent (and the trail) masked, or unmasked when nothing applies to them.
      // tabledata.list answers carry no schema: the rows as sent are recorded.
      answered(req, { rows: masked.rows ?? [], ...(masked.totalRows !== undefined && { totalRows: masked.totalRows }) });
      return selectFields(masked, req.query.fields);
    });
  });

  // tables.get: clients read the schema before tabledata.list (the Node client's getRows does).
  // Served to whoever may read the table, with the schema the masked rows will follow, each
  // masked field saying how (`sluiceMask`, see catalog.ts).
  app.get<Generic>(`${API_PREFIX}/projects/:projectId/datasets/:datasetId/tables/:tableId`, route('tables.get'), async (req, reply) => {
    const who = await caller(req);
    const ref = tableRef(req);
    const connection = connections.forProject(ref.projectId);
    return throughUpstream(who, connection, async () => {
      const { auth, policy } = await wholeTable(req, reply, who, connection, ref, true);
      const res = await upstream(req, reply, 'tables.get', (signal) =>
        connection.upstream.getTable(ref.projectId, ref.datasetId, ref.tableId, { selectedFields: fieldList(req.query, 'selectedFields') }, auth.headers, { signal }),
      );
      const table = pickKeys(expectAnswer<Record<string, unknown>>('tables.get', res, 'table'), TABLE_FIELDS) as { schema?: TableSchema };
      if (table.schema) table.schema = shownSchema(table.schema);
      if (table.schema && !passesThrough(policy, table.schema)) {
        const masks = masksWithin(policy.masks, table.schema);
        const masked = compileFor({ ...policy, masks }, table.schema, hashKey).schema;
        table.schema = withColumnMasks(masked, columnMasks({ masks, content_scan: policy.contentScan }, table.schema));
      }
      // The schema as the caller was shown it, masks included.
      if (table.schema) answered(req, { schema: table.schema });
      return selectFields(table, req.query.fields);
    });
  });

  // Catalog reads: datasets.list, datasets.get, tables.list. Answered with what the caller may
  // see (catalog.ts); filtered page by page, so a page may hold fewer than maxResults items.

  /** A dataset the caller may not see: one refusal whether or not it exists (no existence oracle). */
  const noDataset = (who: Caller, projectId: string, datasetId: string) =>
    accessDenied(`Access Denied: Dataset ${projectId}:${datasetId}: it does not exist, or it holds no table ${who.identity.subject} may read through the sluice gateway.`);

  /**
   * Runs one catalog read for the caller: its upstream reads carry the pre-decision credential,
   * its judgements share one budget, and the call's log line and record say what was judged.
   */
  const catalogCall = async <T>(req: Req, reply: FastifyReply, who: Caller, projectId: string, work: (c: CatalogCall) => Promise<T>): Promise<T> => {
    const connection = connections.forProject(projectId);
    const t = trail(req);
    if (t) {
      t.connection = connection.name;
      t.project = projectId;
    }
    const signal = hangUp(reply);
    const judge = new TableJudge({ enforcer, caller: who, connection, project: projectId, requestId: req.id, signal });
    try {
      return await throughUpstream(who, connection, async () => {
        const headers = await enforcer.credentialHeaders(connection, who, CATALOG_CREDENTIAL_TTL);
        const read = (operation: string, path: string, query: Query) =>
          upstream(req, reply, operation, (s) => connection.upstream.call('GET', `/projects/${seg(projectId)}${path}`, headers, { query, signal: s }));
        return work({ who, projectId, judge, read });
      });
    } catch (error) {
      throw signal.aborted ? callerGone() : error;
    } finally {
      t?.time('decision', judge.ms);
      const fields = { catalog: { route: t?.route, subject: who.identity.subject, project: projectId, judged: judge.judged, limit: judge.limit, limit_reached: judge.limitReached } };
      // Refused (datasets.list, a tables.list page), or what was left unjudged treated as not visible.
      if (judge.limitReached) req.log.warn(fields, 'catalog read reached its judgement limit');
      else req.log.info(fields, 'catalog read judged');
    }
  };

  /**
   * A page of a dataset's tables upstream; undefined when the upstream does not know the dataset
   * or refuses it (the caller is then refused as for a dataset it may not see).
   */
  const tablesPage = async (c: CatalogCall, datasetId: string, query: Query): Promise<TableListBody | undefined> => {
    const res = await c.read('tables.list', `/datasets/${seg(datasetId)}/tables`, query);
    if (unknownToUpstream(res)) return undefined;
    return expectList<TableListBody>('tables.list', res, 'table list', 'tables');
  };

  const refsOf = (c: CatalogCall, datasetId: string) => (item: TableListItem) => {
    const ref = item.tableReference;
    // Judged as what the entry names, and only when that is a table of the dataset asked for.
    return ref && ref.projectId === c.projectId && ref.datasetId === datasetId && typeof ref.tableId === 'string' ? { projectId: c.projectId, datasetId, tableId: ref.tableId } : undefined;
  };

  /** Whether the caller may see any table of the dataset (from its page `from` on, if given). */
  const datasetVisible = (c: CatalogCall, datasetId: string, from?: string): Promise<boolean> =>
    hasVisibleTable(
      c.judge,
      async (pageToken): Promise<TablePage> => {
        const page = await tablesPage(c, datasetId, pageToken === undefined ? {} : { pageToken });
        const refs = (page?.tables ?? []).map(refsOf(c, datasetId)).filter((r) => r !== undefined);
        return { tables: refs, nextPageToken: page?.nextPageToken };
      },
      from,
    );

  /**
   * datasetVisible for a dataset the caller named: running out of judgements counts as not
   * visible, since refusing for the limit would say the dataset exists (the log says so).
   */
  const visibleWithinLimit = (c: CatalogCall, datasetId: string, from?: string): Promise<boolean> =>
    datasetVisible(c, datasetId, from).catch((error: unknown) => {
      if (error instanceof JudgeLimitReached) return false;
      throw error;
    });

  /** The audit record's answer of a listing: the names the caller was shown, one row each. */
  const listed = (req: Req, column: 'dataset' | 'table', names: string[]) =>
    answered(req, { schema: { fields: [{ name: column, type: 'STRING' }] }, rows: names.map((n) => ({ f: [{ v: n }] })), totalRows: String(names.length) });

  // datasets.list: the datasets of the page holding a table the caller may see.
  app.get<Generic>(`${API_PREFIX}/projects/:projectId/datasets`, route('datasets.list'), async (req, reply) => {
    const who = await caller(req);
    const projectId = project(req);
    return catalogCall(req, reply, who, projectId, async (c) => {
      // `filter` (by label) is not passed: labels are not shown, so they may not be probed either.
      const res = await c.read('datasets.list', '/datasets', pick(req.query, ['pageToken', 'maxResults', 'all']));
      const body = expectList<DatasetListBody>('datasets.list', res, 'dataset list', 'datasets');
      const shown: Record<string, unknown>[] = [];
      for (const item of body.datasets ?? []) {
        const ref = item.datasetReference;
        if (!ref || ref.projectId !== projectId || typeof ref.datasetId !== 'string' || !DATASET_ID.test(ref.datasetId)) continue;
        if (await datasetVisible(c, ref.datasetId)) shown.push(pickKeys(item, DATASET_LIST_FIELDS));
      }
      listed(req, 'dataset', shown.map((d) => `${projectId}.${(d.datasetReference as { datasetId: string }).datasetId}`));
      return selectFields({ kind: 'bigquery#datasetList', datasets: shown, ...(body.nextPageToken && { nextPageToken: body.nextPageToken }) }, req.query.fields);
    });
  });

  // datasets.get: only a dataset holding a table the caller may see.
  app.get<Generic>(`${API_PREFIX}/projects/:projectId/datasets/:datasetId`, route('datasets.get'), async (req, reply) => {
    const who = await caller(req);
    const { projectId, datasetId } = datasetRef(req);
    return catalogCall(req, reply, who, projectId, async (c) => {
      if (!(await visibleWithinLimit(c, datasetId))) throw noDataset(who, projectId, datasetId);
      const res = await c.read('datasets.get', `/datasets/${seg(datasetId)}`, {});
      if (unknownToUpstream(res)) throw noDataset(who, projectId, datasetId);
      const dataset = pickKeys(expectList<Record<string, unknown>>('datasets.get', res, 'dataset'), DATASET_FIELDS);
      listed(req, 'dataset', [`${projectId}.${datasetId}`]);
      return selectFields(dataset, req.query.fields);
    });
  });

  // tables.list: the tables of the page the caller may see; totalItems counts them.
  app.get<Generic>(`${API_PREFIX}/projects/:projectId/datasets/:datasetId/tables`, route('tables.list'), async (req, reply) => {
    const who = await caller(req);
    const { projectId, datasetId } = datasetRef(req);
    return catalogCall(req, reply, who, projectId, async (c) => {
      const query = pick(req.query, ['pageToken', 'maxResults']);
      // A page is never larger than what the call may judge.
      const asked = Number(query.maxResults);
      query.maxResults = Number.isInteger(asked) && asked > 0 ? Math.min(asked, c.judge.remaining) : c.judge.remaining;
      const page = await tablesPage(c, datasetId, query);
      if (!page) throw noDataset(who, projectId, datasetId);
      const items = page.tables ?? [];
      const visible = await visibleTables(c.judge, items, refsOf(c, datasetId));
      if (visible.length === 0) {
        // An empty page of a dataset the caller may not see would say the dataset exists. After a
        // first page, the rest is read on; after a later one, the dataset is read from its start.
        const first = query.pageToken === undefined;
        if ((first && !page.nextPageToken) || !(await visibleWithinLimit(c, datasetId, first ? page.nextPageToken : undefined))) {
          throw noDataset(who, projectId, datasetId);
        }
      }
      const tables = visible.map((t) => pickKeys(t, TABLE_LIST_FIELDS));
      listed(req, 'table', visible.map((t) => `${projectId}.${datasetId}.${t.tableReference!.tableId}`));
      return selectFields(
        { kind: 'bigquery#tableList', tables, totalItems: tables.length, ...(page.nextPageToken && { nextPageToken: page.nextPageToken }) },
        req.query.fields,
      );
    });
  });

  // Every other BigQuery API call, and media uploads (load jobs), are refused once the caller is known.
  const refuse = async (req: Req) => {
    await caller(req);
    throw accessDenied(`Access Denied: ${req.method} ${req.url.split('?')[0]} is not available through the sluice gateway; it serves query jobs (jobs.query, jobs.insert, jobs.get, jobs.getQueryResults, jobs.cancel), tabledata.list, tables.get, and datasets.list, datasets.get and tables.list (showing what you may read).`);
  };
  app.all<Generic>(`${API_PREFIX}/*`, route('refused'), refuse);
  app.all<Generic>('/upload/bigquery/v2/*', route('refused'), refuse);
  app.all<Generic>('/resumable/upload/bigquery/v2/*', route('refused'), refuse);
}

/** One catalog read in progress (see catalogCall). */
interface CatalogCall {
  who: Caller;
  projectId: string;
  judge: TableJudge;
  /** A GET below /projects/<projectId> upstream, written ahead and timed. */
  read: (operation: string, path: string, query: Query) => Promise<UpstreamResponse>;
}

interface JobContext {
  projectId: string;
  rec: JobRecord;
  connection: Connection;
  headers: Headers;
}

/** BigQuery refused a job because it would bill more than its `maximumBytesBilled`. */
function refusedForCap(res: UpstreamResponse): boolean {
  return res.status === 400 && isBigQueryErrorBody(res.body) && res.body.error.errors?.some((e) => e.reason === 'bytesBilledLimitExceeded') === true;
}

type JobStatistics = {
  statistics?: {
    totalBytesProcessed?: string;
    query?: { totalBytesProcessed?: string; referencedTables?: { projectId: string; datasetId: string; tableId: string }[] };
  };
};

type QueryResults = { jobReference?: { jobId?: string; location?: string }; jobComplete?: boolean; schema?: TableSchema; rows?: TableRow[]; totalRows?: string; totalBytesProcessed?: string };

/**
 * The location a call on a job names upstream: the job's own, as recorded when BigQuery answered
 * the query or insert that made it, never one the caller sends. BigQuery names a job by its
 * project, location and id, so the id of a caller's own job may also name a job made outside the
 * gateway in another location, which the caller's location would have read (or cancelled) with
 * the masks of its own job.
 */
function atJobLocation(rec: { location?: string | undefined }): Query {
  return rec.location ? { location: rec.location } : {};
}

/** The location a job resource (a jobs.insert answer) says BigQuery runs the job in. */
function answeredLocation(body: unknown): string | undefined {
  const location = (body as { jobReference?: { location?: unknown } } | null)?.jobReference?.location;
  return typeof location === 'string' && location !== '' ? location : undefined;
}

/** The caller closed its connection: nothing reaches it any more, but the record says what happened. */
function callerGone(): BigQueryError {
  return new BigQueryError(499, 'stopped', 'The caller closed the connection before its answer was ready.');
}

interface TableRef {
  projectId: string;
  datasetId: string;
  tableId: string;
}

/** The credential of catalog reads: the one the pre-decision calls use (same lifetime, so cached alike). */
const CATALOG_CREDENTIAL_TTL = 300;

type DatasetListBody = { datasets?: { datasetReference?: { projectId?: string; datasetId?: string } }[]; nextPageToken?: string };
type TableListItem = { tableReference?: { projectId?: string; datasetId?: string; tableId?: string } };
type TableListBody = { tables?: TableListItem[]; nextPageToken?: string };

/**
 * Catalog fields a reader may see. Never: ACL `access` entries, labels, descriptions and friendly
 * names (free text), view query text, encryption settings, tags, links to other catalogs.
 */
const DATASET_LIST_FIELDS = ['kind', 'id', 'datasetReference', 'location', 'type'];
const DATASET_FIELDS = [
  'kind', 'etag', 'id', 'datasetReference', 'location', 'type', 'creationTime', 'lastModifiedTime', 'defaultTableExpirationMs',
  'defaultPartitionExpirationMs', 'isCaseInsensitive', 'defaultCollation', 'maxTimeTravelHours', 'storageBillingModel',
];
const TABLE_LIST_FIELDS = [
  'kind', 'id', 'tableReference', 'type', 'location', 'creationTime', 'expirationTime', 'timePartitioning', 'rangePartitioning', 'clustering',
  'requirePartitionFilter',
];

/** The upstream does not know the dataset, or refuses it to the gateway's credential. */
function unknownToUpstream(res: UpstreamResponse): boolean {
  if (res.status === 404) return true;
  const reason = (res.body as { error?: { errors?: { reason?: string }[] } } | undefined)?.error?.errors?.[0]?.reason;
  return res.status === 403 && reason === 'accessDenied';
}

/**
 * A catalog answer: an object, with `listKey` (when given) a list of objects. An error answer
 * is the upstream's own error or a 502, as expectAnswer makes it (its kinds name no listing).
 */
function expectList<T>(operation: string, res: UpstreamResponse, what: string, listKey?: string): T {
  if (res.status !== 200 || res.problem) expectAnswer(operation, res, 'table'); // throws
  const body = res.body as Record<string, unknown> | null;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidAnswer(operation, `${what} that is not an object`);
  const list = listKey === undefined ? undefined : body[listKey];
  if (list !== undefined && !(Array.isArray(list) && list.every((i) => typeof i === 'object' && i !== null && !Array.isArray(i)))) {
    throw invalidAnswer(operation, `${what} whose ${listKey} is not a list of objects`);
  }
  if (body.nextPageToken !== undefined && typeof body.nextPageToken !== 'string') throw invalidAnswer(operation, `${what} whose nextPageToken is not a string`);
  return body as T;
}

const seg = encodeURIComponent;

/** Table resource fields a reader may see: no view text, labels or access details. */
const TABLE_FIELDS = [
  'kind', 'etag', 'id', 'tableReference', 'schema', 'type', 'location', 'creationTime', 'lastModifiedTime',
  'numRows', 'numBytes', 'timePartitioning', 'rangePartitioning', 'clustering', 'requirePartitionFilter',
];

/**
 * Schema field keys a reader may see: what names and types the values. Never a column's
 * description or default value expression, free text that can quote the values it describes.
 */
const SCHEMA_FIELD_KEYS = ['name', 'type', 'mode', 'fields', 'policyTags', 'precision', 'scale', 'maxLength', 'rangeElementType', 'roundingMode', 'collation'];

function shownSchema(schema: TableSchema): TableSchema {
  const shown = (fields: unknown): unknown =>
    Array.isArray(fields)
      ? fields.map((f) => {
          const kept = pickKeys(f as Record<string, unknown>, SCHEMA_FIELD_KEYS);
          if (kept.fields !== undefined) kept.fields = shown(kept.fields);
          return kept;
        })
      : fields;
  return { ...schema, fields: shown(schema.fields) as TableSchema['fields'] };
}

function pickKeys(body: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => body?.[k] !== undefined).map((k) => [k, body[k]]));
}

/**
 * A comma-separated list parameter (`selectedFields`), also when it is given more than once
 * (`?selectedFields=a&selectedFields=b` arrives as an array): its parts joined with commas.
 */
function fieldList(query: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(',');
  throw invalid(`Invalid ${name}: give a comma-separated list of field names`);
}

function pick(query: Record<string, string | undefined>, names: string[]): Query {
  const out: Query = {};
  for (const n of names) if (query[n] !== undefined) out[n] = query[n];
  return out;
}

export type { Connection };

/** A query answer without rows: what a dry run answers. */
function withoutRows<T extends { rows?: unknown; totalRows?: unknown; pageToken?: unknown }>(answer: T): T {
  const { rows: _rows, totalRows: _total, pageToken: _page, ...rest } = answer;
  return rest as T;
}

/** A job resource without its statistics. */
function withoutStatistics<T extends Record<string, unknown>>(job: T): T {
  const { statistics: _statistics, ...rest } = job;
  return rest as T;
}

/** A job resource that says the job finished without an error. */
function doneWithoutError(job: Record<string, unknown>): boolean {
  const status = job.status as { state?: unknown; errorResult?: unknown } | undefined;
  return status?.state === 'DONE' && status.errorResult === undefined;
}
