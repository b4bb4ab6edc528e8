// What the MCP tools ask of the BigQuery facade, as calls through its own routes (see
// internal-calls.ts): a tool never decides, masks or reaches the upstream by itself.
import type { FastifyInstance } from 'fastify';
import type { Decision } from '../../engine/index.ts';
import { API_PREFIX } from '../bigquery/facade.ts';
import type { Caller } from '../enforce.ts';
import type { Door, InternalCalls } from '../internal-calls.ts';
import type { TableRow, TableSchema } from '../masking/index.ts';

/** A refusal in BigQuery's terms, as a tool reports it: the same code, reason and details as over REST. */
export class ToolRefusal extends Error {
  override name = 'ToolRefusal';
  readonly code: number;
  readonly reason: string;
  readonly details: { reason?: string; metadata?: Record<string, string> }[];

  constructor(code: number, reason: string, message: string, details: { reason?: string; metadata?: Record<string, string> }[] = []) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  /** A metadata value of the refusal's ErrorInfo details (approval_request_id, approval_url, …). */
  detail(key: string): string | undefined {
    for (const d of this.details) if (d.metadata?.[key] !== undefined) return d.metadata[key];
    return undefined;
  }
}

export interface QueryPage {
  jobReference?: { projectId?: string; jobId?: string; location?: string };
  jobComplete?: boolean;
  schema?: TableSchema;
  rows?: TableRow[];
  totalRows?: string;
  pageToken?: string;
  totalBytesProcessed?: string;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Seconds the facade holds the call for an approval (its `X-Sluice-Wait-Approval`). */
  holdSeconds?: number | undefined;
}

export class BigQueryCalls {
  readonly #app: FastifyInstance;
  readonly #internal: InternalCalls;
  readonly #caller: Caller;
  readonly #door: Door;
  #sent = 0;

  constructor(app: FastifyInstance, internal: InternalCalls, caller: Caller, door: Door) {
    this.#app = app;
    this.#internal = internal;
    this.#caller = caller;
    this.#door = door;
  }

  /** jobs.query; the decisions the facade acted on come back with the page. */
  async query(project: string, body: Record<string, unknown>, options: CallOptions = {}): Promise<{ page: QueryPage; decisions: Decision[] }> {
    const headers = options.holdSeconds ? { 'x-sluice-wait-approval': String(options.holdSeconds) } : undefined;
    const { body: page, decisions } = await this.#call('POST', `/projects/${enc(project, 'project')}/queries`, options, body, headers);
    return { page: page as QueryPage, decisions };
  }

  /** jobs.getQueryResults of one of the caller's jobs. */
  async results(project: string, jobId: string, query: Record<string, string | undefined>, options: CallOptions = {}): Promise<QueryPage> {
    return (await this.#call('GET', `/projects/${enc(project, 'project')}/queries/${enc(jobId, 'job')}${search(query)}`, options)).body as QueryPage;
  }

  datasets(project: string, query: Record<string, string | undefined> = {}, options: CallOptions = {}): Promise<any> {
    return this.#get(`/projects/${enc(project, 'project')}/datasets${search(query)}`, options);
  }

  dataset(project: string, dataset: string, options: CallOptions = {}): Promise<any> {
    return this.#get(`/projects/${enc(project, 'project')}/datasets/${enc(dataset, 'dataset')}`, options);
  }

  tables(project: string, dataset: string, query: Record<string, string | undefined> = {}, options: CallOptions = {}): Promise<any> {
    return this.#get(`/projects/${enc(project, 'project')}/datasets/${enc(dataset, 'dataset')}/tables${search(query)}`, options);
  }

  table(project: string, dataset: string, table: string, options: CallOptions = {}): Promise<any> {
    return this.#get(`/projects/${enc(project, 'project')}/datasets/${enc(dataset, 'dataset')}/tables/${enc(table, 'table')}`, options);
  }

  async #get(path: string, options: CallOptions): Promise<any> {
    return (await this.#call('GET', path, options)).body;
  }

  async #call(method: 'GET' | 'POST', path: string, options: CallOptions, body?: unknown, headers?: Record<string, string>): Promise<{ body: unknown; decisions: Decision[] }> {
    const answer = await this.#internal.inject(
      this.#app,
      { caller: this.#caller, door: this.#door, signal: options.signal },
      // Recorded under the tool call's own request id, `.1`, `.2`, …: `sluice replay <id>` finds them all.
      { method, url: API_PREFIX + path, ...(body !== undefined && { body }), headers: { ...headers, ...(this.#door.call_id && { 'x-request-id': `${this.#door.call_id}.${++this.#sent}` }) } },
    );
    if (answer.status >= 400) throw refusalOf(answer.status, answer.body);
    return { body: answer.body, decisions: answer.call.decisions };
  }
}

function refusalOf(status: number, body: any): ToolRefusal {
  const error = body?.error;
  if (!error || typeof error.message !== 'string') return new ToolRefusal(status, 'backendError', `The gateway answered HTTP ${status}.`);
  return new ToolRefusal(error.code ?? status, error.errors?.[0]?.reason ?? 'backendError', error.message, Array.isArray(error.details) ? error.details : []);
}

/**
 * One path segment. `.` and `..` (even percent-encoded) are dot segments a URL resolves away, so
 * they would reach another route than the one named: refused like any other invalid ID.
 */
function enc(segment: string, what: 'project' | 'dataset' | 'table' | 'job'): string {
  if (segment === '.' || segment === '..') throw new ToolRefusal(400, 'invalid', `Invalid ${what} ID '${segment}'`);
  return encodeURIComponent(segment);
}

function search(query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : '';
}
