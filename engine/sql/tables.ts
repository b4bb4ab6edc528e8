// Qualification of table names to project.dataset.table, for every spelling BigQuery accepts:
// t, ds.t, p.ds.t, `p.ds.t`, `p`.`ds`.`t`, `p.ds`.t, dashed project ids, wildcard tables and
// INFORMATION_SCHEMA views. Dataset and table names keep their case: BigQuery reads them
// case-sensitively (unless a dataset was created case-insensitive), so `CRM.Customers` is not
// `crm.customers` and must not be judged as it. Project ids, region qualifiers, the
// INFORMATION_SCHEMA keyword and its view names are case-insensitive and lower-cased.
import type { TableRef } from '../schema-types.ts';

export interface NameContext {
  /** Project the job runs in; qualifies `dataset.table`. */
  project: string;
  /** Qualifies a bare `table`. */
  defaultDataset?: { project: string; dataset: string };
}

export type TableName = Omit<TableRef, 'mode'>;

export type Qualified = { name: TableName; error?: undefined } | { name?: undefined; error: string };

const INFORMATION_SCHEMA = 'information_schema';

/** `ds` or `p.ds` (as the API's defaultDataset gives it) against the job's project. */
export function parseDefaultDataset(value: string | undefined, project: string): NameContext['defaultDataset'] {
  if (value === undefined || value.trim() === '') return undefined;
  const parts = value.replaceAll('`', '').split('.');
  if (parts.length === 1) return { project: project.toLowerCase(), dataset: parts[0]! };
  if (parts.length === 2) return { project: parts[0]!.toLowerCase(), dataset: parts[1]! };
  return undefined;
}

/**
 * A table id (`project.dataset.table`, as BigQuery or a schema map names it) in the case the
 * normalizer names it: the project lower-cased, dataset and table as given.
 */
export function canonicalTableId(id: string): string {
  const dot = id.indexOf('.');
  return dot < 0 ? id : id.slice(0, dot).toLowerCase() + id.slice(dot);
}

function tableName(project: string, dataset: string, table: string): TableName {
  const name: TableName = { id: `${project}.${dataset}.${table}`, project, dataset, table };
  if (table.endsWith('*')) name.wildcard = true;
  return name;
}

/** View names BigQuery documents as synonyms of another view, by the one the id names. */
const VIEW_SYNONYMS: Record<string, string> = { jobs_by_project: 'jobs', jobs_timeline_by_project: 'jobs_timeline' };

/**
 * An INFORMATION_SCHEMA view (one id per view, whichever synonym names it): the dataset is `<scope>.information_schema`, where the scope is
 * a dataset (`ds.INFORMATION_SCHEMA.TABLES`) or a region (`region-us.INFORMATION_SCHEMA.JOBS`).
 */
function informationSchema(parts: string[], at: number, raw: string, ctx: NameContext): Qualified {
  if (parts.length !== at + 2) return { error: `INFORMATION_SCHEMA name ${raw} must end in one view name` };
  const written = parts[at + 1]!.toLowerCase();
  const view = VIEW_SYNONYMS[written] ?? written;
  // A project and a region qualifier (`region-us`) are case-insensitive; a dataset keeps its case.
  const scope = parts.slice(0, at).map((p, i) => (i < at - 1 || /^region-/i.test(p) ? p.toLowerCase() : p));
  if (scope.length === 0) {
    const dd = ctx.defaultDataset;
    if (dd === undefined) return { error: `INFORMATION_SCHEMA view ${raw} has no dataset or region qualifier and no default dataset is set` };
    return { name: tableName(dd.project, `${dd.dataset}.${INFORMATION_SCHEMA}`, view) };
  }
  if (scope.length === 1) return { name: tableName(ctx.project, `${scope[0]}.${INFORMATION_SCHEMA}`, view) };
  if (scope.length === 2) return { name: tableName(scope[0]!, `${scope[1]}.${INFORMATION_SCHEMA}`, view) };
  return { error: `INFORMATION_SCHEMA name ${raw} has too many parts` };
}

/**
 * Qualifies a table path. Each element is one identifier as written; a backticked element may
 * hold several dot-separated parts (`p.ds`.t).
 */
export function qualify(path: readonly string[], ctx: NameContext): Qualified {
  const parts: string[] = [];
  for (const element of path) for (const part of element.split('.')) parts.push(part.trim());
  const raw = parts.join('.');
  if (parts.length === 0 || parts.some((p) => p === '')) return { error: `malformed table name ${JSON.stringify(path.join('.'))}` };
  if (parts.slice(0, -1).some((p) => p.includes('*'))) return { error: `malformed table name ${raw}` };
  const schemaAt = parts.findIndex((p) => p.toLowerCase() === INFORMATION_SCHEMA);
  if (schemaAt >= 0) return informationSchema(parts, schemaAt, raw, ctx);
  const project = ctx.project.toLowerCase();
  switch (parts.length) {
    case 1: {
      const dd = ctx.defaultDataset;
      if (dd === undefined) return { error: `table ${raw} has no dataset and no default dataset is set` };
      return { name: tableName(dd.project, dd.dataset, parts[0]!) };
    }
    case 2:
      return { name: tableName(project, parts[0]!, parts[1]!) };
    case 3:
      return { name: tableName(parts[0]!.toLowerCase(), parts[1]!, parts[2]!) };
    default:
      return { error: `table name ${raw} has too many parts` };
  }
}

/**
 * A path's identity as written, identifier by identifier: `` `crm.customers` `` (one identifier, a
 * table) and `crm.customers` (two, maybe an array path) are different names.
 */
export function writtenKey(path: readonly string[]): string {
  return path.map((p) => p.toLowerCase()).join('\u0001');
}

/**
 * The range variable a FROM path defines without AS: its last identifier as written, so
 * `crm.customers` is `customers` but the single identifier `` `crm.customers` `` is `crm.customers`
 * (BigQuery's analyzer: `` SELECT `crm.customers`.ssn FROM `crm.customers` ``).
 */
export function implicitAlias(path: readonly string[]): string {
  return path[path.length - 1]!.toLowerCase();
}

/** Whether a concrete table id (as BigQuery's dry run names it) is covered by a table ref. */
export function coversTable(ref: TableName, id: string): boolean {
  if (ref.wildcard !== true) return ref.id === id;
  const prefix = ref.id.slice(0, -1);
  return id.startsWith(prefix) && id.indexOf('.', prefix.length) < 0;
}
