// The gateway's schema cache (gateway/upstream/schemas.ts) keeps what tables.get reports whole,
// policy tags included, and the cached schemas reach the normalizer's policy input unchanged.
import { describe, expect, it } from 'vitest';
import { normalize } from '../../engine/normalize.ts';
import type { BigQueryUpstream } from '../../gateway/upstream/bigquery.ts';
import { SchemaCache } from '../../gateway/upstream/schemas.ts';
import { PROJECT, identity } from '../normalize/support.ts';

const TAG = (id: number) => `projects/${PROJECT}/locations/us/taxonomies/4011/policyTags/${id}`;

describe("the gateway's schema cache keeps the tags", () => {
  it('tables.get answers are cached with their policyTags, and the cached schemas give the same tags to normalize', async () => {
    let calls = 0;
    const fields = [
      { name: 'leave_id', type: 'STRING' },
      { name: 'diagnosis', type: 'STRING', policyTags: { names: [TAG(5199)] } },
    ];
    const upstream = {
      async tableSchema() {
        calls++;
        return { schema: { fields: structuredClone(fields) } };
      },
    } as unknown as BigQueryUpstream;
    const cache = new SchemaCache(60);
    const id = `${PROJECT}.workforce.medical_leave`;
    const first = await cache.fetch('acme', upstream, [id], {});
    const second = await cache.fetch('acme', upstream, [id], {});
    expect(calls).toBe(1);
    expect(second).toBe(first);
    expect(second[id]![1]!.policyTags).toEqual({ names: [TAG(5199)] });
    for (const schemas of [first, second]) {
      const input = normalize({ identity, project: PROJECT, sql: 'SELECT diagnosis FROM workforce.medical_leave', schemas });
      expect(input.sql.statements[0]!.tables[0]!.policy_tags).toEqual({ diagnosis: [TAG(5199)] });
    }
  });

  it('a schema read with one upstream credential is never served to another', async () => {
    // Under workload identity each caller reaches BigQuery as itself: what one may see another may not.
    const id = `${PROJECT}.workforce.medical_leave`;
    const fields = [{ name: 'diagnosis', type: 'STRING', policyTags: { names: [TAG(5199)] } }];
    let calls = 0;
    const upstream = {
      async tableSchema(_p: string, _d: string, _t: string, headers: Record<string, string>) {
        calls++;
        return headers.Authorization === 'Bearer hr-agent' ? { schema: { fields: structuredClone(fields) } } : undefined;
      },
    } as unknown as BigQueryUpstream;
    const hr = { Authorization: 'Bearer hr-agent' };
    const other = { Authorization: 'Bearer other-agent' };

    // The caller without access does not empty the cache for the one with it…
    let cache = new SchemaCache(60);
    expect(await cache.fetch('acme', upstream, [id], other)).toEqual({});
    expect((await cache.fetch('acme', upstream, [id], hr))[id]).toEqual(fields);
    // …and is not given what the one with access read.
    cache = new SchemaCache(60);
    expect((await cache.fetch('acme', upstream, [id], hr))[id]).toEqual(fields);
    expect(await cache.fetch('acme', upstream, [id], other)).toEqual({});
    // One credential's reads are still cached for it.
    calls = 0;
    await cache.fetch('acme', upstream, [id], hr);
    await cache.fetch('acme', upstream, [id], other);
    expect(calls).toBe(0);
  });
});
