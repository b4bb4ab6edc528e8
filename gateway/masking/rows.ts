// BigQuery REST result shapes (jobs.query, jobs.getQueryResults, tabledata.list). Every scalar
// arrives as a string (or null); a RECORD is a nested row; a REPEATED value is a list of cells.
import type { TableField } from '../../engine/schema-types.ts';

export type CellValue = string | null | TableRow | TableCell[];

export interface TableCell {
  v: CellValue;
}

export interface TableRow {
  f: TableCell[];
}

/** A result schema field. BigQuery sends more keys than `TableField` names (precision, scale, ...). */
export type SchemaField = TableField & { [key: string]: unknown };

export interface TableSchema {
  fields: SchemaField[];
}

export function isRecordType(type: string): boolean {
  return type === 'RECORD' || type === 'STRUCT';
}
