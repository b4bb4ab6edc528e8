// The analysis caches' memory budget holds whatever the analyses weigh: a short text can have a
// large analysis (`SELECT *, *, …` over a wide table), so an entry is weighed by its analysis, not
// by its text's length alone.
import { describe, expect, it } from 'vitest';
import { clearNormalizeCache, normalize, normalizeCacheStats } from '../../engine/normalize.ts';
import type { TableSchemas } from '../../engine/schema-types.ts';
import { identity, PROJECT } from './support.ts';

const WIDE = `${PROJECT}.crm.wide`;
const schemas: TableSchemas = { [WIDE]: Array.from({ length: 1000 }, (_, i) => ({ name: `column_${String(i).padStart(4, '0')}`, type: 'STRING' })) };

/** A 40-character text whose analysis names 10,000 output columns (about 1.4 MB as JSON). */
const wide = (n: number) => `SELECT ${Array(10).fill('*').join(', ')} FROM crm.wide AS t${n}`;

function analysed(sql: string): boolean {
  const before = normalizeCacheStats().analysed;
  normalize({ identity, project: PROJECT, sql, schemas });
  return normalizeCacheStats().analysed > before;
}

describe('analysis cache budget', () => {
  it('evicts short texts whose analyses are large once they outweigh the budget', () => {
    clearNormalizeCache();
    expect(JSON.stringify(normalize({ identity, project: PROJECT, sql: wide(0), schemas }).sql.statements).length).toBeGreaterThan(1_000_000);
    expect(analysed(wide(0))).toBe(true); // a text is cached the second time it comes
    expect(analysed(wide(0))).toBe(false); // cached
    // 60 such analyses are over 80 MB as JSON, more as objects: beyond the 64 MB budget.
    for (let n = 1; n <= 60; n++) {
      expect(analysed(wide(n))).toBe(true);
      expect(analysed(wide(n))).toBe(true);
    }
    expect(analysed(wide(0))).toBe(true); // evicted, analysed again
    expect(analysed(wide(60))).toBe(false); // the most recent is still cached
  });
});
