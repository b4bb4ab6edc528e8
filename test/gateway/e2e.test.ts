// End to end: the official Node client, holding a real token from the local identity provider,
// queries the emulator through the gateway; the compiled default policy decides. What comes back
// is compared with what the same client reads from the emulator directly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BigQuery } from '@google-cloud/bigquery';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';
import { refusal } from '../support/refusals.ts';

let stack: Stack;
let agent: BigQuery; // reporting-agent: group `agents`, PII masked
let piiAgent: BigQuery; // pii-agent: also `pii-readers`, sees PII
let direct: BigQuery;
/** Every PII value in crm.customers, read straight from the emulator. */
let secrets: string[];

beforeAll(async () => {
  stack = await startStack({ connection: { approval_hold: 'refuse' } });
  agent = stack.client('reporting-agent');
  piiAgent = stack.client('pii-agent');
  direct = stack.direct();
  const [rows] = await direct.query('SELECT name, ssn, email, phone, card_number, address.street AS street FROM crm.customers');
  secrets = rows.flatMap((r: Record<string, string>) => [r.name!, r.ssn!, r.email!, r.phone!, r.card_number!, r.street!]);
  expect(secrets).toHaveLength(120);
});

afterAll(async () => {
  await stack?.close();
});

async function rows(client: BigQuery, query: string, options: Record<string, unknown> = {}): Promise<Record<string, any>[]> {
  const [result] = await client.query({ query, ...options });
  return result;
}

function expectNoSecrets(value: unknown): void {
  const text = JSON.stringify(value);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

const ssnOf = (id: string) => `123-45-67${id.slice(-2)}`;

describe('allowed queries', () => {
  it('returns the same rows as the emulator for an aggregate', async () => {
    const sql = 'SELECT product, SUM(units) AS units, SUM(amount) AS amount, COUNT(*) AS n FROM sales.orders GROUP BY product ORDER BY product';
    const through = await rows(agent, sql);
    expect(through).toEqual(await rows(direct, sql));
    expect(through).toHaveLength(5);
  });

  it('returns the same rows for SELECT * on a table without sensitive columns, types intact', async () => {
    const sql = 'SELECT * FROM sales.orders ORDER BY order_id';
    const through = await rows(agent, sql);
    expect(through).toEqual(await rows(direct, sql));
    expect(through).toHaveLength(60);
    expect(typeof through[0]!.units).toBe('number');
  });

  it('passes query parameters through', async () => {
    // String parameters only: the emulator cannot read the number the client sends for an INT64 value.
    const sql = 'SELECT order_id, units FROM sales.orders WHERE customer_id = @customer AND product != @skip ORDER BY order_id';
    const params = { customer: 'C004', skip: 'widget' };
    const through = await rows(agent, sql, { params });
    expect(through).toEqual(await rows(direct, sql, { params }));
    expect(through.length).toBeGreaterThan(0);
  });

  it('forwards the policy byte cap as maximumBytesBilled', async () => {
    const [job] = await agent.createQueryJob({ query: 'SELECT holiday.name FROM public.holidays AS holiday' });
    const [metadata] = await job.getMetadata();
    // The default policy: estimate + 25 %, at least the 1 GiB floor.
    expect(metadata.configuration.query.maximumBytesBilled).toBe('1073741824');
    const [caller] = await agent.createQueryJob({ query: 'SELECT name FROM public.holidays', maximumBytesBilled: '5000' });
    expect((await caller.getMetadata())[0].configuration.query.maximumBytesBilled).toBe('5000');
  });

  it('lets a PII reader see the values unmasked', async () => {
    const sql = 'SELECT customer_id, ssn, email, address FROM crm.customers ORDER BY customer_id';
    expect(await rows(piiAgent, sql)).toEqual(await rows(direct, sql));
  });
});

describe('masking', () => {
  it('masks every PII column of crm.customers with the policy strategies', async () => {
    const sql = 'SELECT customer_id, name, ssn, email, phone, card_number, address, notes FROM crm.customers ORDER BY customer_id';
    const masked = await rows(agent, sql);
    const plain = await rows(direct, sql);
    expect(masked).toHaveLength(20);
    expectNoSecrets(masked);
    masked.forEach((row, i) => {
      const original = plain[i]!;
      expect(row.customer_id).toBe(original.customer_id);
      expect(row.name).toMatch(/^hash:[0-9a-f]{24}$/);
      expect(row.ssn).toBe(`***-**-${original.ssn.slice(-4)}`);
      expect(row.email).toBe(`***@${original.email.split('@')[1]}`);
      expect(row.phone.endsWith(original.phone.slice(-4))).toBe(true);
      expect(row.card_number).toBe(`**** **** **** ${original.card_number.slice(-4)}`);
      expect(row.address).toEqual({ ...original.address, street: '[REDACTED]' });
    });
    // Equal values give equal tokens: joins and counts on a hashed column still work.
    const again = await rows(agent, "SELECT name FROM crm.customers WHERE customer_id = 'C001'");
    expect(again[0]!.name).toBe(masked[0]!.name);
  });

  it('reads pipe syntax as the query it means: masked through the pipeline, refused on a sensitive WHERE', async () => {
    const products = await rows(agent, 'FROM sales.orders |> WHERE units > 3 |> SELECT product |> ORDER BY product |> LIMIT 2');
    expect(products).toEqual(await rows(agent, 'SELECT product FROM sales.orders WHERE units > 3 ORDER BY product LIMIT 2'));
    const masked = await rows(agent, 'FROM crm.customers |> EXTEND ssn AS x |> SELECT customer_id, x |> ORDER BY customer_id');
    expectNoSecrets(masked);
    expect(masked[0]).toEqual({ customer_id: 'C001', x: '***-**-6701' });
    const err = await refusal(agent.query("FROM crm.customers |> WHERE ssn = '123-45-6701' |> SELECT customer_id"));
    expect(err.message).toContain('[sensitive_predicate]');
  });

  it('masks through aliases, CTEs, subqueries, SELECT * and table.*', async () => {
    const cases = [
      'SELECT ssn AS x, email AS contact FROM crm.customers ORDER BY customer_id',
      'WITH c AS (SELECT * FROM crm.customers) SELECT ssn AS x, email AS contact FROM c ORDER BY customer_id',
      'SELECT x, contact FROM (SELECT customer_id, ssn AS x, email AS contact FROM crm.customers) ORDER BY customer_id',
      'SELECT c.ssn AS x, c.email AS contact FROM crm.customers AS c JOIN sales.orders o USING (customer_id) ORDER BY c.customer_id',
    ];
    for (const sql of cases) {
      const result = await rows(agent, sql);
      expectNoSecrets(result);
      expect(result[0]).toEqual({ x: '***-**-6701', contact: expect.stringMatching(/^\*\*\*@example\.com$/) });
    }
    for (const sql of ['SELECT * FROM crm.customers ORDER BY customer_id', 'SELECT c.* FROM crm.customers c ORDER BY customer_id']) {
      const result = await rows(agent, sql);
      expect(result).toHaveLength(20);
      expect(Object.keys(result[0]!)).toEqual(['customer_id', 'name', 'ssn', 'email', 'phone', 'card_number', 'address', 'notes', 'created_at']);
      expectNoSecrets(result);
      expect(result[3]!.ssn).toBe('***-**-6704');
    }
  });

  it('masks nested RECORD fields, whole or picked out', async () => {
    const whole = await rows(agent, 'SELECT address FROM crm.customers ORDER BY customer_id');
    expect(whole[0]!.address).toEqual({ street: '[REDACTED]', city: 'Shelbyville', zip: '62565', country: 'US' });
    const picked = await rows(agent, 'SELECT address.street AS s, address.city AS city FROM crm.customers ORDER BY customer_id');
    expect(picked[0]).toEqual({ s: '[REDACTED]', city: 'Shelbyville' });
    expectNoSecrets([whole, picked]);
  });

  it('refuses values computed from masked columns, naming the column', async () => {
    // Each answers a guess about the SSN whatever mask its output got: the first by whether it
    // is NULL (it is for the customers whose SSN does not end as guessed, read raw), the second by
    // whether the query fails (division by zero exactly when the last digit is 1).
    const nullness = "SELECT customer_id, REGEXP_EXTRACT(ssn, r'[0-4]$') AS g FROM crm.customers ORDER BY customer_id";
    const raw = await rows(direct, nullness);
    expect(new Set(raw.map((r) => r.g === null))).toEqual(new Set([true, false]));
    for (const sql of [
      nullness,
      "SELECT customer_id, 1 / (CAST(SUBSTR(ssn, 11, 1) AS INT64) - 1) AS d FROM crm.customers WHERE customer_id = 'C001'",
      "SELECT UPPER(ssn) AS u, CONCAT(name, ' <', email, '>') AS who FROM crm.customers",
    ]) {
      const err = await refusal(agent.query(sql));
      expect(err.code, sql).toBe(403);
      expect(err.errors[0]!.reason, sql).toBe('accessDenied');
      expect(err.message, sql).toMatch(/\[(sensitive_computation, )*sensitive_computation\]/);
      expect(err.message, sql).toContain('acme-analytics.crm.customers.ssn');
    }
    // The columns themselves come back masked.
    expect((await rows(agent, "SELECT ssn FROM crm.customers WHERE customer_id = 'C001'"))[0]).toEqual({ ssn: '***-**-6701' });
  });

  it('masks an unnamed column whatever the engine calls it (BigQuery f0_, the emulator $col1)', async () => {
    const result = await rows(agent, 'SELECT (SELECT ssn), customer_id FROM crm.customers ORDER BY customer_id');
    expect(Object.values(result[0]!)).toEqual(['***-**-6701', 'C001']);
    expectNoSecrets(result);
  });

  it('masks the rows of a multi-statement query with its last statement\'s masks', async () => {
    const last = await rows(agent, 'SELECT 1 AS one; SELECT ssn FROM crm.customers ORDER BY customer_id');
    expect(last[0]).toEqual({ ssn: '***-**-6701' });
    expectNoSecrets(last);
    const first = await rows(agent, 'SELECT ssn FROM crm.customers; SELECT 2 AS two');
    expect(first).toEqual([{ two: 2 }]);
  });

  it('masks PII hiding in free text with the content scan', async () => {
    const result = await rows(agent, "SELECT customer_id, notes FROM crm.customers WHERE customer_id IN ('C004', 'C005') ORDER BY customer_id");
    expect(result).toEqual([
      { customer_id: 'C004', notes: 'Asked to be called back on [REDACTED]' },
      { customer_id: 'C005', notes: 'Alternate contact: [REDACTED]' },
    ]);
  });

  it('refuses to filter, join, group or order on a column the agent sees masked, which would confirm a guess', async () => {
    // Through the emulator directly the guess is confirmed: one row matches.
    const guess = ssnOf('C003');
    const [[hit]] = await direct.query(`SELECT COUNT(*) AS n FROM crm.customers WHERE ssn = '${guess}'`);
    expect(hit.n).toBe(1);
    for (const sql of [
      `SELECT customer_id FROM crm.customers WHERE ssn = '${guess}'`,
      `SELECT COUNT(*) AS n FROM crm.customers WHERE ssn = '${guess}'`,
      "SELECT o.order_id FROM sales.orders o JOIN crm.customers c ON o.customer_id = c.customer_id AND c.email LIKE 'a%'",
      'SELECT customer_id FROM crm.customers ORDER BY card_number',
    ]) {
      const err = await refusal(agent.query(sql));
      expect(err.code, sql).toBe(403);
      expect(err.errors[0]!.reason, sql).toBe('accessDenied');
      expect(err.message, sql).toContain('[sensitive_predicate]');
    }
    // A PII reader sees the values anyway, so may filter on them.
    expect(await rows(piiAgent, `SELECT customer_id FROM crm.customers WHERE ssn = '${guess}'`)).toEqual([{ customer_id: 'C003' }]);
  });

  it('withholds the upstream error text of a query that reads masked columns', async () => {
    const err = await refusal(agent.query('SELECT ssn, CAST(address.city AS INT64) AS n FROM crm.customers'));
    expect(err.code).toBe(400);
    expect(err.message).toContain('withheld');
    expect(err.message).not.toContain('Shelbyville');
  });

  it('masks every page of getQueryResults identically', async () => {
    const sql = 'SELECT customer_id, ssn, address FROM crm.customers ORDER BY customer_id';
    const [job] = await agent.createQueryJob({ query: sql });
    const pages: Record<string, any>[][] = [];
    let options: Record<string, unknown> | null = { maxResults: 3, autoPaginate: false };
    while (options) {
      const [page, next]: [Record<string, any>[], Record<string, unknown> | null] = (await job.getQueryResults(options)) as never;
      pages.push(page);
      options = next;
    }
    expect(pages).toHaveLength(7);
    expect(pages.slice(0, 6).every((p) => p.length === 3)).toBe(true);
    const all = pages.flat();
    expect(all.map((r) => r.customer_id)).toEqual(Array.from({ length: 20 }, (_, i) => `C0${String(i + 1).padStart(2, '0')}`));
    all.forEach((r) => {
      expect(r.ssn).toBe(`***-**-${ssnOf(r.customer_id).slice(-4)}`);
      expect(r.address.street).toBe('[REDACTED]');
    });
    expectNoSecrets(all);
    expect(all).toEqual(await rows(agent, sql));
  });

  it('masks raw getQueryResults pages read by startIndex, and jobs.get of the job', async () => {
    const [job] = await agent.createQueryJob({ query: 'SELECT customer_id, ssn FROM crm.customers ORDER BY customer_id' });
    const page = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries/${job.id}?startIndex=18&maxResults=5`, { agent: 'reporting-agent' });
    expect(page.status).toBe(200);
    expect(page.body.rows).toEqual([{ f: [{ v: 'C019' }, { v: '***-**-6719' }] }, { f: [{ v: 'C020' }, { v: '***-**-6720' }] }]);
    const partial = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries/${job.id}?maxResults=1&fields=rows,totalRows`, { agent: 'reporting-agent' });
    expect(Object.keys(partial.body).sort()).toEqual(['rows', 'totalRows']);
    expectNoSecrets(partial.body);
    const got = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/jobs/${job.id}`, { agent: 'reporting-agent' });
    expect(got.status).toBe(200);
    expect(got.body.status.state).toBe('DONE');
    // The upstream's address stays inside the deployment (BigQuery's selfLink names it).
    const table = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/datasets/crm/tables/customers`, { agent: 'reporting-agent' });
    for (const answer of [got.body, page.body, table.body]) {
      expect(answer).not.toHaveProperty('selfLink');
      expect(JSON.stringify(answer)).not.toContain(new URL(stack.emulator.url).host);
    }
  });

  it('serves a job only to the agent that ran it', async () => {
    const [job] = await piiAgent.createQueryJob({ query: 'SELECT customer_id, ssn FROM crm.customers' });
    const err = await refusal(agent.job(job.id!).getQueryResults());
    expect(err.code).toBe(403);
    expect(err.errors[0]!.reason).toBe('accessDenied');
  });
});

describe('tabledata.list', () => {
  it('masks table rows read with getRows as a SELECT * would be', async () => {
    const [tableRows] = await agent.dataset('crm').table('customers').getRows();
    expect(tableRows).toHaveLength(20);
    expectNoSecrets(tableRows);
    const first = tableRows.find((r) => r.customer_id === 'C001')!;
    expect(first.ssn).toBe('***-**-6701');
    expect(first.address.street).toBe('[REDACTED]');
  });

  it('masks the selected fields only and keeps their shape', async () => {
    const [tableRows] = await agent.dataset('crm').table('customers').getRows({ selectedFields: 'customer_id,address.street,ssn' });
    expect(tableRows).toHaveLength(20);
    expect(tableRows.slice(0, 2)).toEqual([
      { customer_id: 'C001', ssn: '***-**-6701', address: { street: '[REDACTED]' } },
      { customer_id: 'C002', ssn: '***-**-6702', address: { street: '[REDACTED]' } },
    ]);
    expectNoSecrets(tableRows);
  });

  it('takes selectedFields given more than once as one comma-separated list', async () => {
    const base = `/bigquery/v2/projects/${PROJECT}/datasets/crm/tables/customers`;
    const repeated = await stack.fetch(`${base}/data?selectedFields=ssn&selectedFields=customer_id`, { agent: 'reporting-agent' });
    const joined = await stack.fetch(`${base}/data?selectedFields=ssn,customer_id`, { agent: 'reporting-agent' });
    expect(repeated.status, JSON.stringify(repeated.body)).toBe(200);
    expect(repeated.body.rows).toEqual(joined.body.rows);
    // In table schema order, masked.
    expect(repeated.body.rows[0]).toEqual({ f: [{ v: 'C001' }, { v: '***-**-6701' }] });
    expectNoSecrets(repeated.body);
    const schema = await stack.fetch(`${base}?selectedFields=ssn&selectedFields=customer_id`, { agent: 'reporting-agent' });
    expect(schema.status, JSON.stringify(schema.body)).toBe(200);
    const unknown = await stack.fetch(`${base}/data?selectedFields=ssn&selectedFields=nope`, { agent: 'reporting-agent' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.errors[0].reason).toBe('invalid');
    expect(unknown.body.error.message).toMatch(/^Invalid selectedFields: selected field "nope" is not in the table schema/);
  });

  it('returns the same rows as the emulator for a table without sensitive columns', async () => {
    const [through] = await agent.dataset('public').table('holidays').getRows();
    const [plain] = await direct.dataset('public').table('holidays').getRows();
    expect(through).toEqual(plain);
  });

  it('asks for approval before listing a table behind one', async () => {
    const err = await refusal(agent.dataset('finance').table('ledger').getRows());
    expect(err.code).toBe(403);
    expect(err.errors[0]!.reason).toBe('approvalRequired');
  });
});

describe('refused statements leave the data untouched', () => {
  const statements: [string, string][] = [
    ['DROP TABLE sales.orders', 'DROP_TABLE'],
    ['TRUNCATE TABLE sales.orders', 'TRUNCATE'],
    ['DELETE FROM sales.orders WHERE TRUE', 'DELETE'],
    ["UPDATE crm.customers SET ssn = 'x' WHERE TRUE", 'UPDATE'],
    ["INSERT INTO sales.orders (order_id) VALUES ('X1')", 'INSERT'],
    ['MERGE sales.orders t USING sales.orders s ON t.order_id = s.order_id WHEN MATCHED THEN DELETE', 'MERGE'],
    ["EXPORT DATA OPTIONS (uri = 'gs://leak/out-*.csv', format = 'CSV') AS SELECT * FROM crm.customers", 'EXPORT_DATA'],
    ['CREATE TABLE sales.leak AS SELECT * FROM crm.customers', 'CREATE_TABLE'],
    ['DECLARE n INT64 DEFAULT 1; SELECT n', 'DECLARE'],
    ['BEGIN SELECT 1; END', 'BEGIN'],
    ["EXECUTE IMMEDIATE 'DROP TABLE sales.orders'", 'EXECUTE_IMMEDIATE'],
  ];

  it.each(statements)('refuses %s with 403 accessDenied and the policy reasons', async (sql) => {
    const err = await refusal(agent.query(sql));
    expect(err.code).toBe(403);
    expect(err.errors[0]!.reason).toBe('accessDenied');
    expect(err.message).toMatch(/^Access Denied: the sluice policy refused this query: .+ \[[a-z_, ]+\]$/);
    const details = err.response?.body?.error?.details?.[0];
    expect(details).toMatchObject({ reason: 'POLICY_DENIED', metadata: { policy_revision: stack.gateway.engine.revision } });
  });

  it('sends a statement the policy refuses nowhere upstream, not even as a dry run', async () => {
    const dryRuns = async () => Number(/^sluice_dry_run_seconds_count (\d+)$/m.exec((await stack.fetch('/metrics')).body)?.[1] ?? NaN);
    const before = await dryRuns();
    await refusal(agent.query('DROP TABLE sales.orders'));
    await refusal(agent.createQueryJob({ query: 'DELETE FROM crm.customers WHERE TRUE' }));
    expect(await dryRuns()).toBe(before);
  });

  it('refuses the same statements as jobs.insert query jobs', async () => {
    for (const [sql] of statements.slice(0, 4)) {
      const err = await refusal(agent.createQueryJob({ query: sql }));
      expect(err.code).toBe(403);
    }
  });

  it('leaves every table as it was', async () => {
    const [counts] = await direct.query(
      'SELECT (SELECT COUNT(*) FROM sales.orders) AS orders, (SELECT COUNT(*) FROM crm.customers) AS customers, ' +
        "(SELECT COUNTIF(ssn = '123-45-6701') FROM crm.customers) AS ssn_intact",
    );
    expect(counts[0]).toEqual({ orders: 60, customers: 20, ssn_intact: 1 });
    const [tables] = await direct.dataset('sales').getTables();
    expect(tables.map((t) => t.id)).toEqual(['orders']);
  });

  it('refuses legacy SQL and unparseable SQL', async () => {
    const legacy = await refusal(agent.query({ query: 'SELECT name FROM [acme-analytics:public.holidays]', useLegacySql: true }));
    expect(legacy.code).toBe(403);
    expect(legacy.message).toContain('useLegacySql=false');
    const garbage = await refusal(agent.query('SELEC name FROM public.holidays'));
    expect(garbage.code).toBe(403);
    expect(garbage.message).toContain('statement_unparsed');
  });

  it('refuses tables the policy does not know', async () => {
    const err = await refusal(agent.query('SELECT * FROM sales.secret_table'));
    expect(err.code).toBe(403);
    expect(err.message).toContain('unknown_table');
  });
});

describe('approval', () => {
  it('answers a finance query with approvalRequired, an approval request id and where to approve', async () => {
    const sql = 'SELECT account, SUM(amount) AS total FROM finance.ledger GROUP BY account';
    const err = await refusal(agent.query(sql));
    expect(err.code).toBe(403);
    expect(err.errors[0]!.reason).toBe('approvalRequired');
    const info = err.response?.body?.error?.details?.[0];
    expect(info).toMatchObject({
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'APPROVAL_REQUIRED',
      metadata: { approver_groups: 'data-owners', min_approvals: '1', scope: 'dataset', reasons: 'approval_required' },
    });
    const id = info.metadata.approval_request_id as string;
    expect(id).toMatch(/^apr_[0-9a-f]{32}$/);
    expect(info.metadata.approval_url).toBe(`http://127.0.0.1/approvals/${id}`);
    expect(err.message).toContain(id);
    expect(err.message).toContain('data-owners');
    // The same caller asking the same thing gets the same request; another caller another one.
    const again = await refusal(agent.query(sql));
    expect(again.response?.body?.error?.details?.[0]?.metadata?.approval_request_id).toBe(id);
    const other = await refusal(stack.client('analyst-bot').query(sql));
    expect(other.response?.body?.error?.details?.[0]?.metadata?.approval_request_id).not.toBe(id);
  });
});

describe('authentication', () => {
  it('answers a bad token with 401', async () => {
    const { agentClient } = await import('../support/stack.ts');
    const err = await refusal(agentClient(stack.gatewayUrl, async () => 'not-a-jwt').query('SELECT 1'));
    expect(err.code).toBe(401);
    expect(err.errors[0]!.reason).toBe('authError');
  });
});

describe('observability', () => {
  it('counts decisions and masked cells', async () => {
    const { body } = await stack.fetch('/metrics');
    expect(body).toMatch(/sluice_decisions_total\{outcome="mask",route="jobs.query"\} [1-9]/);
    expect(body).toMatch(/sluice_decisions_total\{outcome="deny",route="jobs.query"\} [1-9]/);
    expect(body).toMatch(/sluice_decisions_total\{outcome="approve",route="jobs.query"\} [1-9]/);
    expect(body).toMatch(/sluice_masked_cells_total\{kind="mask"\} [1-9]/);
    expect(body).toMatch(/sluice_masked_cells_total\{kind="content_scan"\} [1-9]/);
    expect(body).toMatch(/sluice_dry_run_seconds_count [1-9]/);
  });

  it('logs decisions without any row value, SQL text or token', async () => {
    const logs = stack.logs.join('\n');
    expect(logs).toContain('"msg":"decision"');
    expectNoSecrets(logs);
    expect(logs).not.toContain('SELECT');
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });
});
