// Known table schemas (BigQuery TableFieldSchema shape), indexed for case-insensitive lookup.
// Indexes are built once per schemas object and kept in WeakMaps, so callers that reuse one
// TableSchemas object pay for indexing once.
import type { TableField, TableSchemas } from '../schema-types.ts';

export interface FieldIndex {
  /** Fields in schema order, names lower-cased. */
  readonly list: readonly { readonly name: string; readonly field: TableField }[];
  readonly byName: ReadonlyMap<string, TableField>;
}

export interface SchemaCatalog {
  table(id: string): FieldIndex | undefined;
}

const EMPTY_CATALOG: SchemaCatalog = { table: () => undefined };
const catalogs = new WeakMap<TableSchemas, SchemaCatalog>();
const fieldIndexes = new WeakMap<readonly TableField[], FieldIndex>();

export function fieldIndex(fields: readonly TableField[]): FieldIndex {
  let index = fieldIndexes.get(fields);
  if (index === undefined) {
    const list = fields.map((field) => ({ name: field.name.toLowerCase(), field }));
    index = { list, byName: new Map(list.map((f) => [f.name, f.field])) };
    fieldIndexes.set(fields, index);
  }
  return index;
}

export function schemaCatalog(schemas: TableSchemas | undefined): SchemaCatalog {
  if (schemas === undefined) return EMPTY_CATALOG;
  let catalog = catalogs.get(schemas);
  if (catalog === undefined) {
    const byId = new Map<string, readonly TableField[]>();
    for (const [id, fields] of Object.entries(schemas)) byId.set(id.replaceAll('`', '').toLowerCase(), fields);
    catalog = {
      table(id) {
        const fields = byId.get(id);
        return fields === undefined ? undefined : fieldIndex(fields);
      },
    };
    catalogs.set(schemas, catalog);
  }
  return catalog;
}

export function isRecord(field: TableField): boolean {
  const type = field.type.toUpperCase();
  return type === 'RECORD' || type === 'STRUCT';
}

export function isRepeated(field: TableField): boolean {
  return field.mode === 'REPEATED';
}

/** Pseudo-columns every table (or wildcard table) has without listing them. */
export const PSEUDO_COLUMNS = new Set(['_table_suffix', '_partitiontime', '_partitiondate', '_file_name', '_change_type', '_change_timestamp']);
