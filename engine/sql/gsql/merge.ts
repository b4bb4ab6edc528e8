// MERGE, read as a query that restates it: the target joined to the source on the merge condition,
// selecting every value written (named after the column it is written to) and filtering on every
// WHEN condition. That query's tables, columns and lineage are the MERGE's; its target is also
// written, and the columns it writes are referenced. Here the query is assembled from the MERGE's
// own nodes rather than from its text.
import type { Output } from '../../schema-types.ts';
import type { StatementContext } from '../context.ts';
import { columnLineage, passedThrough, toOutput, type Lineage } from '../lineage.ts';
import type { Scope } from '../scope.ts';
import { implicitAlias } from '../tables.ts';
import { analyzeQuery } from './query.ts';
import { tablePath } from './target.ts';
import { expectFields, ident, isNode, items, refuse, variant, written, type Node, type Variant } from './tree.ts';

interface Target {
  readonly path: string[];
  /** The range variable a SET column may be qualified with. */
  readonly rangeVariable: string;
}

function target(node: unknown): Target {
  const v = variant(node, 'MERGE target');
  if (v.kind === 'table') {
    const t = tablePath(v.body, 'MERGE target');
    return { path: t.path, rangeVariable: t.alias ?? implicitAlias(t.path) };
  }
  if (v.kind === 'alias') {
    expectFields(v, new Set(['this', 'alias', 'alias_explicit_as']), 'MERGE target');
    const inner = variant(v.body.this, 'MERGE target');
    if (inner.kind !== 'table') refuse(`MERGE target of kind ${inner.kind}`, inner.node);
    return { path: tablePath(inner.body, 'MERGE target').path, rangeVariable: ident(v.body.alias, 'MERGE target alias').name.toLowerCase() };
  }
  return refuse(`MERGE target of kind ${v.kind}`, v.node);
}

/** The range variable `INSERT ROW` copies: the source's alias, or a table's implicit one. */
function sourceRange(node: unknown): string | undefined {
  const v = variant(node, 'MERGE source');
  if (v.kind === 'alias') return ident(v.body.alias, 'MERGE source alias').name.toLowerCase();
  if (v.kind === 'subquery') return v.body.alias == null ? undefined : ident(v.body.alias, 'MERGE source alias').name.toLowerCase();
  if (v.kind === 'table') {
    const t = tablePath(v.body, 'MERGE source');
    return t.alias ?? implicitAlias(t.path);
  }
  return refuse(`MERGE source of kind ${v.kind}`, v.node);
}

function named(value: unknown, name: string | undefined): Node {
  const paren = { paren: { this: value } };
  return name === undefined ? paren : { alias: { this: paren, alias: { name, quoted: true } } };
}

function isAction(node: unknown, action: string): boolean {
  const v = variant(node, 'MERGE action');
  return v.kind === 'var' && String(v.body.this).toUpperCase() === action;
}

/** The column a SET item writes, lower-case and dotted, without the target's range variable. */
function setColumn(node: unknown, t: Target): string {
  const v = variant(node, 'MERGE SET column');
  let path: string[];
  if (v.kind === 'identifier') path = written([ident(v.body, 'MERGE SET column')]);
  else if (v.kind === 'column') path = [...(v.body.table == null ? [] : [ident(v.body.table, 'column qualifier').name]), ...written([ident(v.body.name, 'column name')])];
  else return refuse('MERGE SET column of an unexpected shape', v.node);
  const lower = path.flatMap((p) => p.split('.')).map((p) => p.toLowerCase());
  if (lower.length > 1 && lower[0] === t.rangeVariable) lower.shift();
  return lower.join('.');
}

interface Clauses {
  readonly items: Node[];
  readonly names: (string | undefined)[];
  readonly written: string[];
  readonly conditions: unknown[];
}

function whenClause(node: unknown, t: Target, source: unknown, out: Clauses): void {
  const w = variant(node, 'WHEN clause');
  if (w.kind !== 'when') refuse(`MERGE clause ${w.kind}`, w.node);
  expectFields(w, new Set(['matched', 'source', 'condition', 'then']), 'WHEN clause');
  if (w.body.condition != null) out.conditions.push(w.body.condition);
  const then = variant(w.body.then, 'MERGE action');
  if (then.kind === 'var' && isAction(then.node, 'DELETE')) return;
  if (then.kind !== 'tuple') return refuse('MERGE action of an unexpected shape', then.node);
  const [action, ...rest] = items(then.body.expressions);
  if (isAction(action, 'UPDATE')) {
    if (rest.length !== 1) refuse('MERGE UPDATE of an unexpected shape', then.node);
    for (const item of items(variant(rest[0], 'MERGE SET list').body.expressions)) {
      const eq = variant(item, 'MERGE SET item');
      if (eq.kind !== 'eq') refuse('MERGE SET item that is not `column = value`', eq.node);
      const column = setColumn(eq.body.left, t);
      out.written.push(column);
      out.items.push(named(eq.body.right, column));
      out.names.push(column);
    }
    return;
  }
  if (!isAction(action, 'INSERT')) return refuse('MERGE clause with an unknown action', then.node);
  if (rest.length === 1 && isAction(rest[0], 'ROW')) {
    const range = sourceRange(source);
    if (range === undefined) refuse('MERGE INSERT ROW from an unaliased subquery', then.node);
    out.items.push({ star: { table: { name: range, quoted: true } } });
    out.names.push(undefined);
    return;
  }
  const tuples = rest.map((r) => variant(r, 'MERGE INSERT list'));
  if (tuples.length < 1 || tuples.length > 2 || tuples.some((x) => x.kind !== 'tuple')) refuse('MERGE INSERT of an unexpected shape', then.node);
  const values = items(tuples.at(-1)!.body.expressions);
  const columns = tuples.length === 2 ? items(tuples[0]!.body.expressions).map((c) => ident(variant(c, 'MERGE INSERT column').body, 'MERGE INSERT column').name.toLowerCase()) : undefined;
  if (columns !== undefined) {
    if (columns.length !== values.length) refuse('MERGE INSERT column and value counts differ', then.node);
    out.written.push(...columns);
  }
  values.forEach((value, k) => {
    out.items.push(named(value, columns?.[k]));
    out.names.push(columns?.[k]);
  });
}

export function mergeStatement(v: Variant, outer: Scope | undefined, ctx: StatementContext): Output[] {
  expectFields(v, new Set(['this', 'using', 'on', 'whens']), 'MERGE');
  const t = target(v.body.this);
  if (v.body.on == null) refuse('MERGE without a condition', v.node);
  const clauses: Clauses = { items: [], names: [], written: [], conditions: [] };
  const whens = isNode(v.body.whens) && isNode(v.body.whens.whens) ? v.body.whens.whens : refuse('MERGE WHEN clauses of an unexpected shape', v.node);
  for (const w of items(whens.expressions)) whenClause(w, t, v.body.using, clauses);

  const where = clauses.conditions.reduce<unknown>((acc, c) => (acc === undefined ? { paren: { this: c } } : { and: { left: acc, right: { paren: { this: c } } } }), undefined);
  // A placeholder column when no clause reads one; NULL, as a literal would count as one of the text's (../literals.ts).
  const select = {
    select: {
      expressions: clauses.items.length === 0 ? [{ null: null }] : clauses.items,
      from: { expressions: [v.body.this] },
      joins: [{ this: v.body.using, on: { paren: { this: v.body.on } }, kind: 'Inner' }],
      where_clause: where === undefined ? null : { this: where },
    },
  };
  const result = analyzeQuery(select, outer, undefined, ctx);
  const written = ctx.table(t.path, 'write');
  for (const column of clauses.written) ctx.use(columnLineage(written.id, column));
  if (clauses.names.length === 0) return [];
  const byName = new Map<string, Lineage[]>();
  for (const c of result.columns) byName.set(c.name, [...(byName.get(c.name) ?? []), c.lineage]);
  return [...byName].map(([name, lineages], i) => toOutput(i, name, passedThrough(lineages)));
}
