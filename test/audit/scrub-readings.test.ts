// The audit trail's scrubber reads a recorded value as its reader would: a JSON string's escapes
// decoded, BYTES' base64 decoded, a number in E notation written out. Each of these spellings of
// an SSN, a card or an address was recorded as it was.
import { describe, expect, it } from 'vitest';
import { prepareEvent } from '../../gateway/audit/prepare.ts';
import type { AuditRequestData } from '../../gateway/audit/index.ts';
import { REDACTED } from '../../gateway/masking/index.ts';
import { plainEvent } from './helpers.ts';

const options = { sqlLiterals: 'redact' as const, maxResponseBytes: 100_000, scrubResponse: true };

function recorded(values: string[]): { values: unknown[]; scrubbed: number } {
  const rows = values.map((v) => ({ f: [{ v }] }));
  const data = prepareEvent(plainEvent(1, { response: { schema: { fields: [{ name: 'c', type: 'STRING' }] }, rows, total_rows: rows.length } }), options, 0).data as AuditRequestData;
  return { values: data.response!.rows.map((r) => r.f[0]!.v), scrubbed: data.response!.scrubbed_values };
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('audit trail scrubbing of values spelled otherwise', () => {
  it('scrubs a JSON text whose strings hold a detected value behind escapes', () => {
    const { values, scrubbed } = recorded(['{"ssn":"078\\u002d05\\u002d1120"}', '{"note":"SSN:\\n078-05-1120"}', '["jane\\u0040example.com"]']);
    expect(values).toEqual([REDACTED, REDACTED, REDACTED]);
    expect(scrubbed).toBe(3);
  });

  it('scrubs BYTES whose bytes spell a detected value', () => {
    const { values, scrubbed } = recorded([b64('SSN 078-05-1120'), b64('card 4111 1111 1111 1111'), Buffer.from('jane@example.com').toString('base64url')]);
    expect(values).toEqual([REDACTED, REDACTED, REDACTED]);
    expect(scrubbed).toBe(3);
  });

  it('scrubs a number in E notation that is a card number written out', () => {
    expect(recorded(['4.111111111111111E15']).values).toEqual([REDACTED]);
  });

  it('leaves other values as they were', () => {
    const harmless = ['{"note":"line\\nnext"}', b64('hello world'), 'abcdefgh', '1.7E9', 'Jane Doe', '2024-01-15'];
    expect(recorded(harmless)).toEqual({ values: harmless, scrubbed: 0 });
  });
});
