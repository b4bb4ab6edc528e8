// Known table schemas (BigQuery TableFieldSchema shape), indexed for case-insensitive lookup.
// Indexes are built once per schemas object and kept in WeakMaps, so callers that reuse one
// TableSchemas object pay for indexing once.
import type { TableField, TableSchemas } from '../schema-types.ts';
import { canonicalTableId } from './tables.ts';

export interface FieldIndex {
  /** Fields in schema order, names lower-cased. */
  readonly list: readonly { readonly name: string; readonly field: TableField }[];
  readonly byName: ReadonlyMap<string, TableField>;
}

export interface SchemaCatalog {
  table(id: string): FieldIndex | undefined;
  /** The table's tagged columns (policyTagsOf; empty when none is), undefined when its schema is unknown. */
  policyTags(id: string): PolicyTags | undefined;
}

const EMPTY_CATALOG: SchemaCatalog = { table: () => undefined, policyTags: () => undefined };
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
    for (const [id, fields] of Object.entries(schemas)) byId.set(canonicalTableId(id.replaceAll('`', '')), fields);
    catalog = {
      table(id) {
        const fields = byId.get(id);
        return fields === undefined ? undefined : fieldIndex(fields);
      },
      policyTags(id) {
        const fields = byId.get(id);
        // Known and untagged is `{}`, so a policy can tell it from unknown (no schema: no tags to go by).
        return fields === undefined ? undefined : (policyTagsOf(fields) ?? NO_TAGS);
      },
    };
    catalogs.set(schemas, catalog);
  }
  return catalog;
}

/** Column path (lower-cased, dotted below a RECORD) → policy tag names, of the tagged columns. */
export type PolicyTags = Readonly<Record<string, readonly string[]>>;

const NO_TAGS: PolicyTags = Object.freeze({});

const policyTagIndexes = new WeakMap<readonly TableField[], PolicyTags | null>();

/**
 * The tagged columns of a table's fields, fields of RECORDs included (each with its own tags, as
 * BigQuery tags leaves); undefined when none is tagged. Worked out once per fields list.
 */
export function policyTagsOf(fields: readonly TableField[]): PolicyTags | undefined {
  let tags = policyTagIndexes.get(fields);
  if (tags === undefined) {
    const found: Record<string, string[]> = {};
    const visit = (list: readonly TableField[], prefix: string): void => {
      for (const field of list) {
        const path = prefix + field.name.toLowerCase();
        const names = field.policyTags?.names?.filter((n) => typeof n === 'string' && n !== '');
        if (names !== undefined && names.length > 0) found[path] = [...new Set(names)];
        if (field.fields !== undefined) visit(field.fields, path + '.');
      }
    };
    visit(fields, '');
    tags = Object.keys(found).length > 0 ? found : null;
    policyTagIndexes.set(fields, tags);
  }
  return tags ?? undefined;
}

export function isRecord(field: TableField): boolean {
  const type = field.type.toUpperCase();
  return type === 'RECORD' || type === 'STRUCT';
}

export function isRepeated(field: TableField): boolean {
  return field.mode === 'REPEATED';
}

/** Pseudo-columns some tables have without listing them (a wildcard table, a partitioned or external one, CHANGES' answer). */
export const PSEUDO_COLUMNS = new Set(['_table_suffix', '_partitiontime', '_partitiondate', '_file_name', '_change_type', '_change_timestamp']);
