// Tables a statement writes or defines (INSERT INTO t, UPDATE t, CREATE TABLE t, DROP TABLE t):
// qualified and recorded with their mode; UPDATE and DELETE also read the target's rows, so it
// becomes their range variable.
import type { StatementContext, TableMode } from '../context.ts';
import { Scope } from '../scope.ts';
import { implicitAlias, type TableName } from '../tables.ts';
import { expectFields, nameIdent, optionalIdent, refuse, variant, written } from './tree.ts';

const TARGET_FIELDS = new Set(['name', 'schema', 'catalog', 'alias', 'alias_explicit_as']);

/** The path of a table name as written (`p.ds.t`, `` `p.ds.t` ``, `ds.t`). */
export function tablePath(node: unknown, what: string): { path: string[]; alias: string | undefined } {
  const v = variant({ table: node }, what);
  expectFields(v, TARGET_FIELDS, what);
  const idents = [v.body.catalog, v.body.schema, v.body.name].filter((p) => p != null).map((p) => nameIdent(p, what));
  if (idents.some((i) => !i.quoted && i.name.includes('*'))) refuse(`${what} with a wildcard`, node);
  return { path: written(idents), alias: optionalIdent(v.body.alias, `${what} alias`)?.name.toLowerCase() };
}

/** Records the table `node` names with `mode`; with a scope, its rows are also read there. */
export function targetTable(node: unknown, mode: TableMode, ctx: StatementContext, what: string, scope?: Scope, alias?: string): TableName {
  const target = tablePath(node, what);
  const name = ctx.table(target.path, mode);
  if (scope !== undefined) {
    const rangeVariable = alias ?? target.alias ?? implicitAlias(target.path);
    scope.relations.push({ kind: 'table', alias: rangeVariable, id: name.id, fields: ctx.catalog.table(name.id) });
  }
  return name;
}

/** `{table: …}` as the statement holds it (some statements wrap the name, some do not). */
export function unwrapTable(node: unknown, what: string): unknown {
  const v = variant(node, what);
  return v.kind === 'table' ? v.body : refuse(`${what} of kind ${v.kind}`, v.node);
}
