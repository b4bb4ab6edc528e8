// The parser's syntax tree is untyped JSON: everything is checked on the way in, and a shape
// that is not understood raises Unsupported (the statement then reaches the policy unparsed)
// instead of being guessed at.

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

/** A value counts as absent when null, undefined, false or an empty array. */
export function present(value: unknown): boolean {
  return !(value === null || value === undefined || value === false || (Array.isArray(value) && value.length === 0));
}
