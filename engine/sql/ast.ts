// Narrow readers over node-sql-parser's syntax tree. The tree is untyped JSON; everything is
// checked on the way in, and a shape that is not understood raises Unsupported (the statement
// then reaches the policy unparsed) instead of being guessed at.

export type Node = Record<string, unknown>;

/** The statement holds syntax the analysis does not follow; it is reported unparsed. */
export class Unsupported extends Error {
  override name = 'Unsupported';
}

export function unsupported(message: string): never {
  throw new Unsupported(message);
}

export function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asNode(value: unknown, what: string): Node {
  if (!isNode(value)) unsupported(`unexpected ${what} in the syntax tree`);
  return value;
}

/** A value counts as absent when null, undefined, false or an empty array. */
export function present(value: unknown): boolean {
  return !(value === null || value === undefined || value === false || (Array.isArray(value) && value.length === 0));
}

/**
 * Fails on any property outside `known` that carries a value: a parser feature the analysis
 * does not know could change what the statement reads.
 */
export function expectKeys(node: Node, known: ReadonlySet<string>, what: string): void {
  for (const key in node) {
    if (!known.has(key) && present(node[key])) unsupported(`${what} has unsupported syntax (${key})`);
  }
}

export function list(value: unknown): unknown[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** An identifier as the parser stores it: a string, `{value}` or `{expr: {value}}`. */
export function identifier(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (!isNode(value)) return undefined;
  if (typeof value.value === 'string') return value.value;
  if (isNode(value.expr) && typeof value.expr.value === 'string' && value.expr.type !== 'column_ref') return value.expr.value;
  return undefined;
}

/** A subquery wrapper (`{ast, tableList, columnList, parentheses}`), or undefined. */
export function subquery(value: unknown): Node | undefined {
  if (!isNode(value) || value.type !== undefined) return undefined;
  return isNode(value.ast) ? value.ast : undefined;
}

/** Upper-case dotted name of a called function: SAFE.UPPER, DS.MY_UDF, COUNT. */
export function functionName(node: Node): string {
  const name = node.name;
  if (typeof name === 'string') return name.toUpperCase();
  if (!isNode(name)) return unsupported('function without a name');
  const parts: string[] = [];
  const schema = identifier(name.schema);
  if (schema !== undefined) parts.push(schema);
  for (const part of list(name.name)) {
    const value = identifier(part);
    if (value === undefined) unsupported('function name has unexpected parts');
    parts.push(value);
  }
  if (parts.length === 0) unsupported('function without a name');
  return parts.join('.').toUpperCase();
}
