import { describe, expect, it } from 'vitest';
import { REDACTED } from '../../gateway/masking/index.ts';
import type { ContentScan } from '../../engine/schema-types.ts';
import { ALL, scannedCell } from './support.ts';

/** The JSON cell as the agent's client reads it (parsed), after the content scan. */
function scanJson(doc: string, contentScan: ContentScan = ALL): unknown {
  const v = scannedCell('JSON', doc, contentScan);
  return v === null ? null : JSON.parse(v as string);
}

describe('content scan of JSON text with escapes', () => {
  it('reads the strings a JSON document holds, not their escaped text', () => {
    // BigQuery writes a newline or tab inside a JSON string as \n or \t: the `n` or `t` before the
    // number hid it from the detectors, though the client decodes the raw value.
    expect(scanJson('{"note":"SSN:\\n078-05-1120"}')).toEqual({ note: `SSN:\n${REDACTED}` });
    expect(scanJson('{"note":"card\\t4111 1111 1111 1111"}')).toEqual({ note: `card\t${REDACTED}` });
    expect(scanJson('{"p":"\\r(212) 555-0147"}')).toEqual({ p: `\r${REDACTED}` });
    // Escaped characters inside the value itself.
    expect(scanJson('["078\\u002d05\\u002d1120"]')).toEqual([REDACTED]);
    expect(scanJson('{"k":"x","deep":[{"a":"\\n078-05-1120"}]}')).toEqual({ k: 'x', deep: [{ a: `\n${REDACTED}` }] });
    // Under a strategy that nulls, the whole value goes.
    expect(scanJson('{"note":"\\n078-05-1120"}', { ...ALL, strategy: 'null' })).toBeNull();
    // Nothing found: the document is returned as it was.
    expect(scanJson('{"note":"line\\nnext","n":12345678901234567890}')).toEqual({ note: 'line\nnext', n: 12345678901234567890 });
  });

  it('still masks a number outside any string', () => {
    expect(scanJson('{"a":"\\n","card":4111111111111111}')).toBe(REDACTED);
  });
});
