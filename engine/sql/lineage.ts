// Lineage of one value: the source columns it is computed from, whether it is one of them
// passed through unchanged, and, when the sources cannot be determined, why and from which
// tables they could come. Values are immutable; combinators build new ones.
import type { ColumnRef, Output } from '../schema-types.ts';

export interface UnknownLineage {
  readonly reason: string;
  readonly tables: ReadonlySet<string>;
}

export interface Lineage {
  readonly sources: ReadonlyMap<string, ColumnRef>;
  /** Passed through unchanged (aliases, subqueries, UNION branches of direct columns). */
  readonly direct: boolean;
  readonly unknown?: UnknownLineage;
}

const EMPTY_SOURCES: ReadonlyMap<string, ColumnRef> = new Map();

/** A value computed from no column (literals, parameters, COUNT(*)). */
export const CONSTANT: Lineage = { sources: EMPTY_SOURCES, direct: false };

export function sourceKey(table: string, column: string): string {
  return `${table}\u0000${column}`;
}

export function columnLineage(table: string, column: string): Lineage {
  return { sources: new Map([[sourceKey(table, column), { table, column }]]), direct: true };
}

function combine(parts: readonly Lineage[], direct: boolean): Lineage {
  if (parts.length === 1 && parts[0]!.direct === direct) return parts[0]!;
  const sources = new Map<string, ColumnRef>();
  let reason: string | undefined;
  let tables: Set<string> | undefined;
  for (const part of parts) {
    for (const [key, ref] of part.sources) sources.set(key, ref);
    if (part.unknown !== undefined) {
      reason ??= part.unknown.reason;
      tables ??= new Set();
      for (const t of part.unknown.tables) tables.add(t);
    }
  }
  const known = reason === undefined;
  const lineage: Lineage = { sources, direct: direct && known && sources.size > 0 };
  return known ? lineage : { ...lineage, unknown: { reason: reason!, tables: tables! } };
}

/** A value computed from all of `parts` (expressions, functions, aggregates, CASE, CAST). */
export function transformed(parts: readonly Lineage[]): Lineage {
  if (parts.length === 0) return CONSTANT;
  return combine(parts, false);
}

/** One of `parts` passed through unchanged (set operations, JOIN USING columns). */
export function passedThrough(parts: readonly Lineage[]): Lineage {
  if (parts.length === 0) return CONSTANT;
  return combine(parts, parts.every((p) => p.direct));
}

/** Sources that cannot be determined; `known` keeps what is known about them. */
export function unknownLineage(reason: string, tables: Iterable<string>, known: readonly Lineage[] = []): Lineage {
  const base = transformed(known);
  const all = new Set(tables);
  if (base.unknown !== undefined) for (const t of base.unknown.tables) all.add(t);
  return { sources: base.sources, direct: false, unknown: { reason: base.unknown?.reason ?? reason, tables: all } };
}

/** The value of a field inside a value: a direct source gains the path (address.city). */
export function fieldOf(value: Lineage, path: readonly string[]): Lineage {
  if (path.length === 0 || !value.direct || value.unknown !== undefined) return value;
  const suffix = path.join('.');
  const sources = new Map<string, ColumnRef>();
  for (const ref of value.sources.values()) {
    const column = `${ref.column}.${suffix}`;
    sources.set(sourceKey(ref.table, column), { table: ref.table, column });
  }
  return { sources, direct: true };
}

/** An element picked out of an array value (arr[OFFSET(0)]): the same sources, transformed. */
export function partOf(value: Lineage, path: readonly string[]): Lineage {
  return transformed([fieldOf(value, path)]);
}

/** Every table a value's known and candidate sources belong to. */
export function lineageTables(lineage: Lineage): Set<string> {
  const out = new Set<string>();
  for (const ref of lineage.sources.values()) out.add(ref.table);
  if (lineage.unknown !== undefined) for (const t of lineage.unknown.tables) out.add(t);
  return out;
}

export function toOutput(index: number, name: string, lineage: Lineage): Output {
  const output: Output = {
    index,
    name,
    sources: [...lineage.sources.values()],
    lineage: lineage.unknown === undefined ? 'known' : 'unknown',
    direct: lineage.direct && lineage.unknown === undefined,
  };
  if (lineage.unknown !== undefined) {
    output.reason = lineage.unknown.reason;
    output.tables = [...lineage.unknown.tables];
  }
  return output;
}
