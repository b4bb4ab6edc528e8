// tabledata.list answers with the cells of `selectedFields` only (in table schema order) but sends
// no schema; the masker needs the schema those rows actually follow, so project the table's own.
import { MaskingError } from './errors.ts';
import { isRecordType, type SchemaField, type TableSchema } from './rows.ts';

/**
 * Projects a table schema onto a `selectedFields` parameter ("a,e.d.f": comma-separated, dotted
 * into RECORDs, case-insensitive). No selection means the whole schema.
 */
export function selectSchemaFields(schema: TableSchema, selectedFields: string | undefined): TableSchema {
  const paths = (selectedFields ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => p.split('.').map((s) => s.trim().toLowerCase()));
  if (paths.length === 0) return schema;
  return { ...schema, fields: project(schema.fields, paths, '') };
}

function project(fields: readonly SchemaField[], paths: string[][], prefix: string): SchemaField[] {
  for (const path of paths) {
    if (!fields.some((f) => f.name.toLowerCase() === path[0])) {
      throw new MaskingError(
        'unknown_output',
        `selected field ${JSON.stringify(prefix + path.join('.'))} is not in the table schema`,
      );
    }
  }
  const out: SchemaField[] = [];
  for (const field of fields) {
    const name = field.name.toLowerCase();
    const mine = paths.filter((p) => p[0] === name);
    if (mine.length === 0) continue;
    // Selecting the field itself (no deeper path) takes all of it.
    if (mine.some((p) => p.length === 1)) {
      out.push(field);
      continue;
    }
    if (!isRecordType(field.type.toUpperCase())) {
      throw new MaskingError('path_not_record', `selected field ${prefix}${field.name} is ${field.type}, not a RECORD`);
    }
    const sub = project(
      (field.fields ?? []) as SchemaField[],
      mine.map((p) => p.slice(1)),
      `${prefix}${field.name}.`,
    );
    out.push({ ...field, fields: sub });
  }
  return out;
}
