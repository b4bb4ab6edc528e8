// What an upstream answer must look like before the gateway uses it. A 200 that is not JSON, is
// not declared JSON, or is JSON of the wrong shape is the upstream (or something in front of it)
// failing: the caller gets a 502 backendError saying what was wrong, never an empty 200 or a 500.
import { BigQueryError, fromUpstream, isBigQueryErrorBody } from '../bigquery/errors.ts';
import type { UpstreamResponse } from './http.ts';

/** The resource each route answers with. */
export type AnswerKind = 'query results' | 'job' | 'dry run' | 'cancel answer' | 'table' | 'table data';

/**
 * The body of a successful answer of `kind`; anything else is thrown as a BigQuery error:
 * the upstream's own error when it sent one, else a 502 naming the problem. `rewrite` may
 * withhold the text of an upstream error (it can quote values).
 */
export function expectAnswer<T>(operation: string, res: UpstreamResponse, kind: AnswerKind, rewrite?: (message: string) => string): T {
  if (res.status !== 200) {
    if (isBigQueryErrorBody(res.body)) throw fromUpstream(res.status, res.body, rewrite);
    throw new UpstreamFault(`BigQuery answered ${operation} with HTTP ${res.status} and ${res.problem ?? 'a body that is not a BigQuery error'}`);
  }
  if (res.problem) throw invalidAnswer(operation, res.problem);
  const problem = SHAPES[kind](res.body);
  if (problem) throw invalidAnswer(operation, `${kind} that ${problem}`);
  // selfLink is the resource's URL at the upstream: an address inside the deployment that the
  // caller, which only ever talks to the gateway, has no use for.
  delete (res.body as { selfLink?: unknown }).selfLink;
  return res.body as T;
}

/** An upstream answer the gateway could not use, or none at all: a 502 the fault backoff counts. */
export class UpstreamFault extends BigQueryError {
  override name = 'UpstreamFault';
  /** The call was abandoned at the upstream timeout. */
  readonly timedOut: boolean;

  constructor(message: string, timedOut = false) {
    super(502, 'backendError', message);
    this.timedOut = timedOut;
  }
}

export function invalidAnswer(operation: string, problem: string): UpstreamFault {
  return new UpstreamFault(`BigQuery's answer to ${operation} cannot be used: it is ${problem}. Nothing of it was passed on.`);
}

type Check = (body: unknown) => string | undefined;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optional(body: Record<string, unknown>, key: string, test: (v: unknown) => boolean, what: string): string | undefined {
  const v = body[key];
  return v === undefined || test(v) ? undefined : `has a ${key} that is not ${what}`;
}

const isString = (v: unknown) => typeof v === 'string';
const isCount = (v: unknown) => (typeof v === 'string' && /^\d+$/.test(v)) || (typeof v === 'number' && Number.isInteger(v) && v >= 0);
const isSchema = (v: unknown) => isObject(v) && (v.fields === undefined || Array.isArray(v.fields));
const isJobReference = (v: unknown) => isObject(v) && typeof v.jobId === 'string';

function first(...problems: (string | undefined)[]): string | undefined {
  return problems.find((p) => p !== undefined);
}

const job: Check = (body) => {
  if (!isObject(body)) return 'is not an object';
  if (!isJobReference(body.jobReference)) return 'names no job';
  return first(optional(body, 'status', isObject, 'an object'), optional(body, 'statistics', isObject, 'an object'), optional(body, 'configuration', isObject, 'an object'));
};

const SHAPES: Record<AnswerKind, Check> = {
  'query results': (body) => {
    if (!isObject(body)) return 'is not an object';
    if (body.jobReference === undefined && typeof body.queryId !== 'string') return 'names no job';
    const problem = first(
      optional(body, 'jobReference', isJobReference, 'a job reference'),
      optional(body, 'jobComplete', (v) => typeof v === 'boolean', 'a boolean'),
      optional(body, 'schema', isSchema, 'a schema'),
      optional(body, 'rows', Array.isArray, 'a list'),
      optional(body, 'totalRows', isCount, 'a row count'),
      optional(body, 'pageToken', isString, 'a string'),
    );
    if (problem) return problem;
    if (Array.isArray(body.rows) && body.rows.length > 0 && body.schema === undefined) return 'has rows without a schema';
    return undefined;
  },
  job,
  // A dry run creates no job: BigQuery's answer may carry no job id.
  'dry run': (body) => {
    if (!isObject(body)) return 'is not an object';
    return first(optional(body, 'status', isObject, 'an object'), optional(body, 'statistics', isObject, 'an object'));
  },
  'cancel answer': (body) => {
    if (!isObject(body)) return 'is not an object';
    const problem = body.job === undefined ? undefined : job(body.job);
    return problem && `has a job that ${problem}`;
  },
  table: (body) => {
    if (!isObject(body)) return 'is not an object';
    return optional(body, 'schema', isSchema, 'a schema');
  },
  'table data': (body) => {
    if (!isObject(body)) return 'is not an object';
    return first(optional(body, 'rows', Array.isArray, 'a list'), optional(body, 'totalRows', isCount, 'a row count'), optional(body, 'pageToken', isString, 'a string'));
  },
};
