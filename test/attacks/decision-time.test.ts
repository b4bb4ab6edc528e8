// Analysing and deciding a query runs on the event loop every caller shares, and its cost grows
// with the query. A caller sending wide queries one after another would hold the gateway for all
// the others: each caller's decisions draw on a budget of decision time (limits.decision_time),
// and a caller whose budget is spent is refused with BigQuery's 429 until it refills, recorded
// as any refusal is, while other callers are decided as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRecords } from '../../gateway/audit/index.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const QUERIES = `/bigquery/v2/projects/${PROJECT}/queries`;
// 1,500 masked columns: about a hundred milliseconds of analysis and policy, several times the budget below.
const WIDE = `SELECT ${Array.from({ length: 1500 }, (_, i) => `ssn AS s${i}`).join(', ')} FROM crm.customers LIMIT 1`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ config: { limits: { decision_time: { burst_ms: 20, per_second_ms: 1 } } } });
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

const query = (agent: string, sql: string, requestId: string) =>
  stack.fetch(QUERIES, { method: 'POST', agent, headers: { 'x-request-id': requestId }, body: JSON.stringify({ query: sql, useLegacySql: false, dryRun: true }) });

describe('decision time per caller', () => {
  it('refuses a caller that spent its budget, saying when to retry, and decides for the others', async () => {
    const first = await query('reporting-agent', WIDE, 'budget-wide-1');
    expect(first.status).toBe(200);

    const refused = await query('reporting-agent', 'SELECT COUNT(*) AS n FROM sales.orders', 'budget-wide-2');
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED', errors: [expect.objectContaining({ reason: 'rateLimitExceeded' })] });
    expect(refused.body.error.message).toMatch(/decision time .* retry in \d+ s/);
    const info = refused.body.error.details.find((d: { reason?: string }) => d.reason === 'DECISION_TIME_LIMITED');
    expect(Number(info.metadata.retry_after_seconds)).toBeGreaterThan(10);

    // Recorded as any refusal, with no decision: the policy was never asked.
    const [record] = await listRecords(stack.gateway.database.db, { requestId: 'budget-wide-2', kinds: ['request'] });
    expect(record!.record).toMatchObject({ data: { status: 429, error: { reason: 'rateLimitExceeded' }, decision: null } });

    // Another caller is decided as before.
    const other = await query('analyst-bot', 'SELECT COUNT(*) AS n FROM sales.orders', 'budget-other-1');
    expect(other.status).toBe(200);
    const metrics = (await stack.fetch('/metrics')).body as string;
    expect(metrics).toMatch(/sluice_refusals_total\{reason="rateLimitExceeded"\} [1-9]/);
  }, 60_000);
});

describe('DecisionBudget', () => {
  it('refills at its rate up to its burst, and a decision may overdraw it', async () => {
    const { DecisionBudget } = await import('../../gateway/decision-budget.ts');
    let now = 0;
    const budget = new DecisionBudget({ burstMs: 100, perSecondMs: 10 }, () => now);
    expect(budget.waitMs('a')).toBe(0);
    budget.spend('a', 90);
    expect(budget.waitMs('a')).toBe(0);
    budget.spend('a', 60); // a decision under way finishes: 50 ms owed
    expect(budget.waitMs('a')).toBe(5100); // back above zero after 5.1 s at 10 ms/s
    expect(budget.waitMs('b')).toBe(0);
    now = 5_000;
    expect(budget.waitMs('a')).toBeGreaterThan(0);
    now = 5_200;
    expect(budget.waitMs('a')).toBe(0);
    now = 1_000_000; // refilled to the burst, no further
    budget.spend('a', 100);
    expect(budget.waitMs('a')).toBeGreaterThan(0);
  });
});
