// /readyz reports not ready when the store the audit trail is written to cannot take a write, and
// says so: on a SQLite file whose write lock another connection holds, on a SQLite file made
// immutable under the running gateway (where the file system allows it), and on a PostgreSQL cluster
// of its own that is stopped, then frozen (SIGSTOP). The probe answers within its own 1 s timeout
// whatever the store does (the connection's 5 s busy timeout does not apply to it, and the process
// keeps serving meanwhile), its result is reused for 1.5 s, and readiness comes back by itself once
// the store takes writes again. The upstream half of /readyz is the emulator, reachable throughout.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresDatabase } from '../support/databases.ts';
import { postgresAvailable, removeCluster, serverProcesses, signal, startPostgres, type PostgresCluster } from '../support/postgres.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

/** The probe's defaults (gateway/audit/store-probe.ts). */
const PROBE_TIMEOUT_MS = 1_000;
const CACHE_MS = 1_500;
/** Time for a changed store to show: the cached result runs out, then one probe. */
const FLIP_WITHIN_MS = CACHE_MS + PROBE_TIMEOUT_MS + 1_000;

interface Readiness {
  status: number;
  body: { status: string; policy_revision: string; upstreams: Record<string, string>; audit_store: string };
  ms: number;
}

async function timedGet(url: string): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - started };
}

async function readyz(stack: Stack): Promise<Readiness> {
  const { status, text, ms } = await timedGet(`${stack.gatewayUrl}/readyz`);
  return { status, body: JSON.parse(text), ms };
}

/** Polls /readyz until it answers `status`; every answer must come within the probe's timeout. */
async function readyzUntil(stack: Stack, status: number): Promise<Readiness & { afterMs: number }> {
  const started = performance.now();
  for (;;) {
    const ready = await readyz(stack);
    expect(ready.ms).toBeLessThan(PROBE_TIMEOUT_MS + 500);
    const afterMs = performance.now() - started;
    if (ready.status === status) return { ...ready, afterMs };
    expect(afterMs, `/readyz still answers ${ready.status}: ${JSON.stringify(ready.body)}`).toBeLessThan(FLIP_WITHIN_MS);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function writableGauge(stack: Stack): Promise<number> {
  const { text } = await timedGet(`${stack.gatewayUrl}/metrics`);
  const line = /^sluice_audit_store_writable (\S+)$/m.exec(text);
  expect(line, 'sluice_audit_store_writable is exported').not.toBeNull();
  return Number(line![1]);
}

function expectReady(stack: Stack, ready: Readiness): void {
  expect(ready.status).toBe(200);
  expect(ready.body).toEqual({ status: 'ready', policy_revision: stack.gateway.engine.revision, upstreams: { acme: 'reachable' }, audit_store: 'writable' });
}

function expectAuditStoreDown(stack: Stack, ready: Readiness, reason: RegExp): void {
  expect(ready.status).toBe(503);
  expect(ready.body).toMatchObject({ status: 'not ready', policy_revision: stack.gateway.engine.revision, upstreams: { acme: 'reachable' } });
  expect(ready.body.audit_store).toMatch(/^unavailable: /);
  expect(ready.body.audit_store.slice('unavailable: '.length)).toMatch(reason);
}

describe('/readyz on a SQLite file whose write lock is held elsewhere', () => {
  let stack: Stack;
  let other: BetterSqlite3.Database;

  beforeAll(async () => {
    stack = await startStack();
    other = new BetterSqlite3(stack.databaseFile);
  });

  afterAll(async () => {
    if (other?.inTransaction) other.exec('ROLLBACK');
    other?.close();
    await stack?.close();
  });

  it('is not ready, naming the audit store, while it cannot take a write, and ready again once it can', async () => {
    expectReady(stack, await readyz(stack));
    expect(await writableGauge(stack)).toBe(1);
    // The probe's write: this instance's heartbeat row.
    const heartbeats = other.prepare('SELECT stream, at_ms FROM audit_heartbeats').all() as { stream: string; at_ms: number }[];
    expect(heartbeats).toEqual([{ stream: stack.gateway.audit.stream, at_ms: expect.any(Number) }]);
    expect(Math.abs(heartbeats[0]!.at_ms - Date.now())).toBeLessThan(10_000);

    other.exec('BEGIN EXCLUSIVE'); // the write lock, held
    try {
      const down = await readyzUntil(stack, 503);
      expectAuditStoreDown(stack, down, /database is locked/);
      expect(await writableGauge(stack)).toBe(0);
      // Cached meanwhile: an immediate second poll does not probe again.
      const cached = await readyz(stack);
      expect(cached.status).toBe(503);
      expect(cached.ms).toBeLessThan(250);

      // Once the cache window has passed, a poll probes again: it waits for the lock no longer than
      // its own timeout (not the connection's 5 s busy timeout), and the process answers others meanwhile.
      await new Promise((resolve) => setTimeout(resolve, CACHE_MS + 100));
      const probing = readyz(stack);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const health = await timedGet(`${stack.gatewayUrl}/healthz`);
      const again = await probing;
      expect(health.status).toBe(200);
      expect(health.ms).toBeLessThan(200);
      expectAuditStoreDown(stack, again, /database is locked/);
      expect(again.ms).toBeGreaterThan(PROBE_TIMEOUT_MS - 200); // it retried until its deadline
      expect(again.ms).toBeLessThan(PROBE_TIMEOUT_MS + 500);
    } finally {
      other.exec('ROLLBACK');
    }

    const back = await readyzUntil(stack, 200);
    expectReady(stack, back);
    expect(back.afterMs).toBeLessThan(CACHE_MS + 500);
    expect(await writableGauge(stack)).toBe(1);
  });
});

/**
 * Whether files in the temporary directory can be made immutable (`chattr +i`: ext4 and the like,
 * as root). Root ignores a read-only mode, and an open SQLite file keeps its write access anyway;
 * an immutable file refuses writes even through descriptors opened before.
 */
function immutableFilesAvailable(): boolean {
  const probe = join(tmpdir(), `sluice-chattr-${process.pid}`);
  try {
    writeFileSync(probe, '');
    execFileSync('chattr', ['+i', probe], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { force: true });
  }
}

describe.runIf(immutableFilesAvailable())('/readyz on a SQLite file made read-only under the running gateway', () => {
  let stack: Stack;
  const files = () => [stack.databaseFile, `${stack.databaseFile}-wal`].filter((f) => existsSync(f));
  const chattr = (flag: '+i' | '-i') => execFileSync('chattr', [flag, ...files()], { stdio: 'ignore' });

  beforeAll(async () => {
    stack = await startStack();
  });

  afterAll(async () => {
    if (stack) chattr('-i');
    await stack?.close();
  });

  it('is not ready while the file takes no writes, refuses queries meanwhile, and is ready again after', async () => {
    expectReady(stack, await readyz(stack));
    chattr('+i');
    try {
      const down = await readyzUntil(stack, 503);
      expect(down.body.audit_store).toMatch(/^unavailable: /);
      const refused = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, {
        method: 'POST',
        agent: 'reporting-agent',
        body: JSON.stringify({ query: 'SELECT COUNT(*) AS n FROM sales.orders', useLegacySql: false }),
      });
      expect(refused.status).toBe(503);
    } finally {
      chattr('-i');
    }
    expectReady(stack, await readyzUntil(stack, 200));
    const answered = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, {
      method: 'POST',
      agent: 'reporting-agent',
      body: JSON.stringify({ query: 'SELECT COUNT(*) AS n FROM sales.orders', useLegacySql: false }),
    });
    expect(answered.status).toBe(200);
  });
});

describe.runIf(postgresAvailable())('/readyz on a PostgreSQL cluster that stops and hangs', () => {
  let cluster: PostgresCluster;
  let stack: Stack;

  beforeAll(async () => {
    cluster = await startPostgres();
    stack = await startStack({ storageUrl: await freshPostgresDatabase(cluster.url) });
  });

  afterAll(async () => {
    await stack?.close();
    if (cluster) removeCluster(cluster);
  });

  it('is not ready while the cluster is stopped and ready again once it is started', async () => {
    expectReady(stack, await readyz(stack));

    cluster.stop();
    try {
      expectAuditStoreDown(stack, await readyzUntil(stack, 503), /\S/);
      expect(await writableGauge(stack)).toBe(0);
    } finally {
      cluster.start();
    }

    expectReady(stack, await readyzUntil(stack, 200));
    expect(await writableGauge(stack)).toBe(1);
  });

  it('answers within the probe timeout while the server hangs, with one probe write outstanding at most', async () => {
    expectReady(stack, await readyzUntil(stack, 200));
    const server = serverProcesses(cluster.dataDir);
    signal(server, 'SIGSTOP');
    try {
      expectAuditStoreDown(stack, await readyzUntil(stack, 503), new RegExp(`^no write committed within ${PROBE_TIMEOUT_MS} ms$`));
      // The hung write is still in the driver: the next probe does not pile another one on it.
      await new Promise((resolve) => setTimeout(resolve, CACHE_MS + 100));
      const next = await readyz(stack);
      expectAuditStoreDown(stack, next, /^the previous probe write has not finished after \d+\.\d s$/);
      expect(next.ms).toBeLessThan(250);
    } finally {
      signal(server, 'SIGCONT');
    }

    expectReady(stack, await readyzUntil(stack, 200));
  });
});
