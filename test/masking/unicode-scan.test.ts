// A value spelled with other scripts' digits, fullwidth forms, Unicode dashes and spaces, or
// with invisible characters between its digits reads the same to the agent (and the model
// behind it) as its ASCII spelling; the content scan finds it in either, and masks the text as
// written. The audit trail's scrubber is the same scanner.
import { describe, expect, it } from 'vitest';
import { REDACTED } from '../../gateway/masking/index.ts';
import type { ContentScan } from '../../engine/schema-types.ts';
import { ALL, scannedCell } from './support.ts';

const scan = (note: string, contentScan: ContentScan = ALL) => scannedCell('STRING', note, contentScan);

describe('content scan of Unicode spellings', () => {
  it.each([
    ['fullwidth digits and dashes', 'ssn ０７８－０５－１１２０ on file'],
    ['Arabic-Indic digits', 'ssn ٠٧٨-٠٥-١١٢٠ on file'],
    ['Devanagari digits', 'ssn ०७८-०५-११२० on file'],
    ['mathematical bold digits (outside the BMP)', 'ssn 𝟎𝟕𝟖-𝟎𝟓-𝟏𝟏𝟐𝟎 on file'],
    ['a minus sign and an en dash', 'ssn 078−05–1120 on file'],
    ['zero-width spaces between the digits', 'ssn 07\u200b8-05-11\u200b20 on file'],
    ['a soft hyphen inside', 'ssn 078-0\u00ad5-1120 on file'],
  ])('finds an SSN written with %s', (_, note) => {
    expect(scan(note)).toBe(`ssn ${REDACTED} on file`);
  });

  it('finds cards, phones and emails in other spellings', () => {
    expect(scan('card ４１１１\u3000１１１１\u3000１１１１\u3000１１１１.')).toBe(`card ${REDACTED}.`);
    expect(scan('call （２１２） ５５５－０１４７ now')).toBe(`call ${REDACTED} now`);
    expect(scan('mail ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ please')).toBe(`mail ${REDACTED} please`);
  });

  it('keeps the text around a match as written, and nulls the value under a nulling strategy', () => {
    expect(scan('José: ０７８－０５－１１２０, Zoë: 078-05-1120')).toBe(`José: ${REDACTED}, Zoë: ${REDACTED}`);
    expect(scan('José ０７８－０５－１１２０', { ...ALL, strategy: 'null' })).toBeNull();
    expect(scan('ssn ０７８－０５－１１２０', { detectors: ['ssn'], strategy: 'last-4' })).toMatch(/^ssn .*１１２０$/u);
  });

  it('leaves harmless non-ASCII text alone', () => {
    for (const note of ['Zoë Müller, Straße 12', '電話 ０３', 'Luhn fails: ４１１１ １１１１ １１１１ １１１２', 'दिनांक २०२४-०१-१५']) {
      expect(scan(note)).toBe(note);
    }
  });
});

describe('content scan of mixed spellings', () => {
  it('finds a folded value after enough ASCII digits were already seen', () => {
    expect(scan('order 1234567890123, ssn ０７８－０５－１１２０')).toBe(`order 1234567890123, ssn ${REDACTED}`);
  });
});
