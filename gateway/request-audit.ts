// What the gateway learns about one BigQuery API call while serving it, collected for its audit
// records: who called, what the policy decided on and answered, what ran upstream and what the
// agent received (masked). The server records a forward record before the first upstream call
// that carries the request, and the request record once the answer is known, before it is sent.
import type { FastifyRequest } from 'fastify';
import type { Evaluation, PolicyInput } from '../engine/index.ts';
import type { Identity } from '../engine/schema-types.ts';
import type { AuditEvent } from './audit/index.ts';
import type { Door } from './internal-calls.ts';
import type { MaskStats, TableRow, TableSchema } from './masking/index.ts';

export interface TokenFailure {
  reason: string;
  message: string;
  /** The refused token (only a digest prefix is recorded). */
  token: string | null;
}

export class RequestTrail {
  readonly route: string;
  readonly started = performance.now();
  identity: Identity | undefined;
  tokenFailure: TokenFailure | undefined;
  connection: string | undefined;
  project: string | undefined;
  sql: string | undefined;
  evaluation: Evaluation | undefined;
  input: PolicyInput | undefined;
  estimatedBytes: number | undefined;
  processedBytes: string | number | undefined;
  billedBytes: string | number | undefined;
  job: { id: string; project?: string | undefined; location?: string | undefined } | undefined;
  readonly approvalIds: string[] = [];
  readonly grantIds: string[] = [];
  readonly timings: { decision?: number; dry_run?: number; upstream?: number } = {};
  maskedCells: { cells: number; scanned: number } | undefined;
  response: { schema: TableSchema | null; rows: readonly TableRow[] | undefined; total_rows?: string | number | null } | undefined;
  error: { reason: string; message: string } | undefined;
  /** The caller's job, cancelled upstream when the gateway stopped waiting on it. */
  upstreamCancel: { job_id: string; reason: 'caller_gone' | 'upstream_timeout'; outcome: string; ms: number } | undefined;
  /** The query ran under the policy's byte cap without a dry run; `exceeded`: BigQuery refused it for the cap. */
  byteCap: { maximum_bytes_billed: number; exceeded: boolean } | undefined;
  /** The tables a job run under a cap read, checked before its rows were released. */
  jobCheck: { referenced_tables: string[] | null; outcome: 'passed' | 'withheld'; reasons: string[] } | undefined;
  /** The door the call came through when not the REST API (an MCP tool call). */
  door: Door | undefined;
  /** Set once the forward record is committed: later upstream calls of the request need none. */
  forwarded = false;

  constructor(route: string) {
    this.route = route;
  }

  /** Adds a stage's duration (milliseconds). */
  time(stage: 'decision' | 'dry_run' | 'upstream', ms: number): void {
    this.timings[stage] = (this.timings[stage] ?? 0) + ms;
  }

  /** The write-ahead record of the upstream call about to carry this request. */
  toForwardEvent(requestId: string, operation: string): AuditEvent {
    const outcome = this.evaluation?.decision.outcome;
    const tables = new Set<string>();
    for (const statement of this.input?.sql.statements ?? []) for (const table of statement.tables) tables.add(table.id);
    return {
      kind: 'forward',
      request_id: requestId,
      identity: this.#auditIdentity(),
      route: this.route,
      operation,
      connection: this.connection ?? null,
      project: this.project ?? null,
      sql: this.sql ?? null,
      sql_hash: this.input?.sql.hash ?? null,
      outcome: outcome === 'allow' || outcome === 'mask' ? outcome : null,
      revision: this.evaluation?.revision ?? null,
      tables: [...tables],
      job: this.job ? { id: this.job.id, project: this.job.project ?? null, location: this.job.location ?? null } : null,
      grant_ids: [...new Set(this.grantIds)],
      door: this.door ?? null,
    };
  }

  #auditIdentity(): { subject: string; issuer: string; kind: Identity['kind'] | null; groups: readonly string[] } {
    const identity = this.identity ?? UNAUTHENTICATED;
    return { subject: identity.subject, issuer: identity.issuer, kind: identity.kind ?? null, groups: identity.groups };
  }

  /** The audit event for the answer the agent is about to receive. */
  toEvent(requestId: string, status: number): AuditEvent {
    const total = performance.now() - this.started;
    if (!this.identity && this.tokenFailure) {
      return { kind: 'token_failure', reason: this.tokenFailure.reason, message: this.tokenFailure.message, token: this.tokenFailure.token, route: this.route, request_id: requestId, door: this.door ?? null };
    }
    return {
      kind: 'request',
      request_id: requestId,
      identity: this.#auditIdentity(),
      route: this.route,
      connection: this.connection ?? null,
      project: this.project ?? null,
      sql: this.sql ?? null,
      input: this.input ?? null,
      evaluation: this.evaluation ?? null,
      bytes: { estimated: this.estimatedBytes ?? null, processed: this.processedBytes ?? null, billed: this.billedBytes ?? null },
      job: this.job ? { id: this.job.id, project: this.job.project ?? null, location: this.job.location ?? null } : null,
      status,
      error: this.error ?? null,
      timings_ms: { ...this.timings, total },
      approval_ids: [...new Set(this.approvalIds)],
      grant_ids: [...new Set(this.grantIds)],
      masking: this.maskedCells
        ? // Per-detector counts are not tracked by the facade's masking: none are claimed.
          { cellsMasked: this.maskedCells.cells, contentScanCells: this.maskedCells.scanned, detections: {} as MaskStats['detections'] }
        : null,
      response: this.response ?? null,
      upstream_cancel: this.upstreamCancel ?? null,
      door: this.door ?? null,
      byte_cap: this.byteCap ?? null,
      job_check: this.jobCheck ?? null,
    };
  }
}

const UNAUTHENTICATED = { subject: '(unauthenticated)', issuer: '', kind: null, groups: [] } as const;

const trails = new WeakMap<FastifyRequest, RequestTrail>();

/** Starts the trail of a BigQuery API call. */
export function startTrail(req: FastifyRequest, route: string): RequestTrail {
  const trail = new RequestTrail(route);
  trails.set(req, trail);
  return trail;
}

/** The call's trail; undefined for requests outside the BigQuery API (health, approvals). */
export function trailOf(req: FastifyRequest): RequestTrail | undefined {
  return trails.get(req);
}

/** Takes the trail out: it is recorded once. */
export function takeTrail(req: FastifyRequest): RequestTrail | undefined {
  const trail = trails.get(req);
  trails.delete(req);
  return trail;
}
