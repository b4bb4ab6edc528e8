// Token scan for table references. It names the tables of statements the parser cannot read
// (MERGE, EXPORT DATA, scripts, DDL) and cross-checks the tables of those it can: a name in a
// table position that the parsed reading does not account for makes the statement unparsed.
// It errs towards naming too much: a spurious table only adds to what the policy checks.
import { adjacent, type Token } from './lexer.ts';
import { RESERVED } from './keywords.ts';
import { implicitAlias } from './tables.ts';

export type ScanMode = 'read' | 'write' | 'ddl';

export interface ScannedRef {
  /** Identifiers as written (a backticked one may hold dots). */
  path: string[];
  mode: ScanMode;
  /** Read position followed by `(`: a table-valued function, not a table. */
  call: boolean;
  /** Starts with a range variable defined before it (`FROM t, t.items`): an array, not a table. */
  arrayPath: boolean;
  /** Why BigQuery reads no table from this spelling (`ds.orders*`, `ds.my-table`): it names none. */
  malformed?: string;
}

export interface ScanResult {
  refs: ScannedRef[];
  /** Names defined by WITH (lower-case). */
  ctes: Set<string>;
  /** Range variables: explicit aliases and the last part of each table path (lower-case). */
  aliases: Set<string>;
}

/** Functions whose argument syntax uses FROM without naming a table. */
const FROM_FUNCTIONS = new Set(['EXTRACT', 'TRIM', 'SUBSTRING', 'OVERLAY', 'POSITION']);
/** Keywords that end a FROM clause at its own parenthesis depth. */
const FROM_ENDS = new Set([
  'WHERE', 'GROUP', 'HAVING', 'QUALIFY', 'WINDOW', 'ORDER', 'LIMIT', 'UNION', 'INTERSECT', 'EXCEPT',
  'SELECT', 'SET', 'WHEN', 'THEN', 'ELSE', 'END', 'OPTIONS',
]);
const PROCEDURAL_LEADS = new Set(['BEGIN', 'THEN', 'ELSE', 'DO', 'LOOP', 'REPEAT']);

function isPunct(t: Token | undefined, text: string): boolean {
  return t !== undefined && t.kind === 'punct' && t.text === text;
}

function isWord(t: Token | undefined, upper: string): boolean {
  return t !== undefined && t.kind === 'word' && t.upper === upper;
}

/** A token that can begin a table path: a quoted name or an unreserved word. */
function startsPath(t: Token | undefined): boolean {
  return t !== undefined && (t.kind === 'quoted' || (t.kind === 'word' && !RESERVED.has(t.upper)));
}

interface PathRead {
  path: string[];
  next: number;
  /** Set when BigQuery refuses the spelling (a syntax error): the path is no table it reads. */
  malformed?: string;
}

/**
 * A number piece BigQuery takes after a dash in a project id: digits, alone or ending the id
 * before a name (`p-123`, `p-123.ds`); `p-123abc` and `p-1.5.t` are syntax errors.
 */
const DASHED_NUMBER = /^[0-9]+(?:\.[A-Za-z_]|$)/;

/**
 * Reads a dotted path from `i`. Dashes join adjacent pieces into one identifier, as BigQuery
 * allows for project ids written without backticks (acme-analytics.sales.orders). Spellings
 * BigQuery refuses come back `malformed`, so that no table is named for them: a dash after the
 * first name (`ds.my-table`) or in a back-quoted one, a dash piece like `123abc`, an unquoted
 * wildcard (`ds.orders*`, which must be back-quoted) and a path ending in a dot (`ds.*`).
 */
export function readPath(tokens: Token[], i: number): PathRead | undefined {
  if (!startsPath(tokens[i])) return undefined;
  const path: string[] = [];
  let malformed: string | undefined;
  let j = i;
  for (;;) {
    const t = tokens[j];
    if (t === undefined || (t.kind !== 'word' && t.kind !== 'quoted')) {
      if (path.length > 0) malformed ??= `table name ${path.join('.')}. ends in a dot`;
      break;
    }
    let part = t.text;
    j++;
    // my-project-123: word, '-', word|number, all adjacent.
    while (t.kind === 'word' && isPunct(tokens[j], '-') && adjacent(tokens[j - 1]!, tokens[j]!)) {
      const piece = tokens[j + 1];
      if (piece === undefined || (piece.kind !== 'word' && piece.kind !== 'number') || !adjacent(tokens[j]!, piece)) break;
      // Only the first name of a path may hold dashes (GoogleSQL's dashed_path_expression).
      if (path.length > 0 || part.includes('.')) malformed ??= `table name ${[...path, part].join('.')}-${piece.text} has a dash after its first part`;
      if (piece.kind === 'number' && !DASHED_NUMBER.test(piece.text)) malformed ??= `table name ${part}-${piece.text} has an invalid dashed part`;
      part += '-' + piece.text;
      j += 2;
    }
    path.push(part);
    if (!isPunct(tokens[j], '.')) break;
    j++;
  }
  if (path.length === 0) return undefined;
  const after = tokens[j];
  // BigQuery reads a wildcard table only back-quoted (`ds.orders*`); unquoted, the `*` is a syntax error.
  if (isPunct(after, '*')) malformed ??= `wildcard table name ${path.join('.')}* must be back-quoted`;
  // A dash BigQuery does not join into a project id (after a back-quoted name, or not adjacent).
  else if (isPunct(after, '-')) malformed ??= `table name ${path.join('.')} is followed by a dash`;
  return malformed === undefined ? { path, next: j } : { path, next: j, malformed };
}

export function scanTables(tokens: Token[]): ScanResult {
  const refs: ScannedRef[] = [];
  const ctes = new Set<string>();
  const aliases = new Set<string>();
  // Per parenthesis depth: inside a FROM clause, and the token that opened the parenthesis.
  const fromClause: boolean[] = [false];
  const openers: (Token | undefined)[] = [undefined];
  let depth = 0;
  let pending: ScanMode | undefined; // the next token is a table position
  let verb = ''; // leading keyword of the current (procedural) statement
  let atStart = true;
  let inMerge = false;
  let lastTargetEnd = -1;

  /** Records the path at `at`; returns the index of its last token, or `fallback` when none. */
  const record = (at: number, mode: ScanMode, fallback: number): number => {
    const read = readPath(tokens, at);
    if (read === undefined) return fallback;
    // In a FROM position `name(` is a table-valued function; after INSERT or CREATE it opens a column list.
    const call = mode === 'read' && isPunct(tokens[read.next], '(');
    // As BigQuery reads it: two or more identifiers, the first a range variable. A single
    // back-quoted `a.b` is a table even when `a` is an alias.
    const arrayPath = read.path.length >= 2 && aliases.has(read.path[0]!.toLowerCase());
    refs.push(read.malformed === undefined ? { path: read.path, mode, call, arrayPath } : { path: read.path, mode, call, arrayPath, malformed: read.malformed });
    aliases.add(implicitAlias(read.path));
    let j = read.next;
    if (isWord(tokens[j], 'AS')) j++;
    const alias = tokens[j];
    if (alias !== undefined && startsPath(alias) && !isPunct(tokens[j + 1], '.')) aliases.add(alias.text.toLowerCase());
    return read.next - 1;
  };

  /** Skips IF [NOT] EXISTS after a DDL object keyword. */
  const skipIfExists = (i: number): number => {
    let j = i;
    if (isWord(tokens[j], 'IF')) {
      j++;
      if (isWord(tokens[j], 'NOT')) j++;
      if (isWord(tokens[j], 'EXISTS')) j++;
    }
    return j;
  };

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const wasStart = atStart;
    atStart = false;

    if (pending !== undefined) {
      const mode = pending;
      pending = undefined;
      if (isPunct(t, '(')) {
        const next = tokens[i + 1];
        // `FROM (a JOIN b …)`: a parenthesised join opens a FROM clause one level down.
        if (!isWord(next, 'SELECT') && !isWord(next, 'WITH')) {
          depth++;
          fromClause[depth] = true;
          openers[depth] = t;
          pending = mode;
          continue;
        }
      } else if (startsPath(t) && !isWord(t, 'UNNEST')) {
        i = record(i, mode, i);
        continue;
      }
    }

    if (t.kind === 'punct') {
      switch (t.text) {
        case '(':
          depth++;
          fromClause[depth] = false;
          openers[depth] = tokens[i - 1];
          break;
        case ')':
          if (depth > 0) depth--;
          break;
        case ',':
          if (fromClause[depth]) pending = 'read';
          break;
        case ';':
          depth = 0;
          fromClause.fill(false);
          atStart = true;
          inMerge = false;
          break;
      }
      continue;
    }
    if (t.kind !== 'word') continue;

    const u = t.upper;
    if (wasStart) {
      verb = u;
      if (u === 'MERGE') inMerge = true;
    }
    if (PROCEDURAL_LEADS.has(u) && (wasStart || u === 'THEN' || u === 'ELSE' || u === 'DO')) atStart = true;
    if (FROM_ENDS.has(u)) fromClause[depth] = false;

    switch (u) {
      case 'FROM': {
        const opener = openers[depth];
        if (opener?.kind === 'word' && FROM_FUNCTIONS.has(opener.upper)) break;
        const prev = tokens[i - 1];
        if (isWord(prev, 'DISTINCT') && isWord(tokens[i - 2], 'IS')) break; // IS DISTINCT FROM
        if (isWord(prev, 'DISTINCT') && isWord(tokens[i - 2], 'NOT')) break; // IS NOT DISTINCT FROM
        if (isWord(prev, 'DELETE')) {
          i = record(i + 1, 'write', i);
          break;
        }
        fromClause[depth] = true;
        pending = 'read';
        break;
      }
      case 'JOIN':
        fromClause[depth] = true;
        pending = 'read';
        break;
      case 'USING':
        if (inMerge && depth === 0) pending = 'read';
        break;
      case 'INSERT': {
        let j = i + 1;
        if (isWord(tokens[j], 'INTO')) j++;
        if (!isWord(tokens[j], 'ROW') && !isWord(tokens[j], 'VALUES')) i = record(j, 'write', i);
        break;
      }
      case 'UPDATE':
        i = record(i + 1, 'write', i);
        break;
      case 'DELETE':
        i = record(i + 1, 'write', i);
        break;
      case 'MERGE': {
        let j = i + 1;
        if (isWord(tokens[j], 'INTO')) j++;
        i = record(j, 'write', i);
        break;
      }
      case 'TABLE':
      case 'VIEW': {
        if (isWord(tokens[i + 1], 'FUNCTION')) break;
        const j = skipIfExists(i + 1);
        const mode: ScanMode =
          verb === 'TRUNCATE' || verb === 'LOAD' ? 'write' : ['CREATE', 'DROP', 'ALTER', 'UNDROP', 'GRANT', 'REVOKE'].includes(verb) ? 'ddl' : 'read';
        const before = refs.length;
        i = record(j, mode, i);
        if (refs.length > before && mode !== 'read') lastTargetEnd = i;
        break;
      }
      case 'LIKE':
      case 'COPY':
      case 'CLONE':
        if (lastTargetEnd === i - 1) i = record(i + 1, 'read', i);
        break;
      case 'ON':
        // CREATE ROW ACCESS POLICY p ON ds.t, CREATE SEARCH INDEX i ON ds.t, DROP ALL ROW ACCESS POLICIES ON ds.t
        if (isWord(tokens[i - 2], 'POLICY') || isWord(tokens[i - 2], 'INDEX') || isWord(tokens[i - 1], 'POLICIES')) i = record(i + 1, 'ddl', i);
        break;
      case 'DATA':
        if (verb === 'LOAD' && isWord(tokens[i - 1], 'LOAD')) {
          let j = i + 1;
          if (isWord(tokens[j], 'OVERWRITE') || isWord(tokens[j], 'INTO')) j++;
          if (isWord(tokens[j], 'TEMP') && isWord(tokens[j + 1], 'TABLE')) j += 2;
          i = record(j, 'write', i);
        }
        break;
      case 'AS':
        // WITH name AS (…), name AS (…)
        if (isPunct(tokens[i + 1], '(')) {
          const name = tokens[i - 1];
          const before = tokens[i - 2];
          if (name !== undefined && startsPath(name) && (isWord(before, 'WITH') || isWord(before, 'RECURSIVE') || isPunct(before, ','))) {
            ctes.add(name.text.toLowerCase());
          }
        }
        break;
    }
  }
  return { refs, ctes, aliases };
}
