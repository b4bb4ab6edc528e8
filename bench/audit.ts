// Audit write throughput and commit latency: how many request records per second one gateway
// instance can durably commit, and what a record() costs a request (call to durable commit), on
// SQLite (WAL, synchronous=FULL) and PostgreSQL (fsync on, synchronous_commit on), with 1 and 64
// requests in flight. Each record is a realistic masked-query record: policy input, decision,
// 10 masked rows. Run: `node bench/audit.ts` (PostgreSQL: SLUICE_BENCH_POSTGRES_URL, else a
// throwaway local cluster when the server binaries are installed).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Decision, PolicyInput } from '../engine/index.ts';
import { AuditLog, type RequestAuditEvent } from '../gateway/audit/index.ts';
import { openDatabase, type Database } from '../gateway/store/database.ts';
import { benchPostgres } from './postgres.ts';
import { summarize, type Summary } from './stats.ts';

const N = Number(process.env.BENCH_N ?? 10_000);
const SEQUENTIAL_N = Math.min(N, Number(process.env.BENCH_SEQUENTIAL_N ?? 1_000));
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 64);

const customers = 'acme-analytics.crm.customers';
const sqlText = `SELECT customer_id, ssn, email FROM \`${customers}\` WHERE region = 'EU' AND signup > '2025-01-01'`;
const input: PolicyInput = {
  now: { unix: 1_767_225_600, rfc3339: '2026-01-01T00:00:00Z' },
  identity: { subject: 'report-bot@agents.acme.example', issuer: 'https://idp.acme.example', kind: 'agent', groups: ['agents'], claims: { email: 'report-bot@agents.acme.example' } },
  request: { project: 'acme-analytics', route: 'jobs.query' },
  sql: {
    text: sqlText,
    hash: 'a'.repeat(64),
    parsed: true,
    statements: [
      {
        index: 0,
        type: 'SELECT',
        category: 'read',
        parsed: true,
        tables: [{ id: customers, project: 'acme-analytics', dataset: 'crm', table: 'customers', mode: 'read' }],
        columns: ['customer_id', 'ssn', 'email', 'region', 'signup'].map((column) => ({ table: customers, column })),
        predicate_columns: ['region', 'signup'].map((column) => ({ table: customers, column })),
        functions: [],
        outputs: ['customer_id', 'ssn', 'email'].map((name, index) => ({ index, name, sources: [{ table: customers, column: name }], lineage: 'known' as const, direct: true })),
      },
    ],
  },
  estimate: { bytes: 41_943_040, source: 'dry_run', referenced_tables: [customers], unparsed_tables: [] },
  grants: [],
};
const decision: Decision = {
  outcome: 'mask',
  reasons: ['ssn', 'email'].map((c) => ({ code: 'pii_masked', message: `statement 0 output ${c} is masked: ${customers}.${c} is sensitive`, rule: 'sluice.masking.mask_reasons' })),
  masks: [
    { statement: 0, output: 'email', strategy: 'email-domain', source: { table: customers, column: 'email' } },
    { statement: 0, output: 'ssn', strategy: 'last-4', source: { table: customers, column: 'ssn' } },
  ],
  limits: { maximum_bytes_billed: 1_073_741_824 },
  credential_ttl_seconds: 900,
};
const rows = Array.from({ length: 10 }, (_, i) => ({ f: [{ v: String(1000 + i) }, { v: `***-**-${String(1000 + i)}` }, { v: '***@example.com' }] }));
const schema = { fields: ['customer_id', 'ssn', 'email'].map((name) => ({ name, type: 'STRING' })) };

function event(i: number): RequestAuditEvent {
  return {
    kind: 'request',
    request_id: `bench-${i}`,
    identity: { subject: input.identity.subject, issuer: input.identity.issuer, kind: 'agent', groups: ['agents'] },
    route: 'jobs.query',
    connection: 'default',
    sql: sqlText,
    input,
    evaluation: { decision, revision: 'bench', evalNs: 45_000 },
    bytes: { estimated: 41_943_040, processed: 41_943_040, billed: 41_943_040 },
    job: { id: `job_${i}`, location: 'EU' },
    status: 200,
    timings_ms: { decision: 0.3, dry_run: 45.2, upstream: 310.7, total: 360.1 },
    masking: { cellsMasked: 20, contentScanCells: 0, detections: { ssn: 0, card: 0, email: 0, phone: 0 } },
    response: { schema, rows, total_rows: '10' },
  };
}

interface Result {
  engine: string;
  inFlight: number;
  records: number;
  perSecond: number;
  latency: Summary;
  meanBatch: number;
}

async function run(engine: string, database: Database, inFlight: number, n: number): Promise<Result> {
  const batches: number[] = [];
  const log = await AuditLog.open(database, { stream: `bench-${engine}-${inFlight}-${Date.now()}`, onCommit: ({ records }) => batches.push(records) });
  for (let i = 0; i < 200; i++) await log.record(event(i)); // warm-up: connections, statement caches, JIT
  batches.length = 0;
  const latencies = new Float64Array(n);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < n; i = next++) {
        const t = process.hrtime.bigint();
        await log.record(event(i));
        latencies[i] = Number(process.hrtime.bigint() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await log.close();
  return {
    engine,
    inFlight,
    records: n,
    perSecond: n / seconds,
    latency: summarize(`${engine}, ${inFlight} in flight`, latencies),
    meanBatch: batches.reduce((a, b) => a + b, 0) / Math.max(1, batches.length),
  };
}

const results: Result[] = [];
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-audit-'));
try {
  const sqlite = await openDatabase(`sqlite:${join(dir, 'audit.sqlite')}`);
  results.push(await run('SQLite', sqlite, 1, SEQUENTIAL_N), await run('SQLite', sqlite, IN_FLIGHT, N));
  await sqlite.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const target = await benchPostgres();
if (target) {
  try {
    const postgres = await openDatabase(target.url);
    results.push(await run('PostgreSQL', postgres, 1, SEQUENTIAL_N), await run('PostgreSQL', postgres, IN_FLIGHT, N));
    await postgres.close();
  } finally {
    target.cleanup();
  }
}

const ms = (us: number) => `${(us / 1000).toFixed(2)} ms`;
console.log(`audit writes: realistic masked-query records (~${JSON.stringify(event(0)).length} B of event), Node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}\n`);
console.log('| store | in flight | records | records/s | record() p50 | record() p99 | records per commit |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  console.log(`| ${r.engine} | ${r.inFlight} | ${r.records} | ${Math.round(r.perSecond)} | ${ms(r.latency.p50Us)} | ${ms(r.latency.p99Us)} | ${r.meanBatch.toFixed(1)} |`);
}
