// `estimate_mode: cap`: a jobs.query is decided without a dry run and sent at once under the
// policy's cap (maximumBytesBilled), which BigQuery enforces; only a query BigQuery refuses for the
// cap is dry-run and decided again; with require_referenced_tables, the tables a finished job read
// are checked before any row is released. The emulator enforces no cap and names no tables, so
// the gateway talks to it through test/support/bigquery-caps.double.ts, which plays BigQuery's
// documented behaviour with the byte figures and tables each case gives it. The agents are the
// official Node client (its query() is jobs.query) and the official Python client
// (query_and_wait is jobs.query).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { BigQuery } from '@google-cloud/bigquery';
import { listRecords } from '../../gateway/audit/index.ts';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { bigQueryCaps, type BigQueryCaps, type TableReference } from '../support/bigquery-caps.double.ts';
import { pythonQueries } from '../support/python-client.ts';
import { approvalIdOf, refusal } from '../support/refusals.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const DATA = parseYaml(readFileSync(join(import.meta.dirname, '../../rego/org/data.yaml'), 'utf8')) as {
  bytes: { approve_above: number; deny_above: number; maximum_bytes_billed: { headroom_percent: number; floor: number; cap: number } };
};
const { approve_above: APPROVE_ABOVE, deny_above: DENY_ABOVE } = DATA.bytes;
/** The cap a dry-run decision sets: the estimate plus headroom, within [floor, cap]. */
const dryRunCap = (bytes: number) => {
  const { headroom_percent, floor, cap } = DATA.bytes.maximum_bytes_billed;
  return Math.min(cap, Math.max(floor, Math.ceil((bytes * (100 + headroom_percent)) / 100)));
};
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const ORDERS: TableReference = { projectId: PROJECT, datasetId: 'sales', tableId: 'orders' };
const LEDGER: TableReference = { projectId: PROJECT, datasetId: 'finance', tableId: 'ledger' };
/** Every product name in sales.orders: none may reach an agent whose rows are withheld. */
const PRODUCTS = ['doohickey', 'gadget', 'gizmo', 'sprocket', 'widget'];

/**
 * What BigQuery reports for each statement (by exact text): bytes processed, tables read, and how
 * many answers on its job say it is still running. Every case uses statements of its own.
 */
const bytes = new Map<string, number>();
const tables = new Map<string, TableReference[]>();
const running = new Map<string, number>();
const behaviour = {
  bytesFor: (sql: string) => bytes.get(sql),
  referencedTablesFor: (sql: string) => tables.get(sql),
  runningPolls: (sql: string) => running.get(sql) ?? 0,
};

/** A sales statement of its own for a case (the text differs, so no estimate or record is shared). */
const salesSql = (tag: string) => `SELECT product, SUM(units) AS units_${tag} FROM sales.orders GROUP BY product ORDER BY product`;

function bigquery(sql: string, o: { bytes?: number; tables?: TableReference[]; running?: number }): string {
  if (o.bytes !== undefined) bytes.set(sql, o.bytes);
  if (o.tables) tables.set(sql, o.tables);
  if (o.running !== undefined) running.set(sql, o.running);
  return sql;
}

/** What reached the double for one statement. */
function upstreamOf(double: BigQueryCaps, sql: string) {
  return {
    runs: double.runs.filter((r) => r.sql === sql),
    refusals: double.refusals.filter((r) => r.sql === sql),
    dryRuns: double.dryRuns.filter((s) => s === sql).length,
  };
}

const queries = `/bigquery/v2/projects/${PROJECT}/queries`;

async function rawQuery(stack: Stack, sql: string, requestId: string, extra: Record<string, unknown> = {}) {
  return stack.fetch(queries, { method: 'POST', agent: 'reporting-agent', headers: { 'x-request-id': requestId }, body: JSON.stringify({ query: sql, useLegacySql: false, ...extra }) });
}

async function requestRecord(stack: Stack, requestId: string): Promise<Record<string, any>> {
  const [found] = await listRecords(stack.gateway.database.db, { requestId, kinds: ['request'] });
  if (!found) throw new Error(`no request record for ${requestId}`);
  return (found.record as { data: Record<string, any> }).data;
}

/** The gateway's log lines of one request. */
function logsOf(stack: Stack, requestId: string): Record<string, any>[] {
  return stack.logs.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.reqId === requestId);
}

describe('estimate_mode cap, require_referenced_tables', () => {
  let stack: Stack;
  let double: BigQueryCaps;
  let agent: BigQuery;

  beforeAll(async () => {
    stack = await startStack({
      upstream: async (url) => (double = await bigQueryCaps(url, behaviour)).url,
      connection: { estimate_mode: 'cap', require_referenced_tables: true, approval_hold: 'refuse' },
      // Every query is a never-seen one: no estimate from an earlier dry run is reused.
      config: { limits: { dry_run_cache_seconds: 0 } },
      idp: { webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] },
    });
    agent = stack.client('reporting-agent');
  });

  afterAll(async () => {
    await stack?.close();
    await double?.close();
  });

  beforeEach(() => double.reset());

  async function asAlice(path: string, body?: object): Promise<{ status: number; body: any }> {
    const alice = await humanAccessToken(stack.idp, 'alice');
    const res = await fetch(stack.gatewayUrl + path, {
      method: body ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${alice}`, ...(body && { 'content-type': 'application/json' }) },
      ...(body && { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json() };
  }

  it('runs a query under every threshold at once: one job, no dry run, capped at the approval threshold', async () => {
    const sql = bigquery(salesSql('small'), { bytes: 5 * MiB, tables: [ORDERS] });
    const [rows] = await agent.query(sql);
    const [direct] = await stack.direct().query(sql);
    expect(rows).toEqual(direct);
    expect(rows.map((r: { product: string }) => r.product)).toEqual(PRODUCTS);

    const seen = upstreamOf(double, sql);
    expect(seen.dryRuns).toBe(0);
    expect(seen.refusals).toEqual([]);
    // The Node client's query() is jobs.query; it reached BigQuery once, under the approval threshold.
    expect(seen.runs).toHaveLength(1);
    expect(seen.runs[0]).toMatchObject({ route: 'jobs.query', maximumBytesBilled: String(APPROVE_ABOVE) });
    // The finished job's tables were read (jobs.get) before the rows came back.
    expect(double.jobGets).toEqual([seen.runs[0]!.jobId]);
  });

  it('refuses a query over the approval threshold for the cap, then dry-runs it and files an approval request with the estimate', async () => {
    const estimate = APPROVE_ABOVE + GiB;
    const sql = bigquery(salesSql('big'), { bytes: estimate, tables: [ORDERS] });
    const id = approvalIdOf(await refusal(agent.query(sql)));

    const seen = upstreamOf(double, sql);
    // BigQuery refused the job for the cap: nothing ran, nothing was billed.
    expect(seen.refusals).toEqual([{ route: 'jobs.query', sql, maximumBytesBilled: String(APPROVE_ABOVE), needed: estimate }]);
    expect(seen.runs).toEqual([]);
    // Then one dry run, after the refusal.
    expect(seen.dryRuns).toBe(1);
    expect(double.events).toEqual([`refused ${sql}`, `dry run ${sql}`]);

    // The approval request carries the dry run's estimate, as the approver reads it.
    const view = await asAlice(`/approvals/${id}`);
    expect(view.status).toBe(200);
    expect(view.body.request).toMatchObject({ id, status: 'pending', estimatedBytes: estimate });
    expect(view.body.request.reasons.map((r: { code: string }) => r.code)).toContain('bytes_approval_required');
    expect(view.body.input.estimate).toMatchObject({ source: 'dry_run', bytes: estimate });
  });

  it('runs a statement its caller holds a grant for at once, capped at the bytes approved plus the headroom, and spends the one-time grant', async () => {
    const estimate = APPROVE_ABOVE + 2 * GiB;
    const sql = bigquery(salesSql('granted'), { bytes: estimate, tables: [ORDERS] });
    const id = approvalIdOf(await refusal(agent.query(sql)));
    expect((await asAlice(`/approvals/${id}/approve`, { comment: 'month-end' })).status).toBe(200);
    double.reset();

    const [rows] = await agent.query(sql);
    expect(rows.map((r: { product: string }) => r.product)).toEqual(PRODUCTS);
    const seen = upstreamOf(double, sql);
    expect(seen.dryRuns).toBe(0);
    expect(seen.refusals).toEqual([]);
    expect(seen.runs).toHaveLength(1);
    // The approver saw the dry run's estimate: the grant pays for that plus the 25 % billing headroom.
    expect(seen.runs[0]).toMatchObject({ route: 'jobs.query', maximumBytesBilled: String(Math.ceil((estimate * 125) / 100)) });

    // Bytes approvals are one-time: the grant was spent on that run.
    approvalIdOf(await refusal(agent.query(sql)));
  });

  it('denies a query over the deny threshold after the cap refusal, with nothing billed', async () => {
    const sql = bigquery(salesSql('huge'), { bytes: DENY_ABOVE + 1, tables: [ORDERS] });
    const err = await refusal(agent.query(sql));
    expect(err.code).toBe(403);
    expect(err.errors[0]!.reason).toBe('accessDenied');
    expect(err.message).toContain('[bytes_limit_exceeded]');

    const seen = upstreamOf(double, sql);
    expect(seen.refusals).toHaveLength(1);
    expect(seen.refusals[0]!.maximumBytesBilled).toBe(String(APPROVE_ABOVE));
    expect(seen.runs).toEqual([]);
    expect(seen.dryRuns).toBe(1);
  });

  it("refuses a caller's byte cap of 0, which clients and drivers send to mean no cap: the policy's cap is never replaced by it", async () => {
    const sql = bigquery(salesSql('zero-cap'), { bytes: DENY_ABOVE + 1, tables: [ORDERS] });
    for (const maximumBytesBilled of ['0', 0]) {
      const res = await rawQuery(stack, sql, `zero-cap-${typeof maximumBytesBilled}`, { maximumBytesBilled });
      expect(res.status).toBe(400);
      expect(res.body.error.errors[0].reason).toBe('invalid');
      expect(res.body.error.message).toContain('maximumBytesBilled');
      const insert = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/jobs`, {
        method: 'POST',
        agent: 'reporting-agent',
        body: JSON.stringify({ configuration: { query: { query: sql, useLegacySql: false, maximumBytesBilled } } }),
      });
      expect(insert.status).toBe(400);
    }
    const seen = upstreamOf(double, sql);
    expect(seen.runs).toEqual([]);
    expect(seen.refusals).toEqual([]);
    expect(seen.dryRuns).toBe(0);
    expect((await requestRecord(stack, 'zero-cap-string')).error.reason).toBe('invalid');
  });

  it('withholds every row of a finished job that read a table the parser missed', async () => {
    const sql = bigquery(salesSql('unparsed'), { bytes: 5 * MiB, tables: [ORDERS, LEDGER] });
    const err = await refusal(agent.query(sql));
    expect(err.code).toBe(403);
    expect(err.errors[0]!.reason).toBe('accessDenied');
    expect(err.message).toContain('[unparsed_table_reference]');
    expect(err.message).toContain('acme-analytics.finance.ledger');

    // The same through a raw call: the whole answer holds none of the rows' values.
    const sql2 = bigquery(salesSql('unparsed_raw'), { bytes: 5 * MiB, tables: [ORDERS, LEDGER] });
    const res = await rawQuery(stack, sql2, 'cap-unparsed-raw');
    expect(res.status).toBe(403);
    const text = JSON.stringify(res.body);
    expect(text).toContain('unparsed_table_reference');
    for (const product of PRODUCTS) expect(text).not.toContain(product);
    // The job did run (it was under the cap), and its tables were read before anything was released.
    expect(upstreamOf(double, sql2).runs).toHaveLength(1);
  });

  it('never serves a withheld job\'s rows later (jobs.getQueryResults on its id)', async () => {
    const sql = bigquery(salesSql('unparsed_later'), { bytes: 5 * MiB, tables: [ORDERS, LEDGER] });
    const res = await rawQuery(stack, sql, 'cap-unparsed-later');
    expect(res.status).toBe(403);
    // The refusal names the job; its owner asks for the job's results directly.
    const jobId = res.body.error.details[0].metadata.job_id as string;
    expect(jobId).toBe(upstreamOf(double, sql).runs[0]!.jobId);
    const page = await stack.fetch(`${queries}/${jobId}`, { agent: 'reporting-agent' });
    const text = JSON.stringify(page.body);
    for (const product of PRODUCTS) expect(text).not.toContain(product);
    expect(page.status).toBe(403);
    expect(page.body.error.errors[0].reason).toBe('accessDenied');
  });

  it('withholds the rows of a query BigQuery ran without a job (JOB_CREATION_OPTIONAL), whose tables cannot be read', async () => {
    const sql = bigquery(salesSql('stateless'), { bytes: 5 * MiB, tables: [ORDERS, LEDGER] });
    const res = await rawQuery(stack, sql, 'cap-stateless', { jobCreationMode: 'JOB_CREATION_OPTIONAL' });
    const text = JSON.stringify(res.body);
    for (const product of PRODUCTS) expect(text).not.toContain(product);
    expect(res.status).toBe(403);
  });

  it('withholds the rows of a finished job that names no tables', async () => {
    const sql = bigquery(salesSql('unnamed'), { bytes: 5 * MiB });
    const err = await refusal(agent.query(sql));
    expect(err.code).toBe(403);
    expect(err.message).toContain('[referenced_tables_missing]');
    expect(JSON.stringify(err.response?.body ?? {})).not.toContain('doohickey');
    expect(upstreamOf(double, sql).runs).toHaveLength(1);
  });

  it('checks a job still running at jobs.query at the first getQueryResults page that finds it done', async () => {
    // The jobs.query answer and the first poll say "running"; the second poll finds it done.
    const sql = bigquery(salesSql('slow'), { bytes: 5 * MiB, tables: [ORDERS], running: 2 });
    const [rows] = await agent.query(sql);
    expect(rows.map((r: { product: string }) => r.product)).toEqual(PRODUCTS);
    const [run] = upstreamOf(double, sql).runs;
    const id = run!.jobId!;
    // No jobs.get while the job was running; one right after the page that found it done.
    expect(double.events).toEqual([`run ${id}`, `poll ${id} running`, `poll ${id} done`, `jobs.get ${id}`]);
  });

  it('withholds the first page that finds a running job done when it read a table the parser missed, and every page after', async () => {
    const sql = bigquery(salesSql('slow_unparsed'), { bytes: 5 * MiB, tables: [ORDERS, LEDGER], running: 1 });
    const first = await rawQuery(stack, sql, 'cap-slow-unparsed', { timeoutMs: 0 });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ jobComplete: false });
    expect(first.body.rows).toBeUndefined();
    const jobId = first.body.jobReference.jobId as string;
    expect(double.jobGets).toEqual([]);

    for (const attempt of [1, 2]) {
      const page = await stack.fetch(`${queries}/${jobId}`, { agent: 'reporting-agent', headers: { 'x-request-id': `cap-slow-unparsed-page-${attempt}` } });
      expect(page.status).toBe(403);
      const text = JSON.stringify(page.body);
      expect(text).toContain('unparsed_table_reference');
      for (const product of PRODUCTS) expect(text).not.toContain(product);
      expect((await requestRecord(stack, `cap-slow-unparsed-page-${attempt}`)).job_check).toMatchObject({ outcome: 'withheld', reasons: ['unparsed_table_reference'] });
    }
    expect(double.jobGets).toEqual([jobId, jobId]);
  });

  it('releases none of the rows a running job has written so far (writeIncrementalResults) before its tables are checked', async () => {
    const sql = bigquery(salesSql('incremental_unparsed'), { bytes: 5 * MiB, tables: [ORDERS, LEDGER], running: 2 });
    const first = await rawQuery(stack, sql, 'cap-incremental-unparsed', { timeoutMs: 0, writeIncrementalResults: true });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ jobComplete: false });
    for (const product of PRODUCTS) expect(JSON.stringify(first.body)).not.toContain(product);
    const jobId = first.body.jobReference.jobId as string;
    // A poll that finds it still running, then the one that finds it done.
    const running = await stack.fetch(`${queries}/${jobId}?timeoutMs=0`, { agent: 'reporting-agent' });
    expect(running.status).toBe(200);
    expect(running.body).toMatchObject({ jobComplete: false });
    for (const product of PRODUCTS) expect(JSON.stringify(running.body)).not.toContain(product);
    expect(double.jobGets).toEqual([]);
    const done = await stack.fetch(`${queries}/${jobId}`, { agent: 'reporting-agent' });
    expect(done.status).toBe(403);
    expect(JSON.stringify(done.body)).toContain('unparsed_table_reference');
    for (const product of PRODUCTS) expect(JSON.stringify(done.body)).not.toContain(product);
  });

  it('keeps the dry run first for jobs.insert', async () => {
    const sql = bigquery(salesSql('insert'), { bytes: 5 * MiB, tables: [ORDERS] });
    const [job] = await agent.createQueryJob({ query: sql });
    const [rows] = await job.getQueryResults();
    expect(rows.map((r: { product: string }) => r.product)).toEqual(PRODUCTS);
    const seen = upstreamOf(double, sql);
    expect(seen.dryRuns).toBe(1);
    expect(seen.runs).toHaveLength(1);
    expect(seen.runs[0]).toMatchObject({ route: 'jobs.insert', maximumBytesBilled: String(dryRunCap(5 * MiB)) });
    expect(double.events.indexOf(`dry run ${sql}`)).toBeLessThan(double.events.indexOf(`run ${seen.runs[0]!.jobId}`));
  });

  it('records the cap, its refusal, both decisions and the job check in the audit trail', async () => {
    // Ran under the cap: the cap decision, the cap, and the job check.
    const small = bigquery(salesSql('audit_small'), { bytes: 5 * MiB, tables: [ORDERS] });
    expect((await rawQuery(stack, small, 'cap-audit-small')).status).toBe(200);
    const ran = await requestRecord(stack, 'cap-audit-small');
    expect(ran.status).toBe(200);
    expect(ran.byte_cap).toEqual({ maximum_bytes_billed: APPROVE_ABOVE, exceeded: false });
    expect(ran.job_check).toEqual({ referenced_tables: ['acme-analytics.sales.orders'], outcome: 'passed', reasons: [] });
    expect(ran.input.estimate).toEqual({ source: 'cap' });
    expect(ran.decision).toMatchObject({ outcome: 'allow', limits: { maximum_bytes_billed: APPROVE_ABOVE } });
    expect(ran.bytes.estimated).toBeNull();
    expect(ran.timings_ms.dry_run).toBeNull();
    expect(ran.response.rows).toHaveLength(PRODUCTS.length);
    const ranLogs = logsOf(stack, 'cap-audit-small');
    expect(ranLogs.filter((l) => l.decision).map((l) => l.decision.outcome)).toEqual(['allow']);
    expect(ranLogs.filter((l) => l.job_check).map((l) => l.job_check.outcome)).toEqual(['passed']);

    // Refused for the cap: the first decision's cap, then the dry run's decision.
    const estimate = APPROVE_ABOVE + 3 * GiB;
    const big = bigquery(salesSql('audit_big'), { bytes: estimate, tables: [ORDERS] });
    const refused = await rawQuery(stack, big, 'cap-audit-big');
    expect(refused.status).toBe(403);
    const held = await requestRecord(stack, 'cap-audit-big');
    expect(held.byte_cap).toEqual({ maximum_bytes_billed: APPROVE_ABOVE, exceeded: true });
    expect(held.job_check ?? null).toBeNull();
    expect(held.input.estimate).toMatchObject({ source: 'dry_run', bytes: estimate });
    expect(held.decision.outcome).toBe('approve');
    expect(held.bytes.estimated).toBe(estimate);
    expect(held.timings_ms.dry_run).toBeGreaterThan(0);
    expect(held.approval_ids).toHaveLength(1);
    expect(held.error.reason).toBe('approvalRequired');
    // Both decisions, in order: without a figure (allow, under the cap), then on the dry run's estimate.
    const heldLogs = logsOf(stack, 'cap-audit-big');
    expect(heldLogs.filter((l) => l.decision).map((l) => [l.decision.outcome, l.decision.bytes])).toEqual([['allow', undefined], ['approve', estimate]]);
    // The capped jobs.query was written ahead under the first decision.
    const ahead = await listRecords(stack.gateway.database.db, { requestId: 'cap-audit-big', kinds: ['forward'] });
    expect(ahead.map((r) => (r.record as { data: Record<string, any> }).data).map((d) => [d.operation, d.outcome])).toEqual([['jobs.query', 'allow']]);

    // Withheld after the job ran: the cap decision allowed it, the job check withheld its rows.
    const unparsed = bigquery(salesSql('audit_unparsed'), { bytes: 5 * MiB, tables: [ORDERS, LEDGER] });
    expect((await rawQuery(stack, unparsed, 'cap-audit-unparsed')).status).toBe(403);
    const withheld = await requestRecord(stack, 'cap-audit-unparsed');
    expect(withheld.status).toBe(403);
    expect(withheld.byte_cap).toEqual({ maximum_bytes_billed: APPROVE_ABOVE, exceeded: false });
    expect(withheld.decision.outcome).toBe('allow');
    expect(withheld.job_check).toEqual({
      referenced_tables: ['acme-analytics.sales.orders', 'acme-analytics.finance.ledger'],
      outcome: 'withheld',
      reasons: ['unparsed_table_reference'],
    });
    expect(withheld.response).toBeNull();
    for (const product of PRODUCTS) expect(JSON.stringify(withheld)).not.toContain(product);
  });

  it('holds the official Python client\'s query_and_wait (jobs.query) to the cap and the job check', async () => {
    const small = bigquery(salesSql('py_small'), { bytes: 5 * MiB, tables: [ORDERS] });
    const big = bigquery(salesSql('py_big'), { bytes: APPROVE_ABOVE + GiB, tables: [ORDERS] });
    const unparsed = bigquery(salesSql('py_unparsed'), { bytes: 5 * MiB, tables: [ORDERS, LEDGER], running: 1 });
    const token = await stack.token('reporting-agent');
    const [ok, approval, withheld] = await pythonQueries(stack.gatewayUrl, token, [small, big, unparsed].map((sql) => ({ sql, method: 'query_and_wait' as const })));

    expect(ok!.error).toBeUndefined();
    expect(ok!.rows!.map((r) => r.product)).toEqual(PRODUCTS);
    expect(upstreamOf(double, small)).toMatchObject({ dryRuns: 0, refusals: [], runs: [{ route: 'jobs.query', maximumBytesBilled: String(APPROVE_ABOVE) }] });

    expect(approval!.error).toMatchObject({ code: 403, reason: 'approvalRequired' });
    expect(upstreamOf(double, big)).toMatchObject({ dryRuns: 1, runs: [], refusals: [{ route: 'jobs.query', maximumBytesBilled: String(APPROVE_ABOVE) }] });

    // Still running at jobs.query: the client's first poll that finds it done is withheld.
    expect(withheld!.error).toMatchObject({ code: 403, reason: 'accessDenied' });
    expect(withheld!.error!.message).toContain('unparsed_table_reference');
    expect(JSON.stringify(withheld)).not.toContain('doohickey');
  });
});

describe('estimate_mode cap without require_referenced_tables', () => {
  let stack: Stack;
  let double: BigQueryCaps;

  beforeAll(async () => {
    stack = await startStack({
      upstream: async (url) => (double = await bigQueryCaps(url, behaviour)).url,
      connection: { estimate_mode: 'cap', require_referenced_tables: false, approval_hold: 'refuse' },
    });
  });

  afterAll(async () => {
    await stack?.close();
    await double?.close();
  });

  it('runs under the cap and releases the rows without reading the job (as against the emulator, which names no tables)', async () => {
    const sql = bigquery(salesSql('no_tables_check'), { bytes: 5 * MiB });
    const [rows] = await stack.client('reporting-agent').query(sql);
    expect(rows.map((r: { product: string }) => r.product)).toEqual(PRODUCTS);
    const seen = upstreamOf(double, sql);
    expect(seen).toMatchObject({ dryRuns: 0, refusals: [], runs: [{ route: 'jobs.query', maximumBytesBilled: String(APPROVE_ABOVE) }] });
    expect(double.jobGets).toEqual([]);
  });
});

describe('estimate_mode dry_run on the same double', () => {
  let stack: Stack;
  let double: BigQueryCaps;
  let agent: BigQuery;

  beforeAll(async () => {
    stack = await startStack({
      upstream: async (url) => (double = await bigQueryCaps(url, behaviour)).url,
      connection: { estimate_mode: 'dry_run', require_referenced_tables: true, approval_hold: 'refuse' },
    });
    agent = stack.client('reporting-agent');
  });

  afterAll(async () => {
    await stack?.close();
    await double?.close();
  });

  beforeEach(() => double.reset());

  it('dry-runs every new query first and caps it close to the estimate', async () => {
    const sql = bigquery(salesSql('dry_small'), { bytes: 5 * MiB, tables: [ORDERS] });
    const [rows] = await agent.query(sql);
    expect(rows.map((r: { product: string }) => r.product)).toEqual(PRODUCTS);
    const seen = upstreamOf(double, sql);
    expect(seen.dryRuns).toBe(1);
    expect(seen.refusals).toEqual([]);
    expect(seen.runs).toHaveLength(1);
    expect(seen.runs[0]).toMatchObject({ route: 'jobs.query', maximumBytesBilled: String(dryRunCap(5 * MiB)) });
    const id = seen.runs[0]!.jobId;
    expect(double.events).toEqual([`dry run ${sql}`, `run ${id}`]);
  });

  it('asks for approval before anything runs', async () => {
    const estimate = APPROVE_ABOVE + GiB;
    const sql = bigquery(salesSql('dry_big'), { bytes: estimate, tables: [ORDERS] });
    approvalIdOf(await refusal(agent.query(sql)));
    expect(upstreamOf(double, sql)).toEqual({ dryRuns: 1, refusals: [], runs: [] });
  });

  it('refuses a table the parser missed at the dry run, before the job runs', async () => {
    const sql = bigquery(salesSql('dry_unparsed'), { bytes: 5 * MiB, tables: [ORDERS, LEDGER] });
    const err = await refusal(agent.query(sql));
    expect(err.code).toBe(403);
    expect(err.message).toContain('[unparsed_table_reference]');
    expect(upstreamOf(double, sql)).toEqual({ dryRuns: 1, refusals: [], runs: [] });
  });
});
