// The select list: named and anonymous columns, and `*`, `t.*`, `s.field.*` with EXCEPT and
// REPLACE, expanded against known schemas or kept as one column of unknown lineage.
import type { StatementContext } from '../context.ts';
import type { Lineage } from '../lineage.ts';
import type { DerivedColumn } from '../scope.ts';
import { evalExpr, type ExprEnv } from './expr.ts';
import { functionName, isFunctionVariant } from './functions.ts';
import { isQuery } from './query.ts';
import { relationColumnsOf, scopeColumns, structColumns } from './star-columns.ts';
import { factsOf, type ScriptState } from './statement-facts.ts';
import { expectFields, ident, isNode, items, nameIdent, refuse, variant, written, type Variant } from './tree.ts';

/** The name BigQuery gives an unaliased column: the last identifier of a path, else none. */
function implicitName(v: Variant): string | undefined {
  if (v.kind === 'paren') return implicitName(variant(v.body.this, 'select item'));
  if (v.kind === 'dot') return ident(v.body.field, 'field name').name;
  if (v.kind !== 'column') return undefined;
  const name = ident(v.body.name, 'column name');
  if (!name.quoted && name.name.startsWith('@')) return undefined; // a query parameter
  return written([name]).at(-1);
}

/** `expr.*` over a value other than a column path, which the tree holds as a field named `*`. */
export function isDotStar(v: Variant): boolean {
  return v.kind === 'dot' && isNode(v.body.field) && v.body.field.name === '*' && v.body.field.quoted !== true;
}

/** BigQuery's aggregate functions, by the name a call of the built-in is written with. */
const AGGREGATES = new Set([
  'ANY_VALUE', 'ARRAY_AGG', 'ARRAY_CONCAT_AGG', 'AVG', 'BIT_AND', 'BIT_OR', 'BIT_XOR', 'COUNT', 'COUNTIF', 'GROUPING',
  'LOGICAL_AND', 'LOGICAL_OR', 'MAX', 'MAX_BY', 'MIN', 'MIN_BY', 'STRING_AGG', 'SUM', 'APPROX_COUNT_DISTINCT',
  'APPROX_QUANTILES', 'APPROX_TOP_COUNT', 'APPROX_TOP_SUM', 'CORR', 'COVAR_POP', 'COVAR_SAMP', 'STDDEV', 'STDDEV_POP',
  'STDDEV_SAMP', 'VAR_POP', 'VAR_SAMP', 'VARIANCE', 'ST_UNION_AGG', 'ST_CENTROID_AGG', 'ST_EXTENT',
]);

/**
 * Whether a select item holds an aggregate or a window function of its own SELECT (one inside a
 * subquery is the subquery's): GROUP BY ALL leaves such an item out of its keys, as BigQuery
 * does. Only a built-in aggregate called by its own name counts, not a function of a dataset
 * (`ds.sum(x)`, `HLL_COUNT.MERGE(x)`) nor a temporary function of the script that shares a
 * built-in's name: a call not known to aggregate keeps its item a key, wider, never narrower.
 */
function aggregatesOrWindows(value: unknown, ctx: StatementContext): boolean {
  if (Array.isArray(value)) return value.some((x) => aggregatesOrWindows(x, ctx));
  if (!isNode(value)) return false;
  const keys = Object.keys(value);
  const body = value[keys[0]!];
  if (keys.length === 1 && isNode(body)) {
    const v: Variant = { kind: keys[0]!, body, node: value };
    if (v.kind === 'subquery' || isQuery(v)) return false;
    if (v.kind === 'window_function') return true;
    if (isFunctionVariant(v.kind)) {
      const name = functionName(v);
      if (AGGREGATES.has(name) && factsOf(ctx)?.script.functions.has(name) !== true) return true;
    }
  }
  return Object.values(value).some((x) => aggregatesOrWindows(x, ctx));
}

/**
 * The columns of the select list, and those of them a later clause can name (`named`): BigQuery's
 * select-list aliases, which GROUP BY, HAVING, QUALIFY and ORDER BY see before the FROM clause's
 * names (range variables included). Each is an explicit alias, the last name of a path (`c.ssn`
 * is `ssn`) or a column of `*`; a column without a name (f0_) is none. With `byAll` (the SELECT
 * has GROUP BY ALL), `groupAll` holds the lineage of each column GROUP BY ALL groups by: every one
 * whose item holds no aggregate or window function (each column of a `*`).
 */
/** BigQuery's most columns in a table, a query result or a view definition. */
const MAX_COLUMNS = 10_000;
/**
 * Select-list columns one text may build in all, its subqueries' and statements' together: each
 * costs analysis time and memory, and a few hundred characters of `SELECT *, *` over nested
 * queries or wide tables ask for hundreds of thousands.
 */
const MAX_TEXT_COLUMNS = 20_000;

/** Counts `added` columns of a select list of `total`, refusing past either bound. */
function bounded(total: number, added: number, script: ScriptState | undefined, node: unknown): void {
  if (total > MAX_COLUMNS) refuse(`a select list of more than ${MAX_COLUMNS.toLocaleString('en')} columns (BigQuery's limit)`, node);
  if (script === undefined) return;
  script.columns += added;
  if (script.columns > MAX_TEXT_COLUMNS) refuse(`a text whose select lists build more than ${MAX_TEXT_COLUMNS.toLocaleString('en')} columns in all`, node);
}

export function selectList(expressions: unknown[], env: ExprEnv, byAll = false): { columns: DerivedColumn[]; named: DerivedColumn[]; groupAll: Lineage[] } {
  const columns: DerivedColumn[] = [];
  const named: DerivedColumn[] = [];
  const groupAll: Lineage[] = [];
  const script = factsOf(env.ctx)?.script;
  let anonymous = 0;
  for (const raw of expressions) {
    const v = variant(raw, 'select item');
    if (v.kind === 'star') {
      const expanded = star(v, env);
      bounded(columns.length + expanded.columns.length, expanded.columns.length, script, v.node);
      for (const c of expanded.columns) columns.push(c);
      for (const c of expanded.named) named.push(c);
      if (byAll) for (const c of expanded.columns) groupAll.push(c.lineage);
      continue;
    }
    if (isDotStar(v)) {
      // `(address).*`, `(SELECT s).*`: the fields of the value, as `s.field.*` expands them.
      expectFields(v, new Set(['this', 'field']), 'select item');
      const fields = structColumns(evalExpr(v.body.this, env), ['(expression)'], env.ctx);
      const expanded = fields.map((c) => (c.lookup !== undefined ? c : { name: c.name, lineage: env.ctx.use(c.lineage) }));
      bounded(columns.length + expanded.length, expanded.length, script, v.node);
      for (const c of expanded) columns.push(c);
      for (const c of expanded) named.push(c);
      if (byAll) for (const c of expanded) groupAll.push(c.lineage);
      continue;
    }
    if (v.kind === 'alias') {
      expectFields(v, new Set(['this', 'alias', 'alias_explicit_as', 'alias_keyword']), 'select item');
      bounded(columns.length + 1, 1, script, v.node);
      const name = nameIdent(v.body.alias, 'column alias').name.toLowerCase();
      const lineage = evalExpr(v.body.this, env);
      columns.push({ name, lineage });
      named.push({ name, lineage });
      if (byAll && !aggregatesOrWindows(v.body.this, env.ctx)) groupAll.push(lineage);
      continue;
    }
    bounded(columns.length + 1, 1, script, v.node);
    const lineage = evalExpr(raw, env);
    const implicit = implicitName(v)?.toLowerCase();
    columns.push({ name: implicit ?? `f${anonymous++}_`, lineage });
    if (implicit !== undefined) named.push({ name: implicit, lineage });
    if (byAll && !aggregatesOrWindows(raw, env.ctx)) groupAll.push(lineage);
  }
  return { columns, named, groupAll };
}

/**
 * `*`, `t.*`, `s.field.*`, with EXCEPT (…) or REPLACE (… AS name): its columns, and those a later
 * clause names it by (selectList). A column of `*` over a range variable whose schema is not known
 * is named as the range variable's own column is, which the FROM clause resolves alike, unless the
 * name is a range variable or USING column there (which the column would hide) or REPLACE gives it
 * another value; any other such column stays a possible name.
 */
function star(v: Variant, env: ExprEnv): { columns: DerivedColumn[]; named: DerivedColumn[] } {
  expectFields(v, new Set(['table', 'except', 'replace']), 'SELECT *');
  const { scope, ctx } = env;
  const qualifier = v.body.table == null ? [] : written([ident(v.body.table, 'star qualifier')]).map((p) => p.toLowerCase());

  let columns: readonly DerivedColumn[];
  let ofRelation = true;
  if (qualifier.length === 0) {
    columns = scopeColumns(scope);
  } else {
    const relation = qualifier.length === 1 ? scope.rangeVariable(qualifier[0]!) : undefined;
    ofRelation = relation !== undefined;
    columns = relation !== undefined ? relationColumnsOf(relation) : structColumns(scope.resolve(qualifier, ctx), qualifier, ctx);
  }
  if (columns.length > MAX_COLUMNS) refuse(`\`*\` over more than ${MAX_COLUMNS.toLocaleString('en')} columns (BigQuery's limit)`, v.node);

  const except = new Set(items(v.body.except).map((e) => ident(e, 'EXCEPT column').name.toLowerCase()));
  const replace = new Map<string, Lineage>();
  for (const r of items(v.body.replace)) {
    const alias = variant({ alias: r }, 'REPLACE item');
    expectFields(alias, new Set(['this', 'alias', 'alias_explicit_as']), 'REPLACE item');
    replace.set(ident(alias.body.alias, 'REPLACE name').name.toLowerCase(), evalExpr(alias.body.this, env));
  }
  if (v.body.replace != null && !Array.isArray(v.body.replace)) refuse('REPLACE list of an unexpected shape', v.node);

  const out: DerivedColumn[] = [];
  const named: DerivedColumn[] = [];
  const hides = (n: string) => replace.has(n) || scope.relations.some((r) => r.alias === n) || scope.using.has(n);
  for (const c of columns) {
    if (c.lookup !== undefined) {
      const lookup = c.lookup;
      const column: DerivedColumn = { name: c.name, lineage: c.lineage, lookup: (n) => (except.has(n) ? undefined : (replace.get(n) ?? lookup(n))) };
      out.push(column);
      named.push(ofRelation ? { ...column, lookup: (n) => (hides(n) ? column.lookup!(n) : undefined) } : column);
    } else if (!except.has(c.name)) {
      const column: DerivedColumn = { name: c.name, lineage: ctx.use(replace.get(c.name) ?? c.lineage) };
      out.push(column);
      named.push(column);
    }
  }
  return { columns: out, named };
}
