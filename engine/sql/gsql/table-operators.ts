// FROM items that reshape another relation: PIVOT, UNPIVOT and the ML functions (./ml.ts). Each
// is read as a derived table whose columns carry the lineage BigQuery gives them.
import { StatementContext } from '../context.ts';
import { CONSTANT, columnLineage, passedThrough, transformed, type Lineage } from '../lineage.ts';
import { Scope, relationTables, type DerivedColumn, type DerivedRelation, type Relation } from '../scope.ts';
import { evalExpr } from './expr.ts';
import { relationColumnsOf } from './star-columns.ts';
import { bindFacts, factsOf } from './statement-facts.ts';
import { expectFields, ident, isNode, items, optionalIdent, refuse, variant, type Variant } from './tree.ts';

type InputOf = (node: unknown) => Relation;

/** The largest INT64 magnitude: 2^63 (a negative value may reach it). */
const INT64_LIMIT = 2n ** 63n;

/** A name BigQuery uses as is for a pivot column. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The input's columns but those consumed (the columns PIVOT and UNPIVOT consume): a listed column
 * by `consumed`, one hidden behind a `*` whose names are not known by `named` (the names written).
 */
function remainingColumns(input: Relation, consumed: ReadonlySet<string>, named: ReadonlySet<string> = consumed): DerivedColumn[] {
  const out: DerivedColumn[] = [];
  for (const c of relationColumnsOf(input)) {
    if (c.lookup !== undefined) {
      const lookup = c.lookup;
      out.push({ name: c.name, lineage: c.lineage, lookup: (n) => (named.has(n) ? undefined : lookup(n)) });
    } else if (!consumed.has(c.name)) {
      out.push(c);
    }
  }
  return out;
}

/** A table id no table has: the source of the input's columns while PIVOT's references are probed. */
const PROBE = '\u0000pivot input';

/**
 * The listed input columns PIVOT's aggregates and FOR expression refer to, as BigQuery decides it
 * (the columns their names resolve to): the expressions are read once more over the input with
 * each column standing for itself, in a context of their own. A name that resolves elsewhere (a
 * subquery's own column, a date part) is no reference; a field (`s.x`) or the whole row is.
 * Before, every name written counted, so a subquery's `name` took the input's name column out of
 * the grouping columns, which BigQuery then returned unseen by the analysis.
 */
function referencedColumns(input: Relation, scope: Scope, values: readonly unknown[], ctx: StatementContext): Set<string> {
  const probe = new StatementContext(ctx.names, ctx.catalog);
  const facts = factsOf(ctx);
  if (facts !== undefined) bindFacts(probe, facts);
  const columns = relationColumnsOf(input).map((c) => (c.lookup === undefined ? { name: c.name, lineage: columnLineage(PROBE, c.name) } : c));
  const standIn: DerivedRelation = { kind: 'derived', alias: input.alias, columns, tables: new Set() };
  const env = { scope: inputScope(scope, standIn), ctx: probe };
  for (const value of values) evalExpr(value, env);
  const out = new Set<string>();
  for (const ref of probe.columns.values()) if (ref.table === PROBE) out.add(ref.column.split('.')[0]!);
  return out;
}

/** Unqualified (or input-qualified) column names an expression refers to. */
function columnNames(node: unknown, inputAlias: string | undefined, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const n of node) columnNames(n, inputAlias, out);
    return;
  }
  if (!isNode(node)) return;
  if (isNode(node.column) && Object.keys(node).length === 1) {
    const c = node.column;
    const table = c.table == null ? undefined : ident(c.table, 'column qualifier').name.toLowerCase();
    if (table === undefined || table === inputAlias) out.add(ident(c.name, 'column name').name.toLowerCase());
    return;
  }
  for (const value of Object.values(node)) columnNames(value, inputAlias, out);
}

/** The scope PIVOT and UNPIVOT evaluate in: the input relation alone. */
function inputScope(scope: Scope, input: Relation): Scope {
  const inner = new Scope(scope.parent, scope.ctes);
  inner.relations.push(input);
  return inner;
}

function pivotValueName(node: unknown): string {
  const v = variant(node, 'PIVOT value');
  if (v.kind === 'pivot_alias') {
    const alias = variant(v.body.alias, 'PIVOT value alias');
    if (alias.kind === 'column') return ident(alias.body.name, 'PIVOT value alias').name;
    if (alias.kind === 'identifier') return ident(alias.body, 'PIVOT value alias').name;
    return refuse('PIVOT value alias of an unexpected shape', v.node);
  }
  // Unaliased, BigQuery names the column after the value (its documented table): a string as it
  // is, TRUE or FALSE, NULL, an integer as `_<n>` (`minus_<n>` below zero), a date as `_YYYY_MM_DD`.
  // Decimals, structs and any other value are refused.
  if (v.kind === 'literal' && (v.body.literal_type === 'string' || v.body.literal_type === 'raw_string') && typeof v.body.value === 'string' && PLAIN_NAME.test(v.body.value)) return v.body.value;
  if (v.kind === 'boolean' && typeof v.body.value === 'boolean') return v.body.value ? 'TRUE' : 'FALSE';
  if (v.kind === 'null') return 'NULL';
  if (v.kind === 'literal' && v.body.literal_type === 'date' && typeof v.body.value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v.body.value)) return `_${v.body.value.replaceAll('-', '_')}`;
  const negative = v.kind === 'neg';
  const literal = negative ? variant(v.body.this, 'PIVOT value') : v;
  if (literal.kind === 'literal' && literal.body.literal_type === 'number' && typeof literal.body.value === 'string' && /^\d+$/.test(literal.body.value)) {
    // The value, not its spelling: `007` is 7.
    const n = BigInt(literal.body.value);
    if (!negative && n < INT64_LIMIT) return `_${n}`;
    if (negative && n > 0n && n <= INT64_LIMIT) return `minus_${n}`;
  }
  return refuse('PIVOT value without an alias whose column name BigQuery derives', v.node);
}

/** `PIVOT(agg AS a, … FOR col IN (v AS name, …))`: grouping columns, then one column per aggregate and value. */
export function pivotRelation(v: Variant, scope: Scope, inputOf: InputOf, ctx: StatementContext): DerivedRelation {
  expectFields(v, new Set(['this', 'expressions', 'fields', 'alias', 'unpivot']), 'PIVOT');
  if (v.body.unpivot === true) refuse('UNPIVOT written as PIVOT', v.node);
  const input = inputOf(v.body.this);
  const env = { scope: inputScope(scope, input), ctx };
  const inputAlias = input.alias;
  const named = new Set<string>();
  const values: unknown[] = [];
  const aggregates: { alias: string | undefined; lineage: Lineage }[] = [];
  for (const a of items(v.body.expressions)) {
    const av = variant(a, 'PIVOT aggregate');
    const value = av.kind === 'alias' ? av.body.this : a;
    columnNames(value, inputAlias, named);
    values.push(value);
    aggregates.push({ alias: av.kind === 'alias' ? ident(av.body.alias, 'PIVOT aggregate alias').name : undefined, lineage: evalExpr(value, env) });
  }
  const fields = items(v.body.fields);
  if (fields.length !== 1) refuse('PIVOT over several FOR columns', v.node);
  const forIn = variant(fields[0], 'PIVOT FOR clause');
  if (forIn.kind !== 'in') refuse('PIVOT FOR clause of an unexpected shape', forIn.node);
  expectFields(forIn, new Set(['this', 'expressions']), 'PIVOT FOR clause');
  columnNames(forIn.body.this, inputAlias, named);
  values.push(forIn.body.this);
  const pivotColumn = evalExpr(forIn.body.this, env);
  if (aggregates.length > 1 && aggregates.some((a) => a.alias === undefined)) refuse('PIVOT with several aggregates not all named', v.node);

  const columns = remainingColumns(input, referencedColumns(input, scope, values, ctx), named);
  // The FOR column decides which output column a value lands in, and PIVOT groups by the
  // columns it leaves: both steer the result, as a WHERE and a GROUP BY do.
  ctx.predicate(pivotColumn);
  for (const c of columns) ctx.predicate(c.lineage);
  for (const value of items(forIn.body.expressions)) {
    const name = pivotValueName(value);
    for (const a of aggregates) {
      columns.push({ name: (a.alias === undefined ? name : `${a.alias}_${name}`).toLowerCase(), lineage: transformed([a.lineage, pivotColumn]) });
    }
  }
  const alias = optionalIdent(v.body.alias, 'PIVOT alias')?.name.toLowerCase();
  return { kind: 'derived', alias, columns, tables: relationTables(input) };
}

/** The type of an UNPIVOT label (`a AS 'label'`, `a AS 1`): string or INT64, the two BigQuery takes. */
function unpivotLabelType(node: unknown): 'string' | 'int64' {
  const v = variant(node, 'UNPIVOT label');
  if (v.kind === 'literal' && v.body.literal_type === 'string') return 'string';
  const negative = v.kind === 'neg';
  const literal = negative ? variant(v.body.this, 'UNPIVOT label') : v;
  const digits = literal.kind === 'literal' && literal.body.literal_type === 'number' && typeof literal.body.value === 'string' && /^\d+$/.test(literal.body.value) ? BigInt(literal.body.value) : undefined;
  if (digits !== undefined && (negative ? digits <= INT64_LIMIT : digits < INT64_LIMIT)) return 'int64';
  return refuse('UNPIVOT label other than a string or INT64 literal', v.node);
}

/**
 * `UNPIVOT(value FOR name IN (a, b))` and `UNPIVOT((v1, v2) FOR name IN ((a1, a2) AS 'x', (b1, b2) AS 'y'))`:
 * the other columns, the value columns (each one of the unpivoted columns at its place as it was), the name.
 */
export function unpivotRelation(v: Variant, scope: Scope, inputOf: InputOf, ctx: StatementContext): DerivedRelation {
  expectFields(v, new Set(['this', 'value_column', 'extra_value_columns', 'name_column', 'columns', 'alias', 'include_nulls', 'value_column_parenthesized']), 'UNPIVOT');
  const input = inputOf(v.body.this);
  const env = { scope: inputScope(scope, input), ctx };
  const valueNames = [v.body.value_column, ...items(v.body.extra_value_columns)].map((c) => ident(c, 'UNPIVOT value column').name.toLowerCase());
  const nameColumn = ident(v.body.name_column, 'UNPIVOT name column').name.toLowerCase();
  // BigQuery refuses a value column named as another or as the name column.
  if (new Set([...valueNames, nameColumn]).size !== valueNames.length + 1) refuse('UNPIVOT value and name columns not all named apart', v.node);
  const consumed = new Set<string>();
  const values: Lineage[][] = valueNames.map(() => []);
  const labels = new Set<string>();
  for (const c of items(v.body.columns)) {
    // `a AS 'label'` only sets the value of the name column, which is constant anyway.
    const cv = variant(c, 'UNPIVOT column');
    let set = cv;
    if (cv.kind === 'pivot_alias') {
      expectFields(cv, new Set(['this', 'alias']), 'UNPIVOT column');
      labels.add(unpivotLabelType(cv.body.alias));
      set = variant(cv.body.this, 'UNPIVOT column');
    } else {
      labels.add('none');
    }
    // `(a1, a2)`: a column set, one column per value column; `(a)` is a set of one.
    const columns = set.kind === 'tuple' ? items(set.body.expressions) : set.kind === 'paren' ? [set.body.this] : [set.node];
    if (columns.length !== valueNames.length) refuse('UNPIVOT column set whose size is not the number of value columns', cv.node);
    const inSet = new Set<string>();
    columns.forEach((column, i) => {
      const col = variant(column, 'UNPIVOT column');
      if (col.kind !== 'column') refuse('UNPIVOT column of an unexpected shape', cv.node);
      const name = ident(col.body.name, 'UNPIVOT column').name.toLowerCase();
      // BigQuery refuses a column twice in one set, or one named as a value or the name column.
      if (inSet.has(name) || valueNames.includes(name) || name === nameColumn) refuse(`UNPIVOT column ${name} named twice in its set, or as a value or name column`, col.node);
      inSet.add(name);
      columnNames(column, input.alias, consumed);
      values[i]!.push(evalExpr(column, env));
    });
  }
  // BigQuery takes labels all of one type, and INT64 ones only on every column.
  if (labels.has('int64') && labels.size > 1) refuse('UNPIVOT INT64 labels with others, or on some columns only', v.node);
  if (values[0]!.length === 0) refuse('UNPIVOT without columns', v.node);
  const columns = remainingColumns(input, consumed);
  // Without INCLUDE NULLS, rows whose values are NULL are dropped: which rows come back answers
  // whether each unpivoted column is NULL, as a WHERE would.
  if (v.body.include_nulls !== true) for (const l of values.flat()) ctx.predicate(l);
  valueNames.forEach((name, i) => columns.push({ name, lineage: passedThrough(values[i]!) }));
  columns.push({ name: nameColumn, lineage: CONSTANT });
  const alias = optionalIdent(v.body.alias, 'UNPIVOT alias')?.name.toLowerCase();
  return { kind: 'derived', alias, columns, tables: relationTables(input) };
}

/**
 * A table-valued function in FROM: BigQuery ML's (`ML.PREDICT(MODEL m, …)` and its kin), read by
 * ./ml.ts; any other is refused.
 */
export { mlRelation as predictRelation } from './ml.ts';
