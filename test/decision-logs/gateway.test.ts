// Decision logs shipped from a real gateway (emulator, identity provider, official client): 200
// queries with the collector failing, then down, and the gateway restarted mid-way; every decision
// recorded in the audit trail arrives exactly once (by decision_id). A collector that hangs does
// not slow the requests: they complete while the uploads time out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanRecords } from '../../gateway/audit/index.ts';
import { resolveDecisionLogs, startDecisionLogShipper, type DecisionLogShipperHandle } from '../../gateway/decision-logs/index.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { eventually, startCollector, type Collector } from './collector.ts';

const SQL = 'SELECT product, SUM(units) AS units FROM sales.orders GROUP BY product ORDER BY product LIMIT 3';
const AGENT = 'reporting-agent';

describe('decision logs shipped from a running gateway', () => {
  let stack: Stack;
  let collector: Collector;
  let shipper: DecisionLogShipperHandle;

  // What server.ts does once wired: the gateway's audit log, database, metrics registry and logger.
  function startShipping(section: Record<string, unknown> = {}): void {
    const gateway = stack.gateway;
    shipper = startDecisionLogShipper({
      audit: gateway.audit,
      database: gateway.database,
      config: resolveDecisionLogs({ url: collector.url, min_delay_seconds: 0.05, max_delay_seconds: 0.5, timeout_seconds: 2, max_batch_bytes: 64 * 1024, ...section })!,
      metricsRegistry: gateway.metrics.registry,
      log: gateway.app.log,
    });
  }

  /** Record ids of the decisions in the audit trail (their decision_id), with how many records carry each. */
  async function recordedDecisions(): Promise<Map<string, number>> {
    const ids = new Map<string, number>();
    for await (const { record } of scanRecords(stack.gateway.database.db, { kinds: ['request'] })) {
      if (record.kind === 'request' && record.data.decision) ids.set(record.id, (ids.get(record.id) ?? 0) + 1);
    }
    return ids;
  }

  async function queries(n: number, concurrency = 20): Promise<number> {
    const client = stack.client(AGENT);
    const started = performance.now();
    for (let done = 0; done < n; done += concurrency) {
      const answers = await Promise.all(Array.from({ length: Math.min(concurrency, n - done) }, () => client.query(SQL).then(([rows]) => rows)));
      for (const rows of answers) expect(rows).toHaveLength(3);
    }
    return performance.now() - started;
  }

  beforeAll(async () => {
    collector = await startCollector();
    stack = await startStack();
    startShipping();
  });

  afterAll(async () => {
    await shipper?.close();
    await stack?.close();
    await collector?.close();
  });

  it('delivers every decision of 200 queries exactly once through collector failures and a gateway restart', { timeout: 120_000 }, async () => {
    await queries(60);
    collector.mode = 'fail';
    await queries(40);
    await collector.stop();
    await queries(40);

    // Restart while the collector is down: the cursor in the database says where shipping stood.
    await shipper.close();
    await stack.restartGateway();
    startShipping();
    await queries(20);
    await collector.start();
    collector.mode = 'ok';
    await queries(40);

    const recorded = await recordedDecisions();
    expect([...recorded.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(200);
    await eventually(() => collector.events.length >= [...recorded.values()].reduce((a, b) => a + b, 0), 60_000, 'every decision');
    await new Promise((resolve) => setTimeout(resolve, 300)); // and nothing twice
    expect(collector.counts()).toEqual(recorded);
    for (const u of collector.uploads) expect(u.headers).toMatchObject({ 'content-encoding': 'gzip', 'content-type': 'application/json' });
    expect(collector.uploads.some((u) => u.mode === 'fail')).toBe(true);

    const metrics = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
    expect(metrics).toMatch(/sluice_decision_log_uploads_total\{outcome="ok"\} [1-9]/);
    expect(metrics).toContain('# TYPE sluice_decision_log_dropped_total counter');
    expect(metrics).not.toMatch(/sluice_decision_log_dropped_total\{[^}]*\} [1-9]/);
    expect(metrics).toContain('sluice_decision_log_buffered 0');
    expect(shipper.status()).toMatchObject({ dropped: { buffer_full: 0, max_age: 0, oversized: 0 }, consecutiveFailures: 0 });
  });

  it('gives each decision its own decision_id when a caller sends the same x-request-id every time', { timeout: 60_000 }, async () => {
    // A collector dedupes on decision_id; were it the caller-chosen request id, an agent reusing
    // one would have every decision after its first dropped there.
    collector.mode = 'ok';
    const harmless = 'SELECT product FROM sales.orders LIMIT 1';
    const probing = 'SELECT product, SUM(units) AS units FROM sales.orders GROUP BY product';
    const ids: string[] = [];
    for (const query of [harmless, probing]) {
      const res = await stack.fetch(`/bigquery/v2/projects/${stack.emulator.project}/queries`, {
        method: 'POST',
        agent: AGENT,
        headers: { 'x-request-id': 'same-id-every-time' },
        body: JSON.stringify({ query, useLegacySql: false }),
      });
      expect(res.status).toBe(200);
      ids.push(res.headers['x-request-id']!);
    }
    // The id names the first request; the second got one of the gateway's.
    expect(ids[0]).toBe('same-id-every-time');
    expect(ids[1]).not.toBe(ids[0]);
    const reusing = () => collector.events.filter((e) => ids.includes(e.request_context.http.headers['x-request-id'][0]!));
    await eventually(() => reusing().length === 2, 20_000, 'both decisions');
    const [first, second] = reusing();
    expect(first!.decision_id).not.toBe(second!.decision_id);
    expect(first!.input?.sql.text).toBe('SELECT product FROM sales.orders LIMIT ?'); // literals redacted
    expect(second!.input?.sql.text).toBe(probing);
  });

  it('does not slow requests when the collector hangs: they complete while uploads time out', { timeout: 120_000 }, async () => {
    // Uploads wait up to 8 s for the collector; a request that waited for one would take that long.
    await shipper.close();
    startShipping({ timeout_seconds: 8, max_delay_seconds: 1 });
    collector.mode = 'ok';
    const before = collector.events.length;
    const answering = await queries(40);

    collector.mode = 'hang';
    await queries(5);
    await eventually(() => collector.uploads.some((u) => u.mode === 'hang'), 20_000, 'an upload hanging');
    const client = stack.client(AGENT);
    const latencies: number[] = [];
    const started = performance.now();
    for (let round = 0; round < 6; round++) {
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const t = performance.now();
          const [rows] = await client.query(SQL);
          latencies.push(performance.now() - t);
          expect(rows).toHaveLength(3);
        }),
      );
    }
    const hanging = performance.now() - started;
    await eventually(() => shipper.status().uploads.timeout >= 1, 30_000, 'an upload timing out');
    latencies.sort((a, b) => a - b);
    console.info(
      `40 queries with the collector answering: ${answering.toFixed(0)} ms; 60 while it hangs: ${hanging.toFixed(0)} ms, latency median ${latencies[30]!.toFixed(0)} ms, max ${latencies.at(-1)!.toFixed(0)} ms`,
    );
    expect(latencies.at(-1)!).toBeLessThan(4000);
    const metrics = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
    expect(metrics).toMatch(/sluice_decision_log_uploads_total\{outcome="timeout"\} [1-9]/);

    // Once it answers again, the decisions made meanwhile arrive (once each).
    await collector.stop();
    await collector.start();
    collector.mode = 'ok';
    const recorded = await recordedDecisions();
    const total = [...recorded.values()].reduce((a, b) => a + b, 0);
    await eventually(() => collector.events.length >= total, 60_000, 'the decisions made while it hung');
    expect(collector.events.length - before).toBeGreaterThanOrEqual(105);
    expect(collector.counts()).toEqual(recorded);
  });
});
