// Applies a job's masks to what BigQuery sends back: rows and schemas of query results and table
// data, the schema and errors inside Job resources. Anything that cannot be masked as the decision
// says is refused, never passed through.
import type { ContentScan, Decision, Mask, PolicyInput } from '../../engine/schema-types.ts';
import { DETECTORS, MaskingError, compileMasker, compileRowsCheck, selectSchemaFields, type HashKey, type Masker, type SchemaField, type TableRow, type TableSchema } from '../masking/index.ts';
import { invalidAnswer } from '../upstream/answers.ts';
import { accessDenied, errorInfo, invalid, type BigQueryError } from './errors.ts';

/** The part of a decision that shapes results. */
export interface ResultPolicy {
  masks: readonly Mask[];
  contentScan?: ContentScan | undefined;
  /** Output names, in order, of the statement whose rows come back (from the policy input). */
  outputs?: readonly string[] | undefined;
  /** Upstream error texts are withheld (any statement reads a column masked for the caller). */
  withholdErrors?: boolean | undefined;
  /** The statement whose result comes back returns no rows (a write, DDL): rows in an answer are another statement's. */
  rowless?: boolean | undefined;
}

/**
 * A query's result is its last statement's (a multi-statement query returns the last result;
 * the others' rows stay in child jobs the gateway does not serve): its masks apply.
 */
export function resultPolicy(decision: Pick<Decision, 'masks' | 'content_scan'>, input: Pick<PolicyInput, 'sql'>): ResultPolicy {
  const last = input.sql.statements.length - 1;
  const statement = input.sql.statements[last];
  return {
    masks: decision.masks.filter((m) => m.statement === undefined || m.statement === last),
    contentScan: decision.content_scan,
    outputs: statement?.outputs.map((o) => o.name),
    withholdErrors: withholdsErrors(decision),
    ...(statement !== undefined && statement.category !== 'read' && { rowless: true }),
  };
}

/**
 * Upstream error texts can quote values: they are withheld when the caller sees any column
 * masked or the content scan reads every answer.
 */
export function withholdsErrors(decision: { masks: readonly Mask[]; content_scan?: ContentScan | undefined }): boolean {
  return decision.masks.length > 0 || scansEverything(decision.content_scan);
}

/** A content scan of every answer (the other scope scans only answers with columns nobody asked for). */
function scansEverything(scan: ContentScan | undefined): boolean {
  return scan !== undefined && scan.scope !== 'unexpected_answers';
}

export interface MaskCounts {
  cells: number;
  scanned: number;
}

/** True when an answer with `schema` passes through this policy untouched. */
export function passesThrough(policy: ResultPolicy, schema: TableSchema): boolean {
  return policy.masks.length === 0 && contentScanFor(policy, schema) === undefined;
}

/**
 * The content scan an answer with `schema` gets, if any. It runs every detector the audit
 * trail's scrubber runs (all of them, whatever the policy listed), so the trail records exactly
 * what the agent received.
 */
function contentScanFor(policy: ResultPolicy, schema: TableSchema): ContentScan | undefined {
  const scan = policy.contentScan;
  if (!scan || !(scansEverything(scan) || hasUnexpectedColumns(policy, schema))) return undefined;
  return { ...scan, detectors: [...DETECTORS] as ContentScan['detectors'] };
}

/**
 * The masker for an answer with `schema`. `job` names the query job the rows belong to (RANDOM_HASH
 * salts by it); a mask the result cannot take (a column it lacks, a BigQuery rule on a type BigQuery
 * does not allow it on) refuses the answer: 403 accessDenied, recorded as the call's error.
 */
export function compileFor(policy: ResultPolicy, schema: TableSchema, hashKey: HashKey, job?: string): Masker {
  try {
    return compileMasker({ schema, masks: alignByPosition(policy, schema), contentScan: contentScanFor(policy, schema), hashKey, job });
  } catch (error) {
    throw refuseUnmaskable(error);
  }
}

/**
 * Masks a QueryResponse / GetQueryResultsResponse in place of a copy, once its rows are known to
 * match its schema (rows that do not, or rows without a schema, are the upstream failing: 502).
 */
export function maskQueryResults<T extends { schema?: TableSchema; rows?: TableRow[]; jobReference?: { projectId?: string; jobId?: string }; queryId?: string; errors?: unknown }>(
  operation: string,
  body: T,
  policy: ResultPolicy,
  hashKey: HashKey,
  counts?: MaskCounts,
  job: string | undefined = jobOf(body),
): T {
  return withheldErrors(maskRowsOf(operation, body, policy, hashKey, counts, job), policy);
}

/**
 * The errors and warnings a query answer reports beside its rows (`errors`), their texts withheld
 * as a failed job's are: they can quote the values they met.
 */
function withheldErrors<T extends { errors?: unknown }>(body: T, policy: ResultPolicy): T {
  if (!Array.isArray(body.errors) || !withholds(policy)) return body;
  const rewrite = upstreamMessage(policy);
  const errors = body.errors.map((e: unknown) => (e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string' ? { ...e, message: rewrite((e as { message: string }).message) } : e));
  return { ...body, errors };
}

function maskRowsOf<T extends { schema?: TableSchema; rows?: TableRow[] }>(operation: string, body: T, policy: ResultPolicy, hashKey: HashKey, counts: MaskCounts | undefined, job: string | undefined): T {
  if (policy.rowless && body.rows?.length) {
    throw accessDenied("Access Denied: the answer holds rows, but the query's last statement returns none: they are another statement's, which were not decided on as the answer. [unexpected_rows]");
  }
  // A write's answer has no columns: no schema (BigQuery) or one without fields (the emulator).
  if (!body.schema || !Array.isArray(body.schema.fields)) {
    if (body.rows?.length) throw invalidAnswer(operation, body.schema ? 'a result whose schema has no fields' : 'query results with rows but no schema');
    return body;
  }
  conform(operation, body.schema, body.rows);
  if (passesThrough(policy, body.schema)) return body;
  const masker = compileFor(policy, body.schema, hashKey, job);
  const out: T = { ...body, schema: masker.schema };
  if (body.rows) out.rows = maskRows(masker, body.rows, counts);
  return out;
}

/**
 * The query job an answer belongs to, the same on every page (jobs.query and each
 * getQueryResults page carry its jobReference); a query run without a job has a queryId instead.
 */
function jobOf(body: { jobReference?: { projectId?: string; jobId?: string }; queryId?: string }): string | undefined {
  const ref = body.jobReference;
  if (ref?.jobId) return jobKey(ref.projectId ?? '', ref.jobId);
  return body.queryId ? `query ${body.queryId}` : undefined;
}

/** How a query job is named to the masker (RANDOM_HASH's salt). */
export function jobKey(projectId: string, jobId: string): string {
  return `job ${projectId}:${jobId}`;
}

/** tabledata.list sends rows only, in the table's schema (`schema`, from tables.get). */
export function maskTableData<T extends { rows?: TableRow[] }>(body: T, schema: TableSchema, policy: ResultPolicy, hashKey: HashKey, counts?: MaskCounts): T {
  conform('tabledata.list', schema, body.rows);
  if (passesThrough(policy, schema) || !body.rows) return body;
  return { ...body, rows: maskRows(compileFor(policy, schema, hashKey), body.rows, counts) };
}

function conform(operation: string, schema: TableSchema, rows: readonly TableRow[] | undefined): void {
  if (!rows?.length) return;
  if (!Array.isArray(schema.fields)) throw invalidAnswer(operation, 'a result whose schema has no fields');
  const problem = compileRowsCheck(schema)(rows);
  if (problem) throw invalidAnswer(operation, `a result whose ${problem}`);
}

/**
 * An answer with a column the statement did not ask for is answering something else: under the
 * `unexpected_answers` scope it is scanned whole. Outputs unknown: treated as unexpected.
 */
function hasUnexpectedColumns(policy: ResultPolicy, schema: TableSchema): boolean {
  const outputs = policy.outputs;
  if (!outputs || outputs.includes('*')) return true;
  const expected = new Set(outputs.map((o) => o.toLowerCase()));
  // Engines name anonymous columns their own way (BigQuery f0_, the emulator $col1): same position, same column.
  const aligned = outputs.length === schema.fields.length;
  return schema.fields.some((field, i) => !expected.has(field.name.toLowerCase()) && !(aligned && /^f\d+_$/.test(outputs[i]!)));
}

function maskRows(masker: Masker, rows: TableRow[], counts?: MaskCounts): TableRow[] {
  if (!masker.active) return rows;
  try {
    const page = masker.maskRows(rows);
    if (counts) {
      counts.cells += page.stats.cellsMasked;
      counts.scanned += page.stats.contentScanCells;
    }
    return page.rows;
  } catch (error) {
    throw refuseUnmaskable(error);
  }
}

interface JobResource {
  statistics?: { query?: { schema?: TableSchema } };
  status?: { errorResult?: { message?: string }; errors?: { message?: string }[] };
}

/** A Job resource as the caller may see it: masked result schema, error text withheld if needed. */
export function sanitizeJob<T extends JobResource>(job: T, policy: ResultPolicy, hashKey: HashKey): T {
  if (!job || typeof job !== 'object') return job;
  const schema = job.statistics?.query?.schema;
  const reshape = schema !== undefined && Array.isArray(schema.fields) && !passesThrough(policy, schema);
  if (!reshape && !withholds(policy)) return job;
  const out = structuredClone(job);
  if (reshape) out.statistics!.query!.schema = compileFor(policy, schema, hashKey).schema;
  const rewrite = upstreamMessage(policy);
  if (out.status?.errorResult?.message) out.status.errorResult.message = rewrite(out.status.errorResult.message);
  for (const e of out.status?.errors ?? []) if (e.message) e.message = rewrite(e.message);
  return out;
}

/**
 * BigQuery's error messages quote values ("Bad int64 value: 123-45-6789"). When the caller would
 * see any column masked, the text is withheld: the error reason still says what kind of failure.
 */
export function upstreamMessage(policy: ResultPolicy): (message: string) => string {
  return withholds(policy) ? () => WITHHELD_MESSAGE : (message) => message;
}

function withholds(policy: ResultPolicy): boolean {
  return policy.withholdErrors ?? withholdsErrors({ masks: policy.masks, content_scan: policy.contentScan });
}

export const WITHHELD_MESSAGE =
  'The query failed in BigQuery. Its error text is withheld because this query reads columns that are masked for you, and error texts can quote their values.';

/**
 * The masks on the result's own columns. A result with exactly the statement's outputs has them in
 * their order, but not always by their names: engines name unnamed columns their own way (BigQuery
 * `f0_`, the emulator `$col1`), and BigQuery numbers them over the whole result where the analysis
 * numbers each SELECT (`SELECT 1, * FROM (SELECT 2, (SELECT name) …)` is f0_, f1_, f2_ to BigQuery,
 * f0_, f0__1, f1_ to the analysis), so a mask by name could land on another column. Each mask
 * follows its output's position; a position whose names disagree, unless both are an unnamed
 * column's, refuses the answer. A result of another width keeps the masks by name, and a mask
 * naming a column it lacks fails closed in the masker.
 */
function alignByPosition(policy: ResultPolicy, schema: TableSchema): readonly Mask[] {
  const outputs = policy.outputs;
  if (!outputs || outputs.length !== schema.fields.length) return policy.masks;
  const names = schema.fields.map((f) => f.name.toLowerCase());
  const differs = names.findIndex((name, i) => name !== outputs[i]!.toLowerCase() && !(UNNAMED_OUTPUT.test(outputs[i]!) && UNNAMED_COLUMN.test(name)));
  if (differs >= 0) {
    throw new MaskingError('unknown_output', `the result's column ${differs + 1} is ${names[differs]}, where the statement's output is ${outputs[differs]}`);
  }
  return policy.masks.map((mask) => {
    const index = mask.output === '*' ? -1 : outputs.indexOf(mask.output);
    return index < 0 ? mask : { ...mask, output: names[index]! };
  });
}

/** How the analysis names an unnamed output (f0_, deduplicated f0__1), and how engines name one. */
const UNNAMED_OUTPUT = /^f\d+_(_\d+)?$/i;
const UNNAMED_COLUMN = /^(f\d+_|\$col\d+)$/i;

/** Masks of a full-table decision that concern the fields a projected schema still has. */
export function masksWithin(masks: readonly Mask[], schema: TableSchema): Mask[] {
  const byName = new Map(schema.fields.map((f) => [f.name.toLowerCase(), f]));
  return masks.filter((mask) => {
    if (mask.output === '*') return true;
    let field = byName.get(mask.output.toLowerCase());
    for (const step of mask.path ?? []) {
      if (!field) return false;
      field = (field.fields ?? []).find((f) => f.name.toLowerCase() === step.toLowerCase()) as typeof field;
    }
    return field !== undefined;
  });
}

/**
 * Honors a `fields` partial-response selector after masking (upstream always returns the whole
 * response, so the masker has the schema). Top-level names are kept whole: a superset of what
 * was asked, which clients accept.
 */
export function selectFields<T extends object>(body: T, fields: string | undefined): Partial<T> {
  if (!fields) return body;
  const keep = new Set<string>();
  let depth = 0;
  let current = '';
  for (const ch of fields) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (depth === 0 && ch === ',') {
      keep.add(current.split('/')[0]!.trim());
      current = '';
    } else if (depth === 0 && ch !== ')') current += ch;
  }
  keep.add(current.split('/')[0]!.trim());
  return Object.fromEntries(Object.entries(body).filter(([k]) => keep.has(k))) as Partial<T>;
}

function refuseUnmaskable(error: unknown): BigQueryError {
  const detail = error instanceof MaskingError ? `${error.code}: ${error.message}` : 'unexpected masking failure';
  const code = error instanceof MaskingError ? error.code : 'internal';
  return accessDenied(`Access Denied: the gateway could not apply the policy's masks to this result (${detail}), so it is withheld.`, [
    errorInfo('MASKS_NOT_APPLICABLE', { masking_error: code }),
  ]);
}

/**
 * tabledata.list's `selectedFields`, applied by the gateway after masking: rows are fetched and
 * masked whole (not every upstream honours the parameter, and a row that does not match the
 * schema cannot be masked), then cut down to the selection in table schema order.
 */
export function projectRows(rows: TableRow[], schema: TableSchema, selectedFields: string | undefined): TableRow[] {
  let selected: TableSchema;
  try {
    selected = selectSchemaFields(schema, selectedFields);
  } catch (error) {
    throw invalid(`Invalid selectedFields: ${(error as Error).message}`);
  }
  if (selected === schema) return rows;
  const plan = projection(schema.fields, selected.fields);
  return rows.map((row) => project(row, plan));
}

interface Projection {
  index: number;
  /** Absent: the whole cell; present: the RECORD's projected fields. */
  children?: Projection[];
  repeated: boolean;
}

function projection(full: readonly SchemaField[], kept: readonly SchemaField[]): Projection[] {
  return kept.map((field) => {
    const index = full.findIndex((f) => f.name === field.name);
    const original = full[index]!;
    const whole = field === original;
    return {
      index,
      repeated: original.mode === 'REPEATED',
      ...(!whole && { children: projection((original.fields ?? []) as SchemaField[], (field.fields ?? []) as SchemaField[]) }),
    };
  });
}

function project(row: TableRow, plan: Projection[]): TableRow {
  return {
    f: plan.map((p) => {
      const cell = row.f[p.index]!;
      if (!p.children || cell.v === null || cell.v === undefined) return cell;
      if (p.repeated && Array.isArray(cell.v)) {
        return { v: cell.v.map((element) => (element.v === null ? element : { v: project(element.v as TableRow, p.children!) })) };
      }
      return { v: project(cell.v as TableRow, p.children) };
    }),
  };
}
