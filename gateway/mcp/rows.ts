// BigQuery REST rows (`{f: [{v}]}`, positional, every scalar in its text form) as the objects an
// agent reads: one object per row, keyed by column name, records as objects and repeated fields
// as arrays. Values keep BigQuery's text forms (INT64 as a string keeps its precision).
import type { TableRow, TableSchema } from '../masking/index.ts';

import type { TableField } from '../../engine/schema-types.ts';

type Field = TableField;
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export function rowObjects(schema: TableSchema | undefined, rows: readonly TableRow[] | undefined): Record<string, JsonValue>[] {
  const fields = schema?.fields ?? [];
  return (rows ?? []).map((row) => record(fields, row));
}

function record(fields: readonly Field[], row: TableRow): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  const cells = Array.isArray(row?.f) ? row.f : [];
  fields.forEach((field, i) => {
    out[field.name] = value(field, cells[i]?.v ?? null, true);
  });
  return out;
}

function value(field: Field, v: unknown, top: boolean): JsonValue {
  if (v === null || v === undefined) return null;
  if (top && field.mode === 'REPEATED') return Array.isArray(v) ? v.map((item) => value(field, (item as { v?: unknown })?.v ?? null, false)) : null;
  if ((field.type === 'RECORD' || field.type === 'STRUCT') && field.fields) return record(field.fields, v as TableRow);
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v);
}

/** Column descriptions for a result: name, type, mode, and nested fields. */
export interface Column {
  name: string;
  type: string;
  mode: string;
  fields?: Column[];
}

export function columnsOf(schema: TableSchema | undefined): Column[] {
  const walk = (fields: readonly Field[]): Column[] =>
    fields.map((f) => ({ name: f.name, type: f.type, mode: f.mode ?? 'NULLABLE', ...(f.fields && { fields: walk(f.fields) }) }));
  return walk(schema?.fields ?? []);
}
