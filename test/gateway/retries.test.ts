// A client retrying jobs.query with the same requestId (the official clients do, on 5xx) gets the
// same job back from BigQuery. The gateway scopes the id to its caller before it goes upstream, so
// a caller's own retry finds its job again, and anyone else presenting that requestId runs a query
// of their own: the job, and its results, stay the first caller's.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestIdIdempotency } from '../support/request-id-idempotency.double.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const SQL = 'SELECT customer_id, ssn FROM crm.customers ORDER BY customer_id LIMIT 5';
let stack: Stack;
let double: Awaited<ReturnType<typeof requestIdIdempotency>> | undefined;

beforeAll(async () => {
  stack = await startStack({
    upstream: async (emulatorUrl) => {
      double = await requestIdIdempotency(emulatorUrl);
      return double.url;
    },
  });
});

afterAll(async () => {
  await stack?.close();
  await double?.close();
});

const query = (agent: string, requestId: string, extra: Record<string, unknown> = {}) =>
  stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, { method: 'POST', agent, body: JSON.stringify({ query: SQL, useLegacySql: false, requestId, ...extra }) });

describe('jobs.query retried with the same requestId', () => {
  it("answers the caller again with the same job, masked the same, and never another caller's", async () => {
    const requestId = randomUUID();
    const first = await query('reporting-agent', requestId);
    expect(first.status).toBe(200);
    expect(first.body.rows[0].f[1].v).toMatch(/^\*\*\*-\*\*-\d{4}$/);
    const retry = await query('reporting-agent', requestId);
    expect(retry.status).toBe(200);
    expect(retry.body.jobReference.jobId).toBe(first.body.jobReference.jobId);
    expect(retry.body.rows).toEqual(first.body.rows);

    // Someone else replaying the requestId runs a query of their own.
    const other = await query('pii-agent', requestId);
    expect(other.status).toBe(200);
    expect(other.body.jobReference.jobId).not.toBe(first.body.jobReference.jobId);
    expect(other.body.rows[0].f[1].v).toMatch(/^\d{3}-\d{2}-\d{4}$/); // pii-agent reads SSNs raw

    const pages = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries/${first.body.jobReference.jobId}`, { agent: 'reporting-agent' });
    expect(pages.status).toBe(200);
    expect(pages.body.rows).toEqual(first.body.rows);
  });

  it("never hands a masked caller a PII reader's rows through a replayed requestId, not even on a dry run", async () => {
    const requestId = randomUUID();
    const raw = await query('pii-agent', requestId);
    expect(raw.status).toBe(200);
    // The same id on a dry run naming harmless columns as the PII ones: a dry run of its own.
    const dry = await query('reporting-agent', requestId, { query: 'SELECT order_id AS customer_id, product AS ssn FROM sales.orders', dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body.rows ?? []).toEqual([]);
    expect(JSON.stringify(dry.body)).not.toContain(raw.body.rows[0].f[1].v);
    // A dry run's answer carrying rows (BigQuery repeating an earlier answer) has them dropped.
    const repeated = await query('pii-agent', requestId, { dryRun: true });
    expect(repeated.status).toBe(200);
    expect(repeated.body.rows).toBeUndefined();
  });
});
