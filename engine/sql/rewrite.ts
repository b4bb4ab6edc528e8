// Equivalent spellings node-sql-parser can read, for statements it otherwise rejects or crashes
// on. Only the spelling changes, never the meaning: `DELETE FROM t` is `DELETE t`, and
// `UPDATE p.ds.t` is `UPDATE \`p.ds.t\``. The token scan still checks the original text.
import type { Token } from './lexer.ts';
import { readPath } from './scan.ts';

function isWord(t: Token | undefined, upper: string): boolean {
  return t !== undefined && t.kind === 'word' && t.upper === upper;
}

/** The statement text (from `start` to `end`) as handed to the parser. */
export function parserText(text: string, tokens: readonly Token[], start: number, end: number): string {
  const first = tokens[0];
  // DELETE FROM ds.t … → DELETE ds.t … (FROM is optional in BigQuery).
  if (isWord(first, 'DELETE') && isWord(tokens[1], 'FROM')) {
    const from = tokens[1]!;
    return text.slice(start, from.start) + ' '.repeat(from.end - from.start) + text.slice(from.end, end);
  }
  // UPDATE ds.t SET … → UPDATE `ds.t` SET … (the parser crashes on a qualified target).
  if (isWord(first, 'UPDATE')) {
    const target = readPath(tokens as Token[], 1);
    if (target === undefined) return text.slice(start, end);
    const joined = target.path.join('.');
    if (!joined.includes('.') || /[`\\]/.test(joined)) return text.slice(start, end);
    const from = tokens[1]!.start;
    const to = tokens[target.next - 1]!.end;
    return `${text.slice(start, from)}\`${joined}\`${text.slice(to, end)}`;
  }
  return text.slice(start, end);
}
