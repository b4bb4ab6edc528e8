// The select list: named and anonymous columns, and `*`, `t.*`, `s.field.*` with EXCEPT and
// REPLACE, expanded against known schemas or kept as one column of unknown lineage.
import { asNode, expectKeys, identifier, isNode, list, unsupported, type Node } from './ast.ts';
import { evalExpr, type ExprEnv } from './expr.ts';
import { columnLineage, fieldOf, lineageTables, unknownLineage, type Lineage } from './lineage.ts';
import { recordFields, relationTables, type DerivedColumn, type Relation, type Scope } from './scope.ts';
import type { StatementContext } from './context.ts';

const ITEM_KEYS = new Set(['expr', 'as', 'type', 'expr_list', 'parentheses', 'loc']);

function lower(value: string): string {
  return value.toLowerCase();
}

function isStar(expr: unknown): expr is Node {
  if (!isNode(expr) || expr.type !== 'column_ref') return false;
  return typeof expr.column === 'string' && (expr.column === '*' || expr.column.endsWith('.*'));
}

/** The name BigQuery gives an unaliased column: the last identifier of a path, else none. */
function implicitName(expr: unknown): string | undefined {
  if (!isNode(expr) || expr.type !== 'column_ref') return undefined;
  const fields = list(expr.subFields);
  if (fields.length > 0) return identifier(fields[fields.length - 1]);
  if (isNode(expr.column) && list(expr.column.offset).length > 0) return undefined;
  return identifier(expr.column);
}

export function selectList(items: unknown[], env: ExprEnv): { columns: DerivedColumn[]; aliases: Map<string, Lineage> } {
  const columns: DerivedColumn[] = [];
  const aliases = new Map<string, Lineage>();
  let anonymous = 0;
  for (const raw of items) {
    const item = asNode(raw, 'select item');
    expectKeys(item, ITEM_KEYS, 'select item');
    if (isStar(item.expr)) {
      columns.push(...star(item.expr, item, env));
      continue;
    }
    if (item.type != null || item.expr_list != null) unsupported('select item has unsupported syntax');
    const lineage = evalExpr(item.expr, env);
    const alias = identifier(item.as);
    if (alias !== undefined) aliases.set(lower(alias), lineage);
    const name = alias ?? implicitName(item.expr) ?? `f${anonymous++}_`;
    columns.push({ name: lower(name), lineage });
  }
  return { columns, aliases };
}

/** `*`, `t.*`, `s.field.*`, with EXCEPT (…) or REPLACE (… AS name). */
function star(expr: Node, item: Node, env: ExprEnv): DerivedColumn[] {
  const { scope, ctx } = env;
  const column = expr.column as string;
  // The table part is one identifier as written (`` `crm.customers`.* ``); the parser joins the
  // unquoted field path after it (`t.address.*`).
  const table = identifier(expr.table);
  const qualifier = [...(table ? [table] : []), ...(column === '*' ? [] : column.slice(0, -2).split('.'))].map(lower);

  let columns: readonly DerivedColumn[];
  if (qualifier.length === 0) {
    columns = scopeColumns(scope);
  } else {
    const relation = qualifier.length === 1 ? scope.rangeVariable(qualifier[0]!) : undefined;
    columns = relation !== undefined ? relationColumnsOf(relation) : structColumns(scope.resolve(qualifier, ctx), qualifier, ctx);
  }

  const except = new Set<string>();
  const replace = new Map<string, Lineage>();
  if (item.type === 'except') {
    for (const e of list(item.expr_list)) {
      const name = isNode(e) && isNode(e.expr) && e.expr.type === 'column_ref' && e.expr.table == null ? identifier(e.expr.column) : undefined;
      if (name === undefined) unsupported('EXCEPT list has an unexpected shape');
      except.add(lower(name));
    }
  } else if (item.type === 'replace') {
    for (const e of list(item.expr_list)) {
      const name = isNode(e) ? identifier(e.as) : undefined;
      if (name === undefined || !isNode(e)) return unsupported('REPLACE list has an unexpected shape');
      replace.set(lower(name), evalExpr(e.expr, env));
    }
  } else if (item.type != null) {
    unsupported(`SELECT * ${String(item.type)} is not analysed`);
  }

  const out: DerivedColumn[] = [];
  for (const c of columns) {
    if (c.lookup !== undefined) {
      const lookup = c.lookup;
      out.push({ name: c.name, lineage: c.lineage, lookup: (n) => (except.has(n) ? undefined : (replace.get(n) ?? lookup(n))) });
    } else if (!except.has(c.name)) {
      out.push({ name: c.name, lineage: ctx.use(replace.get(c.name) ?? c.lineage) });
    }
  }
  return out;
}

/** `*` over a FROM clause: each relation's columns, a USING column once. */
function scopeColumns(scope: Scope): DerivedColumn[] {
  const out: DerivedColumn[] = [];
  for (const relation of scope.relations) {
    for (const c of relationColumnsOf(relation)) {
      const merged = c.lookup === undefined ? scope.using.get(c.name) : undefined;
      if (merged === undefined) out.push(c);
      else if (merged.hides !== relation) out.push({ name: c.name, lineage: merged.lineage });
    }
  }
  return out;
}

function relationColumnsOf(relation: Relation): readonly DerivedColumn[] {
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
function structColumns(value: Lineage, qualifier: readonly string[], ctx: StatementContext): DerivedColumn[] {
  const fields = recordFields(value, ctx);
  if (fields) return fields.list.map((f) => ({ name: f.name, lineage: fieldOf(value, [f.name]) }));
  const lineage = unknownLineage(`the fields of ${qualifier.join('.')} are not known`, lineageTables(value), [value]);
  return [{ name: '*', lineage, lookup: (n) => fieldOf(value, [n]) }];
}
