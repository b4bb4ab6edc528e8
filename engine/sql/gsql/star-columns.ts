// The columns `*` stands for over a FROM clause, a range variable or a RECORD value, for the
// select list and the table operators alike: they work on scopes and lineage only, not on any
// syntax tree.
import type { StatementContext } from '../context.ts';
import { columnLineage, fieldOf, lineageTables, transformed, unknownLineage, type Lineage } from '../lineage.ts';
import { recordFields, relationTables, type DerivedColumn, type Relation, type Scope } from '../scope.ts';
import { unsupported } from '../ast.ts';

/**
 * `*` over a FROM clause: each relation's columns, a USING column once, ahead of the columns of
 * the join that merged it (`scope.starOrder`). A scope whose relations that order does not list
 * exactly is refused rather than guessed.
 */
export function scopeColumns(scope: Scope): DerivedColumn[] {
  // A scope given its relations directly (TRANSFORM's, PIVOT's input) has no join to order.
  const order = scope.starOrder.length === 0 && scope.using.size === 0 ? scope.relations : scope.starOrder;
  const listed = order.filter((e): e is Relation => e.kind !== 'using');
  if (listed.length !== scope.relations.length || listed.some((r, i) => r !== scope.relations[i])) {
    unsupported('`*` over range variables whose order is not known');
  }
  const out: DerivedColumn[] = [];
  for (const entry of order) {
    if (entry.kind === 'using') {
      const merged = scope.using.get(entry.name);
      if (merged === undefined) unsupported(`\`*\` over a USING column ${entry.name} that is not merged`);
      out.push({ name: entry.name, lineage: merged.lineage });
      continue;
    }
    for (const c of relationColumnsOf(entry)) {
      const using = c.lookup === undefined ? scope.using.get(c.name) : undefined;
      // A USING column stands, listed first, for the columns of the joins that merged it.
      if (using?.within.has(entry) !== true) out.push(c);
    }
  }
  return out;
}

export function relationColumnsOf(relation: Relation): readonly DerivedColumn[] {
  switch (relation.kind) {
    case 'table': {
      const { id, fields } = relation;
      if (fields !== undefined) return fields.list.map((f) => ({ name: f.name, lineage: columnLineage(id, f.name) }));
      const lineage = unknownLineage(`SELECT * over ${id}, whose schema is not known`, [id]);
      return [{ name: '*', lineage, lookup: (n) => columnLineage(id, n) }];
    }
    case 'derived':
      return relation.columns;
    case 'value': {
      const { value, fields } = relation;
      if (fields === null) return [{ name: relation.alias ?? 'f0_', lineage: value }];
      if (fields !== undefined) return fields.list.map((f) => ({ name: f.name, lineage: fieldOf(value, [f.name]) }));
      const lineage = unknownLineage('SELECT * over an UNNEST whose element fields are not known', relationTables(relation), [value]);
      return [{ name: '*', lineage, lookup: (n) => fieldOf(value, [n]) }];
    }
  }
}

/** `s.field.*`: the fields of a RECORD value. */
export function structColumns(value: Lineage, qualifier: readonly string[], ctx: StatementContext): DerivedColumn[] {
  const fields = recordFields(value, ctx);
  if (fields) return fields.list.map((f) => ({ name: f.name, lineage: fieldOf(value, [f.name]) }));
  // A computed value (`STRUCT(id AS a, 'x' AS b).*`): each field, whatever its name, is computed
  // from (some of) the value's sources.
  if (!value.direct && value.unknown === undefined) {
    const computed = transformed([value]);
    return [{ name: '*', lineage: computed, lookup: () => computed }];
  }
  const lineage = unknownLineage(`the fields of ${qualifier.join('.')} are not known`, lineageTables(value), [value]);
  return [{ name: '*', lineage, lookup: (n) => fieldOf(value, [n]) }];
}
