// Shared fixtures for the normalizer tests: one identity, known schemas, and a `run` that
// normalizes and checks the document against schemas/input.schema.json every time.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { expect } from 'vitest';
import { normalize, type NormalizeRequest } from '../../engine/normalize.ts';
import { analyzeSql } from '../../engine/sql/analyze.ts';
import { schemaCatalog } from '../../engine/sql/catalog.ts';
import { parseDefaultDataset } from '../../engine/sql/tables.ts';
import type { Identity, Output, PolicyInput, Statement, TableSchemas } from '../../engine/schema-types.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }));
const validate = ajv.compile(JSON.parse(readFileSync(new URL('../../schemas/input.schema.json', import.meta.url), 'utf8')) as object);

export const PROJECT = 'acme-analytics';
export const CUSTOMERS = 'acme-analytics.crm.customers';
export const ORDERS = 'acme-analytics.sales.orders';

export const identity: Identity = {
  subject: 'report-bot@agents.acme.example',
  issuer: 'https://idp.acme.example',
  kind: 'agent',
  groups: ['agents'],
  claims: { email: 'report-bot@agents.acme.example' },
};

export const schemas: TableSchemas = {
  [CUSTOMERS]: [
    { name: 'id', type: 'INT64', mode: 'REQUIRED' },
    { name: 'Name', type: 'STRING' },
    { name: 'email', type: 'STRING' },
    { name: 'ssn', type: 'STRING' },
    {
      name: 'address',
      type: 'RECORD',
      fields: [
        { name: 'street', type: 'STRING' },
        { name: 'city', type: 'STRING' },
      ],
    },
    { name: 'tags', type: 'STRING', mode: 'REPEATED' },
  ],
  [ORDERS]: [
    { name: 'id', type: 'INT64' },
    { name: 'customer_id', type: 'INT64' },
    { name: 'total', type: 'NUMERIC' },
    {
      name: 'items',
      type: 'RECORD',
      mode: 'REPEATED',
      fields: [
        { name: 'sku', type: 'STRING' },
        { name: 'qty', type: 'INT64' },
      ],
    },
  ],
};

export type RunOptions = Partial<Omit<NormalizeRequest, 'sql'>>;

/** Normalizes and asserts the document validates against the input schema. */
export function run(sql: string, options: RunOptions = {}): PolicyInput {
  const input = normalize({ identity, project: PROJECT, ...options, sql });
  const valid = validate(input);
  expect(validate.errors ?? [], `schema errors for ${JSON.stringify(sql)}`).toEqual([]);
  expect(valid).toBe(true);
  return input;
}

/** The only statement of a one-statement text. */
export function statement(sql: string, options: RunOptions = {}): Statement {
  const statements = run(sql, options).sql.statements;
  expect(statements).toHaveLength(1);
  return statements[0]!;
}

/** Every table any statement of the text names, sorted. */
export function readTables(sql: string): string[] {
  return [...new Set(run(sql).sql.statements.flatMap((s) => s.tables.map((t) => t.id)))].sort();
}

/** `id:mode` of each table ref, in order. */
export function tables(s: Statement): string[] {
  return s.tables.map((t) => `${t.id}:${t.mode}`);
}

/** `table:column` of each referenced column, sorted. */
export function columns(s: Statement): string[] {
  return s.columns.map((c) => `${c.table}:${c.column}`).sort();
}

/** `table:column` of each predicate column, sorted. */
export function predicates(s: Statement): string[] {
  return s.predicate_columns.map((c) => `${c.table}:${c.column}`).sort();
}

export function sources(o: Output): string[] {
  return o.sources.map((c) => `${c.table}:${c.column}`).sort();
}

export function output(s: Statement, name: string): Output {
  const found = s.outputs.filter((o) => o.name === name);
  expect(found, `outputs named ${name} in ${JSON.stringify(s.outputs.map((o) => o.name))}`).toHaveLength(1);
  return found[0]!;
}

/** A compact view of an output: name, lineage, direct, sorted sources (and candidate tables). */
export function summary(o: Output): { name: string; lineage: string; direct: boolean; sources: string[]; tables?: string[] } {
  const s = { name: o.name, lineage: o.lineage, direct: o.direct, sources: sources(o) };
  return o.tables === undefined ? s : { ...s, tables: [...o.tables].sort() };
}

export interface FrontEndOptions {
  defaultDataset?: string;
  /** Table schemas, for `*` to list columns; none by default. */
  schemas?: TableSchemas;
}

/** The front end alone (analyzeSql, no policy input around it): the only statement of a one-statement text. */
export function analysed(sql: string, options: FrontEndOptions = {}): Statement {
  const names = { project: PROJECT, defaultDataset: parseDefaultDataset(options.defaultDataset, PROJECT) };
  const statements = analyzeSql(sql, names, schemaCatalog(options.schemas)).sql.statements;
  expect(statements).toHaveLength(1);
  return statements[0]!;
}

/** `analysed`, and understood: its refusal, if any, is the failure's message. */
export function understood(sql: string, options: FrontEndOptions = {}): Statement {
  const s = analysed(sql, options);
  expect(s.parsed, s.error).toBe(true);
  return s;
}

/** `analysed`, refused: the reason. */
export function refusal(sql: string, options: FrontEndOptions = {}): string {
  const s = analysed(sql, options);
  expect(s.parsed).toBe(false);
  return s.error ?? '';
}

/** Each output's name, whether it is a column as read, and its sorted sources. */
export function outputs(s: Statement): { name: string; direct: boolean; sources: string[] }[] {
  return s.outputs.map((o) => ({ name: o.name, direct: o.direct, sources: sources(o) }));
}
