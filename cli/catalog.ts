// `sluice catalog diff`: what the policy data says is sensitive, against what BigQuery says.
// The upstream is read over the BigQuery REST API (datasets.list, tables.list, tables.get, and
// tabledata.list for a small sample of rows); the data file is the policy's (rego/org/data.yaml).
// Sampled values are only run through the content detectors and counted, never printed.
import { readFile } from 'node:fs/promises';
import { GoogleAuth } from 'google-auth-library';
import { parse as parseYaml } from 'yaml';
import type { ContentScan, TableField } from '../engine/schema-types.ts';
import { BIGQUERY_SCOPE, createCredentialProvider } from '../gateway/credentials/index.ts';
import { DETECTORS, compileContentScanner, type Detector } from '../gateway/masking/detectors.ts';
import { selectSchemaFields } from '../gateway/masking/selected-fields.ts';
import type { SchemaField } from '../gateway/masking/rows.ts';
import { BigQueryUpstream, type Headers } from '../gateway/upstream/bigquery.ts';
import { expectAnswer } from '../gateway/upstream/answers.ts';
import { UsageError } from './output.ts';

/** What the policy data holds that the diff compares (data.org in the policy). */
interface PolicyData {
  policy_tags?: Record<string, { strategy?: string; raw_readers?: string[] } | null>;
  projects?: Record<string, { datasets?: Record<string, { tables?: Record<string, { sensitive_columns?: Record<string, string> } | null> } | null> } | null>;
}

export type Finding =
  /** The column carries a policy tag the data maps to no rule: the policy masks it ALWAYS_NULL for everyone. */
  | { kind: 'tagged_unmapped'; table: string; column: string; tags: string[] }
  /** The data lists the column as sensitive, but BigQuery tags it with nothing. */
  | { kind: 'listed_untagged'; table: string; column: string; strategy: string }
  /** The data lists a column the table does not have (renamed or dropped upstream). */
  | { kind: 'listed_missing'; table: string; column: string; strategy: string }
  /** Neither tagged nor listed, yet its name or sampled values look sensitive. */
  | { kind: 'unruled_sensitive'; table: string; column: string; names: string[]; detectors: Partial<Record<Detector, number>>; sampled: number };

export interface DiffReport {
  project: string;
  dataset: string | null;
  upstream: string;
  data: string;
  /** Tables examined. */
  tables: number;
  /** Rows sampled per table at most (0: no sampling). */
  sample: number;
  findings: Finding[];
}

export interface DiffOptions {
  project: string;
  dataset?: string | undefined;
  upstream: string;
  /** `none`, `adc`, or a service account e-mail to impersonate with Application Default Credentials. */
  credentials: string;
  dataFile: string;
  sample: number;
  timeoutMs?: number;
  progress?: (message: string) => void;
  /** Something the report goes on without (a table it could not sample). */
  warn?: (message: string) => void;
}

/**
 * Column names that usually hold personal or secret values, matched on the column's own name
 * (a RECORD's field by its last part), lower-cased, as whole `_`-separated words.
 */
export const NAME_PATTERNS: readonly (readonly [string, RegExp])[] = [
  ['national id', /(^|_)(ssn|social_security(_number)?|national_id|tax_id|passport(_number)?|drivers?_licen[cs]e(_number)?)(_|$)/],
  ['email', /(^|_)e_?mail(_address)?(_|$)/],
  ['phone', /(^|_)(phone|mobile|cell_?phone|telephone|fax)(_number)?(_|$)/],
  ['card', /(^|_)(card_number|credit_card|cc_number|pan|iban|account_number|cvv)(_|$)/],
  ['person name', /^((full|first|last|given|family|middle|maiden)_name|surname)$/],
  ['birth date', /(^|_)(birth_?date|date_of_birth|dob|birthday)(_|$)/],
  ['address', /(^|_)(street|address|postcode|zip_?code)(_|$)/],
  ['compensation', /(^|_)(salary|wage|compensation|income)(_|$)/],
  ['health', /(^|_)(diagnosis|medical|health)(_|$)/],
  ['ip address', /(^|_)ip(_address)?(_|$)/],
  ['secret', /(^|_)(password|secret|api_key|access_token)(_|$)/],
];

export function sensitiveNames(column: string): string[] {
  const name = column.slice(column.lastIndexOf('.') + 1).toLowerCase();
  return NAME_PATTERNS.filter(([, pattern]) => pattern.test(name)).map(([label]) => label);
}

/** Request headers for the upstream, as a gateway connection would send them. */
export async function upstreamHeaders(credentials: string): Promise<() => Promise<Headers>> {
  if (credentials === 'none') return async () => ({});
  if (credentials === 'adc') {
    const auth = new GoogleAuth({ scopes: [BIGQUERY_SCOPE] });
    return async () => {
      const { token } = await (await auth.getClient()).getAccessToken();
      if (!token) throw new Error('Application Default Credentials gave no access token');
      return { Authorization: `Bearer ${token}` };
    };
  }
  if (/^[^\s/@]+@[^\s/@]+$/.test(credentials)) {
    const provider = createCredentialProvider({ mode: 'impersonate', targetPrincipal: credentials }, { connection: 'sluice catalog' });
    const identity = { subject: 'sluice-catalog', issuer: 'local', kind: 'human' as const, groups: [], claims: {} };
    return () => provider.headers({ identity, ttlSeconds: 600 });
  }
  throw new UsageError(`--credentials must be none, adc or a service account e-mail, got ${credentials}`);
}

interface Listed {
  table: string;
  type: string | undefined;
}

const seg = encodeURIComponent;

/** Every page of a list call, as the items under `key`. */
async function listAll<T>(upstream: BigQueryUpstream, path: string, key: string, headers: () => Promise<Headers>): Promise<T[]> {
  const items: T[] = [];
  let pageToken: string | undefined;
  do {
    const res = await upstream.call('GET', path, await headers(), { query: { maxResults: 1000, ...(pageToken && { pageToken }) } });
    const body = expectAnswer<Record<string, unknown>>(`GET ${path}`, res, 'table');
    const page = body[key];
    if (page !== undefined && !Array.isArray(page)) throw new Error(`BigQuery's answer to GET ${path} has a ${key} that is not a list`);
    items.push(...((page ?? []) as T[]));
    pageToken = typeof body.nextPageToken === 'string' && body.nextPageToken ? body.nextPageToken : undefined;
  } while (pageToken);
  return items;
}

interface Leaf {
  path: string;
  type: string;
  tags: string[];
}

function leaves(fields: readonly TableField[], prefix = ''): Leaf[] {
  return fields.flatMap((f) => {
    const path = prefix + f.name.toLowerCase();
    const own: Leaf = { path, type: f.type.toUpperCase(), tags: (f.policyTags?.names ?? []).filter((n) => typeof n === 'string' && n !== '') };
    return f.fields?.length ? [...(own.tags.length ? [own] : []), ...leaves(f.fields, path + '.')] : [own];
  });
}

function hasPath(fields: readonly TableField[], path: string): boolean {
  let list: readonly TableField[] | undefined = fields;
  for (const part of path.split('.')) {
    const field: TableField | undefined = list?.find((f) => f.name.toLowerCase() === part);
    if (!field) return false;
    list = field.fields;
  }
  return true;
}

/** `a.b.c` is `a.b.c`, or inside `a.b` or `a`. */
function coveredBy(path: string, listed: Iterable<string>): boolean {
  for (const key of listed) if (path === key || path.startsWith(key + '.')) return true;
  return false;
}

interface Cell {
  v?: unknown;
}

/** Text values of a tabledata.list row by column path (RECORDs and REPEATED fields walked). */
function rowValues(fields: readonly TableField[], row: unknown, prefix: string, out: Map<string, string[]>): void {
  const cells = (row as { f?: Cell[] } | null)?.f;
  if (!Array.isArray(cells)) return;
  fields.forEach((field, i) => {
    const path = prefix + field.name.toLowerCase();
    const value = (v: unknown) => {
      if (v === null || v === undefined) return;
      if (field.fields?.length) rowValues(field.fields, v, path + '.', out);
      else if (typeof v === 'string') (out.get(path) ?? out.set(path, []).get(path)!).push(v);
    };
    const v = cells[i]?.v;
    if (field.mode === 'REPEATED' && Array.isArray(v)) for (const item of v as Cell[]) value(item?.v);
    else value(v);
  });
}

/**
 * Up to `limit` rows of the table, as text values by column path, of the `unruled` text columns
 * only: they are asked for with `selectedFields`, so columns under column-level security are not
 * read (BigQuery refuses the whole call for a caller who may not read one). An upstream that
 * ignores the parameter sends whole rows, read by the whole schema. A refusal skips the sample.
 */
async function sample(
  upstream: BigQueryUpstream,
  ref: { project: string; dataset: string; table: string; id: string },
  fields: readonly TableField[],
  unruled: readonly Leaf[],
  limit: number,
  headers: Headers,
  warn: ((message: string) => void) | undefined,
): Promise<{ rows: number; values: Map<string, string[]> }> {
  const paths = unruled.filter((l) => l.type === 'STRING' || l.type === 'JSON').map((l) => l.path);
  const schema = { fields: fields as SchemaField[] };
  let projected = selectSchemaFields(schema, paths.join(',')).fields as TableField[];
  // Every column selected: ask for them whole, so both answers have one layout.
  const whole = projected.length === fields.length;
  if (whole) projected = fields as TableField[];
  const query = { maxResults: limit, ...(!whole && { selectedFields: paths.join(',') }) };
  const res = await upstream.listTableData(ref.project, ref.dataset, ref.table, query, headers);
  if (res.status === 403) {
    warn?.(`${ref.id} was not sampled: ${describeRefusal(res.body)}`);
    return { rows: 0, values: new Map() };
  }
  const body = expectAnswer<{ rows?: unknown[] }>(`tabledata.list of ${ref.id}`, res, 'table data');
  const page = (body.rows ?? []).slice(0, limit);
  const values = new Map<string, string[]>();
  for (const row of page) {
    const width = (row as { f?: unknown[] } | null)?.f?.length;
    rowValues(width === fields.length ? fields : projected, row, '', values);
  }
  return { rows: page.length, values };
}

function describeRefusal(body: unknown): string {
  const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return typeof message === 'string' ? message : 'access denied';
}

export async function catalogDiff(options: DiffOptions): Promise<DiffReport> {
  const project = options.project;
  const data = await readPolicyData(options.dataFile);
  const headers = await upstreamHeaders(options.credentials);
  const upstream = new BigQueryUpstream(options.upstream, { timeoutMs: options.timeoutMs ?? 60_000 });
  const say = options.progress ?? (() => {});
  const mapped = new Set(Object.keys(data.policy_tags ?? {}));
  const findings: Finding[] = [];
  const detect = compileContentScanner({ detectors: [...DETECTORS] as ContentScan['detectors'], strategy: 'redact' }, (v) => v);
  let examined = 0;
  try {
    const datasets = options.dataset
      ? [options.dataset]
      : (await listAll<{ datasetReference?: { datasetId?: string } }>(upstream, `/projects/${seg(project)}/datasets`, 'datasets', headers))
          .map((d) => d.datasetReference?.datasetId)
          .filter((id): id is string => typeof id === 'string')
          .sort();
    for (const dataset of datasets) {
      say(`listing ${project}.${dataset}`);
      const tables: Listed[] = (
        await listAll<{ tableReference?: { tableId?: string }; type?: string }>(upstream, `/projects/${seg(project)}/datasets/${seg(dataset)}/tables`, 'tables', headers)
      )
        .filter((t) => typeof t.tableReference?.tableId === 'string')
        .map((t) => ({ table: t.tableReference!.tableId!, type: t.type }))
        .sort((a, b) => (a.table < b.table ? -1 : 1));
      for (const { table, type } of tables) {
        const id = `${project}.${dataset}.${table}`.toLowerCase();
        say(`reading ${id}`);
        const meta = await upstream.tableSchema(project, dataset, table, await headers());
        if (!meta) {
          // Gone since the listing, not visible to these credentials, or without a schema.
          options.warn?.(`${id} was not compared: tables.get gave no schema`);
          continue;
        }
        examined++;
        const fields = meta.schema.fields;
        const config = data.projects?.[project.toLowerCase()]?.datasets?.[dataset.toLowerCase()]?.tables?.[table.toLowerCase()];
        const listed = Object.fromEntries(Object.entries(config?.sensitive_columns ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
        const all = leaves(fields);
        const tagged = new Set(all.filter((l) => l.tags.length > 0).map((l) => l.path));

        for (const leaf of all) {
          const unmapped = leaf.tags.filter((t) => !mapped.has(t));
          if (unmapped.length > 0) findings.push({ kind: 'tagged_unmapped', table: id, column: leaf.path, tags: unmapped });
        }
        for (const [column, strategy] of Object.entries(listed)) {
          if (!hasPath(fields, column)) findings.push({ kind: 'listed_missing', table: id, column, strategy });
          else if (![...tagged].some((t) => t === column || t.startsWith(column + '.'))) findings.push({ kind: 'listed_untagged', table: id, column, strategy });
        }

        // Columns no rule reaches: neither tagged nor listed (themselves or a RECORD above them).
        const unruled = all.filter((l) => l.tags.length === 0 && !coveredBy(l.path, Object.keys(listed)));
        if (unruled.length === 0) continue;
        const sampled = new Map<string, string[]>();
        let rows = 0;
        const textual = unruled.some((l) => l.type === 'STRING' || l.type === 'JSON');
        if (options.sample > 0 && textual && (type === undefined || type === 'TABLE')) {
          say(`sampling ${id}`);
          const got = await sample(upstream, { project, dataset, table, id }, fields, unruled, options.sample, await headers(), options.warn);
          rows = got.rows;
          for (const [path, values] of got.values) sampled.set(path, values);
        }
        for (const leaf of unruled) {
          const names = sensitiveNames(leaf.path);
          const detectors: Partial<Record<Detector, number>> = {};
          for (const value of sampled.get(leaf.path) ?? []) {
            const before = { ...detect.counts };
            detect.scan(value);
            for (const d of DETECTORS) if (detect.counts[d] > before[d]) detectors[d] = (detectors[d] ?? 0) + 1;
          }
          if (names.length > 0 || Object.keys(detectors).length > 0) {
            findings.push({ kind: 'unruled_sensitive', table: id, column: leaf.path, names, detectors, sampled: rows });
          }
        }
      }
    }
  } finally {
    upstream.close();
  }
  return { project, dataset: options.dataset ?? null, upstream: options.upstream, data: options.dataFile, tables: examined, sample: options.sample, findings };
}

async function readPolicyData(file: string): Promise<PolicyData> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (thrown) {
    throw new UsageError(`cannot read the policy data file ${file}: ${(thrown as NodeJS.ErrnoException).code ?? String(thrown)}`);
  }
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (thrown) {
    throw new UsageError(`the policy data file ${file} does not parse: ${(thrown as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`the policy data file ${file} is not a mapping`);
  return doc as PolicyData;
}
