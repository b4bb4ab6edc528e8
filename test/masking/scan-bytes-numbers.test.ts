import { describe, expect, it } from 'vitest';
import { scannedCell as scanOne } from './support.ts';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('content scan of BYTES and numbers, as their readers read them', () => {
  it('reads a BYTES value as the text its bytes spell, not as its base64', () => {
    // The client decodes BYTES: these base64 texts are SSNs, cards, addresses and phones to it.
    expect(scanOne('BYTES', b64('SSN 078-05-1120'))).toBeNull();
    expect(scanOne('BYTES', b64('card 4111 1111 1111 1111'))).toBeNull();
    expect(scanOne('BYTES', b64('mail jane@example.com'))).toBeNull();
    expect(scanOne('BYTES', b64('(212) 555-0147'))).toBeNull();
    expect(scanOne('BYTES', Buffer.from('078-05-1120').toString('base64url'))).toBeNull();
    // Its base64 text is still read too (as before).
    expect(scanOne('BYTES', '4111111111111111')).toBeNull();
    // Nothing found: the value is returned as it was.
    expect(scanOne('BYTES', b64('hello world'))).toBe(b64('hello world'));
    expect(scanOne('BYTES', Buffer.from([0xff, 0x00, 0x12, 0x99]).toString('base64'))).toBe('/wASmQ==');
    expect(scanOne('BYTES', '')).toBe('');
  });

  it('reads a FLOAT or NUMERIC in E notation as the number its reader shows', () => {
    // BigQuery writes a FLOAT64 holding 4111111111111111 as 4.111111111111111E15.
    expect(scanOne('FLOAT', '4.111111111111111E15')).toBeNull();
    expect(scanOne('FLOAT64', '5.555555555554444e+15')).toBeNull();
    expect(scanOne('NUMERIC', '4111111111111.111E3')).toBeNull();
    expect(scanOne('BIGNUMERIC', '0.4111111111111111E16')).toBeNull();
    // Not a card (Luhn), not a long number, or already plain: unchanged.
    expect(scanOne('FLOAT', '4.111111111111112E15')).toBe('4.111111111111112E15');
    expect(scanOne('FLOAT', '1.7E9')).toBe('1.7E9');
    expect(scanOne('FLOAT', '2.5E-7')).toBe('2.5E-7');
    expect(scanOne('FLOAT', '1.0E400')).toBe('1.0E400');
    expect(scanOne('NUMERIC', '4111111111111111')).toBeNull();
    expect(scanOne('NUMERIC', '12.50')).toBe('12.50');
  });
});
