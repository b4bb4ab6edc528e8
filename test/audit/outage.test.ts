// PostgreSQL going away or hanging mid-run, on a cluster of its own (stopping the shared one would break
// every other test file).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, AuditUnavailableError, auditUnavailableBody, verifyAudit } from '../../gateway/audit/index.ts';
import { openDatabase, type Database } from '../../gateway/store/database.ts';
import { freshPostgresDatabase } from '../support/databases.ts';
import { postgresAvailable, removeCluster, serverProcesses, signal, startPostgres, type PostgresCluster } from '../support/postgres.ts';
import { plainEvent } from './helpers.ts';

describe.runIf(postgresAvailable())('audit log when PostgreSQL fails', () => {
  let cluster: PostgresCluster;
  let database: Database;

  beforeAll(async () => {
    cluster = await startPostgres();
    database = await openDatabase(await freshPostgresDatabase(cluster.url));
  });

  afterAll(async () => {
    await database?.close();
    if (cluster) removeCluster(cluster);
  });

  it('rejects quickly with AuditUnavailableError while it is down and continues the chain after', async () => {
    const log = await AuditLog.open(database, { stream: 'gw-pg', commitTimeoutMs: 4_000 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.record(plainEvent(i))));
    const head = log.head;
    expect(head.seq).toBe(20);

    cluster.stop();
    const started = performance.now();
    const during = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => log.record(plainEvent(100 + i))));
    const elapsed = performance.now() - started;
    for (const result of during) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(AuditUnavailableError);
    }
    expect(elapsed).toBeLessThan(2_000); // the store's error, not the 4 s commit timeout
    expect(log.head).toEqual(head);
    // What the gateway sends the agent meanwhile.
    expect(auditUnavailableBody()).toMatchObject({ error: { code: 503, status: 'UNAVAILABLE', errors: [{ reason: 'backendError' }] } });

    cluster.start();
    const after = await log.record(plainEvent(200));
    expect(after.seq).toBe(21);
    await Promise.all(Array.from({ length: 30 }, (_, i) => log.record(plainEvent(300 + i))));

    const report = await verifyAudit(database.db);
    expect(report.ok).toBe(true);
    expect(report.streams[0]).toMatchObject({ stream: 'gw-pg', records: 51, firstSeq: 1, lastSeq: 51 });
  });

  it('rejects at the commit timeout when the server hangs, and the chain stays whole when it resumes', async () => {
    const log = await AuditLog.open(database, { stream: 'gw-hang', commitTimeoutMs: 1_500 });
    await Promise.all(Array.from({ length: 5 }, (_, i) => log.record(plainEvent(i))));
    const server = serverProcesses(cluster.dataDir);
    signal(server, 'SIGSTOP');
    let during: PromiseSettledResult<unknown>[];
    const started = performance.now();
    try {
      during = await Promise.allSettled(Array.from({ length: 3 }, (_, i) => log.record(plainEvent(50 + i))));
    } finally {
      signal(server, 'SIGCONT');
    }
    const elapsed = performance.now() - started;
    expect(during.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
    expect(elapsed).toBeLessThan(3_000);

    // The insert that was in flight may still commit once the server resumes: the record is then
    // there although its caller was refused (over-recording, never under-recording).
    const next = await log.record(plainEvent(99));
    const report = await verifyAudit(database.db, { stream: 'gw-hang' });
    expect(report.ok).toBe(true);
    expect(report.streams[0]!.lastSeq).toBe(next.seq);
    expect([6, 9]).toContain(next.seq);
  });
});
