// Typed engine failures. Every one of them ends in a deny decision (fail closed); the code becomes
// the deny reason's code so callers, audit and metrics can tell them apart.
export type EngineErrorCode =
  | 'bundle_invalid'
  | 'entrypoint_missing'
  | 'input_invalid'
  | 'normalize_failed'
  | 'evaluation_failed'
  | 'decision_undefined'
  | 'decision_invalid'
  | 'opa_unavailable'
  | 'policy_invalid';

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.code = code;
  }
}

/** opa-wasm throws strings and plain objects, not Errors: turn anything into readable text. */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  if (typeof thrown === 'string') return thrown;
  if (thrown && typeof thrown === 'object') {
    const message = (thrown as { message?: unknown }).message;
    if (typeof message === 'string') return message;
    try {
      return JSON.stringify(thrown);
    } catch {
      /* fall through */
    }
  }
  return String(thrown);
}
