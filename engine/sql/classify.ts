// Statement type and category from the leading keyword(s), decided before any parsing so
// that statements the parser cannot read (MERGE, EXPORT DATA, scripts, most DDL) still reach
// the policy with the right category.
import type { Category } from '../schema-types.ts';
import type { Token } from './lexer.ts';

export interface Classification {
  /** Upper-case keywords joined by `_`: SELECT, CREATE_TABLE, EXPORT_DATA, … */
  type: string;
  category: Category;
}

const SCRIPT_KEYWORDS = new Set([
  'DECLARE', 'SET', 'IF', 'LOOP', 'WHILE', 'REPEAT', 'FOR', 'CASE', 'BREAK', 'LEAVE', 'CONTINUE',
  'ITERATE', 'RETURN', 'RAISE', 'CALL', 'COMMIT', 'ROLLBACK', 'ASSERT', 'END',
]);
const WRITE_KEYWORDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);
const ADMIN_KEYWORDS = new Set(['GRANT', 'REVOKE']);

/** Object kinds of CREATE / DROP / ALTER, longest first; the first word match wins. */
const OBJECT_KINDS: readonly string[][] = [
  ['ROW', 'ACCESS', 'POLICY'],
  ['ALL', 'ROW', 'ACCESS', 'POLICIES'],
  ['TABLE', 'FUNCTION'],
  ['MATERIALIZED', 'VIEW'],
  ['EXTERNAL', 'TABLE'],
  ['SNAPSHOT', 'TABLE'],
  ['SEARCH', 'INDEX'],
  ['VECTOR', 'INDEX'],
  ['EXTERNAL', 'SCHEMA'],
  ['AGGREGATE', 'FUNCTION'],
  ['CAPACITY'],
  ['RESERVATION'],
  ['ASSIGNMENT'],
  ['TABLE'],
  ['VIEW'],
  ['FUNCTION'],
  ['PROCEDURE'],
  ['SCHEMA'],
  ['MODEL'],
  ['CONNECTION'],
  ['ORGANIZATION'],
  ['PROJECT'],
  ['BI_CAPACITY'],
];
/** Object kinds whose DDL changes who may see what, or billing: admin rather than ddl. */
const ADMIN_OBJECTS = new Set([
  'ROW_ACCESS_POLICY', 'ALL_ROW_ACCESS_POLICIES', 'CAPACITY', 'RESERVATION', 'ASSIGNMENT',
  'ORGANIZATION', 'PROJECT', 'BI_CAPACITY', 'CONNECTION',
]);

function words(tokens: Token[], from: number): string[] {
  const out: string[] = [];
  for (let i = from; i < tokens.length && out.length < 8; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'word') break;
    out.push(t.upper);
  }
  return out;
}

function objectKind(ws: string[], at: number): string | undefined {
  for (const kind of OBJECT_KINDS) {
    if (kind.every((w, k) => ws[at + k] === w)) return kind.join('_');
  }
  return undefined;
}

/** CREATE [OR REPLACE] [TEMP|TEMPORARY] <kind> … */
function classifyObjectStatement(verb: string, ws: string[]): Classification {
  let at = 1;
  if (ws[at] === 'OR' && ws[at + 1] === 'REPLACE') at += 2;
  let temp = false;
  if (ws[at] === 'TEMP' || ws[at] === 'TEMPORARY') {
    temp = true;
    at++;
  }
  const kind = objectKind(ws, at);
  if (kind === undefined) return { type: verb, category: verb === 'UNDROP' ? 'ddl' : 'unknown' };
  const type = `${verb}_${temp ? 'TEMP_' : ''}${kind}`;
  return { type, category: ADMIN_OBJECTS.has(kind) ? 'admin' : 'ddl' };
}

export function classify(tokens: Token[]): Classification {
  let i = 0;
  // A procedural label (`outer: LOOP …`) precedes the statement keyword.
  if (tokens[0]?.kind === 'word' && tokens[1]?.kind === 'punct' && tokens[1].text === ':') i = 2;
  const labelled = i;
  while (tokens[i]?.kind === 'punct' && tokens[i]!.text === '(') i++;
  const first = tokens[i];
  if (first === undefined || first.kind !== 'word') return { type: 'UNKNOWN', category: 'unknown' };
  const ws = words(tokens, i);
  const verb = ws[0]!;
  // A query in pipe syntax may start with FROM (`FROM t |> WHERE …`).
  if (verb === 'SELECT' || verb === 'WITH' || verb === 'FROM') return { type: 'SELECT', category: 'read' };
  if (i > labelled) return { type: 'UNKNOWN', category: 'unknown' }; // only a query may open with `(`
  switch (verb) {
    case 'CREATE':
    case 'DROP':
    case 'ALTER':
    case 'UNDROP':
      return classifyObjectStatement(verb, ws);
    case 'TRUNCATE':
      return ws[1] === 'TABLE' ? { type: 'TRUNCATE_TABLE', category: 'write' } : { type: 'TRUNCATE', category: 'unknown' };
    case 'EXPORT':
      if (ws[1] === 'DATA') return { type: 'EXPORT_DATA', category: 'export' };
      if (ws[1] === 'MODEL') return { type: 'EXPORT_MODEL', category: 'export' };
      return { type: 'EXPORT', category: 'export' };
    case 'LOAD':
      return ws[1] === 'DATA' ? { type: 'LOAD_DATA', category: 'write' } : { type: 'LOAD', category: 'unknown' };
    case 'EXECUTE':
      return ws[1] === 'IMMEDIATE' ? { type: 'EXECUTE_IMMEDIATE', category: 'script' } : { type: 'EXECUTE', category: 'unknown' };
    case 'BEGIN':
      return ws[1] === 'TRANSACTION' || tokens.length === i + 1
        ? { type: 'BEGIN_TRANSACTION', category: 'script' }
        : { type: 'BEGIN', category: 'script' };
  }
  if (WRITE_KEYWORDS.has(verb)) return { type: verb, category: 'write' };
  if (ADMIN_KEYWORDS.has(verb)) return { type: verb, category: 'admin' };
  if (SCRIPT_KEYWORDS.has(verb)) return { type: verb, category: 'script' };
  return { type: 'UNKNOWN', category: 'unknown' };
}
