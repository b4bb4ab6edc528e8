// One agent floods the approval queue: 1,000 finance queries, a tenth of them the same statement
// with other values or comments (joined to one request), the rest of different shapes. At most the
// policy's cap of requests are open at once, the rest are answered 429 rateLimitExceeded, every
// attempt is in the audit trail, and another agent's request stays on its approver's first page.
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const ATTEMPTS = 1000;
const MAX_OPEN = 20; // rego/org/data.yaml approval_limits
const CONCURRENCY = 4;

/**
 * Variant i: one in ten differs from the first only in values and comments (joined to its
 * request); the others each have their own shape (a new request each, until the cap).
 */
function variant(i: number): string {
  return i % 10 === 0
    ? `SELECT entry_id, amount FROM finance.ledger WHERE entry_id > -${i} -- attempt ${i}`
    : `SELECT entry_id AS e${i}, amount FROM finance.ledger WHERE entry_id > -${i}`;
}

describe('a flood of approval requests from one agent', () => {
  let stack: Stack;
  let alice: string;

  beforeAll(async () => {
    stack = await startStack({ idp: { webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] } });
    alice = await humanAccessToken(stack.idp, 'alice');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it(`caps open requests at ${MAX_OPEN}, answers the rest 429, records every attempt`, { timeout: 240_000 }, async () => {
    // Another agent's request, filed first: the flood must not bury it.
    const other = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, {
      method: 'POST',
      agent: 'analyst-bot',
      body: JSON.stringify({ query: 'SELECT account FROM finance.ledger', useLegacySql: false }),
    });
    expect(other.status).toBe(200);
    expect(other.body.jobComplete).toBe(false);

    const token = await stack.token('reporting-agent');
    const statuses: number[] = new Array(ATTEMPTS);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < ATTEMPTS; i = next++) {
        const res = await fetch(`${stack.gatewayUrl}/bigquery/v2/projects/${PROJECT}/queries`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ query: variant(i), useLegacySql: false }),
        });
        statuses[i] = res.status;
        const body = (await res.json()) as { error?: { errors: { reason: string }[]; status: string } };
        if (res.status === 429) expect(body.error).toMatchObject({ errors: [{ reason: 'rateLimitExceeded' }], status: 'RESOURCE_EXHAUSTED' });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    const held = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(held + limited).toBe(ATTEMPTS);
    expect(limited).toBeGreaterThan(0);

    await stack.gateway.audit.flush();
    const db = new Database(stack.databaseFile, { readonly: true });
    try {
      const open = db.prepare(`SELECT COUNT(*) AS n FROM approval_requests WHERE subject = 'reporting-agent' AND status = 'pending'`).get() as { n: number };
      expect(open.n).toBe(MAX_OPEN);
      // Every attempt has its request record, and every refused one its approval refusal.
      const requests = db.prepare(`SELECT body FROM audit_records WHERE kind = 'request' AND subject = 'reporting-agent'`).all() as { body: string }[];
      const calls = requests.map((r) => JSON.parse(r.body).data).filter((d) => d.route === 'jobs.query');
      expect(calls).toHaveLength(ATTEMPTS);
      expect(calls.filter((d) => d.status === 429)).toHaveLength(limited);
      const refusals = (db.prepare(`SELECT body FROM audit_records WHERE kind = 'approval'`).all() as { body: string }[])
        .map((r) => JSON.parse(r.body).data)
        .filter((d) => d.action === 'refused' && d.operation === 'request' && d.actor === 'reporting-agent');
      expect(refusals).toHaveLength(limited);
    } finally {
      db.close();
    }

    // The approver's first page still shows the other agent's request.
    const page = await fetch(`${stack.gatewayUrl}/approvals?status=pending`, { headers: { authorization: `Bearer ${alice}` } });
    const listed = ((await page.json()) as { requests: { requester: { subject: string } }[] }).requests;
    expect(listed.some((r) => r.requester.subject === 'analyst-bot')).toBe(true);
    expect(listed.filter((r) => r.requester.subject === 'reporting-agent')).toHaveLength(MAX_OPEN);

    const verify = await import('../../gateway/audit/index.ts').then((m) => m.verifyAudit(stack.gateway.database.db));
    expect(verify.ok).toBe(true);
  });
});
