// What a caller may discover of the catalog, shared by the REST facade and the MCP door: which
// tables it has a path to, and which mask each column of a table shows it. A table is visible
// when the policy does not deny `SELECT *` on it at zero cost (an approval is a path, so it
// counts); a dataset is visible when one of its tables is. Judged by the same policy as queries,
// so a listing never shows a table the caller could not ask for.
import type { Decision, Strategy } from '../../engine/schema-types.ts';
import type { Connection } from '../connections.ts';
import type { Caller, Enforcer } from '../enforce.ts';
import { DETECTORS, leafStrategies, type SchemaField, type TableSchema } from '../masking/index.ts';
import { BigQueryError } from './errors.ts';
import type { QuerySpec } from './query-request.ts';

export const DATASET_ID = /^[A-Za-z0-9_]{1,1024}$/;
/** Table names: letters, marks, numbers, connectors, dashes and spaces; no decorators, no quoting. */
export const TABLE_ID = /^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd} ]{1,1024}$/u;

/** Judgements one call may make: each costs a policy evaluation and, first time, a schema read upstream. */
export const MAX_JUDGED_TABLES = 1000;
/** Tables judged at once. */
const PARALLEL = 8;

export interface TableRef {
  projectId: string;
  datasetId: string;
  tableId: string;
}

/** `SELECT *` on the table: what tables.get, tabledata.list and visibility are judged on. */
export function wholeTableSpec(ref: TableRef, dryRun: boolean): QuerySpec {
  return {
    sql: `SELECT * FROM \`${ref.projectId}.${ref.datasetId}.${ref.tableId}\``,
    defaultDataset: undefined,
    queryParameters: undefined,
    parameterMode: undefined,
    dryRun,
    location: undefined,
    maximumBytesBilled: undefined,
    connectionProperties: undefined,
  };
}

/** The call judged more tables than MAX_JUDGED_TABLES allows. Not retried by clients (403). */
export class JudgeLimitReached extends BigQueryError {
  override name = 'JudgeLimitReached';
  constructor(limit: number) {
    super(403, 'responseTooLarge', `The gateway judges at most ${limit} tables per call to decide what you may see, and this call needed more; ask for fewer items per page (maxResults).`);
  }
}

export interface JudgeOptions {
  enforcer: Enforcer;
  caller: Caller;
  connection: Connection;
  /** The project in the URL (where a query on the tables would run). */
  project: string;
  requestId?: string | undefined;
  /** Stops judging once the caller has gone. */
  signal?: AbortSignal | undefined;
  limit?: number;
}

/** Judges tables for one call, within its budget; counts what it did for the call's log and record. */
export class TableJudge {
  readonly #o: JudgeOptions;
  readonly limit: number;
  judged = 0;
  /** The budget ran out at some point (the call may have gone on, treating the rest as not visible). */
  limitReached = false;
  /** Milliseconds spent judging (recorded as the call's decision time). */
  ms = 0;

  constructor(options: JudgeOptions) {
    this.#o = options;
    this.limit = options.limit ?? MAX_JUDGED_TABLES;
  }

  get remaining(): number {
    return this.limit - this.judged;
  }

  /** Takes `n` judgements from the budget, or throws JudgeLimitReached when it cannot cover them. */
  #spend(n: number): void {
    if (n > this.remaining) {
      this.limitReached = true;
      throw new JudgeLimitReached(this.limit);
    }
    this.judged += n;
  }

  /**
   * Nothing is acted on: no approval filed, no grant spent, no dry run. Only the table's schema is
   * read upstream (to expand `*`); a name that could not be quoted plainly is never visible.
   */
  async #visible(ref: TableRef): Promise<boolean> {
    if (!DATASET_ID.test(ref.datasetId) || !TABLE_ID.test(ref.tableId)) return false;
    const { enforcer, caller, connection, project, requestId } = this.#o;
    const started = performance.now();
    try {
      const { evaluation } = await enforcer.judge({ caller, connection, project, route: 'tabledata.list', spec: wholeTableSpec(ref, true), requestId }, { atZeroCost: true });
      return evaluation.decision.outcome !== 'deny';
    } finally {
      this.ms += performance.now() - started;
    }
  }

  /** Each item's visibility, in order, judged a few at a time; stops early once `enough` says so. */
  async judge(refs: readonly (TableRef | undefined)[], enough?: (visible: boolean) => boolean): Promise<boolean[]> {
    // An empty page costs one judgement, so an upstream paging through empty pages is stopped too.
    if (refs.length === 0) this.#spend(1);
    const out: boolean[] = [];
    for (let i = 0; i < refs.length; i += PARALLEL) {
      this.#o.signal?.throwIfAborted();
      const slice = refs.slice(i, i + PARALLEL);
      this.#spend(slice.length);
      const batch = await Promise.all(slice.map((ref) => (ref ? this.#visible(ref) : false)));
      out.push(...batch);
      if (enough && batch.some(enough)) break;
    }
    return out;
  }
}

/** The items (tables.list entries, say) whose table the caller may see, in their order. */
export async function visibleTables<T>(judge: TableJudge, items: readonly T[], refOf: (item: T) => TableRef | undefined): Promise<T[]> {
  const visible = await judge.judge(items.map(refOf));
  return items.filter((_, i) => visible[i]);
}

export interface TablePage {
  tables: TableRef[];
  nextPageToken?: string | undefined;
}

/**
 * Whether the dataset holds a table the caller may see, reading its pages (`page(undefined)` is
 * the first; `from` skips to a later one) until one does. Throws JudgeLimitReached once the
 * budget is spent.
 */
export async function hasVisibleTable(judge: TableJudge, page: (pageToken: string | undefined) => Promise<TablePage>, from?: string): Promise<boolean> {
  let token = from;
  do {
    const { tables, nextPageToken } = await page(token);
    if ((await judge.judge(tables, (v) => v)).some((v) => v)) return true;
    token = nextPageToken;
  } while (token);
  return false;
}

/**
 * What a caller gets in a column instead of its values, as shown on the field (key MASK_KEY):
 * a policy mask (`strategy`, and the sensitive column it comes from), or the content scan (values
 * any detector matches become `strategy`; a non-text leaf becomes NULL).
 */
export type SluiceMask =
  | { reason: 'policy_mask'; strategy: Strategy; source?: { table: string; column: string } }
  | { reason: 'content_scan'; strategy: Strategy; detectors: string[] };

export const MASK_KEY = 'sluiceMask';

export interface ColumnMask {
  /** Field names from the top-level column down to the leaf. */
  path: string[];
  mask: SluiceMask;
}

/**
 * The mask on each leaf of `schema` under a whole-table decision (`SELECT *`: one statement, every
 * column asked for), resolved by the masker's own plan (leafStrategies): the strictest mask on a
 * field or any record above it wins; leaves without one are content-scanned when the scan reads every answer.
 */
export function columnMasks(decision: Pick<Decision, 'masks' | 'content_scan'>, schema: TableSchema): ColumnMask[] {
  const scan = decision.content_scan && decision.content_scan.scope !== 'unexpected_answers' ? decision.content_scan : undefined;
  const out: ColumnMask[] = [];
  for (const { path, field, strategy, source } of leafStrategies(schema, decision.masks)) {
    if (strategy) {
      out.push({ path, mask: { reason: 'policy_mask', strategy, ...(source && { source: { ...source } }) } });
    } else if (scan) {
      const type = field.type.toUpperCase();
      const text = type === 'STRING' || type === 'JSON';
      out.push({ path, mask: { reason: 'content_scan', strategy: text ? scan.strategy : 'null', detectors: [...DETECTORS] } });
    }
  }
  return out;
}

/** `schema` with each masked leaf carrying its mask under MASK_KEY (clients keep unknown field keys). */
export function withColumnMasks(schema: TableSchema, masks: readonly ColumnMask[]): TableSchema {
  const byPath = new Map(masks.map((m) => [pathKey(m.path), m.mask]));
  const visit = (fields: readonly SchemaField[], prefix: string[]): SchemaField[] =>
    fields.map((field) => {
      const path = [...prefix, field.name];
      const mask = byPath.get(pathKey(path));
      return {
        ...field,
        ...(field.fields && { fields: visit(field.fields as SchemaField[], path) }),
        ...(mask && { [MASK_KEY]: mask }),
      };
    });
  return { ...schema, fields: visit(schema.fields, []) };
}

function pathKey(path: readonly string[]): string {
  return path.map((p) => p.toLowerCase()).join('\u0000');
}
