// Function names as written. polyglot-sql gives some calls a canonical variant (SUBSTR → substring,
// POW → power, LOG(x) → ln) and reads typed literals as calls (`NUMERIC '1'` → CAST, `JSON '…'` →
// PARSE_JSON); it keeps no span on these nodes. The policy matches names as written, so a
// canonicalised call is reported under the names of its spellings that the text calls, found
// among the statement's tokens (a word before `(`; strings and comments are no tokens).
import type { StatementContext } from '../context.ts';
import { factsOf } from './statement-facts.ts';
import { refuse, type Variant } from './tree.ts';

/** Variants polyglot-sql reaches from several BigQuery spellings, and those spellings. */
const SPELLINGS: Record<string, readonly string[]> = {
  substring: ['SUBSTR', 'SUBSTRING'],
  power: ['POW', 'POWER'],
  ln: ['LN', 'LOG'],
  length: ['LENGTH', 'CHAR_LENGTH', 'CHARACTER_LENGTH'],
  ceil: ['CEIL', 'CEILING'],
  str_position: ['STRPOS', 'INSTR'],
  cast: ['CAST'],
  parse_json: ['PARSE_JSON'],
};
/** Variants a typed literal also yields: without a written call, no function is called. */
const LITERAL_FORMS = new Set(['cast', 'parse_json']);

/** The names under which the call `v` (canonically `name`) is reported. */
export function writtenNames(v: Variant, name: string, ctx: StatementContext): readonly string[] {
  const spellings = SPELLINGS[v.kind];
  const calls = factsOf(ctx)?.calls;
  if (spellings === undefined || calls === undefined) return [name];
  const found = spellings.filter((s) => calls.has(s));
  if (found.length > 0) return found;
  if (LITERAL_FORMS.has(v.kind)) return [];
  return refuse(`${name} call whose written name is not found in the text`, v.node);
}
