// Equivalent spellings node-sql-parser can read, for statements it otherwise rejects or crashes
// on. Only the spelling changes, never the meaning: `DELETE FROM t` is `DELETE t`,
// `UPDATE p.ds.t` is `UPDATE \`p.ds.t\``, and `ds.311_requests` is `ds.\`311_requests\``. The token
// scan still checks the original text.
import type { Token } from './lexer.ts';
import { readPath } from './scan.ts';

function isWord(t: Token | undefined, upper: string): boolean {
  return t !== undefined && t.kind === 'word' && t.upper === upper;
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** The statement text (from `start` to `end`) as handed to the parser. */
export function parserText(text: string, tokens: readonly Token[], start: number, end: number): string {
  const edits: Edit[] = [];
  const first = tokens[0];
  // DELETE FROM ds.t … → DELETE ds.t … (FROM is optional in BigQuery).
  if (isWord(first, 'DELETE') && isWord(tokens[1], 'FROM')) {
    const from = tokens[1]!;
    edits.push({ start: from.start, end: from.end, text: ' '.repeat(from.end - from.start) });
  }
  // UPDATE ds.t SET … → UPDATE `ds.t` SET … (the parser crashes on a qualified target).
  if (isWord(first, 'UPDATE')) {
    const target = readPath(tokens as Token[], 1);
    const joined = target?.path.join('.');
    // A spelling BigQuery refuses (`ds.my-table`) goes to the parser as written, never quoted into a name.
    if (target !== undefined && target.malformed === undefined && joined !== undefined && joined.includes('.') && !/[`\\]/.test(joined)) {
      edits.push({ start: tokens[1]!.start, end: tokens[target.next - 1]!.end, text: `\`${joined}\`` });
    }
  }
  // A path part that begins with a digit (the lexer makes it a word only after a path dot) is the
  // same identifier back-quoted, which the parser reads: ds.311_requests → ds.`311_requests`.
  for (const t of tokens) {
    const c = t.text.charCodeAt(0);
    if (t.kind !== 'word' || c < 48 || c > 57) continue;
    if (edits.some((e) => t.start >= e.start && t.end <= e.end)) continue;
    edits.push({ start: t.start, end: t.end, text: `\`${t.text}\`` });
  }
  edits.sort((a, b) => a.start - b.start);
  let out = '';
  let from = start;
  for (const e of edits) {
    out += text.slice(from, e.start) + e.text;
    from = e.end;
  }
  return out + text.slice(from, end);
}
