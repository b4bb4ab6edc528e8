// GoogleSQL expressions, by precedence climbing, into the tree ../gsql/ reads (one-key variant
// objects). Precedence, loosest first: OR, AND, NOT, comparisons (=, <,
// LIKE, BETWEEN, IN, IS), |, ^, &, shifts, + and -, * / ||, unary - and ~, then field access and
// subscripts. Anything this parser does not know is refused where it stands, never guessed.
import { unescapeQuoted, type Token } from '../lexer.ts';
import type { Cursor } from './cursor.ts';
import { ident, type Tree } from './nodes.ts';
import { isQueryStart, mayBeQuery, parenthesisedQuery, parseQuery } from './query.ts';

const COMPARISONS: Record<string, string> = { '=': 'eq', '!=': 'neq', '<>': 'neq', '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' };
/** Binary operators from loosest to tightest, after the comparisons. */
const LEVELS: readonly Record<string, string>[] = [
  { '|': 'bitwise_or' },
  { '^': 'bitwise_xor' },
  { '&': 'bitwise_and' },
  { '<<': 'bitwise_left_shift', '>>': 'bitwise_right_shift' },
  { '+': 'add', '-': 'sub' },
  { '*': 'mul', '/': 'div', '||': 'concat' },
];
/** The longest chain of one arithmetic or bitwise operator read (`1 + 1 + …`). */
const MAX_CHAIN = 1000;
/** Typed literals that stay literals (`DATE '2024-01-01'`), by their type keyword. */
const TYPED_LITERALS: Record<string, string> = { DATE: 'date', TIMESTAMP: 'timestamp', DATETIME: 'datetime', TIME: 'time' };
/** Reserved keywords that are also function names: `LEFT(s, 2)`, `GROUPING(x)`, `RANGE(a, b)`. */
const RESERVED_CALLS = new Set(['LEFT', 'RIGHT', 'GROUPING', 'RANGE']);
/** Typed literals read as a conversion of their string, by type keyword. */
const TYPED_CASTS: Record<string, Tree> = { NUMERIC: { data_type: 'decimal' }, BIGNUMERIC: { data_type: 'bigdecimal' }, JSON: { data_type: 'json' } };
/** Functions written without parentheses (BigQuery takes both). */
const NO_PARENS = new Set(['CURRENT_DATE', 'CURRENT_TIMESTAMP', 'CURRENT_DATETIME', 'CURRENT_TIME']);

export function parseExpression(c: Cursor): Tree {
  return c.nested(() => or(c));
}

function or(c: Cursor): Tree {
  const operands = [and(c)];
  while (c.takeWord('OR')) operands.push(and(c));
  return chain('or', operands, 0, operands.length);
}

function and(c: Cursor): Tree {
  const operands = [not(c)];
  while (c.takeWord('AND')) operands.push(not(c));
  return chain('and', operands, 0, operands.length);
}

/** Longer AND and OR chains are built balanced: the same order, a tree log n deep. */
const BALANCED_FROM = 8;

/** operands[from, to) joined by `kind`: to the left while short, balanced when long. */
function chain(kind: string, operands: readonly Tree[], from: number, to: number): Tree {
  if (to - from === 1) return operands[from]!;
  if (to - from < BALANCED_FROM) {
    let left = operands[from]!;
    for (let i = from + 1; i < to; i++) left = { [kind]: { left, right: operands[i]! } };
    return left;
  }
  const mid = from + Math.floor((to - from) / 2);
  return { [kind]: { left: chain(kind, operands, from, mid), right: chain(kind, operands, mid, to) } };
}

function not(c: Cursor): Tree {
  if (c.takeWord('NOT')) return { not: { this: c.nested(() => not(c)) } };
  return comparison(c);
}

function comparison(c: Cursor): Tree {
  const left = binary(c, 0);
  const op = c.operator();
  if (op !== undefined && COMPARISONS[op] !== undefined) {
    c.takeOperator(op);
    if (c.isWord('ANY') || c.isWord('SOME') || c.isWord('ALL')) return quantifiedComparison(c, left, op);
    return { [COMPARISONS[op]!]: { left, right: binary(c, 0) } };
  }
  const negated = c.isWord('NOT') && (c.isWord('LIKE', 1) || c.isWord('IN', 1) || c.isWord('BETWEEN', 1));
  if (negated) c.i++;
  if (c.takeWord('LIKE')) {
    const like: Tree = { like: c.isWord('ANY') || c.isWord('SOME') || c.isWord('ALL') ? quantifiedLike(c, left) : { left, right: binary(c, 0) } };
    return negated ? { not: { this: like } } : like;
  }
  if (c.takeWord('BETWEEN')) {
    const low = binary(c, 0);
    c.expectWord('AND');
    const high = binary(c, 0);
    return { between: negated ? { this: left, low, high, not: true } : { this: left, low, high } };
  }
  if (c.takeWord('IN')) return inList(c, left, negated);
  if (c.takeWord('IS')) {
    const isNot = c.takeWord('NOT');
    if (c.takeWord('DISTINCT')) {
      c.expectWord('FROM');
      return { [isNot ? 'null_safe_eq' : 'null_safe_neq']: { left, right: binary(c, 0) } };
    }
    const kind = c.takeWord('NULL') ? 'is_null' : c.takeWord('TRUE') ? 'is_true' : c.takeWord('FALSE') ? 'is_false' : c.fail('Expected NULL, TRUE or FALSE');
    return { [kind]: isNot ? { this: left, not: true } : { this: left } };
  }
  return left;
}

/** The comparison operators' names in a quantified comparison. */
const COMPARISON_NAMES: Record<string, string> = { '=': 'Eq', '!=': 'Neq', '<>': 'Neq', '<': 'Lt', '<=': 'Lte', '>': 'Gt', '>=': 'Gte' };

/** `x op ANY|SOME|ALL (query)`: only a query is compared with so. */
function quantifiedComparison(c: Cursor, left: Tree, op: string): Tree {
  const kind = c.next().upper === 'ALL' ? 'all' : 'any';
  c.expectPunct('(');
  if (!isQueryStart(c) && !mayBeQuery(c)) c.fail('Expected a query');
  const query = parenthesisedQuery(c) ?? c.fail('Expected a query');
  return { [kind]: { this: left, subquery: { subquery: { this: query } }, op: COMPARISON_NAMES[op] } };
}

/** `LIKE ANY|SOME|ALL (patterns)`, `(query)` or `UNNEST(array)`. */
function quantifiedLike(c: Cursor, left: Tree): Record<string, unknown> {
  const quantifier = c.next().upper;
  if (c.takeWord('UNNEST')) {
    c.expectPunct('(');
    const array = parseExpression(c);
    c.expectPunct(')');
    return { left, right: { function: { name: 'UNNEST', args: [array] } }, quantifier };
  }
  c.expectPunct('(');
  const query = isQueryStart(c) || mayBeQuery(c) ? parenthesisedQuery(c) : undefined;
  if (query !== undefined) return { left, right: { subquery: { this: query } }, quantifier };
  const expressions = list(c, parseExpression);
  c.expectPunct(')');
  return { left, right: { tuple: { expressions } }, quantifier };
}

function inList(c: Cursor, left: Tree, negated: boolean): Tree {
  const not = negated ? { not: true } : {};
  if (c.takeWord('UNNEST')) {
    c.expectPunct('(');
    const array = parseExpression(c);
    c.expectPunct(')');
    return { in: { this: left, unnest: array, ...not } };
  }
  c.expectPunct('(');
  const query = isQueryStart(c) || mayBeQuery(c) ? parenthesisedQuery(c) : undefined;
  if (query !== undefined) return { in: { this: left, query, ...not } };
  const expressions = list(c, parseExpression);
  c.expectPunct(')');
  return { in: { this: left, expressions, ...not } };
}

function binary(c: Cursor, level: number): Tree {
  if (level === LEVELS.length) return unary(c);
  const ops = LEVELS[level]!;
  let left = binary(c, level + 1);
  for (let length = 0; ; length++) {
    const op = c.operator();
    const kind = op === undefined ? undefined : ops[op];
    if (kind === undefined) return left;
    // A chain nests to the left, one level per operator, and the analysis walks it recursively.
    if (length === MAX_CHAIN) c.fail('Nested too deeply');
    c.takeOperator(op!);
    left = { [kind]: { left, right: binary(c, level + 1) } };
  }
}

function unary(c: Cursor): Tree {
  if (c.takePunct('-')) return { neg: { this: c.nested(() => unary(c)) } };
  if (c.takePunct('~')) return { bitwise_not: { this: c.nested(() => unary(c)) } };
  // `+1`: the number (analyze.ts refuses a unary + before anything else, unparsed).
  if (c.takePunct('+')) return c.nested(() => unary(c));
  return postfix(c, primary(c));
}

/** Field access and subscripts after a value. */
function postfix(c: Cursor, value: Tree): Tree {
  for (;;) {
    if (c.isPunct('.') && (c.peek(1)?.kind === 'word' || c.peek(1)?.kind === 'quoted')) {
      c.i++;
      value = { dot: { this: value, field: ident(c, c.next()) } };
    } else if (c.takePunct('[')) {
      const index = parseExpression(c);
      c.expectPunct(']');
      value = { subscript: { this: value, index } };
    } else {
      return value;
    }
  }
}

function primary(c: Cursor): Tree {
  const t = c.peek();
  if (t === undefined) return c.fail('Unexpected end of statement');
  switch (t.kind) {
    case 'number':
      c.i++;
      return numberLiteral(c, t);
    case 'string':
      c.i++;
      return stringLiteral(c, t);
    case 'param':
      c.i++;
      if (t.text === '?') return { placeholder: {} };
      if (t.text.startsWith('@@')) return c.fail('Unsupported system variable');
      if (t.text === '@') {
        // `@ name`: a parameter, the name after a space.
        const name = c.next();
        if (name.kind !== 'word' && name.kind !== 'quoted') c.failAt(name, 'Expected a parameter name');
        return { parameter: { name: name.text, style: 'At' } };
      }
      // `@p.f`: a field of the parameter's value, never a column path.
      if (c.isPunct('.')) return { parameter: { name: t.text.slice(1), style: 'At' } };
      return { column: { name: { name: t.text, quoted: false, span: c.span(t) }, span: c.span(t) } };
    case 'quoted':
      return path(c);
    case 'punct':
      if (t.text === '(') return parenthesised(c);
      if (t.text === '[') {
        c.i++;
        const expressions = c.isPunct(']') ? [] : list(c, parseExpression);
        c.expectPunct(']');
        return { array_func: { expressions, bracket_notation: true } };
      }
      // A value missing before a closing mark (`(1 +)`): an unexpected token.
      if (t.text === ')' || t.text === ']') return c.fail('Unexpected token');
      return c.fail('Invalid expression');
    case 'word':
      return word(c, t);
    default:
      return c.fail('Invalid expression');
  }
}

function numberLiteral(c: Cursor, t: Token): Tree {
  if (/^0[xX][0-9a-fA-F]+$/.test(t.text)) return { literal: { literal_type: 'hex_number', value: t.text.slice(2) } };
  if (!/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(t.text)) return gluedNumber(c, t);
  return { literal: { literal_type: 'number', value: t.text } };
}

/** A number glued to a name (`2024_sales`, `1x`): BigQuery reads it as neither. */
export function gluedNumber(c: Cursor, t: Token): never {
  return c.refuse(t, `\`${t.text}\` is neither a number nor a name BigQuery reads (a name cannot begin with a digit)`);
}

/** A string or bytes literal: its kind by prefix, its value unescaped (raw ones as written). */
function stringLiteral(c: Cursor, t: Token): Tree {
  const m = /^([rRbB]{0,2})('''|"""|'|")([\s\S]*)\2$/.exec(t.text);
  if (m === null) return c.fail('Invalid string literal');
  const prefix = m[1]!.toLowerCase();
  const raw = prefix.includes('r');
  const bytes = prefix.includes('b');
  let value = m[3]!;
  if (!raw) {
    const decoded = unescapeQuoted(value);
    if (decoded.error !== undefined) return c.fail(`Invalid escape (${decoded.error})`);
    value = decoded.value;
  }
  return { literal: { literal_type: bytes ? 'byte_string' : raw ? 'raw_string' : 'string', value } };
}

function parenthesised(c: Cursor): Tree {
  c.expectPunct('(');
  const query = isQueryStart(c) || mayBeQuery(c) ? parenthesisedQuery(c) : undefined;
  if (query !== undefined) return { subquery: { this: query } };
  const values = list(c, parseExpression);
  c.expectPunct(')');
  return values.length === 1 ? { paren: { this: values[0]! } } : { tuple: { expressions: values } };
}

function word(c: Cursor, t: Token): Tree {
  const next = c.peek(1);
  switch (t.upper) {
    case 'TRUE':
    case 'FALSE':
      c.i++;
      return { boolean: { value: t.upper === 'TRUE' } };
    case 'NULL':
      c.i++;
      return { null: null };
    case 'CASE':
      return caseExpression(c);
    case 'CAST':
    case 'SAFE_CAST':
      return cast(c);
    case 'EXTRACT':
      return extract(c);
    case 'EXISTS': {
      c.i++;
      c.expectPunct('(');
      if (!isQueryStart(c)) c.fail('Expected a query');
      const query = parseQuery(c);
      c.expectPunct(')');
      return { exists: { this: query } };
    }
    case 'INTERVAL':
      return interval(c);
    case 'ARRAY':
      return array(c);
    case 'STRUCT':
      return struct(c);
    case 'IF':
      return ifCall(c);
    case 'NOT':
      return c.fail('Invalid expression');
  }
  // Reserved words BigQuery also calls as functions.
  if (RESERVED_CALLS.has(t.upper) && next?.kind === 'punct' && next.text === '(') {
    c.i++;
    return call(c, [t]);
  }
  if (next?.kind === 'string' && TYPED_LITERALS[t.upper] !== undefined) {
    c.i += 2;
    const literal = stringLiteral(c, next);
    const body = literal.literal as { literal_type: string; value: string };
    if (body.literal_type !== 'string') c.fail('Invalid typed literal');
    return { literal: { literal_type: TYPED_LITERALS[t.upper]!, value: body.value } };
  }
  if (next?.kind === 'string' && TYPED_CASTS[t.upper] !== undefined) {
    c.i += 2;
    const literal = stringLiteral(c, next);
    if ((literal.literal as { literal_type: string }).literal_type === 'byte_string') c.fail('Invalid typed literal');
    // JSON '…' is a PARSE_JSON of the string, NUMERIC '…' a CAST of it (../gsql/spellings.ts).
    return t.upper === 'JSON' ? { parse_json: { this: literal } } : { cast: { this: literal, to: TYPED_CASTS[t.upper] } };
  }
  if (next?.kind === 'string' && t.upper === 'RANGE') c.fail('Unsupported RANGE literal');
  if (NO_PARENS.has(t.upper) && !c.isPunct('(', 1) && !c.isPunct('.', 1)) {
    c.i++;
    return { function: { name: t.text, args: [], no_parens: true } };
  }
  if (t.kind === 'word' && !c.isName()) return c.fail('Invalid expression');
  return path(c);
}

/** A name or a path of names, or the function a path names when a call follows. */
function path(c: Cursor): Tree {
  const first = c.next();
  const names: Token[] = [first];
  while (c.isPunct('.') && (c.peek(1)?.kind === 'word' || c.peek(1)?.kind === 'quoted') && c.peek(1)!.start === c.peek()!.end) {
    // `a.b(` : the path is a function's name; any other path is columns and fields.
    names.push(c.peek(1)!);
    c.i += 2;
  }
  if (c.isPunct('(')) return call(c, names);
  // A path of names is a column (with its table) and fields.
  const head: Tree = names.length === 1
    ? { column: { name: ident(c, first), span: c.span(first) } }
    : { column: { name: ident(c, names[1]!), table: ident(c, first), span: c.span(first, names[1]!) } };
  let value = head;
  for (const n of names.slice(2)) value = { dot: { this: value, field: ident(c, n) } };
  return value;
}

function call(c: Cursor, names: readonly Token[]): Tree {
  const name = names.map((n) => n.text).join('.');
  const upper = name.toUpperCase();
  c.expectPunct('(');
  const body: Record<string, unknown> = { name };
  if (names.some((n) => n.kind === 'quoted')) body.quoted = true;
  if (upper === 'NORMALIZE' && body.quoted === undefined) return normalize(c);
  if (upper === 'COUNT' && c.isPunct('*') && c.isPunct(')', 1)) {
    c.i += 2;
    return over(c, { count: { star: true, original_name: 'COUNT' } });
  }
  if (c.takeWord('DISTINCT')) body.distinct = true;
  const args: Tree[] = [];
  if (!c.isPunct(')')) {
    do {
      args.push(argument(c));
    } while (c.takePunct(','));
  }
  body.args = args;
  if (c.isWord('IGNORE') || c.isWord('RESPECT')) {
    const ignore = c.isWord('IGNORE');
    c.i++;
    c.expectWord('NULLS');
    if (ignore) body.ignore_nulls = true;
  }
  if (c.isWord('HAVING')) {
    c.i++;
    const max = c.takeWord('MAX') || (c.takeWord('MIN') ? false : c.fail('Expected MAX or MIN'));
    body.having_max = [parseExpression(c), max];
  }
  if (c.isWord('ORDER')) body.order_by = orderItems(c);
  if (c.takeWord('LIMIT')) body.limit = parseExpression(c);
  c.expectPunct(')');
  return over(c, { function: body });
}

/** NORMALIZE(s [, mode]), its mode a keyword read as a column (../gsql/functions.ts KEYWORD_KEYS). */
function normalize(c: Cursor): Tree {
  const body: Record<string, unknown> = { this: parseExpression(c) };
  if (c.takePunct(',')) body.form = parseExpression(c);
  c.expectPunct(')');
  return over(c, { normalize: body });
}

/** One argument: a value, `name => value`, or a lambda `x -> …`, `(x, y) -> …` (which ../gsql/ refuses, by name). */
function argument(c: Cursor): Tree {
  const t = c.peek();
  if (t !== undefined && (t.kind === 'word' || t.kind === 'quoted')) {
    const save = c.i;
    c.i++;
    if (c.takeOperator('=>')) return { named_argument: { name: ident(c, t), value: parseExpression(c), separator: 'DArrow' } };
    if (c.takeOperator('->')) return { lambda: { parameters: [ident(c, t)], body: parseExpression(c) } };
    c.i = save;
  }
  if (c.isPunct('(') && c.isName(1)) {
    const save = c.i;
    c.i++;
    const parameters: Tree[] = [ident(c, c.next())];
    while (c.takePunct(',') && c.isName()) parameters.push(ident(c, c.next()));
    if (c.takePunct(')') && c.takeOperator('->')) return { lambda: { parameters, body: parseExpression(c) } };
    c.i = save;
  }
  return parseExpression(c);
}

/** A call followed by OVER: the window function. */
function over(c: Cursor, call: Tree): Tree {
  if (!c.takeWord('OVER')) return call;
  if (c.isName()) return { window_function: { this: call, over: { window_name: ident(c, c.next()) } } };
  c.expectPunct('(');
  const spec = windowSpec(c);
  c.expectPunct(')');
  return { window_function: { this: call, over: spec } };
}

/** The inside of a window's parentheses: `[name] [PARTITION BY …] [ORDER BY …] [frame]`. */
export function windowSpec(c: Cursor): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  if (c.isName()) spec.window_name = ident(c, c.next());
  if (c.takeWord('PARTITION')) {
    c.expectWord('BY');
    spec.partition_by = list(c, parseExpression);
  }
  if (c.isWord('ORDER')) spec.order_by = orderItems(c);
  if (c.isWord('ROWS') || c.isWord('RANGE')) spec.frame = frame(c);
  return spec;
}

/** `ROWS|RANGE bound` or `ROWS|RANGE BETWEEN bound AND bound`. */
function frame(c: Cursor): Tree {
  const kind = c.next().upper === 'ROWS' ? 'Rows' : 'Range';
  if (!c.takeWord('BETWEEN')) return { kind, start: frameBound(c) };
  const start = frameBound(c);
  c.expectWord('AND');
  return { kind, start, end: frameBound(c) };
}

function frameBound(c: Cursor): unknown {
  if (c.takeWord('UNBOUNDED')) {
    if (c.takeWord('PRECEDING')) return 'UnboundedPreceding';
    c.expectWord('FOLLOWING');
    return 'UnboundedFollowing';
  }
  if (c.takeWord('CURRENT')) {
    c.expectWord('ROW');
    return 'CurrentRow';
  }
  const offset = binary(c, 0);
  if (c.takeWord('PRECEDING')) return { Preceding: offset };
  c.expectWord('FOLLOWING');
  return { Following: offset };
}

/** `ORDER BY item [ASC|DESC] [NULLS FIRST|LAST], …` as ordered items (`{this, desc, nulls_first}`). */
export function orderItems(c: Cursor): Tree[] {
  c.expectWord('ORDER');
  c.expectWord('BY');
  return list(c, (c) => {
    let value = parseExpression(c);
    if (c.takeWord('COLLATE')) {
      // Any value parses; ../gsql/expr.ts takes a string literal only.
      const t = c.peek();
      if (t?.kind === 'string') {
        value = { collation: { this: value, collation: (stringLiteral(c, c.next()).literal as { value: string }).value, quoted: true } };
      } else {
        const start = c.i;
        primary(c);
        value = { collation: { this: value, collation: c.text.slice(c.tokens[start]!.start, c.peek(-1)!.end) } };
      }
    }
    const item: Record<string, unknown> = { this: value };
    if (c.takeWord('DESC')) item.desc = true;
    else c.takeWord('ASC');
    if (c.takeWord('NULLS')) {
      if (c.takeWord('FIRST')) item.nulls_first = true;
      else c.expectWord('LAST');
    }
    return item;
  });
}

function caseExpression(c: Cursor): Tree {
  c.expectWord('CASE');
  const body: Record<string, unknown> = {};
  if (!c.isWord('WHEN')) body.operand = parseExpression(c);
  const whens: Tree[][] = [];
  while (c.takeWord('WHEN')) {
    const when = parseExpression(c);
    c.expectWord('THEN');
    whens.push([when, parseExpression(c)]);
  }
  if (whens.length === 0) c.fail('Expected WHEN');
  body.whens = whens;
  if (c.takeWord('ELSE')) body.else_ = parseExpression(c);
  c.expectWord('END');
  return { case: body };
}

function cast(c: Cursor): Tree {
  const kind = c.next().upper === 'CAST' ? 'cast' : 'safe_cast';
  c.expectPunct('(');
  const value = parseExpression(c);
  c.expectWord('AS');
  const to = dataType(c);
  const body: Record<string, unknown> = { this: value, to };
  if (c.takeWord('FORMAT')) {
    const format = parseExpression(c);
    body.format = c.takeWord('AT') ? atTimeZone(c, format) : format;
  }
  c.expectPunct(')');
  return { [kind]: body };
}

/**
 * A type: a name, `ARRAY<T>`, `STRUCT<[name] T, …>`, `RANGE<T>`, with parameters (`NUMERIC(10, 2)`,
 * `STRING(10)`) and a collation. The analysis reads no type; it is kept as written.
 */
export function dataType(c: Cursor): Tree {
  const first = c.next();
  if (first.kind !== 'word') return c.failAt(first, 'Expected a type');
  // A proto or enum type's dotted name.
  while (c.isPunct('.') && c.peek(1)?.kind === 'word') c.i += 2;
  if (c.isPunct('<')) typeArguments(c);
  if (c.takePunct('(')) {
    list(c, (c) => (c.peek()?.kind === 'number' || c.isWord('MAX') ? c.next() : c.fail('Expected a type parameter')));
    c.expectPunct(')');
  }
  if (c.takeWord('COLLATE')) {
    if (c.next().kind !== 'string') c.fail('Expected a collation');
  }
  const last = c.peek(-1)!;
  return { data_type: 'custom', name: c.text.slice(first.start, last.end).toUpperCase() };
}

/** `<T, …>` after ARRAY, STRUCT or RANGE: struct fields may be named (`a INT64`). */
function typeArguments(c: Cursor): void {
  c.expectPunct('<');
  list(c, (c) => {
    if ((c.peek()?.kind === 'word' || c.peek()?.kind === 'quoted') && (c.peek(1)?.kind === 'word')) c.i++;
    return dataType(c);
  });
  // `>>` closes two lists at once.
  if (c.isPunct('>')) c.i++;
  else c.fail('Expected `>`');
}

const DATE_PARTS = new Set([
  'MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'DAYOFWEEK', 'DAYOFYEAR', 'WEEK', 'ISOWEEK', 'MONTH',
  'QUARTER', 'YEAR', 'ISOYEAR', 'DATE', 'DATETIME', 'TIME',
]);

const WEEKDAYS = new Set(['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY']);

function extract(c: Cursor): Tree {
  c.expectWord('EXTRACT');
  c.expectPunct('(');
  const part = c.next();
  if (part.kind !== 'word') c.failAt(part, 'Expected a date part');
  // Any other part (NANOSECOND) is kept as written.
  let field: unknown = DATE_PARTS.has(part.upper) ? part.upper.charAt(0) + part.upper.slice(1).toLowerCase() : { Custom: part.text };
  if (part.upper === 'WEEK' && c.takePunct('(')) {
    const day = c.next();
    if (day.kind !== 'word' || !WEEKDAYS.has(day.upper)) c.failAt(day, 'Expected a weekday');
    c.expectPunct(')');
    field = { WeekWithModifier: day.upper };
  }
  c.expectWord('FROM');
  let value = parseExpression(c);
  if (c.takeWord('AT')) value = atTimeZone(c, value);
  c.expectPunct(')');
  return { extract: { this: value, field } };
}

/** `… AT TIME ZONE zone`, AT taken. */
function atTimeZone(c: Cursor, value: Tree): Tree {
  c.expectWord('TIME');
  c.expectWord('ZONE');
  return { at_time_zone: { this: value, zone: parseExpression(c) } };
}

function interval(c: Cursor): Tree {
  c.expectWord('INTERVAL');
  const value = binary(c, 0);
  const unit = datePart(c);
  if (!c.takeWord('TO')) return { interval: { this: value, unit: { type: 'simple', unit } } };
  return { interval: { this: value, unit: { type: 'span', this: unit, expression: datePart(c) } } };
}

/** A date part keyword, spelled capitalised (`Day`). */
function datePart(c: Cursor): string {
  const t = c.next();
  if (t.kind !== 'word' || !DATE_PARTS.has(t.upper)) return c.failAt(t, 'Expected a date part');
  return t.upper.charAt(0) + t.upper.slice(1).toLowerCase();
}

function array(c: Cursor): Tree {
  c.expectWord('ARRAY');
  if (c.takePunct('(')) {
    if (!isQueryStart(c)) c.fail('Expected a query');
    const query = parseQuery(c);
    c.expectPunct(')');
    return { function: { name: 'ARRAY', args: [query] } };
  }
  const typed = c.isPunct('<');
  if (typed) typeArguments(c);
  c.expectPunct('[');
  const expressions = c.isPunct(']') ? [] : list(c, parseExpression);
  c.expectPunct(']');
  // `ARRAY<T>[…]`: the array converted to its type.
  return typed ? { cast: { this: { array: { expressions } }, to: { data_type: 'array' } } } : { array_func: { expressions } };
}

function struct(c: Cursor): Tree {
  c.expectWord('STRUCT');
  if (c.isPunct('<')) {
    // `STRUCT<a INT64>(1)`: the values converted to the type.
    typeArguments(c);
    c.expectPunct('(');
    const fields = c.isPunct(')') ? [] : list(c, (c) => [null, parseExpression(c)]);
    c.expectPunct(')');
    return { cast: { this: { struct: { fields } }, to: { data_type: 'struct' } } };
  }
  c.expectPunct('(');
  const args = c.isPunct(')') ? [] : list(c, (c) => {
    const value = parseExpression(c);
    if (!c.takeWord('AS')) return value;
    return { alias: { this: value, alias: ident(c, c.next()), alias_explicit_as: true } };
  });
  c.expectPunct(')');
  return { function: { name: 'STRUCT', args } };
}

function ifCall(c: Cursor): Tree {
  c.expectWord('IF');
  c.expectPunct('(');
  const condition = parseExpression(c);
  c.expectPunct(',');
  const trueValue = parseExpression(c);
  c.expectPunct(',');
  const falseValue = parseExpression(c);
  c.expectPunct(')');
  return { if_func: { condition, true_value: trueValue, false_value: falseValue, original_name: 'IF' } };
}

/** One or more items separated by commas. */
export function list<T>(c: Cursor, item: (c: Cursor) => T): T[] {
  const out = [item(c)];
  while (c.takePunct(',')) out.push(item(c));
  return out;
}
