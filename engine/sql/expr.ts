// Lineage of expressions. Every column an expression reads is recorded on the statement; the
// value's lineage says which of them flow into it. Node types the analysis does not know make
// the statement unparsed rather than silently dropping what they might read.
import { expectKeys, functionName, identifier, isNode, list, subquery, unsupported, type Node } from './ast.ts';
import type { StatementContext } from './context.ts';
import { CONSTANT, partOf, transformed, type Lineage } from './lineage.ts';
import { analyzeQuery, queryValue } from './query.ts';
import type { Scope } from './scope.ts';

export interface ExprEnv {
  readonly scope: Scope;
  readonly ctx: StatementContext;
  /** Select-list aliases, visible to GROUP BY, HAVING, QUALIFY and ORDER BY. */
  readonly aliases?: ReadonlyMap<string, Lineage>;
}

const LITERALS = new Set([
  'number', 'bigint', 'bool', 'boolean', 'null', 'string', 'single_quote_string', 'double_quote_string',
  'natural_string', 'regex_string', 'hex_string', 'full_hex_string', 'bit_string', 'date', 'datetime',
  'time', 'timestamp', 'param', 'origin', 'star', 'var',
]);

/** Literal node types written as a string or number token (not TRUE, NULL, @param, …). */
const TOKEN_LITERALS = new Set([
  'number', 'bigint', 'string', 'single_quote_string', 'double_quote_string', 'natural_string', 'regex_string',
  'hex_string', 'full_hex_string', 'bit_string', 'date', 'datetime', 'time', 'timestamp',
]);

/** Date-part arguments (DATE_TRUNC(d, MONTH)) that the parser reads as column names. */
const DATE_PART_FUNCTIONS = new Set([
  'DATE_TRUNC', 'DATETIME_TRUNC', 'TIMESTAMP_TRUNC', 'TIME_TRUNC', 'DATE_DIFF', 'DATETIME_DIFF',
  'TIMESTAMP_DIFF', 'TIME_DIFF', 'LAST_DAY', 'DATE_BUCKET', 'DATETIME_BUCKET', 'TIMESTAMP_BUCKET',
]);
const DATE_PARTS = new Set([
  'MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'DAYOFWEEK', 'DAYOFYEAR', 'WEEK',
  'ISOWEEK', 'MONTH', 'QUARTER', 'YEAR', 'ISOYEAR', 'DATE', 'DATETIME', 'TIME',
]);
const WEEKDAYS = new Set(['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY']);

function isDatePart(node: unknown): boolean {
  if (!isNode(node)) return false;
  if (node.type === 'column_ref' && node.table == null) {
    const name = identifier(node.column);
    return name !== undefined && DATE_PARTS.has(name.toUpperCase());
  }
  // WEEK(MONDAY)
  if (node.type === 'function' && functionName(node) === 'WEEK') {
    const args = isNode(node.args) ? list(node.args.value) : [];
    const day = args.length === 1 && isNode(args[0]) && args[0].type === 'column_ref' ? identifier(args[0].column) : undefined;
    return day !== undefined && WEEKDAYS.has(day.toUpperCase());
  }
  return false;
}

export function evalAll(values: readonly unknown[], env: ExprEnv): Lineage[] {
  return values.map((v) => evalExpr(v, env));
}

/**
 * The column path of a column_ref, lower-cased: [table?, column, ...fields], identifiers as
 * written: `` `crm.customers`.ssn `` names the range variable `crm.customers`, not `crm`.
 */
function columnPath(node: Node, column: string): string[] {
  const path: string[] = [];
  const table = identifier(node.table);
  if (table !== undefined && table !== '') path.push(table);
  path.push(column);
  for (const field of list(node.subFields)) {
    const name = identifier(field);
    if (name === undefined) unsupported('column reference has unexpected field access');
    path.push(name);
  }
  return path.map((p) => p.toLowerCase());
}

function evalColumnRef(node: Node, env: ExprEnv): Lineage {
  const column = node.column;
  // arr[OFFSET(0)], f(x)[SAFE_OFFSET(1)], j['key'], with an optional `.field` suffix.
  if (isNode(column) && list(column.offset).length > 0) {
    const inner = column.expr;
    let base: Lineage;
    if (isNode(inner) && inner.type === 'column_ref') {
      base = evalColumnRef(inner.table == null && node.table != null ? { ...inner, table: node.table } : inner, env);
    } else if (isNode(inner) && (inner.type === 'default' || inner.type === 'backticks_quote_string')) {
      base = evalColumnRef({ type: 'column_ref', table: node.table, column: { expr: inner } }, env);
    } else {
      base = evalExpr(inner, env);
    }
    const subscripts = list(column.offset).map((o) => (isNode(o) ? evalExpr(o.value, env) : unsupported('malformed subscript')));
    const suffix = typeof column.suffix === 'string' ? column.suffix.split('.') : [];
    for (const field of list(node.subFields)) suffix.push(identifier(field) ?? unsupported('malformed field access'));
    const fields = suffix.filter((s) => s !== '').map((s) => s.toLowerCase());
    return transformed([partOf(base, fields), ...subscripts]);
  }
  const name = identifier(column);
  if (name === undefined) return unsupported('column reference has an unexpected shape');
  if (name === '*' || name.endsWith('.*')) return unsupported('`*` used outside the select list');
  const path = columnPath(node, name);
  if (path.length === 1 && env.aliases !== undefined) {
    const alias = env.aliases.get(path[0]!);
    if (alias !== undefined) return alias;
  }
  return env.scope.resolve(path, env.ctx);
}

/** Window specification (OVER): what it partitions and orders by shapes the value. */
function evalWindow(over: unknown, env: ExprEnv): Lineage[] {
  if (!isNode(over)) return [];
  const spec = over.as_window_specification;
  if (typeof spec === 'string') return []; // a named window, evaluated with the WINDOW clause
  return evalWindowSpec(spec, env);
}

export function evalWindowSpec(spec: unknown, env: ExprEnv): Lineage[] {
  if (!isNode(spec)) return [];
  const inner = isNode(spec.window_specification) ? spec.window_specification : spec;
  const out: Lineage[] = [];
  for (const p of list(inner.partitionby)) out.push(evalExpr(isNode(p) ? p.expr : p, env));
  for (const o of list(inner.orderby)) out.push(evalExpr(isNode(o) ? o.expr : o, env));
  return out;
}

const FUNCTION_KEYS = new Set(['type', 'name', 'args', 'over', 'loc']);
const AGGREGATE_KEYS = new Set(['type', 'name', 'args', 'over', 'loc']);
const AGGREGATE_ARG_KEYS = new Set(['expr', 'distinct', 'orderby', 'parentheses', 'loc']);

function evalFunction(node: Node, env: ExprEnv): Lineage {
  expectKeys(node, FUNCTION_KEYS, 'function call');
  const name = functionName(node);
  env.ctx.functions.add(name);
  const args = isNode(node.args) ? list(node.args.value) : list(node.args);
  const datePartAt = DATE_PART_FUNCTIONS.has(name) ? 1 : -1;
  const parts = args.map((a, i) => (i >= datePartAt && datePartAt >= 0 && isDatePart(a) ? CONSTANT : evalExpr(a, env)));
  return transformed([...parts, ...evalWindow(node.over, env)]);
}

function evalAggregate(node: Node, env: ExprEnv): Lineage {
  expectKeys(node, AGGREGATE_KEYS, 'aggregate call');
  if (typeof node.name === 'string') env.ctx.functions.add(node.name.toUpperCase());
  const args = isNode(node.args) ? node.args : {};
  expectKeys(args, AGGREGATE_ARG_KEYS, 'aggregate arguments');
  const parts = [evalExpr(args.expr, env)];
  for (const o of list(args.orderby)) parts.push(evalExpr(isNode(o) ? o.expr : o, env));
  return transformed([...parts, ...evalWindow(node.over, env)]);
}

function evalCase(node: Node, env: ExprEnv): Lineage {
  const parts: Lineage[] = [];
  if (node.expr != null) parts.push(evalExpr(node.expr, env));
  for (const arm of list(node.args)) {
    if (!isNode(arm)) unsupported('malformed CASE');
    if (arm.cond !== undefined) parts.push(evalExpr(arm.cond, env));
    parts.push(evalExpr(arm.result, env));
  }
  return transformed(parts);
}

/** Values of an ARRAY/STRUCT/JSON constructor, or of ARRAY(subquery). */
function evalConstructor(node: Node, env: ExprEnv): Lineage {
  const items = node.type === 'array' && node.array_path !== undefined ? node.array_path : node.expr_list;
  const query = subquery(items);
  if (query !== undefined) return transformed([queryValue(analyzeQuery(query, env.scope, env.scope.ctes, env.ctx))]);
  return transformed(list(items).map((item) => evalExpr(isNode(item) && item.type === undefined && 'expr' in item ? item.expr : item, env)));
}

export function evalExpr(node: unknown, env: ExprEnv): Lineage {
  if (node === null || node === undefined) return CONSTANT;
  if (!isNode(node)) {
    if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') return CONSTANT;
    return unsupported('unexpected expression in the syntax tree');
  }
  const query = subquery(node);
  if (query !== undefined) return queryValue(analyzeQuery(query, env.scope, env.scope.ctes, env.ctx));
  const type = node.type;
  if (typeof type === 'string' && LITERALS.has(type)) {
    if (TOKEN_LITERALS.has(type)) env.ctx.literals.add(node);
    return CONSTANT;
  }
  switch (type) {
    case 'column_ref':
      return evalColumnRef(node, env);
    case 'binary_expr':
      return transformed([evalExpr(node.left, env), evalExpr(node.right, env)]);
    case 'unary_expr':
      return transformed([evalExpr(node.expr, env)]);
    case 'expr_list':
      return transformed(evalAll(list(node.value), env));
    case 'function':
      return evalFunction(node, env);
    case 'aggr_func':
      return evalAggregate(node, env);
    case 'any_value':
      env.ctx.functions.add('ANY_VALUE');
      return evalAggregate(node, env);
    case 'case':
      return evalCase(node, env);
    case 'cast':
      env.ctx.functions.add(String(node.keyword ?? 'cast').toUpperCase());
      return transformed([evalExpr(node.expr, env)]);
    case 'extract':
      env.ctx.functions.add('EXTRACT');
      return transformed([evalExpr(isNode(node.args) ? node.args.source : undefined, env)]);
    case 'interval':
      return transformed([evalExpr(node.expr, env)]);
    case 'array':
    case 'struct':
    case 'json':
      return evalConstructor(node, env);
    case 'unnest':
      return transformed([evalExpr(node.expr, env)]);
    default:
      return unsupported(`expression type ${String(type)} is not analysed`);
  }
}
