// Before deciding, the gateway fetches the schema of each table a text names (tables.get
// upstream), so that `SELECT *` expands. One text naming thousands of tables would fan out into
// thousands of upstream calls before its refusal: past what one query may reference (1,000
// tables, BigQuery's limit, past which the analysis refuses the statement), none is fetched.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { faultyUpstream, type FaultyUpstream } from '../support/faulty-upstream.double.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const QUERIES = `/bigquery/v2/projects/${PROJECT}/queries`;
const naming = (n: number) => `SELECT 1 AS x FROM ${Array.from({ length: n }, (_, i) => `sales.t${i}`).join(', ')}`;

let stack: Stack;
let upstream: FaultyUpstream;
beforeAll(async () => {
  stack = await startStack({ upstream: async (url) => (upstream = await faultyUpstream(url)).url });
}, 120_000);
afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});
beforeEach(() => upstream.reset());

const query = (sql: string) => stack.fetch(QUERIES, { method: 'POST', agent: 'reporting-agent', body: JSON.stringify({ query: sql, useLegacySql: false }) });

describe('schemas fetched before a decision', () => {
  it('one per table named, up to what one query may reference', async () => {
    await query(naming(3));
    expect(upstream.calls['tables.get']).toBe(3);
  });

  it('none for a text naming more tables than one query may reference, which is refused', async () => {
    const refused = await query(naming(1001));
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/references tables 1001 times, more than BigQuery's limit of 1000/);
    expect(upstream.calls['tables.get']).toBe(0);
    expect(upstream.calls['dry run']).toBe(0);
  }, 30_000);
});
