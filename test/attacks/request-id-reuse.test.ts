// A caller names its request with X-Request-Id to find its audit records by it. Were an id taken
// again, the records of two requests would read as one: an upstream call left unanswered would
// look answered by the other request's record, and one caller could write records among another
// caller's. An id names one request only: a recorded one, or one held by a request in flight,
// gets the second request an id of the gateway's instead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRecords } from '../../gateway/audit/index.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const QUERIES = `/bigquery/v2/projects/${PROJECT}/queries`;
const SQL = 'SELECT product FROM sales.orders LIMIT 1';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

const query = (agent: string, requestId: string, sql = SQL) =>
  stack.fetch(QUERIES, { method: 'POST', agent, headers: { 'x-request-id': requestId }, body: JSON.stringify({ query: sql, useLegacySql: false }) });
const subjects = async (requestId: string) =>
  (await listRecords(stack.gateway.database.db, { requestId, limit: 100 })).map((r) => (r.record.data as { identity?: { subject?: string } }).identity?.subject);

describe('a caller-chosen request id', () => {
  it('names one request: another caller, or the same one, reusing it gets an id of the gateway\'s', async () => {
    const first = await query('reporting-agent', 'reused-id-1');
    expect(first.status).toBe(200);
    expect(first.headers['x-request-id']).toBe('reused-id-1');

    const other = await query('analyst-bot', 'reused-id-1');
    expect(other.status).toBe(200);
    const given = other.headers['x-request-id'];
    expect(given).not.toBe('reused-id-1');
    expect(given).toMatch(/^[0-9a-f-]{36}$/);
    const again = await query('reporting-agent', 'reused-id-1');
    expect(again.headers['x-request-id']).not.toBe('reused-id-1');

    // The id's records are the first request's only; the others are under their own ids.
    const records = await subjects('reused-id-1');
    expect(records.length).toBeGreaterThan(0);
    expect(new Set(records)).toEqual(new Set(['reporting-agent']));
    expect(new Set(await subjects(String(given)))).toEqual(new Set(['analyst-bot']));
  });

  it('held by a request in flight, names no second request sent meanwhile', async () => {
    const answers = await Promise.all(Array.from({ length: 4 }, () => query('reporting-agent', 'concurrent-id-1')));
    const ids = answers.map((a) => a.headers['x-request-id']);
    expect(ids.filter((id) => id === 'concurrent-id-1')).toHaveLength(1);
    expect(new Set(ids).size).toBe(4);
  });
});
