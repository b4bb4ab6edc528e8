// Lineage of expressions. Every column an expression reads is recorded on the statement; the
// value's lineage says which of them flow into it. A variant the analysis does not know makes the
// statement unparsed rather than dropping what it might read.
import type { StatementContext } from '../context.ts';
import { CONSTANT, fieldOf, partOf, transformed, type Lineage } from '../lineage.ts';
import { queryValue } from '../relation.ts';
import type { Scope } from '../scope.ts';
import { functionName, isFunctionVariant, isOperator, evalFunctionBody } from './functions.ts';
import { analyzeQuery } from './query.ts';
import { writtenNames } from './spellings.ts';
import { expectFields, ident, nameIdent, items, isNode, refuse, variant, written, type Node, type Variant } from './tree.ts';

export interface ExprEnv {
  readonly scope: Scope;
  readonly ctx: StatementContext;
  /** The SELECT's named windows (its WINDOW clause): the lineage of what each partitions and orders by. */
  readonly windows?: ReadonlyMap<string, readonly Lineage[]>;
  /**
   * The WINDOW clause's specifications, where a clause resolves names otherwise than the select list
   * (QUALIFY, ORDER BY: select-list names first): BigQuery resolves a named window's names where it
   * is used, so a window named there is read again in that clause's names.
   */
  readonly windowSpecs?: ReadonlyMap<string, unknown>;
}

/** An unqualified, unquoted column reference to `name`, as the parser gives one. */
function columnNamed(name: string): Variant {
  return variant({ column: { name: { name, quoted: false }, table: null } }, 'bare name');
}

/** Subscript operators of BigQuery arrays: the keyword is syntax, only its argument is a value. */
const SUBSCRIPTS = new Set(['OFFSET', 'SAFE_OFFSET', 'ORDINAL', 'SAFE_ORDINAL']);
const LITERAL_KINDS = new Set(['literal', 'boolean', 'null', 'placeholder', 'parameter', 'var']);

export function evalAll(values: readonly unknown[], env: ExprEnv): Lineage[] {
  return values.map((v) => evalExpr(v, env));
}

export function evalOptional(value: unknown, env: ExprEnv): Lineage {
  return value === null || value === undefined ? CONSTANT : evalExpr(value, env);
}

/** `Ordered` items (ORDER BY inside a window, an aggregate or a query): only the key is read. */
export function evalOrdered(list: unknown, env: ExprEnv): Lineage[] {
  return items(list).map((o) => {
    if (!isNode(o) || !('this' in o)) return refuse('ORDER BY item of an unexpected shape', o);
    if (isNode(o.with_fill)) refuse('ORDER BY … WITH FILL', o);
    return evalExpr(sortKey(o.this), env);
  });
}

/**
 * `ORDER BY x COLLATE 'und:ci'`: the collation (a string literal) says how x's values compare;
 * x is what is read and what orders. BigQuery takes COLLATE only here.
 */
function sortKey(node: unknown): unknown {
  const v = variant(node, 'ORDER BY key');
  if (v.kind !== 'collation') return node;
  expectFields(v, new Set(['this', 'collation', 'quoted', 'double_quoted']), 'COLLATE');
  if (v.body.quoted !== true || typeof v.body.collation !== 'string') refuse('COLLATE with anything but a string literal', v.node);
  return v.body.this;
}

/** The column path a chain of `column` and `dot` nodes spells, or undefined for other bases. */
function columnPath(v: Variant): string[] | undefined {
  if (v.kind === 'column') {
    expectFields(v, new Set(['name', 'table']), 'column reference');
    const name = nameIdent(v.body.name, 'column name');
    const table = v.body.table == null ? [] : [nameIdent(v.body.table, 'column qualifier')];
    return written([...table, name]).map((p) => p.toLowerCase());
  }
  if (v.kind === 'dot') {
    const base = columnPath(variant(v.body.this, 'field access'));
    return base === undefined ? undefined : [...base, ident(v.body.field, 'field name').name.toLowerCase()];
  }
  return undefined;
}

function isParameterName(name: string, v: Variant): boolean {
  return name.startsWith('@') && !(isNode(v.body.name) && v.body.name.quoted === true);
}

function evalColumn(v: Variant, env: ExprEnv): Lineage {
  const path = columnPath(v)!;
  // `@param` is read as a column named "@param"; a back-quoted `@x` is a real column.
  if (v.kind === 'column' && v.body.table == null && isParameterName(ident(v.body.name, 'column name').name, v)) return CONSTANT;
  return env.scope.resolve(path, env.ctx);
}

/** `base[OFFSET(i)]`, `j['key']`: an element of the base, transformed, with the index read. */
function evalSubscript(v: Variant, fields: readonly string[], env: ExprEnv): Lineage {
  expectFields(v, new Set(['this', 'index']), 'subscript');
  const base = evalExpr(v.body.this, env);
  const index = variant(v.body.index, 'subscript');
  let at: Lineage;
  if (index.kind === 'function' && SUBSCRIPTS.has(String(index.body.name).toUpperCase())) {
    const args = items(index.body.args);
    if (args.length !== 1) refuse('subscript with several arguments', v.node);
    at = evalExpr(args[0], env);
  } else {
    at = evalExpr(v.body.index, env);
  }
  return transformed([partOf(base, fields), at]);
}

/** A field access `x.f.g` over a value that is not a column path: a subscript, a subquery, a call. */
function evalFieldAccess(v: Variant, env: ExprEnv): Lineage {
  const fields: string[] = [];
  let base = v;
  while (base.kind === 'dot') {
    expectFields(base, new Set(['this', 'field']), 'field access');
    const field = ident(base.body.field, 'field name');
    // `(s).*` stands for several columns: only a select list expands it (selectList).
    if (field.name === '*' && !field.quoted) refuse('`.*` over a value outside a select list', base.node);
    fields.unshift(field.name.toLowerCase());
    base = variant(base.body.this, 'field access');
  }
  if (base.kind === 'subscript') return evalSubscript(base, fields, env);
  return fieldOf(evalExpr(base.node, env), fields);
}

/**
 * Window specification (OVER, or a named WINDOW): what it partitions and orders by shapes the
 * value and the order of rows, so those are predicates wherever the window is written.
 */
export function evalWindowSpec(spec: unknown, env: ExprEnv): Lineage[] {
  if (!isNode(spec)) return refuse('window specification of an unexpected shape', spec);
  for (const key of Object.keys(spec)) {
    if (!['window_name', 'partition_by', 'order_by', 'frame', 'alias'].includes(key) && spec[key] != null) refuse(`window specification with ${key}`, spec);
  }
  const out = evalAll(items(spec.partition_by), env);
  out.push(...evalOrdered(spec.order_by, env));
  for (const l of out) env.ctx.predicate(l);
  if (isNode(spec.frame)) out.push(...frameBounds(spec.frame, env));
  // `OVER w`, `OVER (w ORDER BY …)`: a window the SELECT's WINDOW clause defines (BigQuery refuses
  // any other), whose partitioning and order are predicates there. As before, they are not made
  // sources of the value (test/normalize/lineage.test.ts, "named windows contribute their columns").
  if (spec.window_name != null && env.windows !== undefined) {
    const name = ident(spec.window_name, 'window name').name.toLowerCase();
    if (!env.windows.has(name)) refuse(`window ${name} that the WINDOW clause does not define`, spec);
    // Its partitioning and order as this clause's names read them (the definition read the FROM
    // clause's): in QUALIFY and ORDER BY a select-list alias overrides a FROM column of its name.
    const named = env.windowSpecs?.get(name);
    if (named !== undefined) evalWindowSpec(named, env);
  }
  return out;
}

/** `ROWS BETWEEN n PRECEDING …`: offsets are values (constants in practice). */
function frameBounds(frame: Node, env: ExprEnv): Lineage[] {
  const out: Lineage[] = [];
  for (const bound of [frame.start, frame.end]) {
    if (isNode(bound)) for (const inner of Object.values(bound)) out.push(evalExpr(inner, env));
  }
  return out;
}

/** CASE: the operand and each WHEN decide which arm comes back, so they are predicates. */
function evalCase(v: Variant, env: ExprEnv): Lineage {
  expectFields(v, new Set(['operand', 'whens', 'else_']), 'CASE');
  const parts = [env.ctx.predicateOf(evalOptional(v.body.operand, env))];
  for (const arm of items(v.body.whens)) {
    if (!Array.isArray(arm) || arm.length !== 2) refuse('CASE arm of an unexpected shape', v.node);
    parts.push(env.ctx.predicateOf(evalExpr(arm[0], env)), evalExpr(arm[1], env));
  }
  parts.push(evalOptional(v.body.else_, env));
  return transformed(parts);
}

function evalCast(v: Variant, env: ExprEnv): Lineage {
  expectFields(v, new Set(['this', 'to', 'format']), 'CAST');
  for (const name of writtenNames(v, v.kind.toUpperCase(), env.ctx)) env.ctx.functions.add(name);
  return transformed([evalExpr(v.body.this, env), evalOptional(v.body.format, env)]);
}

function evalStruct(v: Variant, env: ExprEnv): Lineage {
  expectFields(v, new Set(['fields']), 'STRUCT');
  return transformed(
    items(v.body.fields).map((f) => (Array.isArray(f) && f.length === 2 ? evalExpr(f[1], env) : refuse('STRUCT field of an unexpected shape', v.node))),
  );
}

function evalIn(v: Variant, env: ExprEnv): Lineage {
  expectFields(v, new Set(['this', 'expressions', 'query', 'not', 'unnest']), 'IN');
  const parts = [evalExpr(v.body.this, env), ...evalAll(items(v.body.expressions), env)];
  if (v.body.query != null) parts.push(subqueryValue(v.body.query, env));
  if (v.body.unnest != null) parts.push(evalExpr(v.body.unnest, env));
  return transformed(parts);
}

/** A query used as a value: scalar subquery, ARRAY(…), IN (…), EXISTS (…). */
export function subqueryValue(node: unknown, env: ExprEnv): Lineage {
  return queryValue(analyzeQuery(node, env.scope, env.scope.ctes, env.ctx));
}

function evalInterval(v: Variant, env: ExprEnv): Lineage {
  expectFields(v, new Set(['this', 'unit']), 'INTERVAL');
  const unit = v.body.unit;
  // `'1:2' MINUTE TO SECOND` (span) names units only; unit expressions are not followed.
  if (unit != null && !(isNode(unit) && (unit.type === 'simple' || unit.type === 'span'))) refuse('INTERVAL with a computed unit', v.node);
  return transformed([evalOptional(v.body.this, env)]);
}

export function evalExpr(node: unknown, env: ExprEnv): Lineage {
  const v = variant(node, 'expression');
  if (LITERAL_KINDS.has(v.kind)) {
    // Counted for sharing the analysis by literal shape (../literals.ts): read as a value.
    if (v.kind === 'literal') env.ctx.literals.add(v.node);
    return CONSTANT;
  }
  if (v.kind === 'subquery') return subqueryValue(node, env);
  if (v.kind === 'function' && v.body.no_parens === true) {
    const call = String(v.body.name).toLowerCase();
    // BigQuery documents CURRENT_DATE and the like, unparenthesised, as ambiguous with a column or
    // alias of that name: which it reads cannot be told, so neither is guessed. A table whose
    // schema is not known may have such a column: read as one, whatever it holds is followed.
    const named = env.scope.names(call);
    if (named === 'certain') refuse(`\`${call}\` without parentheses where a column or alias has that name`, v.node);
    if (named === 'possible') return evalColumn(columnNamed(call), env);
  }
  switch (v.kind) {
    case 'column':
      return evalColumn(v, env);
    case 'dot':
      return columnPath(v) !== undefined ? evalColumn(v, env) : evalFieldAccess(v, env);
    case 'subscript':
      return evalSubscript(v, [], env);
    case 'paren':
      expectFields(v, new Set(['this']), 'parentheses');
      return evalExpr(v.body.this, env);
    case 'alias':
      // `STRUCT(a AS x)`: the name is the field's, the value is a's.
      expectFields(v, new Set(['this', 'alias', 'alias_explicit_as', 'alias_keyword']), 'aliased value');
      return evalExpr(v.body.this, env);
    case 'case':
      return evalCase(v, env);
    case 'cast':
    case 'safe_cast':
      return evalCast(v, env);
    case 'extract':
      expectFields(v, new Set(['this', 'field']), 'EXTRACT');
      env.ctx.functions.add('EXTRACT');
      return transformed([evalExpr(v.body.this, env)]);
    case 'interval':
      return evalInterval(v, env);
    case 'in':
      return evalIn(v, env);
    case 'exists':
      expectFields(v, new Set(['this', 'not']), 'EXISTS');
      env.ctx.functions.add('EXISTS');
      return transformed([subqueryValue(v.body.this, env)]);
    case 'any':
    case 'all':
      expectFields(v, new Set(['this', 'subquery', 'op']), v.kind.toUpperCase());
      return transformed([evalExpr(v.body.this, env), subqueryValue(v.body.subquery, env)]);
    case 'struct':
      return evalStruct(v, env);
    case 'array_func':
    case 'tuple':
    case 'array':
      expectFields(v, new Set(['expressions', 'bracket_notation']), 'array');
      return transformed(evalAll(items(v.body.expressions), env));
    case 'named_argument':
      expectFields(v, new Set(['name', 'value', 'separator']), 'named argument');
      return evalExpr(v.body.value, env);
    case 'window_function': {
      expectFields(v, new Set(['this', 'over']), 'window function');
      return transformed([evalExpr(v.body.this, env), ...evalWindowSpec(v.body.over, env)]);
    }
    case 'star':
      return refuse('`*` outside the select list', v.node);
    default:
      if (isOperator(v.kind) || isFunctionVariant(v.kind)) return evalFunctionBody(v, env, isOperator(v.kind) ? undefined : functionName(v));
      return refuse(`expression ${v.kind}`, v.node);
  }
}
