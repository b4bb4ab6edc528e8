// The policy input for the WASM evaluator, as JSON text. The normalizer's analyses are cached,
// deep-frozen and shared by every request with the same SQL shape, so the statements (most of
// the document) are kept apart: their JSON is produced once per analysis, and the evaluator
// parses them into the policy's memory once too (wasm.ts). The rest (identity, clock, request,
// grants, estimate, the SQL text and hash) is serialized per request.
import type { PolicyInput } from './schema-types.ts';
import { isDeepFrozen } from './sql/analysis.ts';

/**
 * An input document in parts: `statements`, when given, belongs at sql.statements of `json`; with
 * `sql` given too (a cached analysis's frozen member, which a repeated text shares), `sql.rest` is
 * the document without its sql member, so the whole member can be kept parsed instead (wasm.ts).
 */
export interface InputDocument {
  json: string;
  statements?: { value: object; json: string };
  sql?: { value: object; rest: string };
}

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
  const { sql: _sql, ...rest } = input;
  const restJson = JSON.stringify(rest);
  const document: InputDocument = { json: `${open(restJson)}"sql":${sqlJson(sql!)}}`, statements: { value: statements, json: cached } };
  if (Object.isFrozen(sql)) document.sql = { value: sql!, rest: restJson };
  return document;
}

/** A frozen sql member's whole JSON, its statements included (the parts input-json.ts keeps). */
export function frozenSqlJson(sql: object, statementsJson: string): string {
  return `${open(sqlJson(sql as PolicyInput['sql']))}"statements":${statementsJson}}`;
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
  // json ends with the sql object's closing brace and the document's.
  const head = document.json.slice(0, -2);
  return `${head}${head.endsWith('{') ? '' : ','}"statements":${document.statements.json}}}`;
}

export function inputJson(input: PolicyInput): string {
  return documentJson(inputDocument(input));
}

/** An object's JSON without its closing brace, ready for one more member. */
function open(json: string): string {
  return json.length > 2 ? `${json.slice(0, -1)},` : '{';
}
