// How a client reads a value whose REST text is not what it shows: BYTES are base64 of the bytes
// it decodes, a number in E notation is the number written out, a JSON string's escapes are the
// characters it decodes. The content scan (masker.ts) and the audit trail's scrubber (audit/
// prepare.ts) read values these ways too, so a value they detect is not passed in another spelling.

/**
 * A BYTES value (base64 in REST, or base64url) as the text its bytes spell in UTF-8, which is what
 * a client shows once it has decoded them; undefined when it decodes to nothing.
 */
export function bytesText(base64: string): string | undefined {
  const bytes = Buffer.from(base64, /[-_]/.test(base64) ? 'base64url' : 'base64');
  return bytes.length === 0 ? undefined : UTF8.decode(bytes);
}

const UTF8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * A number's text in plain decimal digits, exponent expanded exactly (`4.111111111111111E15` ->
 * `4111111111111111`), as a client that parses it shows it; undefined when it has no exponent
 * or one too large to write out.
 */
export function plainDecimal(text: string): string | undefined {
  const m = /^([-+]?)(\d*)(?:\.(\d*))?[eE]([-+]?\d+)$/.exec(text);
  if (!m) return undefined;
  const [, sign, whole = '', fraction = '', exp] = m;
  const exponent = Number(exp);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 400) return undefined;
  const digits = whole + fraction;
  const point = whole.length + exponent;
  let out: string;
  if (point <= 0) out = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = digits.slice(0, point) + '.' + digits.slice(point);
  out = out.replace(/^0+(?=\d)/, '');
  if (out.includes('.')) out = out.replace(/\.?0+$/, '');
  return (sign === '-' ? '-' : '') + (out === '' ? '0' : out);
}

/** A JSON string literal, escapes included. */
export const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;

/** The string a JSON string literal decodes to; undefined when it is not one. */
export function decodedJsonString(literal: string): string | undefined {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return undefined;
  }
}

/**
 * A JSON text with each string literal that holds an escape written as the characters it
 * decodes to (`"078\u002d05\u002d1120"` -> `"078-05-1120"`); undefined when it has no escape.
 */
export function jsonUnescaped(text: string): string | undefined {
  if (!text.includes('\\')) return undefined;
  return text.replace(JSON_STRING, (literal) => {
    if (!literal.includes('\\')) return literal;
    const decoded = decodedJsonString(literal);
    return decoded === undefined ? literal : `"${decoded}"`;
  });
}
