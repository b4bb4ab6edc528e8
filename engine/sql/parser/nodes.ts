// The tree's shared pieces: names as identifiers (name, quoted, span).
import type { Token } from '../lexer.ts';
import type { Cursor } from './cursor.ts';

/** A node of the syntax tree: a one-key variant object, as ../gsql/tree.ts reads it. */
export type Tree = Record<string, unknown>;

/** A name taken at the cursor (no reserved word), as an identifier. */
export function name(c: Cursor): Tree {
  return ident(c, c.takeName());
}

/** An identifier: a word as written, or a back-quoted name as the lexer decoded it. */
export function ident(c: Cursor, t: Token): Tree {
  if (t.kind !== 'word' && t.kind !== 'quoted') return c.failAt(t, 'Expected a name');
  return { name: t.text, quoted: t.kind === 'quoted', span: c.span(t) };
}
