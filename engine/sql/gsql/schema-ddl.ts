// CREATE SCHEMA and DROP SCHEMA, read from their tokens (the parser does not read them): they read
// nothing. A dataset is no table, so no table ref names it; the statement reaches the policy
// parsed, with its category (ddl), for the policy to judge as DDL. DROP CONNECTION likewise names
// no table (a connection is credentials to an outside source); it reaches the policy with its
// category (admin).
import { Unsupported } from '../ast.ts';
import type { Token } from '../lexer.ts';
import { readPath } from '../scan.ts';

function isWord(t: Token | undefined, upper: string): boolean {
  return t !== undefined && t.kind === 'word' && t.upper === upper;
}

/** ` at line L:C` of the token in the SQL text. */
function at(text: string, t: Token | undefined): string {
  if (t === undefined) return ' at the end of the statement';
  const before = text.slice(0, t.start).split('\n');
  return ` at line ${before.length}:${before.at(-1)!.length + 1}`;
}

/** `OPTIONS(key = literal, …)` from `open` (the `(`); the index after its `)`. */
function options(text: string, tokens: readonly Token[], open: number): number {
  if (tokens[open]?.text !== '(') throw new Unsupported(`OPTIONS without a list${at(text, tokens[open])}`);
  for (let i = open + 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'punct' && t.text === ')') return i + 1;
    // Option values are literals; anything that could read (a query, a call) is refused.
    const literal = t.kind === 'string' || t.kind === 'number' || t.kind === 'word' || (t.kind === 'punct' && ['=', ',', '[', ']', '-'].includes(t.text));
    if (!literal || isWord(t, 'SELECT') || (t.kind === 'word' && tokens[i + 1]?.text === '(')) throw new Unsupported(`OPTIONS value that is not a literal is not analysed${at(text, t)}`);
  }
  throw new Unsupported('OPTIONS list is not closed');
}

/** The statement types read here: they name a dataset or a connection, no table. */
export const SCHEMA_TYPES: ReadonlySet<string> = new Set(['CREATE_SCHEMA', 'DROP_SCHEMA', 'DROP_CONNECTION']);

/**
 * Validates `CREATE SCHEMA [IF NOT EXISTS] name [DEFAULT COLLATE '…'] [OPTIONS(…)]`,
 * `DROP SCHEMA [IF EXISTS] name [CASCADE | RESTRICT]` or `DROP CONNECTION [IF EXISTS] name`.
 */
export function schemaStatement(text: string, tokens: readonly Token[], type: string): void {
  let i = 2;
  const guard = type === 'CREATE_SCHEMA' ? ['IF', 'NOT', 'EXISTS'] : ['IF', 'EXISTS'];
  if (guard.every((w, k) => isWord(tokens[i + k], w))) i += guard.length;
  const name = readPath(tokens as Token[], i);
  const what = type === 'DROP_CONNECTION' ? 'connection' : 'dataset';
  if (name === undefined || name.path.length === 0) throw new Unsupported(`${type.replace('_', ' ')} without a ${what} name${at(text, tokens[i])}`);
  if (name.malformed !== undefined) throw new Unsupported(`${name.malformed}${at(text, tokens[i])}`);
  i = name.next;
  while (i < tokens.length) {
    const t = tokens[i];
    if (type === 'DROP_SCHEMA' && (isWord(t, 'CASCADE') || isWord(t, 'RESTRICT'))) i++;
    else if (type === 'CREATE_SCHEMA' && isWord(t, 'DEFAULT') && isWord(tokens[i + 1], 'COLLATE') && tokens[i + 2]?.kind === 'string') i += 3;
    else if (type === 'CREATE_SCHEMA' && isWord(t, 'OPTIONS')) i = options(text, tokens, i + 1);
    else throw new Unsupported(`${type.replace('_', ' ')} clause is not analysed${at(text, t)}`);
  }
}
