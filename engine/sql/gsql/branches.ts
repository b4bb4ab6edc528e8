// Set operations align their branches' columns by position; the first branch names them.
import { passedThrough, transformed, unknownLineage, type Lineage } from '../lineage.ts';
import type { QueryResult } from '../relation.ts';

export function combineBranches(branches: readonly QueryResult[]): QueryResult {
  const first = branches[0]!;
  if (branches.length === 1) return first;
  const tables = new Set<string>();
  for (const b of branches) for (const t of b.tables) tables.add(t);
  const aligned = branches.every(
    (b) => b.valueTable === undefined && b.columns.length === first.columns.length && b.columns.every((c) => c.lookup === undefined),
  );
  if (aligned) {
    const columns = first.columns.map((c, i) => ({ name: c.name, lineage: passedThrough(branches.map((b) => b.columns[i]!.lineage)) }));
    return { columns, valueTable: undefined, tables };
  }
  const everything = transformed(branches.flatMap((b) => b.columns.map((c) => c.lineage)));
  const lineage = unknownLineage('set operation over branches whose columns cannot be aligned', tables, [everything]);
  return { columns: first.columns.map((c) => ({ name: c.name, lineage })), valueTable: first.valueTable, tables };
}

function lineageKey(l: Lineage): string {
  const unknown = l.unknown === undefined ? '' : `?${[...l.unknown.tables].sort().join(',')}`;
  return `${l.direct ? 'd' : 't'}:${[...l.sources.keys()].sort().join(',')}${unknown}`;
}

/** Same column names, sources, directness and candidate tables (a recursive query has settled). */
export function sameColumns(a: QueryResult, b: QueryResult): boolean {
  if (a.columns.length !== b.columns.length || a.valueTable !== b.valueTable) return false;
  if ([...a.tables].sort().join() !== [...b.tables].sort().join()) return false;
  return a.columns.every((c, i) => c.name === b.columns[i]!.name && lineageKey(c.lineage) === lineageKey(b.columns[i]!.lineage));
}
