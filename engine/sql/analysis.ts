// What every SQL front end hands engine/normalize.ts: the frozen `sql` part of the policy input,
// the tables it names, and whether it holds for any text of the same literal shape; and the
// hashes that identify a text, a text with its parameters, and a statement's shape.
import { createHash, hash } from 'node:crypto';
import type { Sql } from '../schema-types.ts';
import { lex } from './lexer.ts';
import { valueLiterals } from './literals.ts';
import type { TableName } from './tables.ts';

export interface SqlAnalysis {
  /** Deep-frozen: shared by every request with the same text and naming context. */
  readonly sql: Sql;
  /** Every table any statement names, for matching the dry run's referenced tables. */
  readonly tables: readonly TableName[];
  /**
   * Every statement was parsed and read each of its literal tokens as a value, so the analysis
   * (but for `sql.text` and `sql.hash`) holds for any text of the same literal shape.
   */
  readonly byShape: boolean;
}

/** Whitespace that folding or trimming would change: any but a lone inner space. */
const UNFOLDED = /[^\S ]| {2}|^ | $/;

/** sha256 of the text with whitespace runs folded to one space and the ends trimmed. */
export function sqlHash(text: string): string {
  const folded = UNFOLDED.test(text) ? text.replace(/\s+/g, ' ').trim() : text;
  // One-shot `hash` skips the Hash object createHash builds: about a microsecond less per text.
  return hash('sha256', folded, 'hex');
}

/** sha256 of a text's hash and the parameter values sent with it (object keys sorted). */
export function boundHash(textHash: string, parameters: unknown): string {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]))
        : value;
  return createHash('sha256').update(textHash).update('\u0000').update(JSON.stringify(canonical(parameters)) ?? '').digest('hex');
}

/**
 * sha256 of the statement's shape: its tokens with comments and layout dropped, keywords in one
 * case and every value literal replaced by its class. Texts that differ only in values, comments
 * or spacing share it (what approval requests are deduplicated on); `sqlHash` tells them apart.
 */
export function sqlShapeHash(text: string): string {
  const { tokens } = lex(text);
  const literals = new Map(valueLiterals(tokens).map(({ token, cls }) => [token, cls]));
  const h = createHash('sha256');
  for (const t of tokens) h.update(`${t.kind}:${literals.has(t) ? `?${literals.get(t)}` : t.kind === 'word' ? t.upper : t.text}\u0000`);
  return h.digest('hex');
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    // Indexed and for-in loops rather than Object.values: no array allocated per object, and
    // about half the time on an analysis (every new query shape freezes its whole `sql`).
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
    } else {
      for (const key in value) deepFreeze(value[key]);
    }
  }
  return value;
}

/** The analysis of `text`, another text of the same literal shape as `shared`'s. */
export function withText(shared: SqlAnalysis, text: string): SqlAnalysis {
  const sql: Sql = { text, hash: sqlHash(text), parsed: shared.sql.parsed, statements: shared.sql.statements };
  return Object.freeze({ sql: Object.freeze(sql), tables: shared.tables, byShape: true });
}
