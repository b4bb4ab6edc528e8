// The audit trail under load and through a database outage: 200 concurrent queries through the
// official client leave exactly 200 request records (each after its forward record) and an intact
// chain (SQLite and PostgreSQL); on a dedicated PostgreSQL cluster stopped mid-run the gateway
// refuses with 503 backendError, sends nothing upstream and answers nothing 200 without its
// records, and once the cluster is back it serves and records again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRecords, scanRecords, verifyAudit } from '../../gateway/audit/index.ts';
import { freshPostgresDatabase, storageTargets } from '../support/databases.ts';
import { postgresAvailable, removeCluster, startPostgres, type PostgresCluster } from '../support/postgres.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const SALES_SQL = 'SELECT product, SUM(units) AS units FROM sales.orders GROUP BY product ORDER BY product LIMIT 3';
const CONCURRENT = 200;
const AGENT = 'reporting-agent';

/** Records of `subject`'s jobs.query calls, by kind. */
async function recordsOfCalls(stack: Stack, subject: string): Promise<{ request: number; forward: number }> {
  const n = { request: 0, forward: 0 };
  for await (const { record } of scanRecords(stack.gateway.database.db, { kinds: ['request', 'forward'], subject })) {
    if ((record.kind === 'request' || record.kind === 'forward') && record.data.route === 'jobs.query') n[record.kind]++;
  }
  return n;
}

describe.each(storageTargets())('200 concurrent queries on $engine storage', ({ url }) => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ storageUrl: await url() });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('leaves exactly one request record per query and an intact chain', { timeout: 120_000 }, async () => {
    const client = stack.client(AGENT);
    const [expected] = await stack.direct().query(SALES_SQL);
    expect(await recordsOfCalls(stack, AGENT)).toEqual({ request: 0, forward: 0 });

    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: CONCURRENT }, () => client.query(SALES_SQL).then(([rows]) => rows)));
    const elapsed = performance.now() - started;
    console.info(`${CONCURRENT} concurrent queries on ${stack.storageUrl.split(':')[0]}: ${elapsed.toFixed(0)} ms`);
    for (const rows of answers) expect(rows).toEqual(expected);

    expect(await recordsOfCalls(stack, AGENT)).toEqual({ request: CONCURRENT, forward: CONCURRENT });
    const report = await verifyAudit(stack.gateway.database.db);
    expect(report.broken).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.streams.reduce((n, s) => n + s.records, 0)).toBeGreaterThanOrEqual(CONCURRENT);
  });
});

describe.skipIf(!postgresAvailable())('a PostgreSQL outage on a dedicated cluster', () => {
  let cluster: PostgresCluster;
  let stack: Stack;

  beforeAll(async () => {
    cluster = await startPostgres();
    stack = await startStack({ storageUrl: await freshPostgresDatabase(cluster.url), gateway: { audit: { commitTimeoutMs: 2000 } } });
  });

  afterAll(async () => {
    await stack?.close();
    if (cluster) removeCluster(cluster);
  });

  let counter = 0;
  interface Answer {
    id: string;
    status: number;
    body: any;
  }
  const answers: Answer[] = [];
  /** Answers to calls made while the cluster was down (after in-flight calls settled). */
  let down: Answer[] = [];

  async function query(): Promise<Answer> {
    const id = `outage-${String(++counter).padStart(5, '0')}`;
    const res = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, {
      method: 'POST',
      agent: AGENT,
      headers: { 'x-request-id': id },
      body: JSON.stringify({ query: SALES_SQL, useLegacySql: false }),
    });
    const answer = { id, status: res.status, body: res.body };
    answers.push(answer);
    return answer;
  }

  /** `workers` callers querying back to back until `stop()`. */
  function load(workers: number): { stop(): Promise<void> } {
    let running = true;
    const loops = Array.from({ length: workers }, async () => {
      while (running) await query();
    });
    return {
      async stop() {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  it('refuses while the database is down, answers nothing unrecorded, and recovers', { timeout: 120_000 }, async () => {
    // Up: served and recorded.
    const before = await Promise.all(Array.from({ length: 20 }, () => query()));
    expect(before.map((a) => a.status)).toEqual(Array(20).fill(200));

    // Down mid-run, with callers in flight.
    const traffic = load(8);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stoppedAt = answers.length;
    cluster.stop();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await traffic.stop();

    const jobsBefore = await stack.upstreamJobs();
    down = await Promise.all(Array.from({ length: 10 }, () => query()));
    expect(await stack.upstreamJobs()).toBe(jobsBefore); // nothing was sent upstream
    for (const a of down) {
      expect(a.status, a.id).toBe(503);
      expect(a.body.error).toMatchObject({ code: 503, errors: [{ reason: 'backendError' }] });
      expect(a.body.rows).toBeUndefined();
    }
    const refused = answers.filter((a) => a.status !== 200).length;

    // Back up: served and recorded again (the first calls may still meet dead pooled connections).
    const started = performance.now();
    cluster.start();
    let recovered: Answer | undefined;
    for (let i = 0; i < 100 && !recovered; i++) {
      const a = await query();
      if (a.status === 200) recovered = a;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(recovered).toBeDefined();
    const recoveryMs = performance.now() - started;
    const after = await Promise.all(Array.from({ length: 20 }, () => query()));
    expect(after.map((a) => a.status)).toEqual(Array(20).fill(200));

    // Every answer is 200 or 503 backendError; every 200 has its forward record, then its request
    // record with its status.
    const db = stack.gateway.database.db;
    const statuses = new Map<number, number>();
    for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    expect([...statuses.keys()].every((status) => [200, 503].includes(status))).toBe(true);
    expect(statuses.get(200)).toBeGreaterThan(0);
    const ok = answers.filter((a) => a.status === 200);
    for (const a of ok) {
      const records = (await findRecords(db, a.id)).map((r) => r.record);
      expect(records.map((r) => r.kind), a.id).toEqual(['forward', 'request']);
      expect(records[1]!.kind === 'request' && records[1]!.data.status, a.id).toBe(200);
    }
    for (const a of answers.filter((x) => x.status !== 200)) expect(a.body.rows, a.id).toBeUndefined();

    const report = await verifyAudit(db);
    expect(report.broken).toEqual([]);
    expect(report.ok).toBe(true);
    console.info(
      `outage: ${answers.length} answers (${ok.length} × 200, ${refused} refused: ${JSON.stringify(Object.fromEntries(statuses))}; ${stoppedAt} before the stop), recovered in ${recoveryMs.toFixed(0)} ms`,
    );
  });
});
