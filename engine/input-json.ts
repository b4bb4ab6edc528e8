// The policy input's JSON text for the WASM evaluator. The normalizer's analyses are cached,
// deep-frozen and shared by every request with the same SQL shape, so the statements' JSON
// (most of the document) is produced once per analysis and spliced in; the rest (identity,
// clock, request, grants, estimate, the SQL text and hash) is serialized per request.
import type { PolicyInput } from './schema-types.ts';

const statementsJson = new WeakMap<object, string>();

function deepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (!Object.isFrozen(value)) return false;
  for (const child of Object.values(value)) if (!deepFrozen(child)) return false;
  return true;
}

/** JSON.stringify of a frozen value, remembered: a frozen value cannot change. */
function frozenJson(value: object): string | undefined {
  let json = statementsJson.get(value);
  if (json === undefined) {
    if (!deepFrozen(value)) return undefined;
    json = JSON.stringify(value);
    statementsJson.set(value, json);
  }
  return json;
}

/** Same document as JSON.stringify(input); members may come in another order. */
export function inputJson(input: PolicyInput): string {
  const sql = input.sql as PolicyInput['sql'] | undefined;
  const statements = sql?.statements;
  if (typeof statements !== 'object' || statements === null || !Object.isFrozen(statements)) return JSON.stringify(input);
  const cached = frozenJson(statements);
  if (cached === undefined) return JSON.stringify(input);
  const { statements: _statements, ...sqlRest } = sql!;
  const { sql: _sql, ...rest } = input;
  return `${open(JSON.stringify(rest))}"sql":${open(JSON.stringify(sqlRest))}"statements":${cached}}}`;
}

/** An object's JSON without its closing brace, ready for one more member. */
function open(json: string): string {
  return json.length > 2 ? `${json.slice(0, -1)},` : '{';
}
