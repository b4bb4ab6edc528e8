// Turns the query a client sent (jobs.query's QueryRequest or jobs.insert's Job) into what the
// gateway decides on, and builds the body it forwards. Fields are allow-listed: anything that
// would change what runs, who it runs as, or where results land is refused with a reason, never
// silently dropped or passed through unseen.
import { createHash } from 'node:crypto';
import { accessDenied, invalid } from './errors.ts';

export interface DatasetReference {
  projectId: string;
  datasetId: string;
}

/** What the enforcement pipeline needs to know about a query request. */
export interface QuerySpec {
  sql: string;
  defaultDataset: DatasetReference | undefined;
  queryParameters: unknown;
  parameterMode: string | undefined;
  dryRun: boolean;
  location: string | undefined;
  /** The caller's own byte cap, if any; the forwarded cap is the smaller of it and the policy's. */
  maximumBytesBilled: number | undefined;
  connectionProperties: unknown;
}

export interface ParsedQueryRequest {
  spec: QuerySpec;
  /** The upstream body with the policy's byte cap applied. */
  forward(maximumBytesBilled: number | undefined): Record<string, unknown>;
}

export interface ParsedInsertJob {
  spec: QuerySpec;
  /** Client-chosen job id, or undefined when the client left it to the server. */
  jobId: string | undefined;
  /** The upstream Job with the given job id and the policy's byte cap applied. */
  forwardJob(jobId: string, maximumBytesBilled: number | undefined): Record<string, unknown>;
}

/** QueryRequest fields forwarded as sent (after validation). */
const QUERY_REQUEST_PASS = new Set([
  'kind', 'query', 'maxResults', 'defaultDataset', 'timeoutMs', 'dryRun', 'useQueryCache', 'queryParameters',
  'parameterMode', 'location', 'formatOptions', 'requestId', 'labels', 'jobCreationMode', 'preserveNulls',
  'destinationEncryptionConfiguration', 'reservation', 'jobTimeoutMs', 'maximumBytesBilled', 'useLegacySql',
  'connectionProperties', 'writeIncrementalResults', 'maxSlots',
]);

/** JobConfigurationQuery fields forwarded as sent (after validation). */
const JOB_QUERY_PASS = new Set([
  'query', 'useLegacySql', 'defaultDataset', 'queryParameters', 'parameterMode', 'priority', 'useQueryCache',
  'maximumBytesBilled', 'maximumBillingTier', 'destinationEncryptionConfiguration', 'preserveNulls',
  // create/writeDisposition without a destination table (refused) apply to the anonymous results table.
  'flattenResults', 'allowLargeResults', 'createDisposition', 'writeDisposition', 'connectionProperties',
  'scriptOptions', 'writeIncrementalResults',
]);

/** Fields refused, and why (the message the caller gets). */
const REFUSED_FIELDS: Record<string, string> = {
  destinationTable: 'writing query results to a destination table is not allowed: results are masked in flight and a table would hold them unmasked',
  tableDefinitions: 'external table definitions are not allowed: the policy only covers tables it knows',
  userDefinedFunctionResources: 'user-defined function resources are legacy SQL only and are not allowed',
  schemaUpdateOptions: 'schema update options are not allowed: agents only read',
  timePartitioning: 'destination table options are not allowed: results cannot be written to a table',
  rangePartitioning: 'destination table options are not allowed: results cannot be written to a table',
  clustering: 'destination table options are not allowed: results cannot be written to a table',
  createSession: 'sessions are not allowed: every query is judged on its own, and a session carries state between them',
  continuous: 'continuous queries are not allowed',
};

/** connectionProperties keys that change nothing about what is read or who reads it. */
const SAFE_CONNECTION_PROPERTIES = new Set(['time_zone', 'query_label']);

/** Job resource fields that are output only: ignored when a client echoes them back. */
const JOB_OUTPUT_ONLY = new Set(['kind', 'id', 'selfLink', 'etag', 'status', 'statistics', 'user_email', 'principal_subject', 'jobCreationReason']);

const CONFIGURATION_PASS = new Set(['query', 'dryRun', 'labels', 'jobTimeoutMs', 'jobType', 'reservation', 'maxSlots']);

const OTHER_JOB_KINDS: Record<string, string> = {
  load: 'load jobs are not allowed through the gateway: agents only read',
  copy: 'copy jobs are not allowed through the gateway: a copy would move data past the policy',
  extract: 'extract jobs are not allowed through the gateway: exporting a table bypasses masking',
};

export function parseQueryRequest(project: string, body: unknown): ParsedQueryRequest {
  const req = object(body, 'request body');
  checkFields(req, QUERY_REQUEST_PASS, 'QueryRequest');
  const spec = readSpec(project, req, req.dryRun);
  const base = { ...req, useLegacySql: false, ...decidedDataset(spec) };
  return {
    spec,
    forward: (cap) => withCap(base, spec.maximumBytesBilled, cap),
  };
}

export function parseInsertJob(project: string, body: unknown): ParsedInsertJob {
  const job = object(body, 'request body');
  for (const key of Object.keys(job)) {
    if (key !== 'jobReference' && key !== 'configuration' && !JOB_OUTPUT_ONLY.has(key)) {
      throw invalid(`Job field ${key} is not supported through the gateway`);
    }
  }
  const configuration = object(job.configuration ?? {}, 'configuration');
  for (const [kind, why] of Object.entries(OTHER_JOB_KINDS)) {
    if (configuration[kind] !== undefined) throw accessDenied(`Access Denied: ${why}. Only query jobs are accepted.`);
  }
  if (configuration.query === undefined) throw invalid('Only query jobs are accepted: configuration.query is missing');
  checkFields(configuration, CONFIGURATION_PASS, 'JobConfiguration');
  if (configuration.jobType !== undefined && configuration.jobType !== 'QUERY') {
    throw accessDenied(`Access Denied: ${String(configuration.jobType)} jobs are not allowed through the gateway. Only query jobs are accepted.`);
  }
  const query = object(configuration.query, 'configuration.query');
  checkFields(query, JOB_QUERY_PASS, 'JobConfigurationQuery');
  if (query.scriptOptions !== undefined) checkScriptOptions(object(query.scriptOptions, 'configuration.query.scriptOptions'));
  const reference = job.jobReference === undefined ? {} : object(job.jobReference, 'jobReference');
  if (reference.projectId !== undefined && reference.projectId !== project) {
    throw invalid(`jobReference.projectId ${String(reference.projectId)} does not match the project in the URL (${project})`);
  }
  const jobId = reference.jobId === undefined ? undefined : string(reference.jobId, 'jobReference.jobId');
  if (jobId !== undefined && !/^[A-Za-z0-9_-]{1,1024}$/.test(jobId)) {
    throw invalid('jobReference.jobId may contain only letters, digits, underscores and dashes (at most 1024)');
  }
  const location = reference.location === undefined ? undefined : string(reference.location, 'jobReference.location');
  const spec = readSpec(project, { ...query, location }, configuration.dryRun);
  return {
    spec,
    jobId,
    forwardJob: (id, cap) => ({
      jobReference: { projectId: project, jobId: id, ...(location && { location }) },
      configuration: { ...configuration, query: withCap({ ...query, useLegacySql: false, ...decidedDataset(spec) }, spec.maximumBytesBilled, cap) },
    }),
  };
}

/**
 * A jobs.query body with its `requestId` scoped to the caller. BigQuery answers a repeated
 * requestId with its first answer, rows included, and every caller reaches BigQuery as the same
 * upstream principal: sent as written, one caller's id could fetch another caller's rows. The id
 * sent is a UUID-shaped digest of the caller and its id, so a caller's own retry still finds its
 * query.
 */
export function callerRequestId<T extends Record<string, unknown>>(body: T, caller: { issuer: string; subject: string }): T {
  if (typeof body.requestId !== 'string') return body;
  const h = createHash('sha256').update(`${caller.issuer}\u0000${caller.subject}\u0000${body.requestId}`).digest('hex');
  return { ...body, requestId: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}` };
}

/** ScriptOptions fields that change nothing about which rows come back. */
const SCRIPT_OPTIONS_PASS = new Set(['statementTimeoutMs', 'statementByteBudget', 'keyResultStatement']);

/**
 * A script's result is its last statement's, which is the one the decision's masks are for.
 * `keyResultStatement: FIRST_SELECT` would have BigQuery answer with the first SELECT's rows,
 * masked for another statement's columns: refused.
 */
function checkScriptOptions(options: Record<string, unknown>): void {
  for (const key of Object.keys(options)) {
    if (!SCRIPT_OPTIONS_PASS.has(key)) throw invalid(`ScriptOptions field ${key} is not supported through the gateway`);
  }
  const key = options.keyResultStatement;
  if (key !== undefined && key !== 'LAST' && key !== 'KEY_RESULT_STATEMENT_KIND_UNSPECIFIED') {
    throw invalid(`scriptOptions.keyResultStatement ${JSON.stringify(key)} is not supported through the gateway: a script answers with its last statement's rows, the ones its masks are decided for`);
  }
}

/** JobConfiguration fields a jobs.query request carries at its top level. */
const QUERY_REQUEST_JOB_CONFIGURATION = new Set(['labels', 'jobTimeoutMs', 'reservation', 'maxSlots']);

/** QueryRequest fields that belong to the call, not to the job it makes. */
const QUERY_REQUEST_CALL_ONLY = new Set(['kind', 'maxResults', 'timeoutMs', 'dryRun', 'formatOptions', 'requestId', 'jobCreationMode', 'location']);

/**
 * A jobs.query request (already parsed, so validated) restated as the query job it makes, for a
 * job the gateway inserts itself later (one held for an approval).
 */
export function queryRequestAsJob(body: unknown): Record<string, unknown> {
  const req = object(body, 'request body');
  const configuration: Record<string, unknown> = { jobType: 'QUERY' };
  const query: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(req)) {
    if (value === undefined || QUERY_REQUEST_CALL_ONLY.has(key)) continue;
    if (QUERY_REQUEST_JOB_CONFIGURATION.has(key)) configuration[key] = value;
    else query[key] = value;
  }
  configuration.query = { ...query, useLegacySql: false };
  return { configuration };
}

function readSpec(project: string, fields: Record<string, unknown>, dryRun: unknown): QuerySpec {
  const sql = string(fields.query, 'query');
  if (sql.trim() === '') throw invalid('query is empty');
  requireStandardSql(fields.useLegacySql, sql);
  const connectionProperties = fields.connectionProperties;
  if (connectionProperties !== undefined) {
    if (!Array.isArray(connectionProperties)) throw invalid('connectionProperties must be a list');
    for (const p of connectionProperties) {
      const key = (p as { key?: unknown } | null)?.key;
      if (typeof key !== 'string' || !SAFE_CONNECTION_PROPERTIES.has(key)) {
        throw accessDenied(`Access Denied: connection property ${JSON.stringify(key)} is not allowed through the gateway (allowed: ${[...SAFE_CONNECTION_PROPERTIES].join(', ')})`);
      }
    }
  }
  return {
    sql,
    defaultDataset: readDataset(fields.defaultDataset, project),
    queryParameters: fields.queryParameters,
    parameterMode: fields.parameterMode === undefined ? undefined : string(fields.parameterMode, 'parameterMode'),
    dryRun: dryRun === true,
    location: fields.location === undefined ? undefined : string(fields.location, 'location'),
    maximumBytesBilled: readBytes(fields.maximumBytesBilled),
    connectionProperties,
  };
}

/**
 * The API's default dialect is legacy SQL, which the policy's parser does not speak: the caller
 * must ask for GoogleSQL, explicitly or with the `#standardSQL` prefix.
 */
function requireStandardSql(useLegacySql: unknown, sql: string): void {
  const prefix = /^\s*#(standardSQL|legacySQL)\b/i.exec(sql)?.[1]?.toLowerCase();
  const help = 'set useLegacySql=false (bq: --use_legacy_sql=false) and write GoogleSQL';
  if (useLegacySql === true || prefix === 'legacysql') {
    throw accessDenied(`Access Denied: legacy SQL is not accepted by this gateway; ${help}.`);
  }
  if (useLegacySql === undefined && prefix !== 'standardsql') {
    throw accessDenied(`Access Denied: this request does not set useLegacySql, so BigQuery would run it as legacy SQL, which this gateway does not accept; ${help}.`);
  }
  if (useLegacySql !== undefined && useLegacySql !== false) throw invalid('useLegacySql must be a boolean');
}

/**
 * The default dataset as it was decided on, in place of the object the caller sent: BigQuery also
 * reads a field by its proto name (`dataset_id`), so a second spelling beside `datasetId` would
 * have the query run against another dataset than the one its tables were judged in.
 */
function decidedDataset(spec: QuerySpec): { defaultDataset?: DatasetReference } {
  return spec.defaultDataset ? { defaultDataset: { projectId: spec.defaultDataset.projectId, datasetId: spec.defaultDataset.datasetId } } : {};
}

function withCap(body: Record<string, unknown>, callerCap: number | undefined, policyCap: number | undefined): Record<string, unknown> {
  const cap = policyCap === undefined ? callerCap : callerCap === undefined ? policyCap : Math.min(callerCap, policyCap);
  const out = { ...body };
  if (cap === undefined) delete out.maximumBytesBilled;
  else out.maximumBytesBilled = String(cap);
  return out;
}

function readDataset(value: unknown, project: string): DatasetReference | undefined {
  if (value === undefined || value === null) return undefined;
  const d = object(value, 'defaultDataset');
  const datasetId = string(d.datasetId, 'defaultDataset.datasetId');
  const projectId = d.projectId === undefined ? project : string(d.projectId, 'defaultDataset.projectId');
  return { projectId, datasetId };
}

function readBytes(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw invalid('maximumBytesBilled must be a non-negative integer');
  // Clients and drivers send 0 to mean "no cap": forwarded as the smaller cap, it could lift the policy's.
  if (n === 0) throw invalid('maximumBytesBilled 0 is not accepted through the gateway: leave it out (the policy sets the cap) or give a positive number of bytes');
  return n;
}

function checkFields(value: Record<string, unknown>, allowed: Set<string>, what: string): void {
  for (const key of Object.keys(value)) {
    if (value[key] === undefined || value[key] === null) continue;
    const refused = REFUSED_FIELDS[key];
    // `createSession: false` / `continuous: false` ask for nothing (bq sends them).
    if (refused && value[key] !== false) throw accessDenied(`Access Denied: ${refused}.`);
    if (refused) continue;
    if (!allowed.has(key)) throw invalid(`${what} field ${key} is not supported through the gateway`);
  }
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function string(value: unknown, what: string): string {
  if (typeof value !== 'string') throw invalid(`${what} must be a string`);
  return value;
}
