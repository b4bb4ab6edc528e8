// Decision-log shipping from real audit records (AuditLog on SQLite, and PostgreSQL when the run
// has one) to a local collector: exactly once through collector failures and restarts, resumed
// from the persisted cursor after a gateway restart, bounded (dropped events counted and logged),
// and one stream per replica.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, Engine, type Evaluation } from '../../engine/index.ts';
import { AuditLog, findRecords, type RequestAuditEvent } from '../../gateway/audit/index.ts';
import { resolveConfig } from '../../gateway/config/load.ts';
import { resolveDecisionLogs, startDecisionLogShipper, storedCursor, type DecisionLogShipperHandle, type DecisionLogsSection, type ShipperLog } from '../../gateway/decision-logs/index.ts';
import { openDatabase, type Database } from '../../gateway/store/database.ts';
import { storageTargets } from '../support/databases.ts';
import { AGENT, ANALYST, crmSelect, plainEvent, requestEvent, salesSelect } from '../audit/helpers.ts';
import { eventually, startCollector, type Collector } from './collector.ts';

let engine: Engine;
let masked: { input: ReturnType<typeof crmSelect>; evaluation: Evaluation };
let allowed: { input: ReturnType<typeof salesSelect>; evaluation: Evaluation };
beforeAll(async () => {
  engine = await Engine.load((await buildBundle({ out: join(mkdtempSync(join(tmpdir(), 'sluice-dl-')), 'bundle.tar.gz') })).path);
  const crm = crmSelect(AGENT);
  masked = { input: crm, evaluation: engine.evaluate(crm) };
  const sales = salesSelect(ANALYST);
  allowed = { input: sales, evaluation: engine.evaluate(sales) };
});

function decision(i: number): RequestAuditEvent {
  const { input, evaluation } = i % 2 ? masked : allowed;
  return requestEvent(input, evaluation);
}

function config(collector: Collector, section: Partial<DecisionLogsSection> = {}) {
  return resolveDecisionLogs({ url: collector.url, min_delay_seconds: 0.02, max_delay_seconds: 0.2, timeout_seconds: 1, ...section })!;
}

function capturingLog(): ShipperLog & { lines: { level: string; object: object; message: string }[] } {
  const lines: { level: string; object: object; message: string }[] = [];
  const at = (level: string) => (object: object, message: string) => void lines.push({ level, object, message });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const values = (await m.get()).values.filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value));
  return values.reduce((n, v) => n + v.value, 0);
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

describe('decision_logs configuration', () => {
  const base = { issuers: [{ issuer: 'https://idp.test', audience: 'sluice' }], connections: [{ name: 'a', upstream: 'http://127.0.0.1:1', project: 'p', credentials: { mode: 'none' } }] };

  it('fills in defaults and takes a bearer token from the environment', () => {
    const resolved = resolveConfig({ ...base, decision_logs: { url: 'https://logs.example/v1/', credentials: { bearer: { token: '${DL_TOKEN}' } } } }, { env: { DL_TOKEN: 's3cret' } });
    expect(resolved.decisionLogs).toEqual({
      url: 'https://logs.example/v1',
      bearerToken: 's3cret',
      minDelayMs: 1000,
      maxDelayMs: 60_000,
      maxBatchBytes: 512 * 1024,
      maxBufferedEvents: 100_000,
      maxAgeMs: 86_400_000,
      timeoutMs: 10_000,
    });
    expect(resolveConfig(base).decisionLogs).toBeUndefined();
  });

  it('refuses unknown keys and a max delay below the min delay', () => {
    expect(() => resolveConfig({ ...base, decision_logs: { url: 'https://logs.example', batch: 1 } })).toThrow(/invalid/);
    expect(() => resolveConfig({ ...base, decision_logs: { url: 'https://logs.example', min_delay_seconds: 10, max_delay_seconds: 5 } })).toThrow(/max_delay_seconds/);
  });
});

describe.each(storageTargets())('decision-log shipping on $engine', ({ url }) => {
  let collector: Collector;
  let storage: string;

  async function open(stream = 'gw-a'): Promise<{ database: Database; audit: AuditLog }> {
    const database = await openDatabase(storage);
    const audit = await AuditLog.open(database, { stream });
    cleanup.push(() => database.close(), () => audit.close());
    return { database, audit };
  }

  function ship(parts: { database: Database; audit: AuditLog }, options: { section?: Partial<DecisionLogsSection>; registry?: Registry; log?: ShipperLog; now?: () => number } = {}): DecisionLogShipperHandle {
    const shipper = startDecisionLogShipper({ audit: parts.audit, database: parts.database, config: config(collector, options.section), metricsRegistry: options.registry, log: options.log, now: options.now });
    cleanup.push(() => shipper.close());
    return shipper;
  }

  beforeAll(async () => {
    collector = await startCollector();
    return () => collector.close();
  });

  afterEach(() => {
    collector.mode = 'ok';
    collector.events.length = 0;
    collector.uploads.length = 0;
  });

  it('ships 500 decisions exactly once through a failing and restarted collector', { timeout: 90_000 }, async () => {
    storage = await url();
    const parts = await open();
    const registry = new Registry();
    const log = capturingLog();
    const shipper = ship(parts, { registry, log, section: { max_batch_bytes: 32 * 1024, credentials: { bearer: { token: 'tok-123' } } } });
    const ids: string[] = [];
    const requestIds: string[] = [];
    const record = async (from: number, to: number) => {
      const events = Array.from({ length: to - from }, (_, k) => decision(from + k));
      // No decision: a request record that is not a decision-log event.
      const [recorded] = await Promise.all([Promise.all(events.map((e) => parts.audit.record(e))), parts.audit.record(plainEvent(from))]);
      ids.push(...recorded.map((r) => r.id));
      requestIds.push(...events.map((e) => e.request_id));
    };

    await record(0, 150);
    await eventually(() => collector.events.length >= 50, 20_000, 'first uploads');
    collector.mode = 'fail'; // answers 500, keeps nothing
    await record(150, 250);
    await eventually(async () => (await metric(registry, 'sluice_decision_log_uploads_total', { outcome: 'http_error' })) >= 3, 20_000, 'failed uploads');
    await collector.stop(); // connection refused
    await record(250, 400);
    await eventually(async () => (await metric(registry, 'sluice_decision_log_uploads_total', { outcome: 'network_error' })) >= 2, 20_000, 'refused uploads');
    expect(shipper.status().consecutiveFailures).toBeGreaterThan(0);
    await collector.start();
    collector.mode = 'ok';
    await record(400, 500);

    await eventually(() => collector.counts().size >= ids.length, 60_000, 'every decision');
    await eventually(() => shipper.status().buffered === 0, 10_000, 'an empty buffer');
    const counts = collector.counts();
    expect(counts.size).toBe(500);
    for (const id of ids) expect(counts.get(id), id).toBe(1);
    expect(collector.events).toHaveLength(500);
    expect(shipper.status()).toMatchObject({ shipped: 500, dropped: { buffer_full: 0, max_age: 0, oversized: 0 }, consecutiveFailures: 0, buffered: 0 });
    expect(await metric(registry, 'sluice_decision_log_dropped_total')).toBe(0);
    expect(await metric(registry, 'sluice_decision_log_buffered')).toBe(0);
    expect(await metric(registry, 'sluice_decision_log_uploads_total', { outcome: 'ok' })).toBeGreaterThan(3);
    expect(log.lines.some((l) => l.level === 'warn' && /upload failed/.test(l.message))).toBe(true);
    expect(log.lines.some((l) => l.level === 'info' && /succeed again/.test(l.message))).toBe(true);

    // OPA's request shape: POST /logs, gzip-compressed JSON, bearer token; batches stay bounded.
    const accepted = collector.uploads.filter((u) => u.mode === 'ok');
    for (const u of accepted) {
      expect(u.path).toBe('/logs');
      expect(u.headers).toMatchObject({ 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: 'Bearer tok-123' });
    }
    expect(accepted.length).toBeGreaterThan(5); // 32 KiB batches
    const event = collector.events.find((e) => e.decision_id === ids[1])!;
    expect(event).toMatchObject({ path: 'sluice/decision', labels: { app: 'sluice', id: 'gw-a' }, requested_by: AGENT.subject, result: masked.evaluation.decision });
    // The cursor is persisted past the last decision.
    expect(event.request_context).toEqual({ http: { headers: { 'x-request-id': [requestIds[1]] } } });
    const last = await findRecords(parts.database.db, requestIds.at(-1)!);
    expect(await storedCursor(parts.database.db, 'gw-a')).toBeGreaterThanOrEqual(last[0]!.record.seq);
  });

  it('takes a 2xx as the acknowledgement without waiting for its body to end', { timeout: 30_000 }, async () => {
    storage = await url();
    const parts = await open();
    collector.mode = 'trickle'; // 200, then a body that never ends
    const shipper = ship(parts, { section: { timeout_seconds: 20 } });
    const events = Array.from({ length: 5 }, (_, k) => decision(k));
    await Promise.all(events.map((e) => parts.audit.record(e)));
    await eventually(() => shipper.status().shipped === 5, 5_000, 'the upload acknowledged by its 200 alone');
    expect(shipper.status()).toMatchObject({ shipped: 5, consecutiveFailures: 0, uploads: { ok: 1, timeout: 0 } });
  });

  it('lets an upload in flight be acknowledged when it closes, so the next shipper sends nothing twice', { timeout: 30_000 }, async () => {
    storage = await url();
    const first = await open();
    await first.audit.record(decision(0)); // shipping starts at the head
    const shipper = ship(first);
    collector.mode = 'slow'; // keeps the events, answers half a second later
    const ids = (await Promise.all(Array.from({ length: 20 }, (_, i) => first.audit.record(decision(1 + i))))).map((r) => r.id);
    await eventually(() => collector.uploads.some((u) => u.mode === 'slow'), 10_000, 'an upload in flight');
    await shipper.close(); // a graceful restart while the collector is about to answer
    collector.mode = 'ok';
    const next = ship(first);
    for (let i = 0; i < 5; i++) await first.audit.record(decision(100 + i));
    await eventually(() => next.status().shipped >= 5, 10_000, 'the next shipper at work');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const counts = collector.counts();
    for (const id of ids) expect(counts.get(id), id).toBe(1);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it('resumes from the persisted cursor after a restart, outage included', { timeout: 60_000 }, async () => {
    storage = await url();
    const first = await open();
    // Shipping starts at the head: decisions recorded before it was enabled are for `audit export`.
    await first.audit.record(decision(0));
    let shipper = ship(first);
    for (let i = 1; i <= 60; i++) await first.audit.record(decision(i));
    await eventually(() => collector.events.length >= 60, 20_000, 'the first 60');
    collector.mode = 'fail';
    const during = Array.from({ length: 40 }, (_, i) => decision(100 + i));
    const duringIds = (await Promise.all(during.map((e) => first.audit.record(e)))).map((r) => r.id);
    await shipper.close();
    await first.audit.close();
    await first.database.close();

    // Recorded while no shipper ran at all.
    const second = await open();
    const offline = Array.from({ length: 30 }, (_, i) => decision(200 + i));
    const offlineIds = (await Promise.all(offline.map((e) => second.audit.record(e)))).map((r) => r.id);
    collector.mode = 'ok';
    shipper = ship(second);
    await eventually(() => collector.events.length >= 130, 20_000, 'the rest');
    await new Promise((resolve) => setTimeout(resolve, 200)); // nothing more arrives
    const counts = collector.counts();
    expect(collector.events).toHaveLength(130);
    for (const id of [...duringIds, ...offlineIds]) expect(counts.get(id), id).toBe(1);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it('drops beyond max_buffered_events and max_age, counted and logged', { timeout: 150_000 }, async () => {
    storage = await url();
    const parts = await open();
    const registry = new Registry();
    const log = capturingLog();
    collector.mode = 'fail';
    const shipper = ship(parts, { registry, log, section: { max_buffered_events: 20 } });
    const events = Array.from({ length: 50 }, (_, i) => decision(i));
    const recorded = [];
    for (const e of events) recorded.push(await parts.audit.record(e));
    await eventually(() => shipper.status().dropped.buffer_full === 30, 45_000, 'the buffer bound');
    expect(await metric(registry, 'sluice_decision_log_dropped_total', { reason: 'buffer_full' })).toBe(30);
    expect(shipper.status().buffered).toBeLessThanOrEqual(20);
    const logged = log.lines.filter((l) => l.level === 'warn' && /decision-log event\(s\) dropped/.test(l.message));
    expect(logged.reduce((n, l) => n + (l.object as { dropped: { buffer_full: number } }).dropped.buffer_full, 0)).toBe(30);
    collector.mode = 'ok';
    // Shipped means the cursor moved past them too (the collector sees a batch before its 2xx).
    await eventually(() => collector.events.length === 20 && shipper.status().shipped === 20, 45_000, 'the 20 kept');
    expect(collector.events.map((e) => e.decision_id)).toEqual(recorded.slice(30).map((r) => r.id)); // the newest, in order

    // Too old to ship: a clock two hours ahead of the records, max age one hour.
    await shipper.close();
    const late = startDecisionLogShipper({ audit: parts.audit, database: parts.database, config: config(collector, { max_age_seconds: 3600 }), metricsRegistry: registry, log, now: () => Date.now() + 2 * 3600_000 });
    cleanup.push(() => late.close());
    await Promise.all(Array.from({ length: 10 }, (_, i) => parts.audit.record(decision(100 + i))));
    await eventually(() => late.status().dropped.max_age === 10, 45_000, 'the age bound').catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(late.status())} ${JSON.stringify(log.lines.slice(-5))}`);
    });
    expect(await metric(registry, 'sluice_decision_log_dropped_total', { reason: 'max_age' })).toBe(10);
    expect(collector.events).toHaveLength(20);
  });

  it('ships each replica’s own stream once when replicas share the database', { timeout: 60_000 }, async () => {
    storage = await url();
    const a = await open('replica-a');
    const b = await open('replica-b');
    const shipA = ship(a);
    const shipB = ship(b);
    const events = Array.from({ length: 200 }, (_, i) => decision(i));
    const recorded = await Promise.all(events.map((e, i) => (i % 2 ? a : b).audit.record(e)));
    await eventually(() => collector.events.length >= 200, 20_000, 'both streams');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(collector.events).toHaveLength(200);
    expect(collector.counts().size).toBe(200);
    expect(new Set(collector.events.filter((e) => e.labels.id === 'replica-a').map((e) => e.decision_id))).toEqual(new Set(recorded.filter((_, i) => i % 2).map((r) => r.id)));
    expect(shipA.status().shipped + shipB.status().shipped).toBe(200);
  });
});
