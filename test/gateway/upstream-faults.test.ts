// The upstream misbehaving (test/support/faulty-upstream.double.ts in front of the emulator):
// every unusable answer is a 502 backendError that says what was wrong, the official clients'
// retries do not reach the upstream while the caller waits out the fault, no sensitive value in
// an unexpected column reaches the agent, each audit record holds exactly what the agent got,
// and a job the gateway stops waiting on is cancelled upstream.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REFERENCE_CLIENTS } from '../../demo/idp.ts';
import { listRecords, type StoredRecord } from '../../gateway/audit/index.ts';
import { faultyUpstream, type ExtraColumn, type Fault, type FaultyUpstream } from '../support/faulty-upstream.double.ts';
import { pythonKilledMidQuery, pythonQueries } from '../support/python-client.ts';
import { PROJECT, agentClient, startStack, type Stack } from '../support/stack.ts';

const AGENTS = Array.from({ length: 100 }, (_, i) => ({ name: `agent-${i}`, groups: ['agents'] }));
let next = 0;
/** A caller of its own for each case: the fault backoff is per caller. */
const freshAgent = () => `agent-${next++}`;

const SALES = 'SELECT order_id, units FROM sales.orders ORDER BY order_id LIMIT 3';
const queries = `/bigquery/v2/projects/${PROJECT}/queries`;

let stack: Stack;
let upstream: FaultyUpstream;

beforeAll(async () => {
  stack = await startStack({
    upstream: async (url) => (upstream = await faultyUpstream(url)).url,
    connection: { timeout_ms: 3000 },
    idp: { clients: [...REFERENCE_CLIENTS, ...AGENTS] },
  });
});

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

beforeEach(() => upstream.reset());

async function query(agent: string, requestId: string, sql = SALES, init: { signal?: AbortSignal } = {}) {
  return stack.fetch(queries, { method: 'POST', agent, headers: { 'x-request-id': requestId }, body: JSON.stringify({ query: sql, useLegacySql: false }), ...init });
}

/** jobs.insert of a query job with the caller's own id. */
function insertJob(agent: string, jobId: string, init: { requestId?: string; signal?: AbortSignal } = {}) {
  return stack.fetch(`/bigquery/v2/projects/${PROJECT}/jobs`, {
    method: 'POST',
    agent,
    headers: { 'x-request-id': init.requestId ?? `insert-${jobId}` },
    body: JSON.stringify({ jobReference: { projectId: PROJECT, jobId }, configuration: { query: { query: SALES, useLegacySql: false } } }),
    ...(init.signal && { signal: init.signal }),
  });
}

/** The same, hanging up after 200 ms. */
function insertJobThenHangUp(agent: string, jobId: string) {
  return insertJob(agent, jobId, { signal: AbortSignal.timeout(200) }).catch(() => undefined);
}

async function until<T>(probe: () => Promise<T | undefined>, waitMs = 3000): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('gave up waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function requestRecord(requestId: string, waitMs = 3000): Promise<StoredRecord['record'] & { data: Record<string, any> }> {
  const until = Date.now() + waitMs;
  for (;;) {
    const found = (await listRecords(stack.gateway.database.db, { requestId, kinds: ['request'] }))[0];
    if (found) return found.record as StoredRecord['record'] & { data: Record<string, any> };
    if (Date.now() > until) throw new Error(`no request record for ${requestId}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const GARBAGE: [string, Fault, string][] = [
  ['HTML on a 200', { kind: 'html' }, 'a body that is not JSON (57 bytes of text/html)'],
  ['JSON declared as text', { kind: 'json-as-text' }, 'declared as text/plain'],
  ['JSON of the wrong shape', { kind: 'wrong-shape' }, 'query results that has a jobReference that is not a job reference'],
  ['a body cut short of its length', { kind: 'cut-with-length' }, 'cut off after'],
  ['a chunked body cut off', { kind: 'cut-chunked' }, 'cut off after'],
];

describe('an unusable upstream answer', () => {
  it.each(GARBAGE)('%s is a 502 backendError saying so, recorded as sent; the same caller is then held back without reaching the upstream', async (_, fault, says) => {
    const agent = freshAgent();
    upstream.fault('jobs.query', fault);
    const first = await query(agent, `garbage-${agent}`);
    expect(first.status).toBe(502);
    expect(first.body.error.errors[0].reason).toBe('backendError');
    expect(first.body.error.message).toContain(says);
    const record = await requestRecord(`garbage-${agent}`);
    expect(record.data.status).toBe(502);
    expect(record.data.error).toEqual({ reason: 'backendError', message: first.body.error.message });
    expect(upstream.calls['jobs.query']).toBe(1);

    const retry = await query(agent, `garbage-retry-${agent}`);
    expect(retry.status).toBe(503);
    expect(retry.body.error.errors[0].reason).toBe('backendError');
    expect(retry.body.error.message).toContain('its last answer to you could not be used');
    expect((await requestRecord(`garbage-retry-${agent}`)).data.status).toBe(503);
    expect(upstream.calls['jobs.query']).toBe(1); // nor a dry run for it
    expect(upstream.calls['dry run']).toBe(1);
  });

  it('holds back only the caller it failed for', async () => {
    const [a, b] = [freshAgent(), freshAgent()];
    upstream.fault('jobs.query', { kind: 'html' });
    expect((await query(a, `only-${a}`)).status).toBe(502);
    upstream.fault('jobs.query', undefined);
    expect((await query(b, `only-${b}`)).status).toBe(200);
    expect((await query(a, `only-again-${a}`)).status).toBe(503);
  });

  it('holds back the MCP check_query of a caller waiting out a fault (no dry run is sent), and a fault of its dry run holds the caller back', async () => {
    const checkQuery = async (agent: string, sql: string) => {
      const res = await fetch(stack.mcpResource, {
        method: 'POST',
        headers: { authorization: `Bearer ${await stack.mcpToken(agent)}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'check_query', arguments: { sql } } }),
      });
      const text = await res.text();
      const json = JSON.parse(text.startsWith('{') ? text : text.split('\n').find((l) => l.startsWith('data: '))!.slice(6));
      return json.result as { isError?: boolean; _meta?: Record<string, any>; structuredContent?: any };
    };
    const a = freshAgent();
    upstream.fault('jobs.query', { kind: 'html' });
    expect((await query(a, `mcp-held-${a}`)).status).toBe(502);
    const dryRuns = upstream.calls['dry run'];
    const held = await checkQuery(a, 'SELECT order_id FROM sales.orders');
    expect(held.isError).toBe(true);
    expect(held._meta?.['sluice.dev/error']).toMatchObject({ code: 503, reason: 'backendError' });
    expect(upstream.calls['dry run']).toBe(dryRuns);

    const b = freshAgent();
    upstream.fault('jobs.query', undefined);
    upstream.fault('dry run', { kind: 'html' });
    const failed = await checkQuery(b, 'SELECT units FROM sales.orders');
    expect(failed._meta?.['sluice.dev/error']).toMatchObject({ code: 502 });
    upstream.fault('dry run', undefined);
    const before = upstream.calls['dry run'];
    expect((await query(b, `mcp-then-rest-${b}`)).status).toBe(503);
    expect(upstream.calls['dry run']).toBe(before);
  });

  it('rows that do not match their schema are refused whole, naming the field but never the value', async () => {
    const agent = freshAgent();
    upstream.fault('jobs.query', { kind: 'extra-columns', columns: [{ name: 'leak', type: 'INTEGER', value: '123-45-6701' }] });
    const res = await query(agent, `mistyped-${agent}`);
    expect(res.status).toBe(502);
    expect(res.body.error.message).toContain('row 0 field leak holds a value that is not of its declared type');
    expect(JSON.stringify(res.body)).not.toContain('123-45-6701');
    expect(JSON.stringify(await requestRecord(`mistyped-${agent}`))).not.toContain('123-45-6701');
  });

  it.each(['INTEGER', 'FLOAT', 'NUMERIC', 'BIGNUMERIC', 'BOOLEAN', 'DATE', 'TIME', 'DATETIME', 'TIMESTAMP', 'INTERVAL', 'RANGE'])(
    'an SSN or an e-mail in an extra %s column refuses the whole answer',
    async (type) => {
      for (const value of ['123-45-6701', 'jane.doe@example.com']) {
        const agent = freshAgent();
        upstream.fault('jobs.query', { kind: 'extra-columns', columns: [{ name: 'leak', type, value }] });
        const res = await query(agent, `mistyped-${agent}`);
        expect(res.status).toBe(502);
        expect(JSON.stringify(res.body)).not.toContain(value);
        expect(JSON.stringify(await requestRecord(`mistyped-${agent}`))).not.toContain(value);
      }
    },
  );

  it('an upstream that does not answer is a 502 at the connection timeout', async () => {
    const agent = freshAgent();
    upstream.fault('jobs.query', { kind: 'hang' });
    const started = Date.now();
    const res = await query(agent, `hang-${agent}`);
    expect(res.status).toBe(502);
    expect(res.body.error.message).toContain('did not answer within 3000 ms');
    expect(Date.now() - started).toBeLessThan(6000);
    const metrics = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
    expect(metrics).toMatch(/sluice_upstream_faults_total\{connection="acme",kind="timeout"\} [1-9]/);
  });
});

describe('upstream error texts', () => {
  it('are shown for a query whose results nothing masks, even though an answer with unexpected columns would be scanned', async () => {
    const res = await query(freshAgent(), `typo-${next}`, 'SELECT no_such_column FROM sales.orders');
    expect(res.status).toBe(400);
    expect(res.body.error.errors[0].reason).toBe('invalidQuery');
    expect(res.body.error.message).toContain('no_such_column');
  });

  it("are withheld from a finished query's errors and warnings for a query that reads masked columns", async () => {
    const agent = freshAgent();
    const sql = 'SELECT customer_id, name FROM crm.customers ORDER BY customer_id LIMIT 2';
    const warnings: Fault = { kind: 'warnings', errors: [{ reason: 'invalid', message: "Error while reading data, error message: 'Ada Sampleton' is not a valid value" }] };
    upstream.fault('jobs.query', warnings);
    upstream.fault('jobs.getQueryResults', warnings);
    const res = await stack.fetch(queries, { method: 'POST', agent, headers: { 'x-request-id': `warned-${agent}` }, body: JSON.stringify({ query: sql, useLegacySql: false, maxResults: 1 }) });
    expect(res.status).toBe(200);
    expect(res.body.rows).toHaveLength(2);
    expect(res.body.errors[0].reason).toBe('invalid');
    const page = await stack.fetch(`${queries}/${res.body.jobReference.jobId}?startIndex=1`, { agent });
    expect(page.status).toBe(200);
    for (const answer of [res.body, page.body]) {
      expect(JSON.stringify(answer)).not.toContain('Ada Sampleton');
      expect(answer.errors[0].message).toContain('withheld');
    }
  });

  it('are withheld for a query that reads masked columns (they can quote values)', async () => {
    const res = await query(freshAgent(), `typo-pii-${next}`, 'SELECT name, CAST(notes AS INT64) AS n FROM crm.customers');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('withheld');
    expect(res.body.error.message).not.toMatch(/\d{3}-\d{2}-\d{4}|@example/);
  });
});

describe('the official clients against a failing upstream', () => {
  const CASES: [string, Fault][] = [
    ...GARBAGE.map(([name, fault]): [string, Fault] => [name, fault]),
    ['no answer', { kind: 'hang' }],
    ['an SSN in an INTEGER column', { kind: 'extra-columns', columns: [{ name: 'leak', type: 'INTEGER', value: '123-45-6701' }] }],
  ];

  it('get backendError in every case, and the upstream hears of each client at most twice while it retries', async () => {
    // Every case at once, each client with SQL of its own that the double recognises.
    const sqlOf = (i: number, client: string) => `SELECT 'case_${i}_${client}' AS fault_case, order_id FROM sales.orders LIMIT 2`;
    CASES.forEach(([, fault], i) => {
      for (const client of ['node', 'python']) upstream.fault('jobs.query', fault, `case_${i}_${client}`);
    });
    const outcomes = await Promise.all(
      CASES.map(async ([name], i) => {
        const [nodeAgent, pythonAgent] = [freshAgent(), freshAgent()];
        const node = agentClient(stack.gatewayUrl, () => stack.token(nodeAgent));
        const [nodeError, [python]] = await Promise.all([
          node.query({ query: sqlOf(i, 'node') }).then(
            () => undefined,
            (error: { code?: number; errors?: { reason?: string }[]; message?: string }) => error,
          ),
          stack.token(pythonAgent).then((token) => pythonQueries(stack.gatewayUrl, token, [{ sql: sqlOf(i, 'python'), method: 'query_and_wait' }], { retryDeadlineSeconds: 8 })),
        ]);
        return { name, i, nodeError, python: python!, nodeAgent, pythonAgent };
      }),
    );
    for (const { name, i, nodeError, python, nodeAgent, pythonAgent } of outcomes) {
      const context = `${name}: node ${JSON.stringify(nodeError?.errors)}, python ${JSON.stringify(python.error)}`;
      expect([502, 503], context).toContain(nodeError?.code);
      expect(nodeError?.errors?.[0]?.reason, context).toBe('backendError');
      expect([502, 503], context).toContain(python.error?.code);
      expect(python.error?.reason, context).toBe('backendError');
      expect(JSON.stringify([nodeError?.message, python.error]), context).not.toContain('123-45-6701');
      // Each client called several times; the upstream heard of it at most twice.
      expect(upstream.hits(`case_${i}_node`), context).toBeLessThanOrEqual(2);
      expect(upstream.hits(`case_${i}_python`), context).toBeLessThanOrEqual(2);
      for (const agent of [nodeAgent, pythonAgent]) {
        const seen = await listRecords(stack.gateway.database.db, { subject: agent, kinds: ['request'], limit: 100 });
        expect(seen.length, context).toBeGreaterThan(2);
      }
    }
  }, 60_000);
});

describe('sensitive values in columns the query did not ask for', () => {
  const COLUMNS: ExtraColumn[] = [
    { name: 'x_string', type: 'STRING', value: 'mail jane.doe@example.com, ssn 078-05-1120' },
    { name: 'x_json', type: 'JSON', value: '{"ssn":"078-05-1120","card":4111111111111111}' },
    { name: 'x_integer', type: 'INTEGER', value: '4111111111111111' },
    { name: 'x_numeric', type: 'NUMERIC', value: '5555555555554444' },
    { name: 'x_bignumeric', type: 'BIGNUMERIC', value: '4111111111111111' },
    { name: 'x_bytes', type: 'BYTES', value: '4111111111111111' },
    { name: 'x_geography', type: 'GEOGRAPHY', value: 'POINT(1 2) jane.doe@example.com' },
    { name: 'x_record', type: 'RECORD', fields: [{ name: 'phone', type: 'STRING' }], value: { f: [{ v: '+1 212-555-0147' }] } },
  ];
  const RAW = ['jane.doe@example.com', '078-05-1120', '4111111111111111', '5555555555554444', '212-555-0147'];

  beforeEach(() => {
    upstream.fault('jobs.query', { kind: 'extra-columns', columns: COLUMNS, replace: { 0: 'jane.doe@example.com' } });
    upstream.fault('jobs.getQueryResults', { kind: 'extra-columns', columns: COLUMNS, replace: { 0: 'jane.doe@example.com' } });
  });

  it('are masked before the answer leaves, and the record holds the answer as sent', async () => {
    const agent = freshAgent();
    const res = await query(agent, `extra-${agent}`);
    expect(res.status).toBe(200);
    const sent = JSON.stringify(res.body);
    for (const raw of RAW) expect(sent).not.toContain(raw);
    const row = res.body.rows[0].f.map((c: { v: unknown }) => c.v);
    expect(row[0]).toBe('[REDACTED]'); // an answer with unexpected columns is scanned whole
    expect(row.slice(2)).toEqual([
      'mail [REDACTED], ssn [REDACTED]',
      '"[REDACTED]"', // a number in JSON cannot be replaced in place: the whole document is
      null,
      null,
      null,
      null,
      null,
      { f: [{ v: '[REDACTED]' }] },
    ]);
    const record = await requestRecord(`extra-${agent}`);
    expect(JSON.stringify(record.data.response.rows)).toBe(JSON.stringify(res.body.rows)); // byte for byte
    expect(record.data.response.schema).toEqual({ fields: res.body.schema.fields });
    expect(record.data.response.scrubbed_values).toBe(0);
    expect(record.data.redactions).not.toContain('/response/rows');
  });

  it('an answer shaped as asked passes as sent where nothing is sensitive; the record withholds the value and says so', async () => {
    upstream.fault('jobs.query', { kind: 'extra-columns', columns: [], replace: { 0: 'ssn 078-05-1120' } });
    const agent = freshAgent();
    const res = await query(agent, `shaped-${agent}`);
    expect(res.body.rows[0].f[0].v).toBe('ssn 078-05-1120');
    const record = await requestRecord(`shaped-${agent}`);
    expect(JSON.stringify(record)).not.toContain('078-05-1120');
    expect(record.data.response.scrubbed_values).toBe(3);
    expect(record.data.redactions).toContain('/response/rows');
  });

  it('are masked for the Node client and for the Python client on both query paths', async () => {
    const [nodeAgent, pythonAgent] = [freshAgent(), freshAgent()];
    const [nodeRows] = await agentClient(stack.gatewayUrl, () => stack.token(nodeAgent)).query({ query: SALES });
    expect(nodeRows).toHaveLength(3);
    const python = await pythonQueries(stack.gatewayUrl, await stack.token(pythonAgent), [
      { sql: SALES, method: 'query_and_wait' },
      { sql: SALES, method: 'query' },
    ]);
    for (const result of python) expect(result.rows).toHaveLength(3);
    const seen = JSON.stringify([nodeRows, python]);
    for (const raw of RAW) expect(seen).not.toContain(raw);
  });
});

describe('a job the gateway stops waiting on', () => {
  async function cancelOf(jobId: string, waitMs = 3000) {
    const until = Date.now() + waitMs;
    for (;;) {
      const found = upstream.cancels.find((c) => c.jobId === jobId);
      if (found) return found;
      if (Date.now() > until) throw new Error(`job ${jobId} was not cancelled upstream`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('is cancelled within a second of its caller hanging up on a poll, and the cancel is in the record', async () => {
    const agent = freshAgent();
    const jobId = `hangup_${agent.replace('-', '_')}`;
    expect((await insertJob(agent, jobId)).status).toBe(200);
    upstream.fault('jobs.getQueryResults', { kind: 'hang' });
    const gaveUp = await stack
      .fetch(`/bigquery/v2/projects/${PROJECT}/queries/${jobId}?timeoutMs=20000`, { agent, headers: { 'x-request-id': `hangup-${agent}` }, signal: AbortSignal.timeout(500) })
      .then(
        () => undefined,
        () => Date.now(),
      );
    expect(gaveUp).toBeDefined();
    const cancel = await cancelOf(jobId);
    expect(cancel.at - gaveUp!).toBeLessThan(1000);
    const record = await requestRecord(`hangup-${agent}`);
    expect(record.data.status).toBe(499);
    expect(record.data.upstream_cancel).toMatchObject({ job_id: jobId, reason: 'caller_gone' });
  });

  it('is not cancelled when its caller hangs up on a status read (a short client timeout must not end the job)', async () => {
    const agent = freshAgent();
    const jobId = `status_${agent.replace('-', '_')}`;
    expect((await insertJob(agent, jobId)).status).toBe(200);
    upstream.fault('jobs.get', { kind: 'slow', ms: 800 });
    await stack.fetch(`/bigquery/v2/projects/${PROJECT}/jobs/${jobId}`, { agent, signal: AbortSignal.timeout(200) }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1200));
    expect(upstream.calls['jobs.get']).toBe(1);
    expect(upstream.cancels).toEqual([]);
  });

  it('is cancelled within a second of the Python client dying mid-query, and the cancel is in the record', async () => {
    const agent = freshAgent();
    upstream.fault('jobs.getQueryResults', { kind: 'hang' });
    const killedAt = await pythonKilledMidQuery(stack.gatewayUrl, await stack.token(agent), { sql: SALES }, 2000);
    expect(upstream.calls['jobs.getQueryResults']).toBeGreaterThan(0); // it was waiting on a poll
    const jobId = await until(async () => {
      const records = await listRecords(stack.gateway.database.db, { subject: agent, kinds: ['request'], limit: 20 });
      return records.map((r) => (r.record.data as { upstream_cancel?: { job_id: string; reason: string } }).upstream_cancel).find((c) => c?.reason === 'caller_gone')?.job_id;
    });
    const cancel = await cancelOf(jobId);
    expect(cancel.at - killedAt).toBeLessThan(1000);
  });

  it("is cancelled when the Python client's poll outlives the connection timeout", async () => {
    const agent = freshAgent();
    upstream.fault('jobs.getQueryResults', { kind: 'hang' });
    const [result] = await pythonQueries(stack.gatewayUrl, await stack.token(agent), [{ sql: SALES }], { timeoutSeconds: 2, retryDeadlineSeconds: 2 });
    expect(result!.rows).toBeUndefined();
    const records = await listRecords(stack.gateway.database.db, { subject: agent, kinds: ['request'], limit: 20 });
    const cancelled = records.map((r) => (r.record.data as { upstream_cancel?: { job_id: string; reason: string } }).upstream_cancel).find((c) => c);
    expect(cancelled).toMatchObject({ reason: 'upstream_timeout' });
    await cancelOf(cancelled!.job_id);
  });

  it('started by jobs.query is cancelled as soon as the upstream names it, when its caller has gone', async () => {
    const agent = freshAgent();
    upstream.fault('jobs.query', { kind: 'slow', ms: 1500, running: true });
    const sent = Date.now();
    await query(agent, `slow-${agent}`, SALES, { signal: AbortSignal.timeout(300) }).catch(() => undefined);
    const record = await requestRecord(`slow-${agent}`, 5000);
    expect(record.data.status).toBe(499);
    expect(record.data.upstream_cancel).toMatchObject({ reason: 'caller_gone' });
    const cancel = await cancelOf(record.data.upstream_cancel.job_id);
    expect(cancel.at - (sent + 1500)).toBeLessThan(1000);
  });

  it('made by a jobs.insert that timed out is never cancelled by the gateway: the id may name a job made elsewhere', async () => {
    const agent = freshAgent();
    const jobId = `timeout_${agent.replace('-', '_')}`;
    upstream.fault('jobs.insert', { kind: 'hang' });
    const res = await insertJob(agent, jobId, { requestId: `timeout-${agent}` });
    expect(res.status).toBe(502);
    expect(res.body.error.message).toContain('did not answer within 3000 ms');
    expect((await requestRecord(`timeout-${agent}`)).data.upstream_cancel ?? null).toBeNull();
    // The insert had reached BigQuery after all (the double never passed it on: the job is made
    // here). Its owner may still read it, and hanging up on that read cancels nothing either.
    upstream.fault('jobs.insert', undefined);
    await stack.direct().createQueryJob({ query: SALES, jobId });
    upstream.fault('jobs.getQueryResults', { kind: 'hang' });
    await stack.gateway.jobs.get(PROJECT, jobId).then((rec) => expect(rec).toMatchObject({ unconfirmed: true }));
    await new Promise((r) => setTimeout(r, 5_000)); // the caller's fault backoff
    await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries/${jobId}`, { agent, signal: AbortSignal.timeout(300) }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    expect(upstream.calls['jobs.getQueryResults']).toBe(1); // the poll reached the upstream, and was left
    expect(upstream.cancels).toEqual([]);
  }, 20_000);

  it('named by a jobs.insert that BigQuery refuses as a duplicate is not cancelled when the caller hangs up', async () => {
    const agent = freshAgent();
    const jobId = `elsewhere_${agent.replace('-', '_')}`;
    await stack.direct().createQueryJob({ query: SALES, jobId }); // a job made outside the gateway
    upstream.fault('jobs.insert', { kind: 'slow', ms: 800 });
    await insertJobThenHangUp(agent, jobId);
    await new Promise((r) => setTimeout(r, 1500));
    expect(upstream.calls['jobs.insert']).toBe(1);
    expect(upstream.cancels).toEqual([]);
    expect(await stack.gateway.jobs.get(PROJECT, jobId)).toBeUndefined();
  });

  it('made by a jobs.insert whose caller hung up is cancelled once the upstream confirms it made it', async () => {
    const agent = freshAgent();
    const jobId = `left_${agent.replace('-', '_')}`;
    upstream.fault('jobs.insert', { kind: 'slow', ms: 800 });
    await insertJobThenHangUp(agent, jobId);
    const cancel = await cancelOf(jobId);
    expect(cancel.at - upstream.lastCallAt['jobs.insert']!).toBeLessThan(800 + 1000);
  });
});

describe('long polls', () => {
  it('are shortened to end before the connection timeout', async () => {
    const agent = freshAgent();
    const jobId = `poll_${agent.replace('-', '_')}`;
    expect((await insertJob(agent, jobId)).status).toBe(200);
    const page = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries/${jobId}?timeoutMs=600000`, { agent });
    expect(page.status).toBe(200);
    expect(upstream.lastQuery['jobs.getQueryResults']?.get('timeoutMs')).toBe('1500');
  });
});
