// The upstream BigQuery REST v2 calls the gateway makes, over one pooled HTTP client per connection.
// Every call carries the short-lived credential minted for the caller (never the caller's token).
import { randomUUID } from 'node:crypto';
import type { TableField } from '../../engine/schema-types.ts';
import { fromUpstream, invalidQuery } from '../bigquery/errors.ts';
import { UpstreamFault, expectAnswer } from './answers.ts';
import { HttpUpstream, UpstreamTimeout, UpstreamUnavailable, type UpstreamResponse } from './http.ts';

export type Headers = Record<string, string>;
export type Query = Record<string, string | number | boolean | undefined>;

/** Per call: the caller's hang-up aborts it. */
export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface DryRunSpec {
  query: string;
  defaultDataset?: { projectId: string; datasetId: string } | undefined;
  queryParameters?: unknown;
  parameterMode?: string | undefined;
  location?: string | undefined;
  connectionProperties?: unknown;
}

export interface DryRunResult {
  bytes: number;
  /**
   * `project.dataset.table`, as BigQuery names them; undefined when the dry run named none (the
   * emulator never does): unknown, not "no tables".
   */
  referencedTables: string[] | undefined;
  statementType: string | undefined;
}

export interface TableMetadata {
  schema: { fields: TableField[] };
  type?: string;
}

const API = '/bigquery/v2';
const seg = encodeURIComponent;

export class BigQueryUpstream {
  readonly http: HttpUpstream;
  /** Longest wait for one call. */
  readonly timeoutMs: number;

  constructor(root: string, options: { timeoutMs?: number } = {}) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.http = new HttpUpstream(root, { timeoutMs: this.timeoutMs });
  }

  /** A raw call below /bigquery/v2; transport failures (timeouts, cut bodies) become an UpstreamFault. */
  async call(method: 'GET' | 'POST', path: string, headers: Headers, options: { query?: Query; body?: unknown; signal?: AbortSignal | undefined; timeoutMs?: number } = {}): Promise<UpstreamResponse> {
    try {
      return await this.http.call({ method, path: API + path, headers, ...options });
    } catch (error) {
      if (error instanceof UpstreamUnavailable) throw new UpstreamFault(`BigQuery is unavailable: ${error.message}`, error instanceof UpstreamTimeout);
      throw error;
    }
  }

  /**
   * A long poll's fields (a jobs.query body, jobs.getQueryResults parameters) with `timeoutMs`
   * bounded: BigQuery waits that long for the job before answering, so it must end before this
   * connection's timeout.
   */
  boundLongPoll<T extends { timeoutMs?: unknown }>(fields: T): T {
    const ceiling = Math.max(this.timeoutMs - 5_000, Math.floor(this.timeoutMs / 2));
    const { timeoutMs: requested, ...rest } = fields;
    const asked = requested === undefined || requested === null || requested === '' ? NaN : Number(requested);
    // Unset, BigQuery waits 10 s.
    const bounded = Number.isFinite(asked) ? Math.min(Math.max(0, asked), ceiling) : ceiling < 10_000 ? ceiling : undefined;
    return (bounded === undefined ? rest : { ...rest, timeoutMs: bounded }) as T;
  }

  /**
   * `jobs.insert` with `dryRun`: what BigQuery would read, without running anything. A failure is
   * thrown as the upstream's own error; `rewrite` may withhold detail from its message.
   */
  async dryRun(project: string, spec: DryRunSpec, headers: Headers, rewrite?: (message: string) => string): Promise<DryRunResult> {
    const query: Record<string, unknown> = { query: spec.query, useLegacySql: false };
    if (spec.defaultDataset) query.defaultDataset = spec.defaultDataset;
    if (spec.queryParameters !== undefined) query.queryParameters = spec.queryParameters;
    if (spec.parameterMode !== undefined) query.parameterMode = spec.parameterMode;
    if (spec.connectionProperties !== undefined) query.connectionProperties = spec.connectionProperties;
    // A job id of its own: BigQuery accepts one on a dry run and some emulators require it.
    const jobReference = { projectId: project, jobId: `sluice_dry_run_${randomUUID().replaceAll('-', '')}`, ...(spec.location && { location: spec.location }) };
    const body = { jobReference, configuration: { dryRun: true, query } };
    const res = await this.call('POST', `/projects/${seg(project)}/jobs`, headers, { body });
    // The query itself is invalid (syntax, unknown table, unsupported feature): say so as BigQuery
    // does, whatever reason the upstream gave. A reason such as the emulator's jobInternalError
    // would have clients retry a query that can never run.
    if (res.status === 400) throw invalidQuery(fromUpstream(res.status, res.body, rewrite).message);
    const job = expectAnswer<{
      status?: { errorResult?: { reason?: string; message?: string } };
      statistics?: { totalBytesProcessed?: string; query?: { totalBytesProcessed?: string; statementType?: string; referencedTables?: { projectId: string; datasetId: string; tableId: string }[] } };
    }>('the dry run', res, 'dry run', rewrite);
    if (job?.status?.errorResult) {
      throw invalidQuery((rewrite ?? ((m: string) => m))(job.status.errorResult.message ?? 'the dry run failed'));
    }
    const stats = job?.statistics?.query;
    const bytes = Number(stats?.totalBytesProcessed ?? job?.statistics?.totalBytesProcessed);
    if (!Number.isFinite(bytes) || bytes < 0) throw new UpstreamFault('BigQuery dry run returned no byte estimate');
    const referenced = stats?.referencedTables;
    return {
      bytes,
      referencedTables: referenced?.length ? referenced.map((t) => `${t.projectId}.${t.datasetId}.${t.tableId}`) : undefined,
      statementType: stats?.statementType,
    };
  }

  /** `tables.get`, schema only; undefined when the table does not exist (or is not visible). */
  async tableSchema(project: string, dataset: string, table: string, headers: Headers): Promise<TableMetadata | undefined> {
    const res = await this.call('GET', `/projects/${seg(project)}/datasets/${seg(dataset)}/tables/${seg(table)}`, headers);
    if ((res.status === 404 || res.status === 403) && !res.problem) return undefined;
    const body = expectAnswer<Partial<TableMetadata>>('tables.get', res, 'table');
    if (!body.schema || !Array.isArray(body.schema.fields)) return undefined;
    return { schema: body.schema, ...(body.type && { type: body.type }) };
  }

  // jobs.query and jobs.insert are never abandoned midway: only their answer says which job they made.
  query(project: string, body: unknown, headers: Headers): Promise<UpstreamResponse> {
    return this.call('POST', `/projects/${seg(project)}/queries`, headers, { body });
  }

  insertJob(project: string, body: unknown, headers: Headers): Promise<UpstreamResponse> {
    return this.call('POST', `/projects/${seg(project)}/jobs`, headers, { body });
  }

  getJob(project: string, jobId: string, query: Query, headers: Headers, options: CallOptions = {}): Promise<UpstreamResponse> {
    return this.call('GET', `/projects/${seg(project)}/jobs/${seg(jobId)}`, headers, { query, ...options });
  }

  /** jobs.cancel, with a short timeout of its own (it is also sent after the caller left). */
  cancelJob(project: string, jobId: string, query: Query, headers: Headers): Promise<UpstreamResponse> {
    return this.call('POST', `/projects/${seg(project)}/jobs/${seg(jobId)}/cancel`, headers, { query, timeoutMs: Math.min(this.timeoutMs, 10_000) });
  }

  getQueryResults(project: string, jobId: string, query: Query, headers: Headers, options: CallOptions = {}): Promise<UpstreamResponse> {
    return this.call('GET', `/projects/${seg(project)}/queries/${seg(jobId)}`, headers, { query, ...options });
  }

  getTable(project: string, dataset: string, table: string, query: Query, headers: Headers, options: CallOptions = {}): Promise<UpstreamResponse> {
    return this.call('GET', `/projects/${seg(project)}/datasets/${seg(dataset)}/tables/${seg(table)}`, headers, { query, ...options });
  }

  listTableData(project: string, dataset: string, table: string, query: Query, headers: Headers, options: CallOptions = {}): Promise<UpstreamResponse> {
    return this.call('GET', `/projects/${seg(project)}/datasets/${seg(dataset)}/tables/${seg(table)}/data`, headers, { query, ...options });
  }

  /** Reachability for /readyz: any HTTP answer below 500 counts (an unauthenticated 401 too). */
  async reachable(): Promise<boolean> {
    try {
      const res = await this.http.call({ method: 'GET', path: '/discovery/v1/apis/bigquery/v2/rest', timeoutMs: 2000 });
      return res.status > 0 && res.status < 500;
    } catch {
      return false;
    }
  }

  close(): void {
    this.http.close();
  }
}
