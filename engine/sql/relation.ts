// What a query yields, shared by every analysis of the syntax tree: its derived columns, and the
// outputs a client (or the table a statement writes) receives from them.
import type { Output } from '../schema-types.ts';
import { lineageTables, toOutput, transformed, unknownLineage, type Lineage } from './lineage.ts';
import type { DerivedColumn } from './scope.ts';

export interface QueryResult {
  readonly columns: readonly DerivedColumn[];
  /** SELECT AS STRUCT / SELECT AS VALUE: a value table rather than named columns. */
  readonly valueTable: 'struct' | 'value' | undefined;
  /** Base tables the query reads. */
  readonly tables: ReadonlySet<string>;
}

/** The value of a query used as an expression (scalar subquery, ARRAY(…), IN (…), EXISTS). */
export function queryValue(result: QueryResult): Lineage {
  const [only, ...more] = result.columns;
  if (only !== undefined && more.length === 0 && result.valueTable === undefined && only.lookup === undefined) return only.lineage;
  return transformed(result.columns.map((c) => c.lineage));
}

/** Columns a query offers as a FROM item. */
export function relationColumns(result: QueryResult): readonly DerivedColumn[] {
  if (result.valueTable !== 'value') return result.columns;
  const lineage = unknownLineage('SELECT AS VALUE returns a value table whose columns are not named', result.tables, result.columns.map((c) => c.lineage));
  return [{ name: '*', lineage, lookup: () => lineage }];
}

/** Result columns of a query as the client (or the written table) receives them. */
export function queryOutputs(result: QueryResult, names?: readonly string[]): Output[] {
  if (result.valueTable !== undefined) {
    const lineage = unknownLineage(
      `SELECT AS ${result.valueTable.toUpperCase()} returns a value table whose columns are not named`,
      result.tables,
      result.columns.map((c) => c.lineage),
    );
    return [toOutput(0, '*', lineage)];
  }
  const rename = names !== undefined && names.length === result.columns.length && result.columns.every((c) => c.lookup === undefined);
  const named = result.columns.map((c, i) => ({ name: rename ? names[i]! : c.name, lineage: c.lineage, lookup: c.lookup }));
  return resultNames(named, result.tables).map((c, i) => toOutput(i, c.name, c.lineage));
}

/** The analysis's name for an unnamed column (`f0_`, made unique as `f0__1`), in any case. */
const UNNAMED = /^f\d+_(_\d+)?$/i;

/**
 * Repeated result column names are made unique as BigQuery does (`id`, `id_1`, …): masks are
 * applied by name, so outputs carry the name the client sees. (A mask naming a column the
 * result lacks fails at the gateway, so a wrong guess fails closed.) Where the renamed name is
 * itself taken, the output cannot be told apart by name and its lineage becomes unknown.
 */
function resultNames(columns: readonly Pick<DerivedColumn, 'name' | 'lineage' | 'lookup'>[], tables: ReadonlySet<string>): { name: string; lineage: Lineage }[] {
  const taken = new Set(columns.map((c) => c.name));
  const seen = new Map<string, number>();
  // `*` columns whose names are not known: one of them may be named like a later column, which
  // BigQuery then renames (`x` becomes `x_1`), and a mask by name would land on the hidden one.
  const hidden: ((name: string) => Lineage | undefined)[] = [];
  // With a `*` of unknown width anywhere in the result, the result's width is not the outputs'
  // count, so the gateway applies the masks by name; BigQuery numbers its unnamed columns over the
  // whole result (`f0_`, `f1_`, …) where the analysis numbers each SELECT, so a mask on an unnamed
  // output could land on another column and leave this one raw.
  const starred = columns.some((c) => c.name === '*');
  const stars = columns.flatMap((c) => (c.name === '*' && c.lookup !== undefined ? [c.lookup] : []));
  return columns.map((c) => {
    if (c.name === '*') {
      if (c.lookup !== undefined) hidden.push(c.lookup);
      return c;
    }
    if (starred && c.lineage.direct && UNNAMED.test(c.name)) {
      const reason = `unnamed result column ${c.name} beside a \`*\` whose columns are not known: BigQuery may number it otherwise`;
      return { name: c.name, lineage: unknownLineage(reason, lineageTables(c.lineage), [c.lineage]) };
    }
    if (hidden.some((lookup) => lookup(c.name) !== undefined)) {
      const reason = `a column of \`*\` before result column ${c.name}, whose names are not known, may be named ${c.name} too (BigQuery then renames this one)`;
      return { name: c.name, lineage: unknownLineage(reason, tables, [c.lineage]) };
    }
    const count = seen.get(c.name) ?? 0;
    seen.set(c.name, count + 1);
    if (count === 0) return c;
    const name = `${c.name}_${count}`;
    const reason = `result column name ${c.name} is repeated and ${name} is also taken`;
    // A `*` anywhere in the result may hold the new name too (`SELECT a AS x, b AS x, s.*` with a
    // field x_1): BigQuery then names this column otherwise, and a mask on x_1 lands on the field.
    const clash = taken.has(name) || stars.some((lookup) => lookup(name) !== undefined);
    return clash ? { name, lineage: unknownLineage(reason, tables, [c.lineage]) } : { name, lineage: c.lineage };
  });
}
