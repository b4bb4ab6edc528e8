// The gateway's audit trail: every BigQuery API call (allowed, masked, denied, held for approval,
// approved, refused token) leaves exactly one record, committed before the answer; the chain
// verifies; `sluice audit list` and `sluice replay` show the run as the agent saw it; the database
// file, the gateway's log and every export hold none of the raw PII the emulator was seeded with;
// and an answer that cannot be recorded is not released (503, BigQuery's retryable backendError).
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalize } from '../../engine/normalize.ts';
import { listRecords, verifyAudit, type StoredRecord } from '../../gateway/audit/index.ts';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { sluice } from '../support/cli.ts';
import { seededPii } from '../support/seed.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

let stack: Stack;
/** Every PII value of crm.customers as seeded. */
let secrets: string[];

beforeAll(async () => {
  stack = await startStack({ connection: { approval_hold: 'refuse' }, idp: { webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] } });
  secrets = await seededPii();
  expect(secrets.length).toBeGreaterThanOrEqual(100);
});

afterAll(async () => {
  await stack?.close();
});

const queries = `/bigquery/v2/projects/${PROJECT}/queries`;

async function query(requestId: string, sql: string, agent: string | null = 'reporting-agent', headers: Record<string, string> = {}) {
  return stack.fetch(queries, {
    method: 'POST',
    agent,
    headers: { 'x-request-id': requestId, ...headers },
    body: JSON.stringify({ query: sql, useLegacySql: false }),
  });
}

async function recordsOf(requestId: string): Promise<StoredRecord[]> {
  return listRecords(stack.gateway.database.db, { requestId, order: 'oldest' });
}

/** A call to the approvals API as alice, a data owner signed in through the provider. */
async function approveAsAlice(approvalId: string): Promise<string> {
  const alice = await humanAccessToken(stack.idp, 'alice');
  const res = await fetch(`${stack.gatewayUrl}/approvals/${approvalId}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
    body: JSON.stringify({ comment: 'quarter-end reconciliation' }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { grant: { id: string } }).grant.id;
}

describe('the audit trail of the gateway', () => {
  const first = '0001';
  const sql = {
    allowed: 'SELECT product, SUM(units) AS units FROM sales.orders GROUP BY product ORDER BY product',
    masked: "SELECT customer_id, name, ssn, email, card_number, address.street AS street FROM crm.customers WHERE customer_id != 'ada.sampleton@example.com' ORDER BY customer_id",
    denied: 'DROP TABLE sales.orders',
    approval: 'SELECT account, SUM(amount) AS total FROM finance.ledger GROUP BY account',
  };
  /**
   * Request id → [outcome, HTTP status, record kind, every record kind of the call in order], for
   * every call of the run. A call sent upstream has its forward record first, written before it
   * was sent.
   */
  const expectations: Record<string, [string | null, number, string, string[]]> = {
    [`audit-allowed-${first}`]: ['allow', 200, 'request', ['forward', 'request']],
    [`audit-masked-${first}`]: ['mask', 200, 'request', ['forward', 'request']],
    [`audit-denied-${first}`]: ['deny', 403, 'request', ['request']],
    [`audit-approval-${first}`]: ['approve', 403, 'request', ['request']],
    [`audit-approved-${first}`]: ['allow', 200, 'request', ['forward', 'request']],
    [`audit-token-${first}`]: [null, 401, 'token_failure', ['token_failure']],
  };
  /** The masked answer as the agent received it. */
  let maskedRows: { f: { v: unknown }[] }[] = [];
  let grantId = '';

  it('records one record per request, with its outcome, before the answer', async () => {
    // The seed really holds the PII, and BigQuery serves it to anyone not behind the gateway.
    const [raw] = await stack.direct().query('SELECT ssn FROM crm.customers');
    expect(raw.map((r: { ssn: string }) => r.ssn).filter((v: string) => secrets.includes(v)).length).toBeGreaterThan(10);

    const allowed = await query(`audit-allowed-${first}`, sql.allowed);
    expect(allowed.status).toBe(200);
    const masked = await query(`audit-masked-${first}`, sql.masked);
    expect(masked.status).toBe(200);
    maskedRows = masked.body.rows;
    expect(maskedRows.length).toBeGreaterThan(10);
    const denied = await query(`audit-denied-${first}`, sql.denied);
    expect(denied.status).toBe(403);
    const approval = await query(`audit-approval-${first}`, sql.approval);
    expect(approval.status).toBe(403);
    expect(approval.body.error.errors[0].reason).toBe('approvalRequired');
    const approvalId = approval.body.error.details[0].metadata.approval_request_id as string;
    grantId = await approveAsAlice(approvalId);
    const approved = await query(`audit-approved-${first}`, sql.approval);
    expect(approved.status).toBe(200);
    const token = await query(`audit-token-${first}`, sql.allowed, null, { authorization: 'Bearer not-a-jwt' });
    expect(token.status).toBe(401);

    for (const [requestId, [outcome, status, kind, kinds]] of Object.entries(expectations)) {
      const records = (await recordsOf(requestId)).map((r) => r.record);
      expect(records.map((r) => r.kind), requestId).toEqual(kinds);
      const record = records.find((r) => r.kind === kind)!;
      if (record.kind === 'request') {
        expect(record.data.decision?.outcome, requestId).toBe(outcome);
        expect(record.data.status, requestId).toBe(status);
        expect(record.data.identity.subject).toBe('reporting-agent');
        expect(record.data.route).toBe('jobs.query');
      }
      const forward = records[0]!;
      if (forward.kind === 'forward') {
        // Committed before the upstream call, in the same chain, ahead of the request record.
        expect(forward.stream).toBe(record.stream);
        expect(forward.seq).toBeLessThan(record.seq);
        expect(forward.data).toMatchObject({ operation: 'jobs.query', outcome, identity: { subject: 'reporting-agent' } });
        expect(forward.data.tables.length, requestId).toBeGreaterThan(0);
      }
    }

    // Every API call made so far has its record; the approval request, its vote and the grant theirs.
    const all = await listRecords(stack.gateway.database.db, { order: 'oldest' });
    expect(all.filter((r) => r.record.kind === 'request' || r.record.kind === 'token_failure')).toHaveLength(Object.keys(expectations).length);
    expect(all.filter((r) => r.record.kind === 'forward')).toHaveLength(3);
    const approvalEvents = all.flatMap((r) => (r.record.kind === 'approval' && (r.record.data as { approval_id?: string }).approval_id === approvalId ? [(r.record.data as { action: string }).action] : []));
    expect(approvalEvents).toEqual(expect.arrayContaining(['requested', 'approved']));
    const approvalRecord = (await recordsOf(`audit-approval-${first}`))[0]!.record;
    expect(approvalRecord.kind === 'request' && approvalRecord.data.approval_ids).toEqual([approvalId]);
    const approvedRecord = (await recordsOf(`audit-approved-${first}`)).at(-1)!.record;
    expect(approvedRecord.kind === 'request' && approvedRecord.data.grant_ids).toEqual([grantId]);

    // The masked answer is recorded as the agent received it: masked rows, never the upstream ones.
    const maskedRecord = (await recordsOf(`audit-masked-${first}`)).at(-1)!.record;
    if (maskedRecord.kind !== 'request') throw new Error('expected a request record');
    expect(maskedRecord.data.response?.rows_recorded).toBe(maskedRows.length);
    expect(JSON.stringify(maskedRecord.data.response?.rows)).toBe(JSON.stringify(maskedRows));
    expect(maskedRecord.data.masking?.cells_masked).toBeGreaterThan(0);
    // The SQL literal (a customer's e-mail) is not kept, in either record.
    expect(JSON.stringify(await recordsOf(`audit-masked-${first}`))).not.toContain('ada.sampleton@example.com');

    const tokenRecord = (await recordsOf(`audit-token-${first}`))[0]!.record;
    expect(tokenRecord.kind === 'token_failure' && tokenRecord.data.route).toBe('jobs.query');
  });

  it('keeps a chain that verifies', async () => {
    const report = await verifyAudit(stack.gateway.database.db);
    expect(report.broken).toEqual([]);
    expect(report.ok).toBe(true);
    const cli = await sluice(['audit', 'verify', '--storage', stack.storageUrl]);
    expect(cli.code, cli.stderr).toBe(0);
  });

  it('shows the run in `sluice audit list`, each call with its outcome', async () => {
    const list = await sluice(['audit', 'list', '--limit', '100', '--storage', stack.storageUrl]);
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trim().split('\n');
    for (const [requestId, [outcome, status, kind]] of Object.entries(expectations)) {
      // One line per call: a forward record is listed only while its call has no request record.
      const line = lines.filter((l) => l.includes(requestId));
      expect(line, requestId).toHaveLength(1);
      const fields = line[0]!.trim().split(/\s+/);
      expect(fields, requestId).toContain(kind);
      if (outcome) expect(fields, requestId).toEqual(expect.arrayContaining([outcome, String(status)]));
    }
    const masked = await sluice(['audit', 'list', '--outcome', 'mask', '--table', 'crm.customers', '--json', '--storage', stack.storageUrl]);
    expect(JSON.parse(masked.stdout).map((r: { data: { request_id: string } }) => r.data.request_id)).toEqual([`audit-masked-${first}`]);
  });

  it('replays the masked session with the masked rows only', async () => {
    const replay = await sluice(['replay', `audit-masked-${first}`, '--storage', stack.storageUrl]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/^mask/m);
    expect(replay.stdout).toMatch(/customer_id\s+name\s+ssn\s+email\s+card_number\s+street/);
    // Every row the agent received, as it received it.
    const shown = replay.stdout.split('\n');
    for (const row of maskedRows) {
      const [id, , ssn, email] = row.f.map((c) => String(c.v));
      expect(shown.some((l) => l.includes(id!) && l.includes(ssn!) && l.includes(email!)), `row ${id}`).toBe(true);
      expect(ssn).toMatch(/^\*\*\*-\*\*-\d{4}$/);
    }
    expect(secrets.filter((s) => replay.stdout.includes(s))).toEqual([]);
    const json = await sluice(['replay', `audit-masked-${first}`, '--json', '--storage', stack.storageUrl]);
    expect(JSON.parse(json.stdout).data.response.rows).toEqual(maskedRows);
  });

  it('leaves no raw PII in the database file, its WAL, the gateway log or any export', async () => {
    const files = [stack.databaseFile, `${stack.databaseFile}-wal`].filter((f) => existsSync(f));
    expect(files.length).toBeGreaterThan(0);
    const haystacks: Record<string, string> = {
      'database file': (await Promise.all(files.map((f) => readFile(f)))).map((b) => b.toString('latin1')).join('\n'),
      'gateway log': stack.logs.join(''),
    };
    for (const format of ['opa-decision-log', 'records']) {
      const run = await sluice(['audit', 'export', '--format', format, '--storage', stack.storageUrl]);
      expect(run.code, run.stderr).toBe(0);
      haystacks[`${format} export`] = run.stdout;
    }
    const list = await sluice(['audit', 'list', '--json', '--limit', '1000', '--storage', stack.storageUrl]);
    haystacks['audit list --json'] = list.stdout;
    // Each haystack holds the run (so an empty one cannot pass), and none of the seeded PII.
    for (const [where, text] of Object.entries(haystacks)) {
      expect(text, where).toContain(`audit-masked-${first}`);
      expect(secrets.filter((s) => text.includes(s)), where).toEqual([]);
    }
  });

  it('records no statement hash that gives back a redacted literal or parameter to whoever hashes guesses', async () => {
    // A PII reader looks a customer up by SSN: the literal (and the parameter) are redacted from
    // the record, but sql.hash covers them, so a plain hash in the trail or the log is an oracle.
    const ssn = '123-45-6707';
    const byLiteral = `SELECT customer_id FROM crm.customers WHERE ssn = '${ssn}'`;
    expect((await query('audit-oracle-literal', byLiteral, 'pii-agent')).status).toBe(200);
    const byParameter = 'SELECT customer_id FROM crm.customers WHERE ssn = @ssn';
    const parameters = [{ name: 'ssn', parameterType: { type: 'STRING' }, parameterValue: { value: ssn } }];
    const res = await stack.fetch(queries, {
      method: 'POST',
      agent: 'pii-agent',
      headers: { 'x-request-id': 'audit-oracle-parameter' },
      body: JSON.stringify({ query: byParameter, useLegacySql: false, parameterMode: 'NAMED', queryParameters: parameters }),
    });
    expect(res.status).toBe(200);
    const identity = { subject: 'pii-agent', issuer: 'x', groups: [] } as never;
    const hashOf = (sql: string, params?: unknown) => normalize({ identity, sql, project: PROJECT, route: 'jobs.query', ...(params !== undefined && { parameters: params }) }).sql.hash;
    const guesses = new Set([hashOf(byLiteral), hashOf(byParameter, parameters)]);
    const found = [...(await recordsOf('audit-oracle-literal')), ...(await recordsOf('audit-oracle-parameter'))];
    expect(found.map((r) => r.record.kind).sort()).toEqual(['forward', 'forward', 'request', 'request']);
    const text = JSON.stringify(found) + stack.logs.join('');
    expect(text).not.toContain(ssn);
    for (const guess of guesses) expect(text).not.toContain(guess);
    // The records still tell one statement from another, and the same statement run again.
    const request = found.find((r) => r.record.kind === 'request')!.record as { data: { sql_hash: string; input: { sql: { hash: string } } } };
    expect(request.data.sql_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(request.data.input.sql.hash).toBe(request.data.sql_hash);
  });

  it('keeps a literal the parser quotes out of the recorded reasons of a refusal', async () => {
    // A customer's name as a literal where the parser gives up: the policy's statement_unparsed
    // reason quotes the parser, which quotes the literal. No detector knows a name.
    const name = 'Evangeline Quarrington-Voss';
    const refused = await query('audit-parser-literal', `SELECT customer_id FROM crm.customers WHERE (name = '${name}'`, 'pii-agent');
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('[statement_unparsed]');
    const [request] = (await recordsOf('audit-parser-literal')).map((r) => r.record);
    expect(request!.kind).toBe('request');
    const data = request!.data as { decision: { reasons: { code: string; message: string }[] }; redactions: string[] };
    expect(data.decision.reasons.map((r) => r.code)).toEqual(['statement_unparsed']);
    expect(data.decision.reasons[0]!.message).toMatch(/^statement 0 could not be parsed: syntax not understood near /);
    expect(data.redactions).toContain('/decision/reasons/0/message');
    expect(JSON.stringify(request) + stack.logs.join('')).not.toContain(name);
  });

  it('sends nothing upstream when the trail cannot record: 503 backendError, and no job runs', async () => {
    // Recorded, so it runs: one job upstream (its dry run is cached from the first run).
    expect((await query('audit-forwarded-0001', sql.allowed)).status).toBe(200);
    const before = await stack.upstreamJobs();
    expect((await query('audit-forwarded-0002', sql.allowed)).status).toBe(200);
    expect(await stack.upstreamJobs()).toBe(before + 1);
    expect((await recordsOf('audit-forwarded-0002')).map((r) => r.record.kind)).toEqual(['forward', 'request']);

    await stack.gateway.audit.close();
    const refused = await query('audit-forwarded-0003', sql.allowed);
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 503, status: 'UNAVAILABLE', errors: [{ reason: 'backendError' }] });
    expect(refused.body.error.message).toMatch(/could not be recorded in the audit trail, so it was not run/);
    expect(await stack.upstreamJobs()).toBe(before + 1);
    expect(await recordsOf('audit-forwarded-0003')).toEqual([]);

    const res = await query('audit-unavailable-0001', sql.masked);
    expect(res.status).toBe(503);
    expect(res.body.rows).toBeUndefined();
    // A refusal stays a refusal.
    expect((await query('audit-unavailable-0002', sql.denied)).status).toBe(403);
  });
});
