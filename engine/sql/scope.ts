// Name resolution. A scope holds the range variables of one FROM clause (tables, derived
// tables, UNNEST values) and links to the enclosing query's scope for correlated references.
// Resolution follows BigQuery: range variables before columns, inner scopes before outer.
// Where a name could belong to more than one table and the schemas cannot tell, the value's
// lineage is unknown and names every candidate table: never a guess.
import { unsupported } from './ast.ts';
import { PSEUDO_COLUMNS, fieldIndex, isRecord, type FieldIndex } from './catalog.ts';
import type { StatementContext } from './context.ts';
import { columnLineage, fieldOf, passedThrough, transformed, unknownLineage, type Lineage } from './lineage.ts';

/** One column of a query result or derived table. */
export interface DerivedColumn {
  /** Lower-case name; `*` for columns that could not be listed. */
  readonly name: string;
  readonly lineage: Lineage;
  /**
   * For `*` columns: the lineage of a column of that name if the hidden columns may hold one,
   * else undefined. (`SELECT * FROM t` without t's schema still passes `t.a` through as `a`.)
   */
  readonly lookup?: (name: string) => Lineage | undefined;
}

export interface TableRelation {
  readonly kind: 'table';
  readonly alias: string;
  readonly id: string;
  /** Undefined when the table's schema is not known. */
  readonly fields: FieldIndex | undefined;
}

export interface DerivedRelation {
  readonly kind: 'derived';
  readonly alias: string | undefined;
  readonly columns: readonly DerivedColumn[];
  readonly tables: ReadonlySet<string>;
}

/** A value table: an UNNEST element or its offset. */
export interface ValueRelation {
  readonly kind: 'value';
  readonly alias: string | undefined;
  readonly value: Lineage;
  /** Element fields when it is a known STRUCT, null when a known scalar, undefined when unknown. */
  readonly fields: FieldIndex | null | undefined;
  readonly tables: ReadonlySet<string>;
}

export type Relation = TableRelation | DerivedRelation | ValueRelation;

/** Named query results visible to a query (WITH), innermost first. */
export class CteEnv {
  readonly parent: CteEnv | undefined;
  private readonly entries = new Map<string, DerivedRelation>();

  constructor(parent: CteEnv | undefined) {
    this.parent = parent;
  }

  /**
   * WITH RECURSIVE names not yet read, each with what reads (and defines) it: BigQuery makes every
   * name of such a clause visible to each of its queries, a later one's too, so a query naming a
   * later one has it read first rather than taking the name for a table. A name met again while it
   * is being read is a cycle, which BigQuery refuses.
   */
  private readonly pending = new Map<string, () => void>();
  private readonly reading = new Set<string>();

  declare(name: string, read: () => void): void {
    this.pending.set(name, read);
  }

  define(name: string, relation: DerivedRelation): void {
    this.pending.delete(name);
    this.entries.set(name, relation);
  }

  find(name: string): DerivedRelation | undefined {
    const found = this.entries.get(name);
    if (found !== undefined) return found;
    const read = this.pending.get(name);
    if (read === undefined) return this.parent?.find(name);
    if (this.reading.has(name)) unsupported(`WITH RECURSIVE query ${name} named while it is being read (a cycle, or its base term naming it)`);
    this.reading.add(name);
    try {
      read();
    } finally {
      this.reading.delete(name);
    }
    return this.entries.get(name) ?? unsupported(`WITH RECURSIVE query ${name} that was not defined when read`);
  }
}

interface Candidate {
  readonly relation: Relation;
  readonly lineage: Lineage;
  /** Certainly this relation's column (known schema), or only possibly (unknown schema). */
  readonly certain: boolean;
}

export function relationTables(relation: Relation): ReadonlySet<string> {
  return relation.kind === 'table' ? new Set([relation.id]) : relation.tables;
}

/**
 * The analysis's name for an unnamed column (`f0_`, made unique as `f0__1`). BigQuery gives an
 * unnamed column no name inside a query (`f0_` is the result's name only): a name of that form is
 * its column only if an alias wrote it, which the columns do not tell.
 */
const UNNAMED = /^f\d+_(_\d+)?$/i;

/**
 * Named columns are certain, but for a name the analysis gives an unnamed column (possible: where
 * BigQuery finds no such column it reads the name from an enclosing query); `*` columns that may
 * hide one are possible.
 */
function derivedColumns(relation: DerivedRelation, name: string): Candidate[] {
  const certain = !UNNAMED.test(name);
  const named = relation.columns.filter((c) => c.name === name).map((c) => ({ relation, lineage: c.lineage, certain }));
  if (named.length > 0) return named;
  const hidden: Candidate[] = [];
  for (const column of relation.columns) {
    const lineage = column.lookup?.(name);
    if (lineage !== undefined) hidden.push({ relation, lineage, certain: false });
  }
  return hidden;
}

/** The relation's columns called `name`, certain or possible; empty when it has none. */
function columnOf(relation: Relation, name: string): Candidate[] {
  switch (relation.kind) {
    case 'table': {
      const lineage = columnLineage(relation.id, name);
      if (relation.fields === undefined) return [{ relation, lineage, certain: false }];
      if (relation.fields.byName.has(name)) return [{ relation, lineage, certain: true }];
      // A pseudo-column is there only on some tables (_PARTITIONTIME on an ingestion-time
      // partitioned one, _FILE_NAME on an external one, _CHANGE_TYPE in what CHANGES returns), and
      // the schema does not say which: where the table lacks it, BigQuery reads the name from an
      // enclosing query, so here it is only possibly this table's.
      return PSEUDO_COLUMNS.has(name) ? [{ relation, lineage, certain: false }] : [];
    }
    case 'derived':
      return derivedColumns(relation, name);
    case 'value': {
      if (relation.fields === null) return [];
      const lineage = fieldOf(relation.value, [name]);
      if (relation.fields === undefined) return [{ relation, lineage, certain: false }];
      return relation.fields.byName.has(name) ? [{ relation, lineage, certain: true }] : [];
    }
  }
}

/** Every column of a relation as a value (a whole row used as a value, STRUCT(t), TO_JSON(t)). */
function wholeRow(relation: Relation): Lineage {
  switch (relation.kind) {
    case 'table':
      if (relation.fields === undefined) {
        return unknownLineage(`the whole row of ${relation.id} is used as a value and its schema is not known`, [relation.id]);
      }
      return transformed(relation.fields.list.map((f) => columnLineage(relation.id, f.name)));
    case 'derived':
      return transformed(relation.columns.map((c) => c.lineage));
    case 'value':
      return relation.value;
  }
}

/**
 * A JOIN … USING column: its merged value, and the relations of the joins that merged it (whose
 * own column of that name it stands for).
 */
export interface UsingColumn {
  readonly lineage: Lineage;
  readonly within: ReadonlySet<Relation>;
}

/** An entry of `Scope.starOrder`: a relation's columns, or the merged column of a JOIN … USING. */
export type StarEntry = Relation | { readonly kind: 'using'; readonly name: string };

export class Scope {
  readonly parent: Scope | undefined;
  readonly ctes: CteEnv | undefined;
  readonly relations: Relation[] = [];
  /** JOIN … USING columns: one merged value per name, hiding the right sides' own columns. */
  readonly using = new Map<string, UsingColumn>();
  /**
   * The FROM clause's columns in the order `*` lists them (gsql/from.ts): each relation, and each
   * JOIN … USING column ahead of the columns of the join it merges, as BigQuery lists them.
   */
  readonly starOrder: StarEntry[] = [];

  /** Without WITH names of its own, a scope sees its parent's (a script's temporary tables: gsql/script.ts). */
  constructor(parent: Scope | undefined, ctes: CteEnv | undefined) {
    this.parent = parent;
    this.ctes = ctes ?? parent?.ctes;
  }

  /** The range variable `name` in this scope or an enclosing one. */
  rangeVariable(name: string): Relation | undefined {
    for (let s: Scope | undefined = this; s !== undefined; s = s.parent) {
      const found = s.relations.find((r) => r.alias === name);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** Every base table any relation of this scope and its parents reads. */
  tables(): Set<string> {
    const out = new Set<string>();
    for (let s: Scope | undefined = this; s !== undefined; s = s.parent) {
      for (const r of s.relations) for (const t of relationTables(r)) out.add(t);
    }
    return out;
  }

  /** Candidates for an unqualified name in this scope only (not its parents). */
  private candidates(name: string): Candidate[] {
    const out: Candidate[] = [];
    for (const relation of this.relations) out.push(...columnOf(relation, name));
    return out;
  }

  /** Candidates in enclosing scopes: range variables and columns alike. */
  private outerCandidates(name: string): Candidate[] {
    const out: Candidate[] = [];
    for (let s = this.parent; s !== undefined; s = s.parent) {
      for (const relation of s.relations) {
        if (relation.alias === name) out.push({ relation, lineage: wholeRow(relation), certain: true });
        else out.push(...columnOf(relation, name));
      }
    }
    return out;
  }

  /**
   * Records `JOIN right USING (name)`: one merged value, the right side's own columns hidden.
   * `left` and `right` hold the relations of each side (several for a parenthesised join, and
   * every earlier FROM item on the left), `rightMerged` the column a USING inside the right side
   * merged among its relations, which is then that side's column.
   */
  join(name: string, left: readonly Relation[], right: readonly Relation[], rightMerged: UsingColumn | undefined, ctx: StatementContext): void {
    const earlier = this.using.get(name);
    const leftSide = earlier?.lineage ?? this.usingSide(name, left);
    const rightSide = rightMerged?.lineage ?? this.usingSide(name, right);
    const merged = passedThrough([leftSide, rightSide]);
    ctx.use(merged);
    ctx.predicate(merged); // JOIN USING compares the columns
    // Every side joined on the name so far is merged into one column (`a JOIN b USING (k) JOIN c USING (k)`: one k).
    this.using.set(name, { lineage: merged, within: new Set([...left, ...(earlier?.within ?? []), ...right]) });
  }

  private usingSide(name: string, relations: readonly Relation[]): Lineage {
    const found = relations.flatMap((r) => columnOf(r, name));
    if (found.length === 1) return found[0]!.lineage;
    if (found.length > 1) return ambiguous([name], found);
    const only = relations.length === 1 ? relations[0] : undefined;
    // A table whose schema is not known offers the name as a possible column (columnOf), so here
    // the schema is known and lacks it: what it reads is not known, as for an unqualified name.
    if (only?.kind === 'table') return unknownLineage(`USING column ${name} is not in the known schema of table ${only.id}`, [only.id]);
    const tables = new Set<string>();
    for (const r of relations) for (const t of relationTables(r)) tables.add(t);
    return unknownLineage(`USING column ${name} is not a known column of the joined tables`, tables);
  }

  /**
   * Whether `name` (lower case) is a range variable, a USING column or a column of a known schema
   * here or in an enclosing query (`certain`), or may be a column of a table whose schema is
   * not known (`possible`).
   */
  names(name: string): 'certain' | 'possible' | undefined {
    let possible = false;
    for (let s: Scope | undefined = this; s !== undefined; s = s.parent) {
      if (s.relations.some((r) => r.alias === name) || s.using.has(name)) return 'certain';
      const found = s.candidates(name);
      if (found.some((c) => c.certain)) return 'certain';
      if (found.length > 0) possible = true;
    }
    return possible ? 'possible' : undefined;
  }

  /**
   * Resolves a column path (lower-case identifiers: `a`, `t.a`, `t.address.city`,
   * `address.city`) to its lineage and records the source columns it reads.
   */
  resolve(path: readonly string[], ctx: StatementContext): Lineage {
    return ctx.use(this.resolvePath(path));
  }

  private resolvePath(path: readonly string[]): Lineage {
    const [first, ...rest] = path as [string, ...string[]];
    for (let s: Scope | undefined = this; s !== undefined; s = s.parent) {
      const relation = s.relations.find((r) => r.alias === first);
      if (relation !== undefined) return rest.length === 0 ? wholeRow(relation) : fieldOfRelation(relation, rest);
      const merged = s.using.get(first);
      if (merged !== undefined) return fieldOf(merged.lineage, rest);
      const found = s.candidates(first);
      if (found.length === 0) continue;
      const certain = found.filter((c) => c.certain).length;
      if (certain === 1 && found.length === 1) return fieldOf(found[0]!.lineage, rest);
      if (certain > 0) return ambiguous(path, found);
      // Only possibly here (schema unknown): an enclosing query's table may own it instead.
      const outer = s.outerCandidates(first);
      if (found.length === 1 && outer.length === 0) return fieldOf(found[0]!.lineage, rest);
      return ambiguous(path, [...found, ...outer]);
    }
    return unknownLineage(`column ${path.join('.')} is not a column of any table in scope`, this.tables());
  }
}

/** `alias.column…` on a known relation. */
function fieldOfRelation(relation: Relation, path: readonly string[]): Lineage {
  const [column, ...fields] = path as [string, ...string[]];
  switch (relation.kind) {
    case 'table':
      // A column the table's known schema lacks (a pseudo-column such as _TABLE_SUFFIX aside) is
      // not trusted to be harmless: a name read differently from BigQuery would otherwise pass any
      // column of the table as a new one. Its lineage is unknown and names the table, as an
      // unqualified name no table in scope has.
      if (relation.fields !== undefined && !relation.fields.byName.has(column) && !PSEUDO_COLUMNS.has(column)) {
        return unknownLineage(`column ${column} is not in the known schema of table ${relation.id}`, [relation.id]);
      }
      return columnLineage(relation.id, path.join('.'));
    case 'value':
      // A field a known STRUCT element lacks, likewise.
      if (relation.fields !== null && relation.fields !== undefined && !relation.fields.byName.has(column)) {
        return unknownLineage(`field ${column} is not in the known fields of ${relation.alias ?? 'the UNNEST element'}`, relation.tables);
      }
      return fieldOf(relation.value, path);
    case 'derived': {
      const found = columnOf(relation, column);
      if (found.length === 1) return fieldOf(found[0]!.lineage, fields);
      if (found.length > 1) return ambiguous(path, found);
      return unknownLineage(`${relation.alias ?? 'subquery'} has no column ${column}`, relation.tables);
    }
  }
}

function ambiguous(path: readonly string[], candidates: readonly Candidate[]): Lineage {
  const tables = new Set<string>();
  for (const c of candidates) for (const t of relationTables(c.relation)) tables.add(t);
  return unknownLineage(
    `column ${path.join('.')} is ambiguous: it could come from ${[...tables].join(', ') || 'a value without a table'}`,
    tables,
    candidates.map((c) => fieldOf(c.lineage, path.slice(1))),
  );
}

/** Fields of a value that is one known RECORD column (or an element of a repeated one). */
export function recordFields(value: Lineage, ctx: StatementContext): FieldIndex | null | undefined {
  if (!value.direct || value.unknown !== undefined || value.sources.size !== 1) return undefined;
  const [ref] = value.sources.values();
  const table = ctx.catalog.table(ref!.table);
  if (table === undefined) return undefined;
  let fields: FieldIndex = table;
  const parts = ref!.column.split('.');
  for (let i = 0; i < parts.length; i++) {
    const field = fields.byName.get(parts[i]!);
    if (field === undefined) return undefined;
    if (!isRecord(field)) return i === parts.length - 1 ? null : undefined;
    fields = fieldIndex(field.fields ?? []);
  }
  return fields;
}
