// The columns `*` stands for over a FROM clause, a range variable or a RECORD value. Mirrors the
// private helpers of ../select-list.ts (to be exported from there when the front ends merge): they
// work on scopes and lineage only, not on any syntax tree.
import type { StatementContext } from '../context.ts';
import { columnLineage, fieldOf, lineageTables, unknownLineage, type Lineage } from '../lineage.ts';
import { recordFields, relationTables, type DerivedColumn, type Relation, type Scope } from '../scope.ts';

/** `*` over a FROM clause: each relation's columns, a USING column once. */
export function scopeColumns(scope: Scope): DerivedColumn[] {
  const out: DerivedColumn[] = [];
  for (const relation of scope.relations) {
    for (const c of relationColumnsOf(relation)) {
      const using = c.lookup === undefined ? scope.using.get(c.name) : undefined;
      // A USING column stands for the columns of the joins that merged it, not another relation's.
      const merged = using?.within.has(relation) === true ? using : undefined;
      if (merged === undefined) out.push(c);
      else if (!merged.hides.has(relation)) out.push({ name: c.name, lineage: merged.lineage });
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
  const lineage = unknownLineage(`the fields of ${qualifier.join('.')} are not known`, lineageTables(value), [value]);
  return [{ name: '*', lineage, lookup: (n) => fieldOf(value, [n]) }];
}
