// In-flight masking of BigQuery result rows: the gateway compiles one masker per query from the
// decision's masks and content scan, swaps in its schema and passes every page of rows through it.
export { compileMasker, type Masker, type MaskerOptions, type MaskedPage, type MaskStats } from './masker.ts';
export { leafStrategies, type LeafStrategy } from './plan.ts';
export { compileRowsCheck, type RowsCheck } from './conformance.ts';
export { selectSchemaFields } from './selected-fields.ts';
export { MaskingError, type MaskingErrorCode } from './errors.ts';
export { DETECTORS, type Detector, type DetectionCounts } from './detectors.ts';
export { HASH_PREFIX, type HashKey } from './hasher.ts';
export { REDACTED, STRICTEST_STRATEGY, isStrategy, stricter } from './strategies.ts';
export { BIGQUERY_RULES, isBigQueryRule, ruleAllows, type BigQueryRule } from './bigquery-rules.ts';
export type { CellValue, TableCell, TableRow, TableSchema, SchemaField } from './rows.ts';
