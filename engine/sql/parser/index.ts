// A GoogleSQL parser: the statement's tokens (../lexer.ts) read straight into the tree ../gsql/
// analyses (its shapes: ../gsql/tree.ts).
// Each statement kind it reads has its module (query.ts, dml.ts, ddl.ts, script.ts); what it does
// not know it refuses with its line and column.
import { lineColumn, type ParseResult } from '../gsql/parse.ts';
import { unescapeQuoted } from '../lexer.ts';
import type { StatementSpan } from '../split.ts';
import { Cursor, ParseRefusal } from './cursor.ts';
import { DDL_STATEMENTS } from './ddl.ts';
import { DML_STATEMENTS } from './dml.ts';
import type { Tree } from './nodes.ts';
import { parseQuery } from './query.ts';
import { SCRIPT_STATEMENTS } from './script.ts';

/** Reads one statement of a kind from its first token to its last. */
export type StatementParser = (c: Cursor) => Tree;

/** The statement kinds this parser reads, by their classification (../classify.ts). */
const STATEMENTS: Readonly<Record<string, StatementParser>> = {
  SELECT: parseQuery,
  ...DML_STATEMENTS,
  ...DDL_STATEMENTS,
  ...SCRIPT_STATEMENTS,
  // Read from its tokens by ../gsql/ml.ts, which hands its queries to parseStatement.
  CREATE_MODEL: (c) => {
    c.i = c.end;
    return { raw: null };
  },
};

/** The statement `span` of `text`, classified `type`, parsed; a refusal in the parser's error form (gsql/parse.ts describeParseError). */
export function parseStatement(type: string, text: string, span: StatementSpan): ParseResult {
  const read = STATEMENTS[type];
  if (read === undefined) return { error: `parser: ${type} statements are not read` };
  const names = quotedNames(text, span);
  if (names !== undefined) return { error: `parser: ${names}` };
  const c = new Cursor(text, span.tokens, span.start);
  try {
    const ast = read(c);
    if (!c.done) c.fail('Unexpected token');
    return { ast };
  } catch (e) {
    if (!(e instanceof ParseRefusal)) return { error: `parser crashed: ${e instanceof Error ? e.message : String(e)}` };
    if (e.said !== undefined) return { error: `${e.reason} at ${lineColumn(text, e.said)}` };
    const at = c.lineColumn(e.offset);
    return { error: `parser: Parse error at line ${at.line}, column ${at.column}: ${e.reason}` };
  }
}

/**
 * Why a back-quoted name of the statement is none BigQuery reads: an invalid escape, or a carriage
 * return (the lexer keeps such a name verbatim; BigQuery refuses the text). Undefined when all read.
 */
function quotedNames(text: string, span: StatementSpan): string | undefined {
  for (const t of span.tokens) {
    if (t.kind !== 'quoted') continue;
    const body = text.slice(t.start + 1, t.end - 1);
    const written = text.slice(t.start, t.end);
    if (body.includes('\r')) return `the back-quoted name ${written} holds a carriage return`;
    if (!body.includes('\\')) continue;
    const decoded = unescapeQuoted(body);
    if (decoded.error !== undefined) return `the back-quoted name ${written} holds an invalid escape (${decoded.error})`;
  }
  return undefined;
}
