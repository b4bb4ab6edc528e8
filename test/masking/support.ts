// The content scan on one cell, as the masking tests read it.
import type { ContentScan } from '../../engine/schema-types.ts';
import { compileMasker } from '../../gateway/masking/index.ts';

export const KEY = 'test-hash-key-0123456789abcdef';
/** Every detector, redacting. */
export const ALL: ContentScan = { detectors: ['ssn', 'card', 'email', 'phone'], strategy: 'redact' };

/** One cell of `type` after the content scan, in REST text form, as sent. */
export function scannedCell(type: string, value: string, contentScan: ContentScan = ALL): unknown {
  const masker = compileMasker({ schema: { fields: [{ name: 'cell', type }] }, masks: [], contentScan, hashKey: KEY });
  return masker.maskRows([{ f: [{ v: value }] }]).rows[0]!.f[0]!.v;
}
