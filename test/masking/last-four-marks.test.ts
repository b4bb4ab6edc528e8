import { describe, expect, it } from 'vitest';
import { compileMasker } from '../../gateway/masking/index.ts';
import { KEY } from './support.ts';

function lastFour(v: string): string {
  const masker = compileMasker({ schema: { fields: [{ name: 'v', type: 'STRING' }] }, masks: [{ output: 'v', strategy: 'last-4' }], hashKey: KEY });
  return masker.maskRows([{ f: [{ v }] }]).rows[0]!.f[0]!.v as string;
}

/** The code points of `masked` that are not `*`, separators aside. */
const shown = (masked: string) => Array.from(masked).filter((c) => /[\p{L}\p{N}\p{M}]/u.test(c));

describe('last-4 on text with combining marks', () => {
  it('hides a vowel sign or accent with the letter it belongs to, so at most four characters show', () => {
    // Devanagari vowel signs and the virama are marks, not letters: left in place they spelled
    // out the whole surname (शर्मा) next to the three letters kept.
    const name = 'किरण शर्मा';
    const masked = lastFour(name);
    expect(masked).not.toContain('शर्मा');
    expect(shown(masked).length).toBeLessThanOrEqual(4);
    expect(masked.endsWith('मा')).toBe(true);
    // A decomposed accent shows nothing of the letter it sits on.
    expect(lastFour('Zoe\u0308 Ørsted 4455')).toBe('**** ****** 4455');
    expect(shown(lastFour('e\u0301e\u0301e\u0301e\u0301')).length).toBeLessThanOrEqual(4);
  });
});
