// MERGE, which node-sql-parser cannot read, restated as one query it can: the target joined to
// the source on the merge condition, selecting every value written (named after the column it
// is written to) and filtering on every WHEN condition. The query's tables, columns and lineage
// are the MERGE's; its target is also written. Every piece of the original text lands in the
// query, so nothing the MERGE references escapes the analysis; any shape not recognised here
// leaves the statement unparsed.
import { unsupported } from './ast.ts';
import type { Token } from './lexer.ts';
import { RESERVED } from './keywords.ts';
import { readPath } from './scan.ts';
import { implicitAlias } from './tables.ts';

export interface MergeQuery {
  /** The SELECT standing for the MERGE. */
  sql: string;
  /** Output names (lower-case) for the select items, in order; undefined where unnamed. */
  names: (string | undefined)[];
  /** The target table path as written. */
  target: string[];
  /** Target columns the MERGE writes (lower-case, dotted for fields). */
  written: string[];
}

function isWord(t: Token | undefined, upper: string): boolean {
  return t !== undefined && t.kind === 'word' && t.upper === upper;
}

function isPunct(t: Token | undefined, text: string): boolean {
  return t !== undefined && t.kind === 'punct' && t.text === text;
}

/**
 * Index of the first token in [from, to) that satisfies `stop` at nesting depth 0 (outside
 * parentheses, brackets and CASE … END), or `to`.
 */
function scanTo(tokens: readonly Token[], from: number, stop: (t: Token) => boolean, to = tokens.length): number {
  let depth = 0;
  let cases = 0;
  for (let i = from; i < to; i++) {
    const t = tokens[i]!;
    if (depth === 0 && cases === 0 && stop(t)) return i;
    if (t.kind === 'punct' && (t.text === '(' || t.text === '[')) depth++;
    else if (t.kind === 'punct' && (t.text === ')' || t.text === ']')) depth--;
    else if (isWord(t, 'CASE')) cases++;
    else if (isWord(t, 'END') && cases > 0) cases--;
    if (depth < 0) unsupported('MERGE has unbalanced parentheses');
  }
  return to;
}

/** Splits tokens [from, to) at top-level commas into [start, end) ranges. */
function splitCommas(tokens: readonly Token[], from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  let start = from;
  while (start < to) {
    const comma = scanTo(tokens, start, (t) => isPunct(t, ','), to);
    if (comma === start) unsupported('MERGE has an empty list item');
    out.push([start, comma]);
    start = comma + 1;
  }
  return out;
}

/** `( … )` starting at `open`: the index of its closing parenthesis. */
function closing(tokens: readonly Token[], open: number): number {
  if (!isPunct(tokens[open], '(')) unsupported('MERGE expected "("');
  const close = scanTo(tokens, open + 1, (t) => isPunct(t, ')'));
  if (close >= tokens.length) unsupported('MERGE has unbalanced parentheses');
  return close;
}

/** An optional `[AS] alias` at `i`; returns the alias (lower-case) and the next index. */
function alias(tokens: readonly Token[], i: number): { alias?: string; next: number } {
  let j = i;
  if (isWord(tokens[j], 'AS')) j++;
  const t = tokens[j];
  if (t !== undefined && (t.kind === 'quoted' || (t.kind === 'word' && !RESERVED.has(t.upper)))) return { alias: t.text.toLowerCase(), next: j + 1 };
  if (j !== i) unsupported('MERGE alias expected after AS');
  return { next: j };
}

export function mergeQuery(text: string, tokens: readonly Token[]): MergeQuery {
  const slice = (from: number, to: number) => (to > from ? text.slice(tokens[from]!.start, tokens[to - 1]!.end) : '');
  let i = 1;
  if (isWord(tokens[i], 'INTO')) i++;

  const targetStart = i;
  const target = readPath(tokens as Token[], i);
  if (target === undefined) unsupported('MERGE without a target table');
  const targetAlias = alias(tokens, target.next);
  const targetText = slice(targetStart, targetAlias.next);
  i = targetAlias.next;

  if (!isWord(tokens[i], 'USING')) unsupported('MERGE without USING');
  const sourceStart = ++i;
  let sourceName: string | undefined;
  if (isPunct(tokens[i], '(')) {
    i = closing(tokens, i) + 1;
  } else {
    const source = readPath(tokens as Token[], i);
    if (source === undefined) unsupported('MERGE without a source');
    sourceName = implicitAlias(source.path);
    i = source.next;
  }
  const sourceAlias = alias(tokens, i);
  const sourceText = slice(sourceStart, sourceAlias.next);
  const sourceRange = sourceAlias.alias ?? sourceName;
  i = sourceAlias.next;

  if (!isWord(tokens[i], 'ON')) unsupported('MERGE without ON');
  const onEnd = scanTo(tokens, i + 1, (t) => isWord(t, 'WHEN'));
  const onText = slice(i + 1, onEnd);
  i = onEnd;

  const items: string[] = [];
  const names: (string | undefined)[] = [];
  const written: string[] = [];
  const conditions: string[] = [];
  const item = (from: number, to: number, name: string | undefined) => {
    items.push(`(${slice(from, to)})${name === undefined ? '' : ` AS \`${name}\``}`);
    names.push(name);
  };

  while (i < tokens.length) {
    if (!isWord(tokens[i], 'WHEN')) unsupported('MERGE clause does not start with WHEN');
    i++;
    if (isWord(tokens[i], 'NOT')) i++;
    if (!isWord(tokens[i], 'MATCHED')) unsupported('MERGE clause without MATCHED');
    i++;
    if (isWord(tokens[i], 'BY')) {
      if (!isWord(tokens[i + 1], 'SOURCE') && !isWord(tokens[i + 1], 'TARGET')) unsupported('MERGE clause has an unknown BY');
      i += 2;
    }
    if (isWord(tokens[i], 'AND')) {
      const then = scanTo(tokens, i + 1, (t) => isWord(t, 'THEN'));
      conditions.push(slice(i + 1, then));
      i = then;
    }
    if (!isWord(tokens[i], 'THEN')) unsupported('MERGE clause without THEN');
    i++;
    const end = scanTo(tokens, i, (t) => isWord(t, 'WHEN'));
    const action = tokens[i];
    if (isWord(action, 'DELETE')) {
      if (end !== i + 1) unsupported('MERGE DELETE takes nothing after it');
    } else if (isWord(action, 'UPDATE')) {
      if (!isWord(tokens[i + 1], 'SET')) unsupported('MERGE UPDATE without SET');
      for (const [from, to] of splitCommas(tokens, i + 2, end)) {
        const column = readPath(tokens as Token[], from);
        if (column === undefined || !isPunct(tokens[column.next], '=') || column.next + 1 >= to) unsupported('MERGE SET item is not `column = value`');
        const path = column.path.flatMap((p) => p.split('.')).map((p) => p.toLowerCase());
        if (path.length > 1 && path[0] === targetAlias.alias) path.shift();
        written.push(path.join('.'));
        item(column.next + 1, to, path.join('.'));
      }
    } else if (isWord(action, 'INSERT')) {
      let j = i + 1;
      let columns: string[] | undefined;
      if (isPunct(tokens[j], '(')) {
        const close = closing(tokens, j);
        columns = splitCommas(tokens, j + 1, close).map(([from, to]) => {
          const t = tokens[from];
          if (to !== from + 1 || t === undefined || (t.kind !== 'word' && t.kind !== 'quoted')) unsupported('MERGE INSERT column list has an unexpected shape');
          return t.text.toLowerCase();
        });
        written.push(...columns);
        j = close + 1;
      }
      if (isWord(tokens[j], 'ROW') && columns === undefined && end === j + 1) {
        if (sourceRange === undefined) unsupported('MERGE INSERT ROW from an unaliased subquery is not analysed');
        items.push(`\`${sourceRange}\`.*`);
        names.push(undefined);
      } else if (isWord(tokens[j], 'VALUES')) {
        const close = closing(tokens, j + 1);
        if (close + 1 !== end) unsupported('MERGE INSERT VALUES takes one row');
        const values = splitCommas(tokens, j + 2, close);
        if (columns !== undefined && columns.length !== values.length) unsupported('MERGE INSERT column and value counts differ');
        values.forEach(([from, to], k) => item(from, to, columns?.[k]));
      } else {
        unsupported('MERGE INSERT has an unexpected shape');
      }
    } else {
      unsupported('MERGE clause has an unknown action');
    }
    i = end;
  }
  if (onText === '') unsupported('MERGE without a condition');
  const where = conditions.length === 0 ? '' : ` WHERE ${conditions.map((c) => `(${c})`).join(' AND ')}`;
  const sql = `SELECT ${items.length === 0 ? '1' : items.join(', ')} FROM ${targetText} JOIN ${sourceText} ON (${onText})${where}`;
  return { sql, names, target: target.path, written };
}
