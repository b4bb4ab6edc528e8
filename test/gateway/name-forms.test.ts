// FROM names that look like a path through an alias (`FROM sales.orders AS crm, `crm.customers``).
// First what BigQuery reads for each name form, from the emulator (which embeds BigQuery's
// analyzer) next to what the normalizer reads; then every form that reads a table, sent through
// the gateway with the official Node and Python clients: masked or refused like its plain
// spelling, never a raw value. Then the two ways the dry run backs the parser up: a dry run naming
// no tables where the upstream always names them, and a dry run refusing the query as invalid.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../gateway/config/load.ts';
import { createGateway, type Gateway } from '../../gateway/server.ts';
import { DEFAULT_AUDIENCE } from '../../demo/idp.ts';
import { DIGIT_TABLE_DDL, GATEWAY_FORMS, NAME_FORMS, REFUSED_FORMS, TABLE_FORMS, LEDGER, tablesSeenIn, type NameForm } from '../support/name-forms.ts';
import { pythonQueries, type PythonResult } from '../support/python-client.ts';
import { readTables } from '../normalize/support.ts';
import { sluice } from '../support/cli.ts';
import { refusal } from '../support/refusals.ts';
import { seededPii } from '../support/seed.ts';
import { agentClient, PROJECT, startStack, type Stack } from '../support/stack.ts';

const AGENT = 'reporting-agent';

let stack: Stack;
let secrets: string[];

beforeAll(async () => {
  stack = await startStack({ connection: { approval_hold: 'refuse' } });
  secrets = await seededPii();
  expect(secrets.length).toBeGreaterThanOrEqual(100);
  // The table DIGIT_FORMS read, straight in the emulator.
  await stack.direct().query({ query: DIGIT_TABLE_DDL, useLegacySql: false });
});

afterAll(async () => {
  await stack?.close();
});

/** Raw seeded PII in an answer (what the agent received). */
function leaked(answer: unknown): string[] {
  const text = JSON.stringify(answer);
  return secrets.filter((s) => text.includes(s));
}

const expectedRefusal = (form: NameForm) => (Array.isArray(form.reads) && form.reads.includes(LEDGER) ? 'approvalRequired' : undefined);

/** Every form that reads a table, sent through the gateway. */
const SENT_FORMS = [...TABLE_FORMS, ...GATEWAY_FORMS];
/** A refusal an agent may get for a form: the policy's, or the upstream's for what the emulator cannot run. */
const REFUSALS = (form: NameForm) => (GATEWAY_FORMS.includes(form) ? ['accessDenied', 'approvalRequired', 'invalidQuery'] : ['accessDenied', 'approvalRequired']);

describe('what BigQuery reads for each name form, next to what the normalizer reads', () => {
  it.each(NAME_FORMS.map((f) => [f.label, f] as const))('%s', async (_label, form) => {
    const direct = await stack
      .direct()
      .query({ query: form.sql, useLegacySql: false })
      .then(([rows]) => ({ rows }), (error: Error) => ({ error }));
    if (form.reads === 'invalid') {
      // Refused: a path into sales.orders, which has no such field, or a spelling BigQuery's parser rejects.
      expect('error' in direct, `BigQuery ran ${form.sql}`).toBe(true);
      // Refused as written, not for want of a table of that name: there is no name to read.
      if (REFUSED_FORMS.includes(form)) expect((direct as { error: Error }).error.message).toMatch(/Syntax error/);
      return;
    }
    expect('rows' in direct, `BigQuery refused ${form.sql}: ${'error' in direct ? direct.error.message : ''}`).toBe(true);
    const rows = (direct as { rows: unknown[] }).rows;
    expect(rows.length).toBeGreaterThan(0);
    // Every table whose values came back is one the form says BigQuery reads, and the normalizer names.
    for (const table of tablesSeenIn(rows)) expect(form.reads).toContain(table);
    expect(readTables(form.sql)).toEqual([...form.reads].sort());
  });
});

describe('through the gateway, the official Node client', () => {
  it.each(SENT_FORMS.map((f) => [f.label, f] as const))('%s: masked or refused, never raw', async (_label, form) => {
    const answer = await stack
      .client(AGENT)
      .query({ query: form.sql })
      .then(([rows]) => ({ rows }), (error: { code: number; errors?: { reason: string }[]; message: string }) => ({ error }));
    if ('rows' in answer) {
      expect(expectedRefusal(form)).toBeUndefined();
      expect(answer.rows.length).toBeGreaterThan(0);
      expect(leaked(answer.rows)).toEqual([]);
    } else {
      const reason = answer.error.errors?.[0]?.reason;
      expect(REFUSALS(form), answer.error.message).toContain(reason);
      expect(answer.error.code).toBe(reason === 'invalidQuery' ? 400 : 403);
      if (expectedRefusal(form)) expect(reason).toBe(expectedRefusal(form));
      expect(leaked(answer.error.message)).toEqual([]);
    }
  });

  it('the leak from the report is masked: last four digits of each SSN, names of both tables in the policy input', async () => {
    const sql = 'SELECT x.ssn FROM sales.orders AS crm JOIN `crm.customers` AS x ON TRUE LIMIT 2';
    const [raw] = await stack.direct().query({ query: sql, useLegacySql: false });
    expect(raw.map((r: { ssn: string }) => r.ssn).every((s: string) => secrets.includes(s))).toBe(true);
    const [rows] = await stack.client(AGENT).query({ query: sql });
    expect(rows).toHaveLength(2);
    for (const row of rows as { ssn: string }[]) expect(row.ssn).toMatch(/^\*{3}-\*{2}-\d{4}$/);
    expect(readTables(sql)).toEqual(['acme-analytics.crm.customers', 'acme-analytics.sales.orders']);
  });

  it('a dataset without an approval path is refused behind an alias of its own name, before anything runs upstream', async () => {
    const before = await stack.upstreamJobs();
    const err = await refusal(stack.client(AGENT).query({ query: 'SELECT x.* FROM sales.orders AS security, `security.incidents` AS x' }));
    expect(err.code).toBe(403);
    expect(err.errors[0]!.reason).toBe('accessDenied');
    expect(err.message).toContain('dataset_access_denied');
    expect(await stack.upstreamJobs()).toBe(before);
  });
});

describe('through the gateway, the official Python client', () => {
  let results: { form: NameForm; method: string; result: PythonResult }[];

  beforeAll(async () => {
    const token = await stack.token(AGENT);
    const queries = SENT_FORMS.flatMap((form) => (['query', 'query_and_wait'] as const).map((method) => ({ form, method })));
    const answers = await pythonQueries(stack.gatewayUrl, token, queries.map(({ form, method }) => ({ sql: form.sql, method })));
    results = queries.map((q, i) => ({ ...q, result: answers[i]! }));
  }, 120_000);

  it('jobs.insert and jobs.query: every form masked or refused, never raw', () => {
    expect(results).toHaveLength(SENT_FORMS.length * 2);
    for (const { form, method, result } of results) {
      const where = `${method}: ${form.sql}`;
      expect(leaked(result), where).toEqual([]);
      if (result.rows) {
        expect(expectedRefusal(form), where).toBeUndefined();
        expect(result.rows.length, where).toBeGreaterThan(0);
      } else {
        expect(REFUSALS(form), where).toContain(result.error.reason);
        expect(result.error.type, where).toBe(result.error.reason === 'invalidQuery' ? 'BadRequest' : 'Forbidden');
        if (expectedRefusal(form)) expect(result.error.reason, where).toBe(expectedRefusal(form));
      }
    }
    // Masked rows reached the client: the SSN forms came back, only the last four digits in clear.
    const join = results.find((r) => r.form.label.startsWith('JOIN') && r.method === 'query')!.result;
    expect(join.rows?.map((r) => r.ssn)).toEqual([expect.stringMatching(/^\*{3}-\*{2}-\d{4}$/), expect.stringMatching(/^\*{3}-\*{2}-\d{4}$/)]);
  });
});

describe('sluice eval', () => {
  const identity = JSON.stringify({ subject: AGENT, groups: ['agents'] });

  it.each([
    ['SELECT x.ssn FROM sales.orders AS crm JOIN `crm.customers` AS x ON TRUE LIMIT 2', 0, /^mask\b/],
    ['SELECT x FROM sales.orders AS crm, `crm.customers` AS x', 3, /^deny\b/],
    ['SELECT x.* FROM sales.orders AS finance, `finance.ledger` AS x', 4, /^approve\b/],
  ] as const)('names the table behind the alias: %s', async (sql, code, outcome) => {
    const run = await sluice(['eval', '--identity', identity, '--sql', sql]);
    expect(run.code, run.stderr).toBe(code);
    expect(run.stdout).toMatch(outcome);
    expect(run.stdout).toContain(sql.includes('ledger') ? 'acme-analytics.finance' : 'acme-analytics.crm.customers');
  });
});

describe('a query the dry run calls invalid', () => {
  // A path into sales.orders, which has no field customers: BigQuery's analyzer refuses it.
  const invalid = 'SELECT x FROM sales.orders AS crm, crm.customers AS x';

  it('is a 400 invalidQuery for the Node client', async () => {
    const err = await refusal(stack.client(AGENT).query({ query: invalid }));
    expect(err.code).toBe(400);
    expect(err.errors[0]!.reason).toBe('invalidQuery');
  });

  it('is an immediate BadRequest for the Python client, on both query paths', async () => {
    const token = await stack.token(AGENT);
    const results = await pythonQueries(stack.gatewayUrl, token, [{ sql: invalid }, { sql: invalid, method: 'query_and_wait' }], { timeoutSeconds: 30 });
    for (const result of results) {
      expect(result.error?.type).toBe('BadRequest');
      expect(result.error?.reason).toBe('invalidQuery');
      // Not retried: the client gives up at once instead of re-sending for minutes.
      expect(result.seconds).toBeLessThan(5);
    }
  });
});

describe('a connection whose upstream must name the tables of every dry run', () => {
  let gateway: Gateway;
  let url: string;

  beforeAll(async () => {
    const config = resolveConfig({
      listen: { host: '127.0.0.1', port: 0 },
      log_level: 'silent',
      storage: { url: 'sqlite::memory:' },
      issuers: [{ issuer: stack.idp.issuer, audience: DEFAULT_AUDIENCE }],
      // require_referenced_tables left at its default (on): the emulator's dry runs name none.
      connections: [{ name: 'acme', upstream: stack.emulator.url, project: PROJECT, credentials: { mode: 'none' } }],
    });
    gateway = await createGateway({ config, engine: stack.gateway.engine, hashKey: randomBytes(32), processMetrics: false });
    url = await gateway.listen();
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('refuses a read whose dry run named no tables, and still runs a query that reads none', async () => {
    const client = agentClient(url, () => stack.token(AGENT));
    const err = await refusal(client.query({ query: 'SELECT order_id FROM sales.orders' }));
    expect(err.code).toBe(403);
    expect(err.errors[0]!.reason).toBe('accessDenied');
    expect(err.message).toContain('referenced_tables_missing');
    const [rows] = await client.query({ query: 'SELECT 1 AS one' });
    expect(rows).toEqual([{ one: 1 }]);
  });
});
