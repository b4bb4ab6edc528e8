// The MCP tools. Names and shapes follow the BigQuery MCP servers agents already know
// (execute_sql, list_dataset_ids, get_table_info, …); every one runs through the REST facade's
// own routes (bigquery-calls.ts) or, for check_query, the same Enforcer without acting on its
// decision. Results come as text and as structured content; refusals are tool errors carrying
// BigQuery's code and reason, with the facade's message (never a raw value).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Decision } from '../../engine/index.ts';
import type { ApprovalStore } from '../approvals/index.ts';
import { BigQueryError } from '../bigquery/errors.ts';
import { PROJECT_ID } from '../bigquery/facade.ts';
import { parseQueryRequest } from '../bigquery/query-request.ts';
import type { Connections } from '../connections.ts';
import type { Caller, Enforcer } from '../enforce.ts';
import type { McpConfig } from '../config/load.ts';
import type { JobStore } from '../jobs.ts';
import type { RequestTrail } from '../request-audit.ts';
import { BigQueryCalls, ToolRefusal, type QueryPage } from './bigquery-calls.ts';
import { columnsOf, rowObjects } from './rows.ts';

/** What one tool call runs with. */
export interface ToolCall {
  caller: Caller;
  calls: BigQueryCalls;
  /** The call's own audit record, filled as it runs. */
  trail: RequestTrail;
  signal: AbortSignal;
  /** Reports progress to the client when it asked for it (a progress token); a no-op otherwise. */
  progress(progress: number, total: number | undefined, message: string): Promise<void>;
}

export interface ToolDeps {
  config: McpConfig;
  enforcer: Enforcer;
  connections: Connections;
  approvals: ApprovalStore;
  jobs: JobStore;
}

export interface ToolDefinition {
  name: string;
  title: string;
  description: string;
  input: z.ZodObject;
  output: z.ZodObject;
  annotations: { readOnlyHint: boolean; openWorldHint: boolean; idempotentHint?: boolean };
  run(args: any, call: ToolCall): Promise<Record<string, unknown>>;
}

/** Pages one listing tool reads at most (an upstream that always names a next page is not followed forever). */
const MAX_LIST_PAGES = 50;
/** How often a held call reports that it is still waiting. */
const PROGRESS_EVERY_MS = 5000;
/** Long poll of one results call while execute_sql waits for its job. */
const RESULTS_POLL_MS = 10_000;
/** How long execute_sql waits for a job before handing back its id for get_query_results. */
const JOB_WAIT_MS = 120_000;

const ID = z.string().min(1).max(1024);
const column: z.ZodType<unknown> = z.lazy(() =>
  z.object({ name: z.string(), type: z.string(), mode: z.string(), mask: maskOut.optional(), fields: z.array(column).optional() }),
);
const maskOut = z.object({
  column: z.string().describe('Output column (lower-case), or * for every column.'),
  path: z.array(z.string()).optional().describe('Field path inside a RECORD column.'),
  strategy: z.string().describe('How values are transformed: redact, hash, null, partial, …'),
  source: z.string().optional().describe('The table column the values come from.'),
});
const results = z.object({
  project: z.string(),
  job_id: z.string().nullable(),
  location: z.string().nullable(),
  job_complete: z.boolean().describe('false: the job is still running; call get_query_results with job_id.'),
  columns: z.array(column),
  rows: z.array(z.record(z.string(), z.unknown())).describe('One object per row; values in BigQuery\'s text forms, masked where masks says.'),
  total_rows: z.string().nullable(),
  page_token: z.string().nullable().describe('Set when more rows follow: pass it to get_query_results.'),
  masks: z.array(maskOut).describe('The masks applied to these rows for this caller.'),
  bytes_processed: z.string().nullable(),
  maximum_bytes_billed: z.number().nullable().describe('The cap the query ran under, from the policy.'),
});
const approvalOut = z.object({
  approval_request_id: z.string(),
  status: z.enum(['pending', 'approved', 'rejected', 'expired', 'withdrawn', 'revoked']).or(z.string()),
  approval_url: z.string().nullable(),
  decided_at: z.string().nullable(),
  comments: z.array(z.string()),
});

export function toolDefinitions(deps: ToolDeps): ToolDefinition[] {
  const { config } = deps;
  const sql = z
    .string()
    .min(1)
    .refine((s) => Buffer.byteLength(s) <= config.maxSqlBytes, { message: `the SQL text is longer than ${config.maxSqlBytes} bytes` })
    .describe('One GoogleSQL statement (standard SQL).');
  const project = z.string().min(1).max(128).optional().describe(`Project the query runs in; default ${config.defaultProject}.`);
  const defaultDataset = z.string().min(1).max(1100).optional().describe('Dataset unqualified table names refer to: dataset or project.dataset.');
  const maxResults = z.number().int().min(1).max(config.maxRows).optional().describe(`Rows per page (at most ${config.maxRows}).`);
  const projectOf = (p: string | undefined) => p ?? config.defaultProject;

  const executeSql: ToolDefinition = {
    name: 'execute_sql',
    title: 'Run a BigQuery SQL query',
    description:
      'Runs one GoogleSQL query in BigQuery through the sluice gateway, under its policy: the result may be masked, refused, or held for a human approval. ' +
      'Returns columns, rows (one object per row) and the masks applied. When the answer is approvalRequired, call wait_for_approval with the approval_request_id, ' +
      'or pass wait_for_approval_seconds to be held until an approver decides.',
    input: z.object({
      sql,
      project,
      default_dataset: defaultDataset,
      max_results: maxResults,
      wait_for_approval_seconds: z
        .number()
        .int()
        .min(0)
        .max(config.maxWaitSeconds)
        .optional()
        .describe(`Hold the call this long (at most ${config.maxWaitSeconds} s) when the query needs an approval; 0 answers at once.`),
    }),
    output: results,
    annotations: { readOnlyHint: false, openWorldHint: true },
    run: (args, call) => runQuery(args, call, config.maxRows, projectOf(args.project)),
  };

  const getQueryResults: ToolDefinition = {
    name: 'get_query_results',
    title: 'Read more rows of a query',
    description: 'The next page of rows of a query this caller ran (execute_sql page_token), or the rows of a job that was still running, masked as decided when it ran.',
    input: z.object({ job_id: ID, project, location: z.string().max(64).optional(), page_token: z.string().max(4096).optional(), max_results: maxResults }),
    output: results,
    annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
    run: async (args, call) => {
      const p = projectOf(args.project);
      const page = await call.calls.results(
        p,
        args.job_id,
        { pageToken: args.page_token, maxResults: String(args.max_results ?? config.maxRows), location: args.location, timeoutMs: String(RESULTS_POLL_MS) },
        { signal: call.signal },
      );
      const rec = await deps.jobs.get(p, args.job_id);
      return shape(p, page, rec?.masks ?? [], null);
    },
  };

  const checkQuery: ToolDefinition = {
    name: 'check_query',
    title: 'Check a query against the policy',
    description:
      'The decision the policy would give this query for this caller, without running it: allow, mask, approve or deny, with the reasons, the masks, ' +
      'BigQuery\'s byte estimate and the byte cap. No approval request is filed. Audited like any call.',
    input: z.object({ sql, project, default_dataset: defaultDataset }),
    output: z.object({
      outcome: z.enum(['allow', 'mask', 'approve', 'deny']),
      reasons: z.array(z.object({ code: z.string(), message: z.string() })),
      masks: z.array(maskOut),
      estimated_bytes: z.number().nullable().describe('BigQuery\'s dry-run estimate; null when the policy refuses before asking.'),
      maximum_bytes_billed: z.number().nullable(),
      approval: z.object({ approver_groups: z.array(z.string()), min_approvals: z.number(), scope: z.string() }).nullable(),
      policy_revision: z.string(),
    }),
    annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
    run: async (args, call) => {
      const p = projectOf(args.project);
      // The REST routes check the project id; this tool reaches the enforcer without them.
      if (!PROJECT_ID.test(p)) throw new BigQueryError(400, 'invalid', `Invalid project ID '${p.slice(0, 128)}'`);
      const spec = parseQueryRequest(p, { query: args.sql, useLegacySql: false, dryRun: true, ...defaultDatasetOf(args.default_dataset, p) }).spec;
      const connection = deps.connections.forProject(p);
      call.trail.connection = connection.name;
      call.trail.project = p;
      // Held back, as a REST dry run is, while the caller waits out an upstream fault; its own faults start one.
      const { evaluation, estimate } = await connection.faults.through(call.caller.identity, () =>
        deps.enforcer.judge({ caller: call.caller, connection, project: p, route: 'jobs.query', spec, trail: call.trail }),
      );
      const d = evaluation.decision;
      return {
        outcome: d.outcome,
        reasons: d.reasons.map((r) => ({ code: r.code, message: r.message })),
        masks: masksOut(d.masks),
        estimated_bytes: estimate?.bytes ?? null,
        maximum_bytes_billed: d.limits?.maximum_bytes_billed ?? null,
        approval: d.approval ? { approver_groups: d.approval.approver_groups, min_approvals: d.approval.min_approvals, scope: d.approval.scope.kind } : null,
        policy_revision: evaluation.revision,
      };
    },
  };

  const waitForApproval: ToolDefinition = {
    name: 'wait_for_approval',
    title: 'Wait for an approval, then run the query',
    description:
      'Waits (bounded, with progress notifications) for an approver to decide on one of this caller\'s approval requests. ' +
      'Approved: the query is run again on the fresh grant and its result returned. Rejected or expired: an accessDenied error with the approvers\' comments. ' +
      'Still pending after the wait: the status, so the call can be repeated.',
    input: z.object({
      approval_request_id: ID,
      timeout_seconds: z.number().int().min(1).max(config.maxWaitSeconds).optional().describe(`How long to wait (default 60, at most ${config.maxWaitSeconds}).`),
      max_results: maxResults,
    }),
    output: approvalOut.extend({ result: results.nullable() }),
    annotations: { readOnlyHint: false, openWorldHint: true },
    run: async (args, call) => {
      const id: string = args.approval_request_id;
      const mine = await deps.approvals.get(id);
      // Someone else's request, or none: the same refusal, so ids cannot be probed.
      if (!mine || mine.requester.issuer !== call.caller.identity.issuer || mine.requester.subject !== call.caller.identity.subject) {
        throw new ToolRefusal(404, 'notFound', `Not found: approval request ${id} is not one of this caller's requests.`);
      }
      call.trail.approvalIds.push(id);
      const timeoutMs = (args.timeout_seconds ?? 60) * 1000;
      const view = await withProgress(call, timeoutMs, 'waiting for an approver', () => deps.approvals.waitForDecision(id, { timeoutMs, signal: call.signal }));
      const status = {
        approval_request_id: id,
        status: view.status,
        approval_url: view.approveUrl ?? null,
        decided_at: view.decidedAt,
        comments: view.votes.map((v) => v.comment).filter((c): c is string => !!c),
      };
      if (view.status === 'rejected' || view.status === 'expired') {
        const why = status.comments.length ? ` Approvers said: ${status.comments.join(' | ')}` : '';
        throw new ToolRefusal(403, 'accessDenied', `Access Denied: approval request ${id} was ${view.status}.${why}`);
      }
      if (view.status !== 'approved') return { ...status, result: null };
      const input = await deps.approvals.requestInput(id);
      const p = input?.request.project ?? config.defaultProject;
      const dataset = input?.request.default_dataset;
      const result = await runQuery({ sql: view.sql.text, default_dataset: dataset, max_results: args.max_results }, call, config.maxRows, p);
      return { ...status, result };
    },
  };

  const listDatasetIds: ToolDefinition = {
    name: 'list_dataset_ids',
    title: 'List datasets',
    description: 'The datasets of a project this caller has a path to (a table it may query, possibly after an approval).',
    input: z.object({ project }),
    output: z.object({ project: z.string(), dataset_ids: z.array(z.string()) }),
    annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
    run: async (args, call) => {
      const p = projectOf(args.project);
      const ids = await allPages((pageToken) => call.calls.datasets(p, { pageToken }, { signal: call.signal }), (page) =>
        (page?.datasets ?? []).map((d: any) => d?.datasetReference?.datasetId),
      );
      return { project: p, dataset_ids: ids };
    },
  };

  const listTableIds: ToolDefinition = {
    name: 'list_table_ids',
    title: 'List tables',
    description: 'The tables of a dataset this caller has a path to.',
    input: z.object({ dataset: ID, project }),
    output: z.object({ project: z.string(), dataset: z.string(), table_ids: z.array(z.string()) }),
    annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
    run: async (args, call) => {
      const p = projectOf(args.project);
      const ids = await allPages((pageToken) => call.calls.tables(p, args.dataset, { pageToken }, { signal: call.signal }), (page) =>
        (page?.tables ?? []).map((t: any) => t?.tableReference?.tableId),
      );
      return { project: p, dataset: args.dataset, table_ids: ids };
    },
  };

  const getDatasetInfo: ToolDefinition = {
    name: 'get_dataset_info',
    title: 'Describe a dataset',
    description: 'A dataset\'s metadata (reference, location, creation and modification times), when this caller has a path to one of its tables.',
    input: z.object({ dataset: ID, project }),
    output: z.object({ dataset: z.record(z.string(), z.unknown()) }),
    annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
    run: async (args, call) => ({ dataset: await call.calls.dataset(projectOf(args.project), args.dataset, { signal: call.signal }) }),
  };

  const getTableInfo: ToolDefinition = {
    name: 'get_table_info',
    title: 'Describe a table',
    description: 'A table\'s metadata and schema, with the mask each column gets for this caller (none: raw values).',
    input: z.object({ dataset: ID, table: ID, project }),
    output: z.object({ table: z.record(z.string(), z.unknown()), columns: z.array(column) }),
    annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
    run: async (args, call) => {
      const table = await call.calls.table(projectOf(args.project), args.dataset, args.table, { signal: call.signal });
      return { table, columns: columnsWithMasks(table?.schema?.fields ?? []) };
    },
  };

  return [executeSql, getQueryResults, checkQuery, waitForApproval, listDatasetIds, listTableIds, getDatasetInfo, getTableInfo];
}

/** The ids every page of a listing names, following its page tokens (at most MAX_LIST_PAGES). */
async function allPages(read: (pageToken: string | undefined) => Promise<any>, idsOf: (page: any) => unknown[]): Promise<string[]> {
  const ids: string[] = [];
  let pageToken: string | undefined;
  for (let pages = 0; pages === 0 || (pageToken && pages < MAX_LIST_PAGES); pages++) {
    const page = await read(pageToken);
    for (const id of idsOf(page)) if (typeof id === 'string' && id) ids.push(id);
    pageToken = page?.nextPageToken;
  }
  return ids;
}

/** execute_sql: jobs.query, then the job's results until it is done (bounded). */
async function runQuery(args: { sql: string; default_dataset?: string | undefined; max_results?: number; wait_for_approval_seconds?: number }, call: ToolCall, maxRows: number, project: string) {
  call.trail.project = project;
  call.trail.sql = args.sql;
  const maxResults = args.max_results ?? maxRows;
  const body = {
    query: args.sql,
    useLegacySql: false,
    maxResults,
    timeoutMs: RESULTS_POLL_MS,
    requestId: randomUUID(),
    ...defaultDatasetOf(args.default_dataset, project),
  };
  const hold = args.wait_for_approval_seconds ?? 0;
  const run = () => call.calls.query(project, body, { signal: call.signal, holdSeconds: hold });
  let { page, decisions } = hold > 0 ? await withProgress(call, hold * 1000, 'running; held for an approval if one is needed', run) : await run();
  const decision: Decision | undefined = decisions.at(-1);
  const jobId = page.jobReference?.jobId;
  const started = performance.now();
  while (page.jobComplete === false && jobId && performance.now() - started < JOB_WAIT_MS) {
    call.signal.throwIfAborted();
    page = await call.calls.results(
      project,
      jobId,
      { maxResults: String(maxResults), timeoutMs: String(RESULTS_POLL_MS), location: page.jobReference?.location },
      { signal: call.signal },
    );
  }
  return shape(project, page, decision?.masks ?? [], decision?.limits?.maximum_bytes_billed ?? null);
}

function shape(project: string, page: QueryPage, masks: readonly Decision['masks'][number][], cap: number | null) {
  const done = page.jobComplete !== false;
  return {
    project,
    job_id: page.jobReference?.jobId ?? null,
    location: page.jobReference?.location ?? null,
    job_complete: done,
    columns: columnsOf(page.schema),
    rows: done ? rowObjects(page.schema, page.rows) : [],
    total_rows: page.totalRows ?? null,
    page_token: page.pageToken ?? null,
    masks: masksOut(masks),
    bytes_processed: page.totalBytesProcessed ?? null,
    maximum_bytes_billed: cap,
  };
}

function masksOut(masks: readonly Decision['masks'][number][]) {
  return masks.map((m) => ({
    column: m.output,
    ...(m.path && { path: m.path }),
    strategy: m.strategy,
    ...(m.source && { source: `${m.source.table}.${m.source.column}` }),
  }));
}

/** The per-column mask tables.get shows (`sluiceMask` on each masked field, see catalog.ts), as the tool's columns. */
function columnsWithMasks(fields: any[]): unknown[] {
  return fields.map((f) => {
    const m = f?.sluiceMask;
    const source = m?.source && typeof m.source === 'object' ? `${m.source.table}.${m.source.column}` : undefined;
    const mask = m && {
      column: String(f.name).toLowerCase(),
      strategy: m.reason === 'content_scan' ? `content_scan:${String(m.strategy)}` : String(m.strategy),
      ...(source && { source }),
    };
    return {
      name: String(f?.name ?? ''),
      type: String(f?.type ?? ''),
      mode: String(f?.mode ?? 'NULLABLE'),
      ...(mask && { mask }),
      ...(Array.isArray(f?.fields) && { fields: columnsWithMasks(f.fields) }),
    };
  });
}

function defaultDatasetOf(text: string | undefined, project: string): { defaultDataset?: { projectId: string; datasetId: string } } {
  if (!text) return {};
  const parts = text.split('.');
  if (parts.length > 2 || parts.some((p) => !p)) throw new BigQueryError(400, 'invalid', `Invalid default_dataset '${text.slice(0, 64)}': give dataset or project.dataset`);
  return { defaultDataset: parts.length === 2 ? { projectId: parts[0]!, datasetId: parts[1]! } : { projectId: project, datasetId: parts[0]! } };
}

/** Runs `work`, reporting progress every few seconds while it is pending. */
async function withProgress<T>(call: ToolCall, totalMs: number, message: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const tick = setInterval(() => {
    const seconds = Math.round((performance.now() - started) / 1000);
    void call.progress(seconds, Math.round(totalMs / 1000), `${message} (${seconds} s)`).catch(() => undefined);
  }, PROGRESS_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(tick);
  }
}
