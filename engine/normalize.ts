// Builds the policy input document (schemas/input.schema.json) from an identity and a SQL text.
// The SQL analysis (engine/sql/) depends only on the text, the naming context and the known
// schemas, so it is cached; the rest of the document is assembled per request. Two caches:
// by exact text (a repeated query costs a map lookup), and by literal shape (engine/sql/
// literals.ts: the same query with other values in it shares the parse; only `sql.text` and
// `sql.hash` are its own).
import { frozenJson } from './input-json.ts';
import type { Estimate, Grant, Identity, PolicyInput, RequestContext, TableSchemas } from './schema-types.ts';
import { boundHash, withText, type SqlAnalysis } from './sql/analysis.ts';
import { analyzeSql, namedTableIds } from './sql/analyze.ts';
import { Doorkeeper, LruCache, identityKey } from './sql/cache.ts';
import { lex } from './sql/lexer.ts';
import { literalShape } from './sql/literals.ts';
import { schemaCatalog } from './sql/catalog.ts';
import { canonicalTableId, coversTable, parseDefaultDataset, type NameContext, type TableName } from './sql/tables.ts';

export interface NormalizeRequest {
  identity: Identity;
  sql: string;
  /** Project the job runs in; qualifies `dataset.table`. */
  project: string;
  /** `dataset` or `project.dataset`; qualifies bare `table`. */
  defaultDataset?: string;
  route?: RequestContext['route'];
  connection?: string;
  dryRun?: boolean;
  estimate?: Estimate;
  grants?: Grant[];
  /**
   * The query parameters sent with the text, as sent. Their values are part of `sql.hash`, so a
   * grant scoped to the statement covers these values only.
   */
  parameters?: unknown;
  /** Known table schemas, so `SELECT *` expands to real columns. Treated as immutable. */
  schemas?: TableSchemas;
  now?: Date;
}

const CACHE_ENTRIES = 2048;
/**
 * Rough memory budget. An entry weighs its key and its analysis: the analysis's statements as
 * objects (about their JSON's length again) and their JSON, which the evaluator keeps beside
 * them (input-json.ts). A short text can have a large analysis (`SELECT *, *, …` over a wide
 * table), so the text's length alone says nothing of it.
 */
const CACHE_WEIGHT = 64 * 1024 * 1024;
/** Longer texts are analysed every time rather than pinned in memory. */
const CACHE_MAX_TEXT = 64 * 1024;
const analyses = new LruCache<string, SqlAnalysis>(CACHE_ENTRIES, CACHE_WEIGHT);
/** By literal shape; entries share their statements with the exact-text entries. */
const shapes = new LruCache<string, SqlAnalysis>(CACHE_ENTRIES, CACHE_WEIGHT);
/**
 * Both caches take a text or a shape the second time it comes: most agent queries come once,
 * and caching those evicted the ones that repeat and kept the heap churning (old analyses to
 * collect on every request), which set the cold path's tail.
 */
const seenOnce = new Doorkeeper(4 * CACHE_ENTRIES);
/** The tables texts name (`namedTables`), by naming context and text, taken on the second sight as analyses are: a repeated text is not scanned again. */
const named = new LruCache<string, readonly string[]>(CACHE_ENTRIES, CACHE_WEIGHT / 4);

/** Drops every cached analysis (tests, or after schemas were changed in place). */
export function clearNormalizeCache(): void {
  analyses.clear();
  shapes.clear();
  named.clear();
  seenOnce.clear();
}

/** How analyses were obtained since the process started (tests, benchmarks, metrics). */
export interface NormalizeCacheStats {
  /** The exact text was cached. */
  textHits: number;
  /** Another text of the same literal shape was: no parse. */
  shapeHits: number;
  /** Parsed and analysed. */
  analysed: number;
}

const stats: NormalizeCacheStats = { textHits: 0, shapeHits: 0, analysed: 0 };

export function normalizeCacheStats(): NormalizeCacheStats {
  return { ...stats };
}

/** The naming context as a cache key's prefix. */
function namesKey(names: NameContext): string {
  const dd = names.defaultDataset;
  return `${names.project}\u0000${dd === undefined ? '' : `${dd.project}.${dd.dataset}`}\u0000`;
}

function analysisFor(req: NormalizeRequest, names: NameContext): SqlAnalysis {
  const context = `${identityKey(req.schemas)}\u0000${namesKey(names)}`;
  const key = context + req.sql;
  let analysis = analyses.get(key);
  if (analysis !== undefined) {
    stats.textHits++;
    return analysis;
  }
  const cacheable = req.sql.length <= CACHE_MAX_TEXT;
  const lexed = lex(req.sql);
  const shape = cacheable ? literalShape(req.sql, lexed.tokens) : undefined;
  const shapeKey = shape === undefined ? undefined : context + shape;
  const shared = shapeKey === undefined ? undefined : shapes.get(shapeKey);
  if (shared !== undefined) {
    analysis = withText(shared, req.sql, names, lexed);
    stats.shapeHits++;
  } else {
    analysis = analyzeSql(req.sql, names, schemaCatalog(req.schemas), lexed);
    if (shapeKey !== undefined && analysis.byShape && seenOnce.admit(shapeKey)) shapes.set(shapeKey, analysis, 4 * shapeKey.length + analysisWeight(analysis));
    stats.analysed++;
  }
  // Charged in full even when it shares another text's statements: the entry alone keeps them alive.
  if (cacheable && seenOnce.admit(key)) analyses.set(key, analysis, 4 * key.length + analysisWeight(analysis));
  return analysis;
}

/** What an analysis keeps in memory, in bytes (roughly): its statements as objects and as JSON. */
function analysisWeight(analysis: SqlAnalysis): number {
  return 4096 + 2 * (frozenJson(analysis.sql.statements)?.length ?? 0);
}

/** The last second formatted: requests within one second share the text. */
let lastSecond = { unix: Number.NaN, rfc3339: '' };

function clock(now: Date): PolicyInput['now'] {
  const ms = now.getTime();
  if (Number.isNaN(ms)) throw new RangeError('normalize: `now` is not a valid date');
  const unix = Math.floor(ms / 1000);
  if (unix !== lastSecond.unix) lastSecond = { unix, rfc3339: new Date(unix * 1000).toISOString().replace('.000Z', 'Z') };
  return { unix, rfc3339: lastSecond.rfc3339 };
}

/** The estimate with `unparsed_tables`: dry-run tables no statement names (wildcards cover). */
function estimateWithUnparsed(estimate: Estimate, tables: readonly TableName[]): Estimate {
  const out: Estimate = { ...estimate };
  if (estimate.referenced_tables !== undefined) {
    const referenced = estimate.referenced_tables.map(canonicalTableId);
    out.referenced_tables = referenced;
    out.unparsed_tables = referenced.filter((id) => !tables.some((t) => coversTable(t, id)));
  }
  return out;
}

/**
 * The input decided on other figures (a finished job's statistics, say): its estimate replaced,
 * `unparsed_tables` worked out again from its statements' tables.
 */
export function withEstimate(input: PolicyInput, estimate: Estimate): PolicyInput {
  return { ...input, estimate: estimateWithUnparsed(estimate, input.sql.statements.flatMap((s) => s.tables)) };
}

function nameContext(req: Pick<NormalizeRequest, 'project' | 'defaultDataset'>): NameContext {
  const project = req.project.toLowerCase();
  return { project, defaultDataset: parseDefaultDataset(req.defaultDataset, project) };
}

/**
 * The tables the request's text names, read by the token scan without parsing it (to fetch their
 * schemas before normalizing). The analysis accounts for each and may read more objects (on the
 * SQL corpus: models and routines). Empty when the project or default dataset is malformed.
 */
export function namedTables(req: Pick<NormalizeRequest, 'sql' | 'project' | 'defaultDataset'>): readonly string[] {
  try {
    const names = nameContext(req);
    const key = namesKey(names) + req.sql;
    let ids = named.get(key);
    if (ids === undefined) {
      ids = Object.freeze(namedTableIds(req.sql, names));
      if (req.sql.length <= CACHE_MAX_TEXT && seenOnce.admit(key)) named.set(key, ids, 4 * key.length + ids.reduce((n, id) => n + 4 * id.length, 0));
    }
    return ids;
  } catch {
    return [];
  }
}

export function normalize(req: NormalizeRequest): PolicyInput {
  const names = nameContext(req);
  const project = names.project;
  const analysis = analysisFor(req, names);

  const request: RequestContext = { project, route: req.route ?? 'cli' };
  if (names.defaultDataset !== undefined) request.default_dataset = `${names.defaultDataset.project}.${names.defaultDataset.dataset}`;
  if (req.connection !== undefined) request.connection = req.connection;
  if (req.dryRun !== undefined) request.dry_run = req.dryRun;

  const input: PolicyInput = {
    now: clock(req.now ?? new Date()),
    identity: req.identity,
    request,
    sql: req.parameters === undefined || req.parameters === null ? analysis.sql : { ...analysis.sql, hash: boundHash(analysis.sql.hash, req.parameters) },
    grants: req.grants ?? [],
  };
  if (req.estimate !== undefined) input.estimate = estimateWithUnparsed(req.estimate, analysis.tables);
  return input;
}
