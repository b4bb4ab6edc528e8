// The enforcement pipeline every query goes through before anything runs upstream:
//   authenticate → learn the tables (normalize) → fetch their schemas → pre-check (would the
//   policy refuse even at zero cost?) → dry run upstream → decide on the real estimate.
// Only an allow or mask decision comes back; everything else is thrown as a BigQuery-shaped error.
// A decision that relied on one-time grants spends them before it comes back; an `approve` is
// filed as an approval request and, when the caller asked to be held, waited on and re-decided.
import { createHash, randomUUID } from 'node:crypto';
import { namedTables, withEstimate, type Decision, type Engine, type Estimate, type Evaluation, type NormalizeRequest, type PolicyInput, type TableSchemas } from '../engine/index.ts';
import type { Approval, Identity, Reason } from '../engine/schema-types.ts';
import type { ApprovalRequests } from './approval-requests.ts';
import { ApprovalError } from './approvals/errors.ts';
import { grantsCited, oneTimeGrantsUsed } from './approvals/grant-usage.ts';
import { callerKey } from './auth/caller-key.ts';
import type { Authenticator } from './auth/index.ts';
import { BigQueryError, accessDenied, errorInfo, rateLimited, storeUnavailable, unauthenticated } from './bigquery/errors.ts';
import type { QuerySpec } from './bigquery/query-request.ts';
import { WITHHELD_MESSAGE, withholdsErrors } from './bigquery/results.ts';
import type { Connection } from './connections.ts';
import type { DecisionBudget } from './decision-budget.ts';
import type { GrantSource } from './grants.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { RequestTrail } from './request-audit.ts';
import type { DryRunResult } from './upstream/bigquery.ts';
import type { SchemaCache } from './upstream/schemas.ts';
import { TtlCache } from './upstream/ttl-cache.ts';

export type Route = 'jobs.query' | 'jobs.insert' | 'tabledata.list';

export interface Caller {
  identity: Identity;
  /** The validated bearer token: only ever used as the subject token of a credential exchange. */
  token: string;
}

/** Structured log sink (a pino logger). */
export interface Log {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface QueryContext {
  caller: Caller;
  connection: Connection;
  /** The project in the URL: where the job runs. */
  project: string;
  route: Route;
  spec: QuerySpec;
  log?: Log | undefined;
  requestId?: string | undefined;
  /** Collects the decision, estimate and timings for the call's audit record. */
  trail?: RequestTrail | undefined;
  /** Holding mode: how long to wait for an approval before answering approvalRequired. 0: not at all. */
  holdMs?: number | undefined;
  /** Aborted when the caller went away (ends a hold). */
  signal?: AbortSignal | undefined;
  /** Dry-run first even where the connection holds queries under a cap (BigQuery refused the cap). */
  dryRunFirst?: boolean | undefined;
}

/** A query the policy lets run (outcome allow or mask). */
export interface Authorization {
  decision: Decision & { outcome: 'allow' | 'mask' };
  revision: string;
  input: PolicyInput;
  /** Upstream credential headers minted for this query. */
  headers: Record<string, string>;
  /** The dry run decided on; undefined when the query runs under the decision's cap instead (estimate source `cap`). */
  estimate: DryRunResult | undefined;
  schemas: TableSchemas;
}

/** A query filed for approval, to be run once approved: the caller makes a PENDING job of it. */
export interface HeldForApproval {
  held: {
    approvalId: string;
    approvalUrl?: string;
    approval: Approval;
    reasons: Reason[];
    revision: string;
    sqlHash: string;
  };
}

/** What the policy decided on a query, and the estimate it decided on (none when refused before the dry run). */
export interface Judgement {
  evaluation: Evaluation & { input?: PolicyInput };
  estimate: DryRunResult | undefined;
}

export interface EnforcerOptions {
  engine: Engine;
  authenticator: Authenticator;
  grants: GrantSource;
  approvals: ApprovalRequests;
  schemas: SchemaCache;
  metrics: GatewayMetrics;
  dryRunCacheSeconds?: number;
  /** Decision time each caller may take from the event loop; unbounded when absent. */
  budget?: DecisionBudget;
  now?: () => Date;
}

const BEARER = /^Bearer +(\S+) *$/i;

/** Most table schemas fetched for one request: BigQuery's limit on the tables one query references. */
const MAX_SCHEMA_FETCHES = 1000;

/** Lifetime of the credential used for the pre-decision calls (tables.get, dry run). */
const PREFLIGHT_CREDENTIAL_TTL = 300;

export class Enforcer {
  readonly #o: EnforcerOptions;
  readonly #dryRuns: TtlCache<DryRunResult>;
  readonly #now: () => Date;

  constructor(options: EnforcerOptions) {
    this.#o = options;
    this.#dryRuns = new TtlCache(options.dryRunCacheSeconds ?? 0);
    this.#now = options.now ?? (() => new Date());
  }

  get engine(): Engine {
    return this.#o.engine;
  }

  /** Where approval requests are filed; held jobs read and withdraw theirs there. */
  get approvals(): ApprovalRequests {
    return this.#o.approvals;
  }

  /** Which of these grants have been revoked: a job that relied on one serves no more pages. */
  async revokedGrants(grantIds: readonly string[] | undefined): Promise<string[]> {
    const revokedAmong = this.#o.grants.revokedAmong;
    if (!grantIds?.length || !revokedAmong) return [];
    return fromStore('check the grants the job relied on', () => revokedAmong.call(this.#o.grants, grantIds), 'its results are withheld');
  }

  /** Validates the bearer token; a 401 in BigQuery's shape otherwise. */
  async authenticate(header: string | undefined, trail?: RequestTrail): Promise<Caller> {
    const result = await this.#o.authenticator.authenticate(header);
    if (!result.ok) {
      if (trail) trail.tokenFailure = { reason: result.reason, message: result.message, token: BEARER.exec(header ?? '')?.[1] ?? null };
      throw unauthenticated(`Request had invalid authentication credentials: ${result.message}.`, result.reason);
    }
    if (trail) trail.identity = result.identity;
    return { identity: result.identity, token: BEARER.exec(header ?? '')![1]! };
  }

  /** Upstream credential headers for `caller`, for calls that serve an already decided job. */
  credentialHeaders(connection: Connection, caller: Caller, ttlSeconds: number | undefined): Promise<Record<string, string>> {
    return connection.credentials.headers({ identity: caller.identity, subjectToken: caller.token, ttlSeconds });
  }

  /** An allow or mask decision, or a BigQuery-shaped refusal (an approval needed among them). */
  async authorize(ctx: QueryContext): Promise<Authorization> {
    const result = await this.#authorize(ctx, false);
    if ('held' in result) throw new Error('unreachable: a query was held without being asked to');
    return result;
  }

  /**
   * As `authorize`, but a query needing approval whose hold mode (the policy's `approval.hold`,
   * else the connection's) is `job` comes back as held: its approval request is filed, and the
   * caller makes a PENDING job of it. Dry runs and held-in-call requests are never held so.
   */
  authorizeOrHold(ctx: QueryContext): Promise<Authorization | HeldForApproval> {
    return this.#authorize(ctx, !ctx.spec.dryRun && !(ctx.holdMs && ctx.holdMs > 0));
  }

  async #authorize(ctx: QueryContext, mayHold: boolean): Promise<Authorization | HeldForApproval> {
    const { caller, connection, spec } = ctx;
    // Under a cap: a jobs.query is decided without a byte figure and sent at once; a query that
    // needs an approval is still dry-run first, so its request carries the estimate.
    const capped = connection.estimateMode === 'cap' && ctx.route === 'jobs.query' && !spec.dryRun && !ctx.dryRunFirst;
    // A query that needs an approval even at zero cost, from a caller already over its bounds on
    // approval requests, is refused before anything is sent upstream: a flood costs no dry runs.
    const admit = (pre: Evaluation & { input?: PolicyInput }) => this.#admitApprovalRequest(ctx, pre);
    let judged = await this.#judge(ctx, capped ? 'cap' : 'dry_run', admit);
    // Dry-run first as well: a query needing an approval (its request carries the estimate), and,
    // where the tables BigQuery reads are checked, one that is not only reads: a write has done
    // its work before its finished job's tables could be checked.
    const outcome = judged.evaluation.decision.outcome;
    if (capped && (outcome === 'approve' || (outcome !== 'deny' && connection.requireReferencedTables && !readsOnly(judged.evaluation.input)))) {
      judged = await this.#judge(ctx, 'dry_run', admit);
    }
    const { evaluation: final, estimate, request, preflight, now } = judged;
    if (final.decision.outcome === 'deny') return this.#refuse(ctx, final, estimate);
    if (final.decision.outcome === 'approve') return this.#requireApproval(ctx, final, estimate!, now, mayHold);

    const decision = final.decision as Authorization['decision'];
    this.#logDecision(ctx, final, estimate);
    if (ctx.trail) ctx.trail.grantIds.push(...grantsCited(decision, request.grants ?? []));
    // One-time grants are spent before anything runs (a dry run spends nothing); the loser of a
    // race for the same grant is refused.
    const oneTime = spec.dryRun ? [] : oneTimeGrantsUsed(decision, request.grants ?? []);
    if (oneTime.length > 0) await this.#consume(ctx, oneTime);
    const headers =
      decision.credential_ttl_seconds === undefined || decision.credential_ttl_seconds === PREFLIGHT_CREDENTIAL_TTL
        ? preflight
        : await this.credentialHeaders(connection, caller, decision.credential_ttl_seconds);
    return { decision, revision: final.revision, input: final.input!, headers, estimate, schemas: judged.schemas };
  }

  /**
   * The decision `authorize` would act on, without acting on it: no approval request is filed,
   * no grant spent, nothing refused. A dry run upstream is made unless the policy refuses the
   * query even at zero cost (then `estimate` is undefined). With `atZeroCost`, nothing is sent
   * upstream but the tables' schemas: the decision is the one the query would get if it read
   * nothing (what metadata listings are judged on).
   */
  async judge(ctx: QueryContext, options: { atZeroCost?: boolean } = {}): Promise<Judgement> {
    const { evaluation, estimate } = await this.#judge(ctx, options.atZeroCost ? 'zero' : 'dry_run');
    this.#logDecision(ctx, evaluation, estimate);
    return { evaluation, estimate };
  }

  /**
   * A query that ran under a cap, decided again on what its finished job reports (bytes processed
   * and the tables BigQuery read): a table the parser missed is refused here as the dry-run check
   * would have refused it. `input` is the input the query was decided on.
   */
  recheck(ctx: Pick<QueryContext, 'route' | 'trail' | 'log'> & { connection: Connection }, input: PolicyInput, job: { bytes: number; referencedTables: string[] | undefined }): Evaluation {
    const estimate = {
      source: 'job' as const,
      bytes: job.bytes,
      ...(job.referencedTables && { referenced_tables: job.referencedTables }),
      ...(ctx.connection.requireReferencedTables && { referenced_tables_expected: true }),
    };
    // The job's caller is the input's identity: the check runs on its budget (it is never refused here).
    const evaluation = this.#charged(input.identity, ctx.trail, () => this.#o.engine.evaluate(withEstimate(input, estimate)));
    this.#o.metrics.decisions.inc({ outcome: evaluation.decision.outcome, route: `${ctx.route} (job check)` });
    return evaluation;
  }

  async #judge(ctx: QueryContext, how: 'dry_run' | 'cap' | 'zero', beforeDryRun?: (pre: Evaluation & { input?: PolicyInput }) => Promise<void>): Promise<Judgement & { request: NormalizeRequest; preflight: Record<string, string>; schemas: TableSchemas; now: Date }> {
    const { caller, connection, spec } = ctx;
    this.#withinDecisionTime(caller);
    const now = this.#now();
    const request: NormalizeRequest = {
      identity: caller.identity,
      sql: spec.sql,
      project: ctx.project,
      route: ctx.route,
      connection: connection.name,
      dryRun: spec.dryRun,
      grants: await fromStore('read the caller\'s grants', () => this.#o.grants.active(caller.identity, now)),
      now,
      ...(spec.defaultDataset && { defaultDataset: `${spec.defaultDataset.projectId}.${spec.defaultDataset.datasetId}` }),
      ...(spec.queryParameters !== undefined && { parameters: spec.queryParameters }),
    };
    const preflight = await this.credentialHeaders(connection, caller, PREFLIGHT_CREDENTIAL_TTL);

    // The schemas of the tables the text names, so that `SELECT *` expands: named by the token
    // scan, without a parse (the request is normalized once, below, with them). The analysis
    // accounts for every table the scan names; what it reads beyond them, on the SQL corpus, are
    // models and routines, which have no table schema.
    const named = namedTables(request);
    // Each name costs an upstream call: past what one query may reference, none is fetched (the
    // analysis refuses such a statement, and a text of many would fan out into thousands of calls).
    const schemas = await this.#o.schemas.fetch(connection.name, connection.upstream, named.length > MAX_SCHEMA_FETCHES ? [] : named, preflight);
    const judged = { request, preflight, schemas, now };
    // Normalized once for every decision below (the pre-check, then on the estimate).
    const decide = this.#o.engine.decider({ ...request, schemas });

    // An estimate this caller's same query got moments ago is decided on directly: nothing goes
    // upstream before the decision, so the pre-check below has nothing to guard.
    const dryRunKey = this.#dryRunKey(ctx);
    let estimate = this.#dryRuns.peek(dryRunKey);
    if (!estimate && how === 'cap') {
      // No figure: the policy sets the cap BigQuery will hold the job to.
      const evaluation = this.#decide(ctx, decide, { source: 'cap' });
      this.#o.metrics.decisions.inc({ outcome: evaluation.decision.outcome, route: ctx.route });
      return { ...judged, evaluation, estimate: undefined };
    }
    if (!estimate) {
      // Would the policy refuse even if the query read nothing? Then nothing is sent upstream, not
      // even a dry run. Byte thresholds only add refusals, so this never refuses what the real
      // estimate would allow; its outcome is never acted on otherwise.
      const pre = this.#decide(ctx, decide, { bytes: 0, source: 'dry_run' });
      if (pre.decision.outcome === 'deny' || how === 'zero') {
        this.#o.metrics.decisions.inc({ outcome: pre.decision.outcome, route: ctx.route });
        return { ...judged, evaluation: pre, estimate: undefined };
      }
      await beforeDryRun?.(pre);
      const dryRunStarted = performance.now();
      estimate = await this.#dryRun(ctx, dryRunKey, pre.decision, preflight);
      ctx.trail?.time('dry_run', performance.now() - dryRunStarted);
    }
    if (ctx.trail) ctx.trail.estimatedBytes = estimate.bytes;
    const evaluation = this.#decide(
      ctx,
      decide,
      {
        bytes: estimate.bytes,
        source: 'dry_run',
        ...(estimate.referencedTables && { referenced_tables: estimate.referencedTables }),
        ...(connection.requireReferencedTables && { referenced_tables_expected: true }),
      },
    );
    this.#o.metrics.decisions.inc({ outcome: evaluation.decision.outcome, route: ctx.route });
    return { ...judged, evaluation, estimate };
  }

  #decide(ctx: QueryContext, decide: ReturnType<Engine['decider']>, estimate: Estimate): Evaluation & { input?: PolicyInput } {
    const end = this.#o.metrics.decisionSeconds.startTimer();
    try {
      const evaluation = this.#charged(ctx.caller.identity, ctx.trail, () => decide(estimate));
      if (ctx.trail) {
        ctx.trail.evaluation = { decision: evaluation.decision, revision: evaluation.revision, evalNs: evaluation.evalNs, ...(evaluation.error && { error: evaluation.error }) };
        ctx.trail.input = evaluation.input;
      }
      return evaluation;
    } finally {
      end();
    }
  }

  /** A decision's work, its time noted on the request's trail and spent from the caller's budget. */
  #charged<T>(identity: Identity, trail: RequestTrail | undefined, work: () => T): T {
    const started = performance.now();
    try {
      return work();
    } finally {
      const ms = performance.now() - started;
      trail?.time('decision', ms);
      this.#o.budget?.spend(callerKey(identity), ms);
    }
  }

  /** Refuses (429) a caller whose decisions took its share of the event loop, until it refills. */
  #withinDecisionTime(caller: Caller): void {
    const waitMs = this.#o.budget?.waitMs(callerKey(caller.identity)) ?? 0;
    if (waitMs === 0) return;
    const seconds = Math.ceil(waitMs / 1000);
    throw rateLimited(
      `Rate limit exceeded: this caller's queries have taken more of the gateway's decision time than it allows (their analysis and policy evaluation); retry in ${seconds} s.`,
      [errorInfo('DECISION_TIME_LIMITED', { retry_after_seconds: String(seconds) })],
    );
  }

  async #consume(ctx: QueryContext, grantIds: string[]): Promise<void> {
    const consume = this.#o.grants.consume;
    if (!consume) {
      throw accessDenied(`Access Denied: the decision relies on one-time grant(s) ${grantIds.join(', ')}, which this gateway cannot spend; refused.`);
    }
    try {
      await fromStore('spend a one-time grant', () => consume.call(this.#o.grants, grantIds, ctx.requestId ?? randomUUID()));
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'grant_unavailable') throw error;
      ctx.log?.info({ grant: { subject: ctx.caller.identity.subject, grants: grantIds } }, 'one-time grant already spent; query refused');
      throw accessDenied(`Access Denied: ${(error as Error).message}; request a new approval to run this query again.`, [
        errorInfo('GRANT_UNAVAILABLE', { grants: grantIds.join(','), ...(ctx.requestId && { request_id: ctx.requestId }) }),
      ]);
    }
  }

  /** One caller's estimate for one text in one context; the decision is still made every time. */
  #dryRunKey(ctx: QueryContext): string {
    const { spec, connection, caller } = ctx;
    return digest([
      connection.name,
      caller.identity.issuer,
      caller.identity.subject,
      ctx.project,
      spec.sql,
      JSON.stringify(spec.defaultDataset ?? null),
      JSON.stringify(spec.queryParameters ?? null),
      spec.parameterMode ?? '',
      spec.location ?? '',
      JSON.stringify(spec.connectionProperties ?? null),
    ]);
  }

  async #dryRun(ctx: QueryContext, key: string, pre: Decision, headers: Record<string, string>): Promise<DryRunResult> {
    const { spec, connection, caller } = ctx;
    // A failed dry run may quote values (the emulator runs the query): its text is shown only when
    // the pre-check says the caller would see every column unmasked.
    const showDetail = pre.outcome === 'allow' && !withholdsErrors(pre);
    const rewrite = (message: string) => `BigQuery's dry run refused this query: ${showDetail ? message : WITHHELD_MESSAGE}`;
    const dryRunSpec = {
      query: spec.sql,
      defaultDataset: spec.defaultDataset,
      queryParameters: spec.queryParameters,
      parameterMode: spec.parameterMode,
      location: spec.location,
      connectionProperties: spec.connectionProperties,
    };
    try {
      const { value } = await this.#dryRuns.get(key, () =>
        this.#o.metrics.time(this.#o.metrics.dryRunSeconds, undefined, () => connection.upstream.dryRun(ctx.project, dryRunSpec, headers, rewrite)),
      );
      return value;
    } catch (error) {
      ctx.log?.warn(
        { dry_run: { route: ctx.route, subject: caller.identity.subject, code: (error as BigQueryError).code, reason: (error as BigQueryError).reason } },
        'dry run failed; query refused',
      );
      throw error;
    }
  }

  #refuse(ctx: QueryContext, evaluation: Evaluation & { input?: PolicyInput }, estimate: DryRunResult | undefined): never {
    const { decision } = evaluation;
    this.#logDecision(ctx, evaluation, estimate);
    const codes = decision.reasons.map((r) => r.code);
    const why = decision.reasons.map((r) => r.message).join('; ') || 'no reason given';
    throw accessDenied(`Access Denied: the sluice policy refused this query: ${why}. [${codes.join(', ')}]`, [
      errorInfo('POLICY_DENIED', {
        reasons: codes.join(','),
        policy_revision: evaluation.revision,
        ...(ctx.requestId && { request_id: ctx.requestId }),
      }),
    ]);
  }

  async #requireApproval(ctx: QueryContext, evaluation: Evaluation & { input?: PolicyInput }, estimate: DryRunResult, now: Date, mayHold: boolean): Promise<Authorization | HeldForApproval> {
    const { decision, input } = evaluation;
    const approval = decision.approval;
    this.#logDecision(ctx, evaluation, estimate);
    if (!approval || !input) {
      // The decision schema requires `approval` with this outcome; without it there is nothing to ask for.
      throw accessDenied('Access Denied: the policy requires an approval but did not say which; refused.');
    }
    const reasons = decision.reasons.filter((r) => r.code !== 'grant_used');
    const ticket = await this.#withinBounds('record the approval request', () => this.#o.approvals.open({
      identity: ctx.caller.identity,
      project: ctx.project,
      sqlHash: input.sql.hash,
      sql: ctx.spec.sql,
      ...(ctx.spec.queryParameters !== undefined && { parameters: ctx.spec.queryParameters }),
      approval,
      reasons,
      input,
      decision,
      now,
    }));
    ctx.trail?.approvalIds.push(ticket.id);
    if (mayHold && (approval.hold ?? ctx.connection.approvalHold) === 'job') {
      return { held: { approvalId: ticket.id, ...(ticket.url && { approvalUrl: ticket.url }), approval, reasons, revision: evaluation.revision, sqlHash: input.sql.hash } };
    }

    // Holding mode: wait for the decision, then decide again on fresh grants. The approval itself
    // never lets a query through; only a grant the policy accepts does.
    let held: string | undefined;
    const wait = this.#o.approvals.wait;
    if (ctx.holdMs && ctx.holdMs > 0 && wait) {
      const started = performance.now();
      const result = await wait.call(this.#o.approvals, ticket.id, { timeoutMs: ctx.holdMs, ...(ctx.signal && { signal: ctx.signal }) });
      ctx.log?.info({ approval: { id: ticket.id, status: result.status, held_ms: Math.round(performance.now() - started) } }, 'held for approval');
      if (result.status === 'approved') return this.authorize({ ...ctx, holdMs: 0 });
      held = result.status === 'pending' ? 'timeout' : result.status;
    }

    const who = approval.approver_groups.join(' or ');
    const where = ticket.url ? ` at ${ticket.url}` : '';
    const why = reasons.map((r) => r.message).join('; ');
    const outcome =
      held === 'timeout'
        ? ` The request was held for ${Math.round(ctx.holdMs! / 1000)} s and no decision arrived (timeout); run the same query again once it is approved.`
        : held
          ? ` The approval request was ${held} while the request was held.`
          : ' Run the same query again once it is approved.';
    throw new BigQueryError(
      403,
      'approvalRequired',
      `Approval required: ${why}. Approval request ${ticket.id} needs ${approval.min_approvals} approval(s) from ${who}${where}.${outcome}`,
      {
        details: [
          errorInfo('APPROVAL_REQUIRED', {
            approval_request_id: ticket.id,
            ...(ticket.url && { approval_url: ticket.url }),
            approver_groups: approval.approver_groups.join(','),
            min_approvals: String(approval.min_approvals),
            scope: approval.scope.kind,
            reasons: reasons.map((r) => r.code).join(','),
            policy_revision: evaluation.revision,
            ...(held && { hold_result: held }),
          }),
        ],
      },
    );
  }

  /** Refuses (429) a caller whose approval request for this query would be over its bounds. */
  async #admitApprovalRequest(ctx: QueryContext, pre: Evaluation & { input?: PolicyInput }): Promise<void> {
    const { approval } = pre.decision;
    const admits = this.#o.approvals.admits;
    if (pre.decision.outcome !== 'approve' || !approval || !admits || ctx.spec.dryRun) return;
    await this.#withinBounds('check the caller\'s approval requests', () => admits.call(this.#o.approvals, ctx.caller.identity, approval, ctx.spec.sql));
  }

  /** A call to the approval store; an ask over the caller's bounds (too many open, too many a minute) is BigQuery's 429, which clients back off from. */
  async #withinBounds<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await fromStore(what, call);
    } catch (error) {
      if (!(error instanceof ApprovalError) || error.httpStatus !== 429) throw error;
      throw rateLimited(`Rate limit exceeded: ${error.message}.`, [errorInfo('APPROVAL_REQUESTS_LIMITED', { reason: error.code })]);
    }
  }

  /**
   * One line per decision: who, outcome and why. Not the SQL (it can hold literal PII) nor its
   * hash (which covers the literals, so hashing guesses gives them back): the line's request id
   * finds its audit record, which holds both redacted and keyed.
   */
  #logDecision(ctx: QueryContext, evaluation: Evaluation & { input?: PolicyInput }, estimate: DryRunResult | undefined): void {
    ctx.log?.info(
      {
        decision: {
          route: ctx.route,
          subject: ctx.caller.identity.subject,
          issuer: ctx.caller.identity.issuer,
          project: ctx.project,
          connection: ctx.connection.name,
          outcome: evaluation.decision.outcome,
          reasons: evaluation.decision.reasons.map((r) => r.code),
          masks: evaluation.decision.masks.length,
          revision: evaluation.revision,
          bytes: estimate?.bytes,
          eval_us: Math.round(evaluation.evalNs / 1000),
          ...(evaluation.error && { engine_error: evaluation.error.code }),
        },
      },
      'decision',
    );
  }
}

function digest(parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\u0000');
  return h.digest('base64url');
}

/** A call to the gateway's database; its failure refuses the request as BigQuery's retryable 503. */
export async function fromStore<T>(what: string, call: () => Promise<T>, consequence?: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    // A refusal the store decided on (ApprovalError) or one already shaped stays as it is.
    if (error instanceof BigQueryError || error instanceof ApprovalError) throw error;
    throw storeUnavailable(what, consequence);
  }
}

/** Every statement only reads (unknown input: not known to). */
function readsOnly(input: PolicyInput | undefined): boolean {
  return input !== undefined && input.sql.statements.every((statement) => statement.category === 'read');
}
