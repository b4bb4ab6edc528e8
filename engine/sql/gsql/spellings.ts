// Function names as written, for the calls the parser also builds from a typed literal: a CAST
// stands for `CAST(…)` and for `NUMERIC '1'`, `BIGNUMERIC '1'`, `ARRAY<T>[…]` and `STRUCT<…>(…)`;
// a parse_json for `JSON '…'`. These nodes carry no span to tell the two apart, so the call is
// reported under its name only where the statement's tokens call it (a word before `(`; strings
// and comments are no tokens); a literal alone calls no function.
import type { StatementContext } from '../context.ts';
import { factsOf } from './statement-facts.ts';
import type { Variant } from './tree.ts';

/** Variants a typed literal also yields, and the name a written call of each has. */
const LITERAL_FORMS: Readonly<Record<string, string>> = { cast: 'CAST', parse_json: 'PARSE_JSON' };

/** The names under which the call `v` (canonically `name`) is reported. */
export function writtenNames(v: Variant, name: string, ctx: StatementContext): readonly string[] {
  const spelled = LITERAL_FORMS[v.kind];
  const calls = factsOf(ctx)?.calls;
  if (spelled === undefined || calls === undefined) return [name];
  return calls.has(spelled) ? [spelled] : [];
}
