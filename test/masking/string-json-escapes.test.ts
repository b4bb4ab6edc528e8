import { describe, expect, it } from 'vitest';
import { REDACTED } from '../../gateway/masking/index.ts';
import type { ContentScan } from '../../engine/schema-types.ts';
import { ALL, scannedCell } from './support.ts';

/** A STRING cell after the content scan, as sent. */
const scanString = (text: string, contentScan: ContentScan = ALL) => scannedCell('STRING', text, contentScan);

describe('content scan of JSON text held in a STRING', () => {
  it('reads its quoted literals as the strings a JSON reader decodes', () => {
    // An event payload stored as STRING: `\u002d` is a dash, `\n` a line break, `\u0040` an @.
    expect(JSON.parse(scanString('{"ssn":"078\\u002d05\\u002d1120"}') as string)).toEqual({ ssn: REDACTED });
    expect(JSON.parse(scanString('{"note":"SSN:\\n078-05-1120"}') as string)).toEqual({ note: `SSN:\n${REDACTED}` });
    expect(JSON.parse(scanString('["jane\\u0040example.com", 1]') as string)).toEqual([REDACTED, 1]);
    expect(scanString('said "card\\t4111 1111 1111 1111" twice')).toBe(`said "card\\t${REDACTED}" twice`);
    expect(scanString('{"ssn":"078\\u002d05\\u002d1120"}', { ...ALL, strategy: 'null' })).toBeNull();
  });

  it('leaves text without a detected value as it was', () => {
    for (const text of ['{"note":"line\\nnext"}', 'C:\\temp\\"x"', 'a "quoted \\" word"', 'no quotes \\u002d here']) {
      expect(scanString(text)).toBe(text);
    }
  });
});
