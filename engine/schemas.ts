// ajv validators for the contract in schemas/: the input is checked before evaluation, the
// decision after. Compiled once at import.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Decision, PolicyInput } from './schema-types.ts';
import { isDeepFrozen } from './sql/analysis.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const schemaDir = new URL('../schemas/', import.meta.url);

export const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats(ajv);

export function loadSchema(file: string): object {
  return JSON.parse(readFileSync(new URL(file, schemaDir), 'utf8')) as object;
}

function compile<T>(file: string): ValidateFunction<T> {
  return ajv.compile<T>(loadSchema(file));
}

export const validateInput = compile<PolicyInput>('input.schema.json');

/** Frozen statements (a cached analysis's) that passed: they cannot change, so they are checked once. */
const validStatements = new WeakSet<object>();
const NO_STATEMENTS = Object.freeze([]) as unknown as PolicyInput['sql']['statements'];

/** validateInput, with a cached analysis's statements checked once: the problems, or null. */
export function inputErrors(input: PolicyInput): ErrorObject[] | null {
  const statements = (input as { sql?: { statements?: unknown } }).sql?.statements;
  if (typeof statements === 'object' && statements !== null && validStatements.has(statements)) {
    if (validateInput({ ...input, sql: { ...input.sql, statements: NO_STATEMENTS } })) return null;
  } else if (validateInput(input)) {
    if (typeof statements === 'object' && statements !== null && isDeepFrozen(statements)) validStatements.add(statements);
    return null;
  }
  return validateInput.errors ?? [];
}

export const validateDecision = compile<Decision>('decision.schema.json');

/** One line per problem, `path: message`, for error messages people read. */
export function formatErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`)
    .join('; ');
}
