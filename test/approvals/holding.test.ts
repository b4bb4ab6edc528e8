import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../gateway/store/database.ts';
import { createApprovalStore, type ApprovalStore } from '../../gateway/approvals/index.ts';
import { storageTargets } from '../support/databases.ts';
import { TestClock, alice, financeAsk, reportingAgent } from './support/fixtures.ts';

describe.each(storageTargets())('holding a caller until the decision on $engine', ({ engine, url }) => {
  const opened: Database[] = [];
  const stores: ApprovalStore[] = [];

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await Promise.all(opened.splice(0).map((d) => d.close()));
  });

  async function replicas(count: number, pollIntervalMs = 100, now?: () => number): Promise<ApprovalStore[]> {
    const storageUrl = await url();
    const first = await openDatabase(storageUrl);
    opened.push(first);
    const result: ApprovalStore[] = [];
    for (let i = 0; i < count; i++) {
      // PostgreSQL replicas have their own pools; SQLite serves one process (one connection).
      const database = i === 0 || engine === 'sqlite' ? first : await openDatabase(storageUrl);
      if (!opened.includes(database)) opened.push(database);
      const store = createApprovalStore({ database, publicUrl: 'http://127.0.0.1:8080', pollIntervalMs, sweepIntervalMs: 0, ...(now && { now }) });
      stores.push(store);
      result.push(store);
    }
    return result;
  }

  it('returns as soon as an approver on the same replica approves', async () => {
    // A long poll interval: only the in-process notification can make this quick.
    const [store] = await replicas(1, 60_000);
    const { id } = await store!.requestApproval(financeAsk(reportingAgent));
    const started = performance.now();
    const held = store!.waitForDecision(id, { timeoutMs: 20_000 });
    setTimeout(() => void store!.vote({ requestId: id, approver: alice, vote: 'approve', comment: 'go ahead' }), 200);
    const view = await held;
    expect(view).toMatchObject({ id, status: 'approved' });
    expect(view.grantId).toMatch(/^grt_/);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect((await store!.activeGrants(reportingAgent)).map((g) => g.id)).toEqual([view.grantId]);
  });

  it('sees a decision taken on another replica by polling the database', async () => {
    const [held, other] = await replicas(2, 100);
    const { id } = await held!.requestApproval(financeAsk(reportingAgent));
    const waiting = held!.waitForDecision(id, { timeoutMs: 20_000 });
    setTimeout(() => void other!.vote({ requestId: id, approver: alice, vote: 'reject', comment: 'no' }), 300);
    expect(await waiting).toMatchObject({ id, status: 'rejected', grantId: null });
  });

  it('gives the request back still pending when the hold times out', async () => {
    const [store] = await replicas(1, 50);
    const { id } = await store!.requestApproval(financeAsk(reportingAgent));
    const started = performance.now();
    const view = await store!.waitForDecision(id, { timeoutMs: 400 });
    const waited = performance.now() - started;
    expect(view.status).toBe('pending');
    expect(waited).toBeGreaterThanOrEqual(380);
    expect(waited).toBeLessThan(3_000);
  });

  it('stops holding when the caller goes away, and when the request expires', async () => {
    const [store] = await replicas(1, 50);
    const { id } = await store!.requestApproval(financeAsk(reportingAgent));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('client disconnected')), 150);
    await expect(store!.waitForDecision(id, { timeoutMs: 10_000, signal: controller.signal })).rejects.toThrow('client disconnected');

    const clock = new TestClock(Date.now());
    const [clocked] = await replicas(1, 50, () => clock.now());
    const short = await clocked!.requestApproval(financeAsk(reportingAgent, { approval: { request_ttl_seconds: 5 } }));
    setTimeout(() => clock.advance(6), 150);
    expect(await clocked!.waitForDecision(short.id, { timeoutMs: 10_000 })).toMatchObject({ status: 'expired' });
  });

  it('releases held callers when the store closes', async () => {
    const [store] = await replicas(1, 60_000);
    const { id } = await store!.requestApproval(financeAsk(reportingAgent));
    const held = store!.waitForDecision(id, { timeoutMs: 60_000 });
    setTimeout(() => void store!.close(), 100);
    expect((await held).status).toBe('pending');
  });
});
