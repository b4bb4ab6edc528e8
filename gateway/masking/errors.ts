// Masking failures. Each one means the gateway cannot guarantee the decision's masks are applied,
// so the caller must refuse the response (fail closed) rather than pass rows through.
export type MaskingErrorCode =
  /** A mask names an output column the result schema does not have. */
  | 'unknown_output'
  /** A mask's path names a field that does not exist under its column. */
  | 'unknown_path'
  /** A mask's path descends into a column or field that is not a RECORD. */
  | 'path_not_record'
  /** A mask is malformed (unknown strategy, `*` with a path, empty name). */
  | 'invalid_mask'
  /** A BigQuery masking rule lands on a column of a type BigQuery does not allow it on (SHA256 on INT64). */
  | 'unsupported_type'
  /** The hash key is missing or too short. */
  | 'invalid_key'
  /** A row or cell does not have the shape the schema promises. */
  | 'row_shape';

export class MaskingError extends Error {
  readonly code: MaskingErrorCode;
  constructor(code: MaskingErrorCode, message: string) {
    super(message);
    this.name = 'MaskingError';
    this.code = code;
  }
}
