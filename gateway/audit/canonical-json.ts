// Canonical JSON: the byte string a record's hash covers. Object keys are sorted by UTF-16 code
// units (as RFC 8785 does), numbers and strings are written the way JSON.stringify writes them,
// no whitespace. The text is a pure function of the value, so anyone can recompute it from the
// parsed record, in any language, whatever key order a database or a tool handed the JSON back in.
//
// Values outside JSON's data model are refused rather than silently changed (JSON.stringify would
// turn NaN into null and drop undefined array items): what is hashed must be exactly what a
// reader parses back.

export class CanonicalJsonError extends TypeError {
  override name = 'CanonicalJsonError';
  /** Where in the value the problem is, as a JSON pointer. */
  pointer = '';
  readonly problem: string;
  constructor(problem: string) {
    super(problem);
    this.problem = problem;
  }
  /** Prefixes a path segment while the error travels up (the happy path builds no paths). */
  under(segment: string | number): this {
    this.pointer = `/${segment}${this.pointer}`;
    this.message = `${this.pointer} ${this.problem}`;
    return this;
  }
}

export function canonicalJson(value: unknown): string {
  try {
    return write(value);
  } catch (thrown) {
    if (thrown instanceof CanonicalJsonError && !thrown.pointer) thrown.message = `(root) ${thrown.problem}`;
    throw thrown;
  }
}

/** Strings that JSON.stringify would escape; everything else can be quoted as is. */
const NEEDS_ESCAPING = /["\\\u0000-\u001f\ud800-\udfff]/;

function quote(text: string): string {
  return NEEDS_ESCAPING.test(text) ? JSON.stringify(text) : `"${text}"`;
}

function write(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`is ${value}, which JSON cannot hold`);
      return JSON.stringify(value); // -0 becomes 0, as in RFC 8785
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(`is a ${typeof value}, which JSON cannot hold`);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i) out += ',';
      const item: unknown = value[i];
      try {
        if (item === undefined) throw new CanonicalJsonError('is undefined');
        out += write(item);
      } catch (thrown) {
        throw thrown instanceof CanonicalJsonError ? thrown.under(i) : thrown;
      }
    }
    return out + ']';
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new CanonicalJsonError(`is a ${(value as object).constructor?.name ?? 'non-plain object'}, not a plain JSON object`);
  }
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys.sort(); // by UTF-16 code units
      break;
    }
  }
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue; // an absent optional property, as JSON.stringify treats it
    if (!first) out += ',';
    first = false;
    try {
      out += `${quote(key)}:${write(item)}`;
    } catch (thrown) {
      throw thrown instanceof CanonicalJsonError ? thrown.under(key.replace(/~/g, '~0').replace(/\//g, '~1')) : thrown;
    }
  }
  return out + '}';
}
