// The BigQuery REST v2 surface agents talk to, unchanged clients pointed at the gateway:
// jobs.query, jobs.insert (query jobs), jobs.get, jobs.cancel, jobs.getQueryResults,
// tabledata.list and tables.get. Everything else under /bigquery/v2 is refused.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HashKey, TableRow, TableSchema } from '../masking/index.ts';
import type { Connections, Connection } from '../connections.ts';
import type { Caller, Enforcer, Route } from '../enforce.ts';
import { ownedBy, type JobRecord, type JobStore } from '../jobs.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { Query } from '../upstream/bigquery.ts';
import { BigQueryError, accessDenied, fromUpstream, invalid } from './errors.ts';
import { parseInsertJob, parseQueryRequest, type QuerySpec } from './query-request.ts';
import {
  compileFor,
  maskQueryResults,
  maskTableData,
  masksWithin,
  passesThrough,
  projectRows,
  resultPolicy,
  sanitizeJob,
  selectFields,
  upstreamMessage,
  type MaskCounts,
  type ResultPolicy,
} from './results.ts';

export interface FacadeOptions {
  enforcer: Enforcer;
  connections: Connections;
  jobs: JobStore;
  metrics: GatewayMetrics;
  hashKey: HashKey;
}

export const API_PREFIX = '/bigquery/v2';

type Params = Record<string, string>;
type Generic = { Params: Params; Querystring: Record<string, string | undefined>; Body: unknown };
type Req = FastifyRequest<Generic>;

/** Query parameters forwarded to jobs.getQueryResults (`fields` is applied by the gateway). */
const RESULTS_PARAMS = ['pageToken', 'startIndex', 'maxResults', 'timeoutMs', 'location', 'formatOptions.useInt64Timestamp', 'formatOptions.timestampOutputFormat'];
/** tabledata.list parameters forwarded (`selectedFields` is applied by the gateway after masking). */
const TABLEDATA_PARAMS = ['pageToken', 'startIndex', 'maxResults', 'formatOptions.useInt64Timestamp', 'formatOptions.timestampOutputFormat'];

const PROJECT_ID = /^(?:[a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,61}[a-z0-9]$/;
const DATASET_ID = /^[A-Za-z0-9_]{1,1024}$/;
/** Table names: letters, marks, numbers, connectors, dashes and spaces; no decorators, no quoting. */
const TABLE_ID = /^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd} ]{1,1024}$/u;
const JOB_ID = /^[A-Za-z0-9_-]{1,1024}$/;

export function registerFacade(app: FastifyInstance, o: FacadeOptions): void {
  const { enforcer, connections, jobs, metrics, hashKey } = o;

  /** Route options naming the API method, for the request metrics (see server.ts onResponse). */
  const route = (name: string) => ({ config: { apiMethod: name } });

  const caller = (req: Req) => enforcer.authenticate(req.headers.authorization);

  const project = (req: Req): string => {
    const p = req.params.projectId ?? '';
    if (!PROJECT_ID.test(p)) throw invalid(`Invalid project ID '${p}'`);
    return p;
  };

  const tableRef = (req: Req): TableRef => {
    const projectId = project(req);
    const { datasetId = '', tableId = '' } = req.params;
    if (!DATASET_ID.test(datasetId)) throw invalid(`Invalid dataset ID '${datasetId}'`);
    if (!TABLE_ID.test(tableId)) throw invalid(`Invalid table ID '${tableId}'`);
    return { projectId, datasetId, tableId };
  };

  const count = (counts: MaskCounts) => {
    if (counts.cells > counts.scanned) metrics.maskedCells.inc({ kind: 'mask' }, counts.cells - counts.scanned);
    if (counts.scanned) metrics.maskedCells.inc({ kind: 'content_scan' }, counts.scanned);
  };

  const authorize = async (req: Req, who: Caller, connection: Connection, projectId: string, routeName: Route, spec: QuerySpec) =>
    enforcer.authorize({ caller: who, connection, project: projectId, route: routeName, spec, log: req.log, requestId: req.id });

  const record = (who: Caller, connection: Connection, projectId: string, jobId: string, location: string | undefined, auth: Awaited<ReturnType<typeof authorize>>): JobRecord => ({
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
  });

  /** The job, if the gateway ran it for this caller; refused otherwise (whether or not it exists). */
  const ownJob = async (who: Caller, projectId: string, jobId: string): Promise<JobRecord> => {
    if (!JOB_ID.test(jobId)) throw invalid(`Invalid job ID '${jobId}'`);
    const rec = await jobs.get(projectId, jobId);
    if (!rec || !ownedBy(rec, who.identity)) {
      throw accessDenied(`Access Denied: Job ${projectId}:${jobId}: only jobs this gateway ran for ${who.identity.subject} can be read through it.`);
    }
    return rec;
  };

  const policyOf = (rec: JobRecord): ResultPolicy => ({ masks: rec.masks, contentScan: rec.contentScan, outputs: rec.outputs, withholdErrors: rec.withholdErrors });

  // jobs.query
  app.post<Generic>(`${API_PREFIX}/projects/:projectId/queries`, route('jobs.query'), async (req) => {
    const who = await caller(req);
    const projectId = project(req);
    const connection = connections.forProject(projectId);
    const parsed = parseQueryRequest(projectId, req.body);
    const auth = await authorize(req, who, connection, projectId, 'jobs.query', parsed.spec);
    const policy = resultPolicy(auth.decision, auth.input);
    const res = await metrics.time(metrics.upstreamSeconds, { operation: 'jobs.query' }, () =>
      connection.upstream.query(projectId, parsed.forward(auth.decision.limits?.maximum_bytes_billed), auth.headers),
    );
    if (res.status !== 200) throw fromUpstream(res.status, res.body, upstreamMessage(policy));
    const body = res.body as { jobReference?: { jobId?: string; location?: string }; schema?: TableSchema; rows?: TableRow[] };
    const jobId = body?.jobReference?.jobId;
    if (jobId && !parsed.spec.dryRun) {
      if (!(await jobs.register(record(who, connection, projectId, jobId, body.jobReference?.location, auth)))) {
        throw accessDenied(`Access Denied: Job ${projectId}:${jobId} is already known to the gateway under another request.`);
      }
    }
    const counts = { cells: 0, scanned: 0 };
    const masked = maskQueryResults(body, policy, hashKey, counts);
    count(counts);
    return masked;
  });

  // jobs.insert (query jobs only)
  app.post<Generic>(`${API_PREFIX}/projects/:projectId/jobs`, route('jobs.insert'), async (req) => {
    const who = await caller(req);
    const projectId = project(req);
    const connection = connections.forProject(projectId);
    const parsed = parseInsertJob(projectId, req.body);
    const auth = await authorize(req, who, connection, projectId, 'jobs.insert', parsed.spec);
    const policy = resultPolicy(auth.decision, auth.input);
    const jobId = parsed.jobId ?? `sluice_${randomUUID().replaceAll('-', '_')}`;
    const cap = auth.decision.limits?.maximum_bytes_billed;
    // Registered before the job exists upstream, so a poll racing the insert finds it.
    if (!parsed.spec.dryRun && !(await jobs.register(record(who, connection, projectId, jobId, parsed.spec.location, auth)))) {
      throw new BigQueryError(409, 'duplicate', `Already Exists: Job ${projectId}:${jobId}`);
    }
    // A transport failure leaves the record: the job may exist upstream, and it is this caller's.
    const res = await metrics.time(metrics.upstreamSeconds, { operation: 'jobs.insert' }, () =>
      connection.upstream.insertJob(projectId, parsed.forwardJob(jobId, cap), auth.headers),
    );
    if (res.status !== 200) {
      // Nothing was created (or the id belonged to a job made elsewhere): forget it.
      if (!parsed.spec.dryRun) await jobs.delete(projectId, jobId);
      throw fromUpstream(res.status, res.body, upstreamMessage(policy));
    }
    return sanitizeJob(res.body as object, policy, hashKey);
  });

  // jobs.get
  app.get<Generic>(`${API_PREFIX}/projects/:projectId/jobs/:jobId`, route('jobs.get'), async (req) => {
    const who = await caller(req);
    const projectId = project(req);
    const rec = await ownJob(who, projectId, req.params.jobId!);
    const connection = connections.forProject(projectId);
    const headers = await enforcer.credentialHeaders(connection, who, rec.credentialTtlSeconds);
    const res = await metrics.time(metrics.upstreamSeconds, { operation: 'jobs.get' }, () =>
      connection.upstream.getJob(projectId, rec.jobId, pick(req.query, ['location']), headers),
    );
    if (res.status !== 200) throw fromUpstream(res.status, res.body, upstreamMessage(policyOf(rec)));
    return selectFields(sanitizeJob(res.body as object, policyOf(rec), hashKey), req.query.fields);
  });

  // jobs.cancel (own jobs)
  app.post<Generic>(`${API_PREFIX}/projects/:projectId/jobs/:jobId/cancel`, route('jobs.cancel'), async (req) => {
    const who = await caller(req);
    const projectId = project(req);
    const rec = await ownJob(who, projectId, req.params.jobId!);
    const connection = connections.forProject(projectId);
    const headers = await enforcer.credentialHeaders(connection, who, rec.credentialTtlSeconds);
    const res = await connection.upstream.cancelJob(projectId, rec.jobId, pick(req.query, ['location']), headers);
    if (res.status !== 200) throw fromUpstream(res.status, res.body, upstreamMessage(policyOf(rec)));
    const body = res.body as { job?: object };
    return body?.job ? { ...body, job: sanitizeJob(body.job, policyOf(rec), hashKey) } : body;
  });

  // jobs.getQueryResults: every page masked with the masks decided when the job was created.
  app.get<Generic>(`${API_PREFIX}/projects/:projectId/queries/:jobId`, route('jobs.getQueryResults'), async (req) => {
    const who = await caller(req);
    const projectId = project(req);
    const rec = await ownJob(who, projectId, req.params.jobId!);
    const connection = connections.forProject(projectId);
    const headers = await enforcer.credentialHeaders(connection, who, rec.credentialTtlSeconds);
    const res = await metrics.time(metrics.upstreamSeconds, { operation: 'jobs.getQueryResults' }, () =>
      connection.upstream.getQueryResults(projectId, rec.jobId, pick(req.query, RESULTS_PARAMS), headers),
    );
    if (res.status !== 200) throw fromUpstream(res.status, res.body, upstreamMessage(policyOf(rec)));
    const counts = { cells: 0, scanned: 0 };
    const masked = maskQueryResults(res.body as { schema?: TableSchema; rows?: TableRow[] }, policyOf(rec), hashKey, counts);
    count(counts);
    return selectFields(masked, req.query.fields);
  });

  /** `SELECT *` on a table, as tabledata.list and tables.get are judged. */
  const wholeTable = async (req: Req, who: Caller, connection: Connection, ref: TableRef, dryRun: boolean) => {
    const spec: QuerySpec = {
      sql: `SELECT * FROM \`${ref.projectId}.${ref.datasetId}.${ref.tableId}\``,
      defaultDataset: undefined,
      queryParameters: undefined,
      parameterMode: undefined,
      dryRun,
      location: undefined,
      maximumBytesBilled: undefined,
      connectionProperties: undefined,
    };
    const auth = await authorize(req, who, connection, ref.projectId, 'tabledata.list', spec);
    const fields = auth.schemas[`${ref.projectId}.${ref.datasetId}.${ref.tableId}`.toLowerCase()];
    return { auth, policy: { masks: auth.decision.masks, contentScan: auth.decision.content_scan }, fields };
  };

  // tabledata.list: judged as `SELECT *` on the table, masked the same way.
  app.get<Generic>(`${API_PREFIX}/projects/:projectId/datasets/:datasetId/tables/:tableId/data`, route('tabledata.list'), async (req) => {
    const who = await caller(req);
    const ref = tableRef(req);
    const connection = connections.forProject(ref.projectId);
    const { auth, policy, fields } = await wholeTable(req, who, connection, ref, false);
    const res = await metrics.time(metrics.upstreamSeconds, { operation: 'tabledata.list' }, () =>
      connection.upstream.listTableData(ref.projectId, ref.datasetId, ref.tableId, pick(req.query, TABLEDATA_PARAMS), auth.headers),
    );
    if (res.status !== 200) throw fromUpstream(res.status, res.body, upstreamMessage(policy));
    const body = res.body as { rows?: TableRow[] };
    if (!fields && body?.rows?.length && (!passesThrough(policy) || req.query.selectedFields)) {
      throw accessDenied(`Access Denied: Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}: its schema is unknown to the gateway, so its rows cannot be masked.`);
    }
    const counts = { cells: 0, scanned: 0 };
    const masked = fields ? maskTableData(body, { fields } as TableSchema, policy, hashKey, counts) : body;
    count(counts);
    if (fields && masked.rows && req.query.selectedFields) {
      masked.rows = projectRows(masked.rows, { fields } as TableSchema, req.query.selectedFields);
    }
    return selectFields(masked, req.query.fields);
  });

  // tables.get: clients read the schema before tabledata.list (the Node client's getRows does).
  // Served to whoever may read the table, with the schema the masked rows will follow.
  app.get<Generic>(`${API_PREFIX}/projects/:projectId/datasets/:datasetId/tables/:tableId`, route('tables.get'), async (req) => {
    const who = await caller(req);
    const ref = tableRef(req);
    const connection = connections.forProject(ref.projectId);
    const { auth, policy } = await wholeTable(req, who, connection, ref, true);
    const res = await metrics.time(metrics.upstreamSeconds, { operation: 'tables.get' }, () =>
      connection.upstream.getTable(ref.projectId, ref.datasetId, ref.tableId, pick(req.query, ['selectedFields']), auth.headers),
    );
    if (res.status !== 200) throw fromUpstream(res.status, res.body);
    const table = pickKeys(res.body as Record<string, unknown>, TABLE_FIELDS) as { schema?: TableSchema };
    if (table.schema && !passesThrough(policy)) {
      table.schema = compileFor({ ...policy, masks: masksWithin(policy.masks, table.schema) }, table.schema, hashKey).schema;
    }
    return selectFields(table, req.query.fields);
  });

  // Every other BigQuery API call, and media uploads (load jobs), are refused once the caller is known.
  const refuse = async (req: Req) => {
    await caller(req);
    throw accessDenied(`Access Denied: ${req.method} ${req.url.split('?')[0]} is not available through the sluice gateway; it serves query jobs (jobs.query, jobs.insert, jobs.get, jobs.getQueryResults, jobs.cancel), tabledata.list and tables.get.`);
  };
  app.all<Generic>(`${API_PREFIX}/*`, route('refused'), refuse);
  app.all<Generic>('/upload/bigquery/v2/*', route('refused'), refuse);
  app.all<Generic>('/resumable/upload/bigquery/v2/*', route('refused'), refuse);
}

interface TableRef {
  projectId: string;
  datasetId: string;
  tableId: string;
}

/** Table resource fields a reader may see: no view text, labels or access details. */
const TABLE_FIELDS = [
  'kind', 'etag', 'id', 'tableReference', 'schema', 'type', 'location', 'creationTime', 'lastModifiedTime',
  'numRows', 'numBytes', 'timePartitioning', 'rangePartitioning', 'clustering', 'requirePartitionFilter',
];

function pickKeys(body: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => body?.[k] !== undefined).map((k) => [k, body[k]]));
}

function pick(query: Record<string, string | undefined>, names: string[]): Query {
  const out: Query = {};
  for (const n of names) if (query[n] !== undefined) out[n] = query[n];
  return out;
}

export type { Connection };
