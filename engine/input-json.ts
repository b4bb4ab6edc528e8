// The policy input for the WASM evaluator, as JSON text. The normalizer's analyses are cached,
// deep-frozen and shared by every request with the same SQL shape, so the statements (most of
// the document) are kept apart: their JSON is produced once per analysis, and the evaluator
// parses them into the policy's memory once too (wasm.ts). The other members (identity, clock,
// request, grants, estimate) are serialized per request, each on its own, so that the evaluator
// can keep the ones that repeat (a caller's identity) parsed as well.
import type { PolicyInput } from './schema-types.ts';
import { isDeepFrozen } from './sql/analysis.ts';

/**
 * An input document, whole (`json`) or in parts: the analysis's `statements` (the value belongs at
 * sql.statements), the rest of the `sql` member (its `value` given when it is a cached analysis's
 * frozen member, which a repeated text shares and which can then be kept parsed whole), and every
 * other member as the JSON of its key and of its value.
 */
export type InputDocument =
  | { json: string; statements?: undefined }
  | {
      statements: { value: object; json: string };
      sql: { value?: object; json: string };
      members: Member[];
    };

/** A member of an input document: the JSON of its key and of its value. */
export type Member = [key: string, value: string];

/** Keys' JSON, by key (an input has a handful, always the same). */
const keyJsons = new Map<string, string>();

const statementsJson = new WeakMap<object, string>();

/** JSON.stringify of a deep-frozen value (an analysis's statements), remembered: it cannot change. */
export function frozenJson(value: object): string | undefined {
  let json = statementsJson.get(value);
  if (json === undefined) {
    if (!isDeepFrozen(value)) return undefined;
    json = JSON.stringify(value);
    statementsJson.set(value, json);
  }
  return json;
}

/** The input split for the evaluator; statements that can still change stay in `json`. */
export function inputDocument(input: PolicyInput): InputDocument {
  const sql = input.sql as PolicyInput['sql'] | undefined;
  const statements = sql?.statements;
  if (typeof statements !== 'object' || statements === null || !Object.isFrozen(statements)) return { json: JSON.stringify(input) };
  const cached = frozenJson(statements);
  if (cached === undefined) return { json: JSON.stringify(input) };
  // The members JSON.stringify would write, in its order: own enumerable keys, those whose
  // value has a JSON text (not undefined, a function or a symbol).
  const members: Member[] = [];
  for (const key of Object.keys(input)) {
    if (key === 'sql') continue;
    const json = JSON.stringify((input as unknown as Record<string, unknown>)[key]) as string | undefined;
    if (json === undefined) continue;
    let keyJson = keyJsons.get(key);
    if (keyJson === undefined) {
      keyJson = JSON.stringify(key);
      if (keyJsons.size < 64) keyJsons.set(key, keyJson);
    }
    members.push([keyJson, json]);
  }
  return {
    statements: { value: statements, json: cached },
    sql: { ...(Object.isFrozen(sql) && { value: sql }), json: sqlJson(sql!) },
    members,
  };
}

/** The sql member's whole JSON, its statements included, of a document in parts. */
export function sqlMemberJson(document: Extract<InputDocument, { members: Member[] }>): string {
  return `${open(document.sql.json)}"statements":${document.statements.json}}`;
}

const sqlJsons = new WeakMap<object, string>();

/** The sql member's JSON without its statements; remembered for a frozen one (a cached analysis's). */
function sqlJson(sql: PolicyInput['sql']): string {
  let json = sqlJsons.get(sql);
  if (json === undefined) {
    const { statements: _statements, ...rest } = sql;
    json = JSON.stringify(rest);
    if (Object.isFrozen(sql)) sqlJsons.set(sql, json);
  }
  return json;
}

/** The whole document's JSON: the same document as JSON.stringify(input); members may come in another order. */
export function documentJson(document: InputDocument): string {
  if (!document.statements) return document.json;
  return `{${[...document.members.map(([key, value]) => `${key}:${value}`), `"sql":${sqlMemberJson(document)}`].join(',')}}`;
}

export function inputJson(input: PolicyInput): string {
  return documentJson(inputDocument(input));
}

/** An object's JSON without its closing brace, ready for one more member. */
function open(json: string): string {
  return json.length > 2 ? `${json.slice(0, -1)},` : '{';
}
