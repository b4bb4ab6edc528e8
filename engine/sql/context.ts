// What the analysis of one statement accumulates: tables with their mode, every referenced
// source column, the columns its predicates read (WHERE, JOIN, ORDER BY, …), called functions,
// and the names it accounted for without a table (CTE names, array paths), which the token-scan
// cross-check needs.
import type { ColumnRef, TableRef } from '../schema-types.ts';
import type { SchemaCatalog } from './catalog.ts';
import { sourceKey, type Lineage } from './lineage.ts';
import { qualify, type NameContext, type TableName } from './tables.ts';
import { unsupported } from './ast.ts';

export type TableMode = TableRef['mode'];

export class StatementContext {
  readonly names: NameContext;
  readonly catalog: SchemaCatalog;
  readonly tables = new Map<string, TableRef>();
  readonly columns = new Map<string, ColumnRef>();
  /** Source columns read by clauses that choose or order rows (see Statement.predicate_columns). */
  readonly predicates = new Map<string, ColumnRef>();
  readonly functions = new Set<string>();
  /** Names read in table positions that are not tables (WITH names, array paths), by `writtenKey`. */
  readonly explained = new Set<string>();
  /** Value literal nodes the expression analysis read (literals.ts: sharing by shape). */
  readonly literals = new Set<object>();

  /**
   * Lower-case names of the script's temporary tables: the analysis reads them as relations
   * (gsql/script.ts), so a table name reaching `table` that may name one is refused.
   */
  readonly tempTables = new Set<string>();

  constructor(names: NameContext, catalog: SchemaCatalog) {
    this.names = names;
    this.catalog = catalog;
  }

  /** Qualifies and records a table; an unqualifiable name makes the statement unparsed. */
  table(path: readonly string[], mode: TableMode): TableName {
    const written = path.join('.').toLowerCase();
    if ((path.length === 1 && this.tempTables.has(written)) || written.startsWith('_session.')) {
      unsupported(`table name ${path.join('.')}, which may name a temporary table, where the analysis does not read it as one`);
    }
    const q = qualify(path, this.names);
    if (q.error !== undefined) unsupported(q.error);
    this.addTable(q.name, mode);
    return q.name;
  }

  addTable(name: TableName, mode: TableMode): void {
    const key = `${name.id}\u0000${mode}`;
    if (!this.tables.has(key)) this.tables.set(key, { ...name, mode });
  }

  /**
   * Records the value of a predicate clause: its source columns, or every column (`*`) of the
   * tables its lineage could come from when that lineage is unknown.
   */
  predicate(lineage: Lineage): void {
    for (const [key, ref] of lineage.sources) if (!this.predicates.has(key)) this.predicates.set(key, ref);
    for (const table of lineage.unknown?.tables ?? []) this.predicates.set(sourceKey(table, '*'), { table, column: '*' });
    if (lineage.unknown !== undefined && lineage.unknown.tables.size === 0) this.unplaced = true;
  }

  /**
   * A predicate whose unknown lineage named no table in scope (a derived table naming a range
   * variable beside it, which BigQuery does not let it see): it may read any table of the
   * statement, so each stands as `*` when the statement is complete.
   */
  private unplaced = false;

  /** The predicate columns, with `*` of every table for a predicate no table could be placed on. */
  predicateColumns(): ColumnRef[] {
    if (this.unplaced) for (const { id } of this.tables.values()) this.predicates.set(sourceKey(id, '*'), { table: id, column: '*' });
    return [...this.predicates.values()];
  }

  /** Records a value as a predicate (see `predicate`) and hands it back. */
  predicateOf(lineage: Lineage): Lineage {
    this.predicate(lineage);
    return lineage;
  }

  /** Records a value's source columns as referenced and hands the value back. */
  use(lineage: Lineage): Lineage {
    for (const [key, ref] of lineage.sources) if (!this.columns.has(key)) this.columns.set(key, ref);
    return lineage;
  }
}
