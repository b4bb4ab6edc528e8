// Narrow readers over the syntax tree ../parser/ builds, whose node shapes are polyglot-sql's. The
// tree is untyped JSON in which every expression is a one-key object naming its variant
// (`{column: {…}}`, `{select: {…}}`). Shapes the analysis does not know raise Unsupported with the
// construct's line and column, never a guess.
import { Unsupported, isNode, present, type Node } from '../ast.ts';
import { RESERVED } from '../keywords.ts';

export type { Node };

/** A variant and its payload (null for variants without one, such as ROW_NUMBER). */
export interface Variant {
  readonly kind: string;
  readonly body: Node;
  readonly node: Node;
}

const EMPTY: Node = Object.freeze({});

/** Where a node is in the statement parsed: offsets, and the line and the column just after it. */
export interface Span {
  start: number;
  end: number;
  line: number;
  column: number;
}

export function isSpan(value: unknown): value is Span {
  return isNode(value) && typeof value.line === 'number' && typeof value.column === 'number' && typeof value.start === 'number' && typeof value.end === 'number';
}

/** The first source position inside a subtree (variant payloads carry none; identifiers do). */
function firstSpan(value: unknown, depth = 0): Span | undefined {
  if (depth > 64) return undefined;
  if (Array.isArray(value)) {
    for (const v of value) {
      const s = firstSpan(v, depth + 1);
      if (s !== undefined) return s;
    }
    return undefined;
  }
  if (!isNode(value)) return undefined;
  if (isSpan(value.span)) return value.span;
  for (const v of Object.values(value)) {
    const s = firstSpan(v, depth + 1);
    if (s !== undefined) return s;
  }
  return undefined;
}

/** ` at line L:C` for the construct, or '' when the tree gives no position inside it. */
export function position(node: unknown): string {
  const span = firstSpan(node);
  if (span === undefined) return '';
  // A span's column is the one just after the token (the token spans start..end on its line).
  return ` at line ${span.line}:${Math.max(1, span.column - (span.end - span.start))}`;
}

/** The statement holds `what`, which the analysis does not follow. */
export function refuse(what: string, node: unknown): never {
  throw new Unsupported(`${what} is not analysed${position(node)}`);
}

export function variant(value: unknown, what: string): Variant {
  if (!isNode(value)) return refuse(`${what} of an unexpected shape`, value);
  const keys = Object.keys(value);
  if (keys.length !== 1) return refuse(`${what} of an unexpected shape`, value);
  const kind = keys[0]!;
  const body = value[kind];
  if (body === null) return { kind, body: EMPTY, node: value };
  if (!isNode(body)) return refuse(`${what} ${kind} of an unexpected shape`, value);
  return { kind, body, node: value };
}

/** Keys that carry layout, never something read: a name's position. */
export const LAYOUT = new Set(['span']);

/**
 * Fails on any key outside `known` that carries a value: a parser feature the analysis does not
 * know could change what the statement reads.
 */
export function expectFields(v: Variant, known: ReadonlySet<string>, what: string): void {
  for (const key in v.body) {
    if (!known.has(key) && !LAYOUT.has(key) && present(v.body[key])) refuse(`${what} with ${key}`, v.node);
  }
}

export interface Ident {
  readonly name: string;
  readonly quoted: boolean;
}

export function ident(value: unknown, what: string): Ident {
  if (!isNode(value) || typeof value.name !== 'string') return refuse(`${what} of an unexpected shape`, value);
  return { name: value.name, quoted: value.quoted === true };
}

/**
 * An identifier in the place of a table, column or alias: an unquoted reserved keyword there
 * (`SELECT 1 AS FROM`, which the parser reads after AS) is refused, as BigQuery refuses it.
 */
export function nameIdent(value: unknown, what: string): Ident {
  const id = ident(value, what);
  if (!id.quoted && RESERVED.has(id.name.toUpperCase())) refuse(`reserved keyword ${id.name} read as a ${what}`, value);
  return id;
}

export function optionalIdent(value: unknown, what: string): Ident | undefined {
  return value === null || value === undefined ? undefined : ident(value, what);
}

/**
 * Identifiers as written: a back-quoted one stays one element (it may hold dots); an unquoted
 * one that the parser joined with dots (`p.ds.t.x` → catalog `p.ds`) is split back.
 */
export function written(idents: readonly Ident[]): string[] {
  // A loop rather than flatMap: no array per identifier (this runs for every name in a statement).
  const out: string[] = [];
  for (const i of idents) {
    if (i.quoted || !i.name.includes('.')) out.push(i.name);
    else for (const part of i.name.split('.')) out.push(part);
  }
  return out;
}

export function items(value: unknown): unknown[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export { isNode, present };
