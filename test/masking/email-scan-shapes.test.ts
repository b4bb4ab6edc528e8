import { describe, expect, it } from 'vitest';
import { compileContentScanner } from '../../gateway/masking/detectors.ts';
import { REDACTED } from '../../gateway/masking/index.ts';
import { ALL } from './support.ts';

const scan = (text: string) => compileContentScanner(ALL, () => REDACTED).scan(text);

describe('content scan of e-mail addresses in every shape an address takes', () => {
  it.each([
    // A local part that starts with `_`, `-` or `+`: the address was not found at all.
    ['_jane@example.com', REDACTED],
    ['write to __admin@example.com now', `write to ${REDACTED} now`],
    ['-x@example.com', REDACTED],
    // An apostrophe or a letter beyond ASCII in the local part: only its end was masked.
    ["o'brien@example.com", REDACTED],
    ['jöhn.doe@example.com', REDACTED],
    ['иван@example.com', REDACTED],
    // Internationalised domains and top-level domains, and punycode ones: not found at all.
    ['write to jane@bücher.de today', `write to ${REDACTED} today`],
    ['jane@пример.рф', REDACTED],
    ['jane@example.xn--p1ai', REDACTED],
  ])('finds %s', (text, masked) => {
    expect(scan(text)).toBe(masked);
  });

  it.each([
    ['请联系jane@example.com。谢谢', `请联系${REDACTED}。谢谢`],
    ['https://x.com/?user=jane@example.com&a=1', `https://x.com/?user=${REDACTED}&a=1`],
    ['jane.doe+x@mail.example.co.uk!', `${REDACTED}!`],
    ['no at sign here, nor user@localhost', 'no at sign here, nor user@localhost'],
    ['café au lait, naïve résumé', 'café au lait, naïve résumé'],
  ])('masks no more than the address in %s', (text, masked) => {
    expect(scan(text)).toBe(masked);
  });

  it('stays linear on long runs without an address', () => {
    const started = performance.now();
    for (const text of ['aé'.repeat(100_000) + '@', "a'".repeat(100_000) + '@', 'x@' + 'ü.'.repeat(100_000), ('x@' + 'ü-'.repeat(50)).repeat(2000)]) scan(text);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
