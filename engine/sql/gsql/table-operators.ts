// FROM items that reshape another relation: PIVOT, UNPIVOT and the ML functions (./ml.ts). Each
// is read as a derived table whose columns carry the lineage BigQuery gives them.
import type { StatementContext } from '../context.ts';
import { CONSTANT, passedThrough, transformed, type Lineage } from '../lineage.ts';
import { Scope, relationTables, type DerivedColumn, type DerivedRelation, type Relation } from '../scope.ts';
import { evalExpr } from './expr.ts';
import { relationColumnsOf } from './star-columns.ts';
import { expectFields, ident, isNode, items, optionalIdent, refuse, variant, type Variant } from './tree.ts';

type InputOf = (node: unknown) => Relation;

/** A name BigQuery uses as is for a pivot column. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The input's columns but those named (the columns PIVOT and UNPIVOT consume). */
function remainingColumns(input: Relation, consumed: ReadonlySet<string>): DerivedColumn[] {
  const out: DerivedColumn[] = [];
  for (const c of relationColumnsOf(input)) {
    if (c.lookup !== undefined) {
      const lookup = c.lookup;
      out.push({ name: c.name, lineage: c.lineage, lookup: (n) => (consumed.has(n) ? undefined : lookup(n)) });
    } else if (!consumed.has(c.name)) {
      out.push(c);
    }
  }
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
  if (v.kind === 'literal' && v.body.literal_type === 'string' && typeof v.body.value === 'string' && PLAIN_NAME.test(v.body.value)) return v.body.value;
  // BigQuery names an integer value's column `_<value>`.
  if (v.kind === 'literal' && v.body.literal_type === 'number' && typeof v.body.value === 'string' && /^\d+$/.test(v.body.value)) return `_${v.body.value}`;
  return refuse('PIVOT value without an alias whose column name BigQuery derives', v.node);
}

/** `PIVOT(agg AS a, … FOR col IN (v AS name, …))`: grouping columns, then one column per aggregate and value. */
export function pivotRelation(v: Variant, scope: Scope, inputOf: InputOf, ctx: StatementContext): DerivedRelation {
  expectFields(v, new Set(['this', 'expressions', 'fields', 'alias', 'unpivot']), 'PIVOT');
  if (v.body.unpivot === true) refuse('UNPIVOT written as PIVOT', v.node);
  const input = inputOf(v.body.this);
  const env = { scope: inputScope(scope, input), ctx };
  const inputAlias = input.alias;
  const consumed = new Set<string>();
  const aggregates: { alias: string | undefined; lineage: Lineage }[] = [];
  for (const a of items(v.body.expressions)) {
    const av = variant(a, 'PIVOT aggregate');
    const value = av.kind === 'alias' ? av.body.this : a;
    columnNames(value, inputAlias, consumed);
    aggregates.push({ alias: av.kind === 'alias' ? ident(av.body.alias, 'PIVOT aggregate alias').name : undefined, lineage: evalExpr(value, env) });
  }
  const fields = items(v.body.fields);
  if (fields.length !== 1) refuse('PIVOT over several FOR columns', v.node);
  const forIn = variant(fields[0], 'PIVOT FOR clause');
  if (forIn.kind !== 'in') refuse('PIVOT FOR clause of an unexpected shape', forIn.node);
  expectFields(forIn, new Set(['this', 'expressions']), 'PIVOT FOR clause');
  columnNames(forIn.body.this, inputAlias, consumed);
  const pivotColumn = evalExpr(forIn.body.this, env);
  if (aggregates.length > 1 && aggregates.some((a) => a.alias === undefined)) refuse('PIVOT with several aggregates not all named', v.node);

  const columns = remainingColumns(input, consumed);
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

/** `UNPIVOT(value FOR name IN (a, b))`: the other columns, the value (one of a, b as it was), the name. */
export function unpivotRelation(v: Variant, scope: Scope, inputOf: InputOf, ctx: StatementContext): DerivedRelation {
  expectFields(v, new Set(['this', 'value_column', 'name_column', 'columns', 'alias', 'include_nulls', 'value_column_parenthesized']), 'UNPIVOT');
  const input = inputOf(v.body.this);
  const env = { scope: inputScope(scope, input), ctx };
  const consumed = new Set<string>();
  const values: Lineage[] = [];
  for (const c of items(v.body.columns)) {
    // `a AS 'label'` only renames the value in the name column, which is constant anyway.
    const cv = variant(c, 'UNPIVOT column');
    const column = cv.kind === 'alias' ? cv.body.this : c;
    if (variant(column, 'UNPIVOT column').kind !== 'column') refuse('UNPIVOT column of an unexpected shape', cv.node);
    columnNames(column, input.alias, consumed);
    values.push(evalExpr(column, env));
  }
  const columns = remainingColumns(input, consumed);
  // Without INCLUDE NULLS, rows whose value is NULL are dropped: which rows come back answers
  // whether each unpivoted column is NULL, as a WHERE would.
  if (v.body.include_nulls !== true) for (const l of values) ctx.predicate(l);
  columns.push({ name: ident(v.body.value_column, 'UNPIVOT value column').name.toLowerCase(), lineage: passedThrough(values) });
  columns.push({ name: ident(v.body.name_column, 'UNPIVOT name column').name.toLowerCase(), lineage: CONSTANT });
  const alias = optionalIdent(v.body.alias, 'UNPIVOT alias')?.name.toLowerCase();
  return { kind: 'derived', alias, columns, tables: relationTables(input) };
}

/**
 * A table-valued function in FROM: BigQuery ML's (`ML.PREDICT(MODEL m, …)` and its kin), read by
 * ./ml.ts; any other is refused.
 */
export { mlRelation as predictRelation } from './ml.ts';
