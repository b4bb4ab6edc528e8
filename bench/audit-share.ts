// The audit write's share of gateway latency, side by side in one run: the same gateway with its
// audit trail in memory (no durable write), in a SQLite file (WAL, synchronous=FULL) and in
// PostgreSQL (fsync on), each in front of the emulator and in front of an instant replay of the
// emulator's answers (where the gateway's own work is all there is, so the share is largest).
//   - latency: sequential jobs.query calls, the gateways taking turns; the share is the time the
//     gateways spent waiting for audit commits (sluice_audit_record_seconds) over the time they
//     spent on the requests (sluice_request_seconds), both from their own /metrics;
//   - throughput: audited requests per second with BENCH_CONCURRENCY in flight.
// The gateways run in a child process so the load generator does not share their event loop.
// Run: `node bench/audit-share.ts` (BENCH_N, BENCH_REQUESTS, BENCH_CONCURRENCY).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACME_PROJECT, startEmulator } from '../demo/emulator.ts';
import { DEFAULT_AUDIENCE, startIdentityProvider } from '../demo/idp.ts';
import { buildBundle } from '../engine/index.ts';
import { resolveConfig } from '../gateway/config/load.ts';
import { createGateway } from '../gateway/server.ts';
import { AGGREGATE_SQL, PII_SQL, queryOnce, throughputs, type Target } from './load.ts';
import { benchPostgres } from './postgres.ts';
import { replayOf } from './replay-upstream.ts';
import { announce, serveArgs, startChild } from './servers.ts';
import { summarize, type Summary } from './stats.ts';

const N = Number(process.env.BENCH_N ?? 200);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

const QUERIES = {
  aggregate: AGGREGATE_SQL,
  'PII, masked': PII_SQL,
};

/** Store name → storage URL (null: in memory). */
type Stores = Record<string, string | null>;
/** Upstream name → store name → gateway URL. */
type Gateways = Record<string, Record<string, string>>;

interface ServeArgs {
  emulatorUrl: string;
  issuer: string;
  stores: Stores;
}

const args = serveArgs<ServeArgs>();
if (args) await serve(args);
else await run();

/** Child: one gateway per (upstream, store), all with the default configuration otherwise. */
async function serve({ emulatorUrl, issuer, stores }: ServeArgs): Promise<void> {
  const bundle = await buildBundle();
  const upstreams = { emulator: emulatorUrl, 'instant replay': await replayOf(emulatorUrl) };
  const gateways: Gateways = {};
  for (const [upstreamName, upstream] of Object.entries(upstreams)) {
    gateways[upstreamName] = {};
    for (const [store, url] of Object.entries(stores)) {
      const config = resolveConfig({
        listen: { host: '127.0.0.1', port: 0 },
        log_level: 'error',
        bundle: bundle.path,
        ...(url && { storage: { url } }),
        issuers: [{ issuer, audience: DEFAULT_AUDIENCE }],
        connections: [{ name: 'acme', upstream, project: ACME_PROJECT, credentials: { mode: 'none' }, require_referenced_tables: false }],
      });
      const gateway = await createGateway({ config, hashKey: randomBytes(32), processMetrics: false });
      gateways[upstreamName]![store] = await gateway.listen();
    }
  }
  announce(gateways);
}

/** Σ and count of the audit-commit and request-time histograms on a gateway's /metrics. */
async function scrape(url: string): Promise<{ auditSeconds: number; requestSeconds: number; requests: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const total = (metric: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(metric))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return { auditSeconds: total('sluice_audit_record_seconds_sum'), requestSeconds: total('sluice_request_seconds_sum'), requests: total('sluice_request_seconds_count') };
}

async function run(): Promise<void> {
  const [emulator, idp] = await Promise.all([startEmulator(), startIdentityProvider({ accessTokenTtlSeconds: 3600 })]);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-audit-share-'));
  const postgres = await benchPostgres('sluice_bench_share');
  let child: ChildProcess | undefined;
  try {
    const stores: Stores = { memory: null, SQLite: `sqlite:${join(dir, 'audit.sqlite')}`, ...(postgres && { PostgreSQL: postgres.url }) };
    const started = await startChild<Gateways>(import.meta.filename, { emulatorUrl: emulator.url, issuer: idp.issuer, stores });
    child = started.child;
    const gateways = started.servers;
    const token = await idp.tokenFor('reporting-agent');
    const storeNames = Object.keys(stores);

    console.log(`audit share of gateway latency: Node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, loopback\n`);
    console.log(`## latency: ${N} sequential jobs.query calls per row, the stores taking turns\n`);
    console.log('| upstream | query | audit store | p50 | p99 | p50 vs memory | audit commit, mean | audit share of gateway time |');
    console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const [upstream, byStore] of Object.entries(gateways)) {
      for (const [name, sql] of Object.entries(QUERIES)) {
        const targets = storeNames.map((store) => ({ url: byStore[store]!, token }));
        for (let i = 0; i < 10; i++) for (const target of targets) await queryOnce(target, sql);
        const before = await Promise.all(targets.map((t) => scrape(t.url)));
        const ns = targets.map(() => new Float64Array(N));
        for (let i = 0; i < N; i++) for (const [t, target] of targets.entries()) ns[t]![i] = await queryOnce(target, sql);
        const after = await Promise.all(targets.map((t) => scrape(t.url)));
        const summaries: Summary[] = ns.map((samples, t) => summarize(storeNames[t]!, samples));
        for (const [t, s] of summaries.entries()) {
          const requests = after[t]!.requests - before[t]!.requests;
          const audit = after[t]!.auditSeconds - before[t]!.auditSeconds;
          const share = audit / (after[t]!.requestSeconds - before[t]!.requestSeconds);
          const vsMemory = s.p50Us / summaries[0]!.p50Us;
          console.log(
            `| ${upstream} | ${name} | ${s.name} | ${ms(s.p50Us)} | ${ms(s.p99Us)} | ${vsMemory.toFixed(2)}× | ${ms((audit / requests) * 1e6)} | ${(share * 100).toFixed(1)} % |`,
          );
        }
      }
    }

    console.log(`\n## audited requests per second: ${REQUESTS} jobs.query calls, ${CONCURRENCY} in flight, instant replay upstream\n`);
    console.log(`| query | ${storeNames.join(' | ')} |\n| --- |${storeNames.map(() => ' ---: |').join('')}`);
    for (const [name, sql] of Object.entries(QUERIES)) {
      const targets: Target[] = storeNames.map((store) => ({ url: gateways['instant replay']![store]!, token }));
      const rates = await throughputs(targets, sql, REQUESTS, CONCURRENCY);
      console.log(`| ${name} | ${rates.map((r, i) => `${r.toFixed(0)} req/s${i ? ` (${Math.round((r / rates[0]!) * 100)} %)` : ''}`).join(' | ')} |`);
    }
  } finally {
    child?.kill();
    await Promise.allSettled([emulator.stop(), idp.close()]);
    postgres?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

function ms(us: number): string {
  return `${(us / 1000).toFixed(2)} ms`;
}
