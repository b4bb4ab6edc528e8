// A client retrying jobs.query with the same requestId (the official clients do, on 5xx) gets the
// same job back from BigQuery. The gateway serves its own caller's retry, and refuses anyone else
// presenting that requestId: the job, and its results, stay the first caller's.
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

const query = (agent: string, requestId: string) =>
  stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, { method: 'POST', agent, body: JSON.stringify({ query: SQL, useLegacySql: false, requestId }) });

describe('jobs.query retried with the same requestId', () => {
  it('answers the caller again with the same job, masked the same, and refuses another caller', async () => {
    const requestId = randomUUID();
    const first = await query('reporting-agent', requestId);
    expect(first.status).toBe(200);
    expect(first.body.rows[0].f[1].v).toMatch(/^\*\*\*-\*\*-\d{4}$/);
    const retry = await query('reporting-agent', requestId);
    expect(retry.status).toBe(200);
    expect(retry.body.jobReference.jobId).toBe(first.body.jobReference.jobId);
    expect(retry.body.rows).toEqual(first.body.rows);

    // Someone else replaying the requestId would get that job from BigQuery: refused.
    const other = await query('pii-agent', requestId);
    expect(other.status).toBe(403);
    expect(other.body.error.message).toMatch(/already known to the gateway under another request/);

    const pages = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries/${first.body.jobReference.jobId}`, { agent: 'reporting-agent' });
    expect(pages.status).toBe(200);
    expect(pages.body.rows).toEqual(first.body.rows);
  });
});
