// Function calls and operators. A call is the generic `function` variant, or one of the few the
// parser builds for syntax of its own (COUNT(*), IF, NORMALIZE, `JSON '…'`); their payloads are
// read by key: keys that hold values are evaluated, ORDER BY keys read their sort keys, scalars
// are syntax, and any other key makes the statement unparsed.
import { CONSTANT, transformed, type Lineage } from '../lineage.ts';
import { evalExpr, evalOrdered, subqueryValue, type ExprEnv } from './expr.ts';
import { isQuery } from './query.ts';
import { writtenNames } from './spellings.ts';
import { factsOf } from './statement-facts.ts';
import { LAYOUT, ident, items, refuse, variant, type Variant } from './tree.ts';

/** Operators: their value is computed from their operands, and they are no function call. */
const OPERATORS = new Set([
  'and', 'or', 'add', 'sub', 'mul', 'div', 'eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'bitwise_and', 'bitwise_or',
  'bitwise_xor', 'concat', 'not', 'neg', 'bitwise_not', 'null_safe_eq', 'null_safe_neq', 'bitwise_left_shift',
  'bitwise_right_shift', 'like', 'between', 'is_null', 'is_true', 'is_false', 'at_time_zone',
]);

/**
 * Variants that are calls of a BigQuery function, with the payload keys read by `evalFunctionBody`:
 * `count` is COUNT(*), `if_func` IF(…), `parse_json` a `JSON '…'` literal.
 */
const FUNCTIONS = new Set(['function', 'count', 'if_func', 'normalize', 'parse_json']);

/** Keys holding a value (or a list of values) that the call reads. */
const VALUE_KEYS = new Set(['this', 'args', 'condition', 'true_value', 'false_value', 'limit', 'zone', 'low', 'high', 'left', 'right']);
/** Keys holding a keyword the parser reads as a column (`NORMALIZE(s, NFKC)`), and those keywords: syntax, no value. */
const KEYWORD_KEYS: Record<string, ReadonlySet<string>> = { form: new Set(['NFC', 'NFKC', 'NFD', 'NFKD']) };
/**
 * Arguments that are conditions: whether they hold decides which value (or NULL) comes back, so
 * they steer the result as a WHERE does (Statement.predicate_columns). A masked value keeps
 * whether it is NULL, which would answer the condition.
 */
const CONDITION_ARGUMENTS: Record<string, ReadonlySet<string>> = {
  IF: new Set(['condition']),
  NULLIF: new Set(['args']),
};

/**
 * The one argument (by position) where a function takes a date part as a keyword: DATE_DIFF(a, b,
 * DAY), DATE_TRUNC(d, MONTH), LAST_DAY(d, WEEK(MONDAY)). Everywhere else a bare name is a column,
 * however it is spelled: TIMESTAMP_TRUNC's third argument is a time zone, the BUCKET functions'
 * third is an origin, and their width is an INTERVAL (whose unit is the literal's own syntax), as
 * are the steps of DATE_ADD and GENERATE_DATE_ARRAY. EXTRACT's part is the `extract` node's field.
 */
const DATE_PART_ARGUMENT: Record<string, number> = {
  DATE_DIFF: 2, DATETIME_DIFF: 2, TIMESTAMP_DIFF: 2, TIME_DIFF: 2,
  DATE_TRUNC: 1, DATETIME_TRUNC: 1, TIMESTAMP_TRUNC: 1, TIME_TRUNC: 1,
  LAST_DAY: 1,
};
const DATE_PARTS = new Set([
  'MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'DAYOFWEEK', 'DAYOFYEAR', 'WEEK', 'ISOWEEK', 'MONTH',
  'QUARTER', 'YEAR', 'ISOYEAR', 'DATE', 'DATETIME', 'TIME',
]);
const WEEKDAYS = new Set(['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY']);
/** Constructors: their parts are values, and they are not recorded as function calls. */
const CONSTRUCTORS = new Set(['ARRAY', 'STRUCT']);

export function isOperator(kind: string): boolean {
  return OPERATORS.has(kind);
}

export function isFunctionVariant(kind: string): boolean {
  return FUNCTIONS.has(kind);
}

/** Upper-case name of a called function: SAFE.UPPER, ML.PREDICT, COUNT. */
export function functionName(v: Variant): string {
  const named = v.body.original_name ?? v.body.name;
  if (typeof named === 'string' && named !== '') return named.toUpperCase();
  return v.kind.toUpperCase();
}

function isBareColumn(node: unknown, names: ReadonlySet<string>): boolean {
  const v = variant(node, 'argument');
  return v.kind === 'column' && v.body.table == null && names.has(ident(v.body.name, 'column name').name.toUpperCase());
}

/** MONTH, WEEK(MONDAY): a date part where a function takes one, not a column. */
function isDatePart(node: unknown): boolean {
  if (isBareColumn(node, DATE_PARTS)) return true;
  const v = variant(node, 'argument');
  if (v.kind !== 'function' || String(v.body.name).toUpperCase() !== 'WEEK') return false;
  const args = items(v.body.args);
  return args.length === 1 && isBareColumn(args[0], WEEKDAYS);
}

/** Position of the argument `name` (SAFE. or not) takes a date part at, if any. */
function datePartArgument(name: string | undefined): number | undefined {
  return name === undefined ? undefined : DATE_PART_ARGUMENT[name.replace(/^SAFE\./, '')];
}

function evalValues(value: unknown, env: ExprEnv, partAt: number | undefined, arrayOf: boolean): Lineage[] {
  if (!Array.isArray(value)) return [evalExpr(value, env)];
  // ARRAY(SELECT …): the call's parentheses are the subquery's.
  if (arrayOf && value.length === 1 && isQuery(variant(value[0], 'argument'))) return [subqueryValue(value[0], env)];
  return value.map((a, i) => (i === partAt && isDatePart(a) ? CONSTANT : evalExpr(a, env)));
}

/** Namespaces of BigQuery's own functions (`NET.HOST`, `SAFE.NET.HOST`); any other dotted name is a routine of a dataset. */
const BUILTIN_NAMESPACES = new Set(['NET', 'KEYS', 'AEAD', 'HLL_COUNT', 'KLL_QUANTILES', 'ML', 'AI', 'OBJ']);

/**
 * A call of a dataset's function (`crm.ssn_of(id)`, `` `p.d.f`() ``) is refused as a call of its
 * table functions is: its body, which may read any table, is not in the text.
 */
export function refuseRoutineCall(name: string, node: unknown): void {
  const parts = name.toUpperCase().split('.');
  if (parts[0] === 'SAFE') parts.shift();
  if (parts.length > 1 && !BUILTIN_NAMESPACES.has(parts[0]!)) refuse(`call of the dataset's function ${name}`, node);
}

/** A call or operator: every value its payload holds, window specification aside (see expr.ts). */
export function evalFunctionBody(v: Variant, env: ExprEnv, name: string | undefined): Lineage {
  if (v.kind === 'function' && name !== undefined) refuseRoutineCall(name, v.node);
  if (name !== undefined && !CONSTRUCTORS.has(name)) for (const n of writtenNames(v, name, env.ctx)) env.ctx.functions.add(n);
  const partAt = datePartArgument(name);
  const parts: Lineage[] = [];
  for (const [key, value] of Object.entries(v.body)) {
    if (LAYOUT.has(key) || value === null || value === undefined) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') continue;
    if (Array.isArray(value) && value.every((x) => typeof x === 'string')) continue;
    if (key === 'order_by') parts.push(...evalOrdered(value, env));
    else if (key === 'having_max' && Array.isArray(value) && value.length === 2) parts.push(evalExpr(value[0], env));
    else if (KEYWORD_KEYS[key] !== undefined && isBareColumn(value, KEYWORD_KEYS[key])) continue;
    else if (VALUE_KEYS.has(key)) {
      const values = evalValues(value, env, key === 'args' ? partAt : undefined, name === 'ARRAY' && key === 'args');
      if (name !== undefined && CONDITION_ARGUMENTS[name]?.has(key)) for (const l of values) env.ctx.predicate(l);
      parts.push(...values);
    }
    else refuse(`${name ?? v.kind} with ${key}`, v.node);
  }
  // A temporary function of the script: what its body reads flows into every call (looked up
  // under any variant, as a temporary function may share a built-in's name).
  const temporary = name === undefined ? undefined : factsOf(env.ctx)?.script.functions.get(name);
  if (temporary !== undefined) parts.push(env.ctx.use(temporary));
  return transformed(parts);
}
