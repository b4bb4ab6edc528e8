// The gateway's audit trail: every BigQuery API call (allowed, masked, denied, held for approval,
// refused token) leaves exactly one record, committed before the answer; the chain verifies; the
// database file holds none of the raw PII the emulator was seeded with; and an answer that cannot
// be recorded is not released (503, BigQuery's retryable backendError).
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { listRecords, verifyAudit, type StoredRecord } from '../../gateway/audit/index.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const SEED = fileURLToPath(new URL('../../demo/seed/acme.yaml', import.meta.url));
const PII_COLUMNS = ['name', 'ssn', 'email', 'phone', 'card_number'];

let stack: Stack;
/** Every PII value of crm.customers as seeded. */
let secrets: string[];

beforeAll(async () => {
  stack = await startStack();
  secrets = seededPii(parse(await readFile(SEED, 'utf8')));
  expect(secrets.length).toBeGreaterThanOrEqual(100);
});

afterAll(async () => {
  await stack?.close();
});

/** PII values of crm.customers in the seed file (name, ssn, email, phone, card, street). */
function seededPii(seed: unknown): string[] {
  const out: string[] = [];
  const visit = (node: unknown, path: string[]): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, path));
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    const here = typeof o.id === 'string' ? [...path, o.id] : path;
    if (here.slice(-2).join('.') === 'crm.customers' && Array.isArray(o.data)) {
      for (const row of o.data as Record<string, unknown>[]) {
        for (const c of PII_COLUMNS) if (typeof row[c] === 'string') out.push(row[c] as string);
        const street = (row.address as { street?: unknown } | undefined)?.street;
        if (typeof street === 'string') out.push(street);
      }
      return;
    }
    for (const v of Object.values(o)) visit(v, here);
  };
  visit(seed, []);
  return out;
}

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
  return listRecords(stack.gateway.database.db, { requestId });
}

describe('the audit trail of the gateway', () => {
  const first = '0001';
  const sql = {
    allowed: 'SELECT product, SUM(units) AS units FROM sales.orders GROUP BY product ORDER BY product',
    masked: "SELECT customer_id, name, ssn, email, card_number, address.street AS street FROM crm.customers WHERE email != 'ada.sampleton@example.com' ORDER BY customer_id",
    denied: 'DROP TABLE sales.orders',
    approval: 'SELECT account, SUM(amount) AS total FROM finance.ledger GROUP BY account',
  };

  it('records one record per request, with its outcome, before the answer', async () => {
    const allowed = await query(`audit-allowed-${first}`, sql.allowed);
    expect(allowed.status).toBe(200);
    const masked = await query(`audit-masked-${first}`, sql.masked);
    expect(masked.status).toBe(200);
    expect(masked.body.rows.length).toBeGreaterThan(0);
    const denied = await query(`audit-denied-${first}`, sql.denied);
    expect(denied.status).toBe(403);
    const approval = await query(`audit-approval-${first}`, sql.approval);
    expect(approval.status).toBe(403);
    expect(approval.body.error.errors[0].reason).toBe('approvalRequired');
    const token = await query(`audit-token-${first}`, sql.allowed, null, { authorization: 'Bearer not-a-jwt' });
    expect(token.status).toBe(401);

    const expectations: [string, string | null, number, string][] = [
      ['allowed', 'allow', 200, 'request'],
      ['masked', 'mask', 200, 'request'],
      ['denied', 'deny', 403, 'request'],
      ['approval', 'approve', 403, 'request'],
      ['token', null, 401, 'token_failure'],
    ];
    for (const [name, outcome, status, kind] of expectations) {
      const records = await recordsOf(`audit-${name}-${first}`);
      expect(records, name).toHaveLength(1);
      const { record } = records[0]!;
      expect(record.kind, name).toBe(kind);
      if (record.kind === 'request') {
        expect(record.data.decision?.outcome, name).toBe(outcome);
        expect(record.data.status, name).toBe(status);
        expect(record.data.identity.subject).toBe('reporting-agent');
        expect(record.data.route).toBe('jobs.query');
      }
    }

    // Every API call made so far has its record; the approval request its own `approval` record.
    const all = await listRecords(stack.gateway.database.db, { order: 'oldest' });
    expect(all.filter((r) => r.record.kind === 'request' || r.record.kind === 'token_failure')).toHaveLength(5);
    const approvalId = approval.body.error.details[0].metadata.approval_request_id as string;
    expect(all.some((r) => r.record.kind === 'approval' && (r.record.data as { approval_id?: string }).approval_id === approvalId)).toBe(true);
    const approvalRecord = (await recordsOf(`audit-approval-${first}`))[0]!.record;
    expect(approvalRecord.kind === 'request' && approvalRecord.data.approval_ids).toEqual([approvalId]);

    // The masked answer is recorded as the agent received it: masked rows, never the upstream ones.
    const maskedRecord = (await recordsOf(`audit-masked-${first}`))[0]!.record;
    if (maskedRecord.kind !== 'request') throw new Error('expected a request record');
    expect(maskedRecord.data.response?.rows_recorded).toBe(masked.body.rows.length);
    expect(JSON.stringify(maskedRecord.data.response?.rows)).toBe(JSON.stringify(masked.body.rows));
    expect(maskedRecord.data.masking?.cells_masked).toBeGreaterThan(0);
    // The SQL literal (a customer's e-mail) is not kept.
    expect(JSON.stringify(maskedRecord)).not.toContain('ada.sampleton@example.com');

    const tokenRecord = (await recordsOf(`audit-token-${first}`))[0]!.record;
    expect(tokenRecord.kind === 'token_failure' && tokenRecord.data.route).toBe('jobs.query');
  });

  it('keeps a chain that verifies', async () => {
    const report = await verifyAudit(stack.gateway.database.db);
    expect(report.broken).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('leaves no raw PII in the database file or its WAL', async () => {
    const files = [stack.databaseFile, `${stack.databaseFile}-wal`].filter((f) => existsSync(f));
    expect(files.length).toBeGreaterThan(0);
    const text = (await Promise.all(files.map((f) => readFile(f)))).map((b) => b.toString('latin1')).join('\n');
    expect(text).toContain('audit-masked-0001'); // the records are there
    const found = secrets.filter((s) => text.includes(s));
    expect(found).toEqual([]);
  });

  it('answers 503 backendError and releases nothing when the trail cannot record', async () => {
    await stack.gateway.audit.close();
    const res = await query('audit-unavailable-0001', sql.masked);
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 503, status: 'UNAVAILABLE', errors: [{ reason: 'backendError' }] });
    expect(res.body.rows).toBeUndefined();
    // A refusal stays a refusal.
    expect((await query('audit-unavailable-0002', sql.denied)).status).toBe(403);
  });
});
