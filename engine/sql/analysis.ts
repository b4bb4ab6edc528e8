// What every SQL front end hands engine/normalize.ts: the frozen `sql` part of the policy input,
// the tables it names, and whether it holds for any text of the same literal shape; and the
// hashes that identify a text, a text with its parameters, and a statement's shape.
import { createHash, hash } from 'node:crypto';
import type { Sql } from '../schema-types.ts';
import { lex, type LexResult } from './lexer.ts';
import { valueLiterals } from './literals.ts';
import type { NameContext, TableName } from './tables.ts';

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

/**
 * The statement as BigQuery runs it, hashed (what statement grants name): sha256 of the project
 * and default dataset that qualify its names, and of its tokens as written with each gap between
 * two of them (layout, comments) one space. Texts BigQuery reads alike share it. Where a comment
 * or a string ends is the lexer's call, made by BigQuery's rules, so the line break that ends a
 * comment is never folded into one that does not; and a literal is kept whole. A text that does
 * not lex is hashed as written.
 */
export function sqlHash(text: string, names: NameContext, lexed: LexResult = lex(text)): string {
  const dd = names.defaultDataset;
  let canonical = `${names.project}\u0000${dd === undefined ? '' : `${dd.project}.${dd.dataset}`}\u0000`;
  // One-shot `hash` skips the Hash object createHash builds: about a microsecond less per text.
  if (lexed.error !== undefined) return hash('sha256', `${canonical}\u0001${text}`, 'hex');
  let end = -1;
  for (const t of lexed.tokens) {
    if (end >= 0 && t.start !== end) canonical += ' ';
    canonical += text.slice(t.start, t.end);
    end = t.end;
  }
  return hash('sha256', canonical, 'hex');
}

/** The value with every object's keys in sorted order: its JSON is the same whatever order they came in. */
export function withSortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withSortedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, withSortedKeys((value as Record<string, unknown>)[k])]));
}

/** sha256 of a text's hash and the parameter values sent with it (object keys sorted). */
export function boundHash(textHash: string, parameters: unknown): string {
  return createHash('sha256').update(textHash).update('\u0000').update(JSON.stringify(withSortedKeys(parameters)) ?? '').digest('hex');
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

/** Objects found deep-frozen: they stay so, so each is walked once. */
const knownDeepFrozen = new WeakSet<object>();

/** Whether nothing in the value can change any more. */
export function isDeepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || knownDeepFrozen.has(value)) return true;
  if (!frozenThrough(value)) return false;
  knownDeepFrozen.add(value);
  return true;
}

function frozenThrough(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (!Object.isFrozen(value)) return false;
  for (const child of Object.values(value)) if (!frozenThrough(child)) return false;
  return true;
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

/** The analysis of `text`, another text of the same literal shape as `shared`'s, in the same naming context. */
export function withText(shared: SqlAnalysis, text: string, names: NameContext, lexed: LexResult): SqlAnalysis {
  const sql: Sql = { text, hash: sqlHash(text, names, lexed), parsed: shared.sql.parsed, statements: shared.sql.statements };
  return Object.freeze({ sql: Object.freeze(sql), tables: shared.tables, byShape: true });
}
