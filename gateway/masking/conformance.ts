// Rows must match the schema they come with before anything reads them: the right number of
// cells, records and lists where the schema says so, and every scalar in its type's REST text
// form. A row that does not (an SSN in an INTEGER column, a record where a string belongs) is
// refused whole; clients would otherwise fail to parse it, or show the value raw. Problems name
// the row and field, never the value.
import { isRecordType, type SchemaField, type TableCell, type TableRow, type TableSchema } from './rows.ts';

/** The REST text form of each scalar type; absent types (STRING, JSON, GEOGRAPHY, new ones) take any text. */
const FORMS: Record<string, RegExp> = {
  INTEGER: /^-?\d{1,20}$/,
  FLOAT: /^(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|NaN|-?Infinity)$/,
  NUMERIC: /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/,
  BOOLEAN: /^(?:true|false)$/i,
  // Epoch seconds as a float (the default), epoch microseconds (useInt64Timestamp) or ISO 8601.
  TIMESTAMP: /^(?:-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,12})?(?:Z|[-+]\d{2}(?::?\d{2})?| UTC)?)$/,
  DATE: /^\d{4}-\d{2}-\d{2}$/,
  TIME: /^\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?$/,
  DATETIME: /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?$/,
  BYTES: /^[A-Za-z0-9+/\-_]*={0,2}$/,
  // Canonical `Y-M D H:M:S[.F]`, or ISO 8601 durations.
  INTERVAL: /^(?:-?\d+-\d+ -?\d+ -?\d+:\d+:\d+(?:\.\d{1,6})?|-?P[\dYMWDTHS.-]*)$/,
  RANGE: /^\[[^,[\]()]*, ?[^,[\]()]*\)$/,
};
const ALIASES: Record<string, string> = { INT64: 'INTEGER', FLOAT64: 'FLOAT', BIGNUMERIC: 'NUMERIC', BOOL: 'BOOLEAN' };

interface FieldCheck {
  /** The field's dotted path from the top-level column (worked out once, not per cell). */
  name: string;
  repeated: boolean;
  form: RegExp | undefined;
  /** For RECORD fields. */
  children: FieldCheck[] | undefined;
}

export type RowsCheck = (rows: readonly unknown[]) => string | undefined;

/** A checker for rows of `schema`; returns a description of the first misfit, or undefined. */
export function compileRowsCheck(schema: TableSchema): RowsCheck {
  const fields = schema.fields.map((f) => checkOf(f, ''));
  return (rows) => {
    for (let r = 0; r < rows.length; r++) {
      const problem = rowProblem(rows[r], fields, '');
      if (problem) return `row ${r} ${problem}`;
    }
    return undefined;
  };
}

function checkOf(field: SchemaField, prefix: string): FieldCheck {
  const type = String(field.type ?? '').toUpperCase();
  const record = isRecordType(type);
  const name = prefix ? `${prefix}.${field.name}` : field.name;
  return {
    name,
    repeated: field.mode === 'REPEATED',
    form: record ? undefined : FORMS[ALIASES[type] ?? type],
    children: record ? (field.fields ?? []).map((f) => checkOf(f as SchemaField, name)) : undefined,
  };
}

function rowProblem(row: unknown, fields: FieldCheck[], path: string): string | undefined {
  const cells = (row as TableRow | null)?.f;
  if (!Array.isArray(cells)) return path ? `field ${path} is not a record` : 'is not a row';
  if (cells.length !== fields.length) return `${path ? `field ${path}` : ''} has ${cells.length} cells where the schema has ${fields.length}`.trimStart();
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const name = field.name;
    const cell = cells[i] as TableCell | null;
    if (typeof cell !== 'object' || cell === null) return `field ${name} is not a cell`;
    const v = cell.v;
    if (v === null || v === undefined) continue;
    if (field.repeated) {
      if (!Array.isArray(v)) return `field ${name} is not a list`;
      for (const element of v) {
        if (typeof element !== 'object' || element === null) return `field ${name} has a list element that is not a cell`;
        const problem = valueProblem((element as TableCell).v, field, name);
        if (problem) return problem;
      }
    } else {
      const problem = valueProblem(v, field, name);
      if (problem) return problem;
    }
  }
  return undefined;
}

function valueProblem(v: unknown, field: FieldCheck, name: string): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (field.children) return rowProblem(v, field.children, name);
  if (typeof v !== 'string') {
    // Some servers send numbers and booleans unquoted; they are still values of their type.
    if (typeof v === 'number' || typeof v === 'boolean') return field.form && !field.form.test(String(v)) ? `field ${name} holds a value that is not of its declared type` : undefined;
    return `field ${name} holds a structured value where a scalar belongs`;
  }
  return field.form && !field.form.test(v) ? `field ${name} holds a value that is not of its declared type` : undefined;
}
