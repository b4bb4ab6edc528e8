// Gateway overhead, side by side in one run on loopback:
//   1. latency: the official client querying the emulator directly vs through the gateway
//      (sequential, wall time per query; target: gateway ≤ 1.2× direct);
//   2. throughput: concurrent jobs.query requests through the gateway vs through a plain fastify
//      pass-through proxy to the same emulator (target: gateway ≥ 50 % of the proxy), and the same
//      pair in front of an instant replay of the emulator's answers, where the gateway's own work
//      (auth, decision, dry run call, masking) is what limits it.
// The gateways and the proxy run in a child process so the load generator does not share their
// event loop. The gateway runs three ways: with the default 30 s dry-run cache (a repeated query
// is dry-run once), with the cache off (every query dry-run upstream first, as a never-seen query
// is), and in `estimate_mode: cap` (no dry run: the query is sent at once under the policy's
// maximumBytesBilled; target: ≤ 1.2× direct p50 for a never-seen query). In cap mode the job's
// referenced tables are not checked (`require_referenced_tables: false`): the emulator names none,
// and against BigQuery that check is one jobs.get after the job, which this run does not measure.
// Last, revocation's per-request cost (bench/revocation.ts; alone: BENCH_ONLY=revocation).
// Run: `node bench/gateway.ts` (BENCH_N, BENCH_REQUESTS, BENCH_REPLAY_REQUESTS, BENCH_CONCURRENCY).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { BigQuery } from '@google-cloud/bigquery';
import Fastify from 'fastify';
import { OAuth2Client } from 'google-auth-library';
import { ACME_PROJECT, startEmulator } from '../demo/emulator.ts';
import { DEFAULT_AUDIENCE, startIdentityProvider } from '../demo/idp.ts';
import { buildBundle } from '../engine/index.ts';
import { resolveConfig } from '../gateway/config/load.ts';
import { createGateway } from '../gateway/server.ts';
import { HttpUpstream } from '../gateway/upstream/http.ts';
import { AGGREGATE_SQL, PII_SQL, throughputs } from './load.ts';
import { replayOf } from './replay-upstream.ts';
import { revocationBench } from './revocation.ts';
import { announce, serveArgs, startChild } from './servers.ts';
import { summarize, table, type Summary } from './stats.ts';

const N = Number(process.env.BENCH_N ?? 30);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 60);
const REPLAY_REQUESTS = Number(process.env.BENCH_REPLAY_REQUESTS ?? 1500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

const QUERIES = {
  aggregate: AGGREGATE_SQL,
  'PII (masked through the gateway)': PII_SQL,
  'SELECT * (60 rows)': 'SELECT * FROM sales.orders ORDER BY order_id',
};

interface Servers {
  /** Default configuration (30 s dry-run cache). */
  gateway: string;
  /** Dry-run cache off. */
  uncachedGateway: string;
  /** estimate_mode cap (dry-run cache off): no dry run before a jobs.query. */
  capGateway: string;
  proxy: string;
  /** The same pair in front of a replay of the emulator's answers: the gateway's own capacity. */
  replayGateway: string;
  /** The same in estimate_mode cap. */
  replayCapGateway: string;
  replayProxy: string;
}

interface ServeArgs {
  emulatorUrl: string;
  issuer: string;
}

const args = serveArgs<ServeArgs>();
if (args) await serve(args);
else if (process.env.BENCH_ONLY === 'revocation') await revocationBench();
else {
  await run();
  await revocationBench();
}

/** Child: two gateways and a pass-through proxy in front of the emulator the parent started. */
async function serve({ emulatorUrl, issuer }: ServeArgs): Promise<void> {
  const bundle = await buildBundle();
  const gatewayWith = async (upstream: string, dryRunCacheSeconds: number | undefined, estimateMode: 'dry_run' | 'cap' = 'dry_run') => {
    const config = resolveConfig({
      listen: { host: '127.0.0.1', port: 0 },
      log_level: 'warn',
      bundle: bundle.path,
      issuers: [{ issuer, audience: DEFAULT_AUDIENCE }],
      connections: [{ name: 'acme', upstream, project: ACME_PROJECT, credentials: { mode: 'none' }, require_referenced_tables: false, estimate_mode: estimateMode }],
      ...(dryRunCacheSeconds !== undefined && { limits: { dry_run_cache_seconds: dryRunCacheSeconds } }),
    });
    const gateway = await createGateway({ config, hashKey: randomBytes(32), processMetrics: false });
    return gateway.listen();
  };

  // The baseline: fastify parsing the request, one pooled upstream call, the JSON body sent back.
  const proxyTo = async (target: string) => {
    const upstream = new HttpUpstream(target);
    const proxy = Fastify();
    proxy.all('/*', async (req, reply) => {
      const res = await upstream.call({ method: req.method as 'GET' | 'POST', path: req.url, body: req.body ?? undefined });
      return reply.code(res.status).send(res.body);
    });
    return proxy.listen({ host: '127.0.0.1', port: 0 });
  };

  const replay = await replayOf(emulatorUrl);
  const servers: Servers = {
    gateway: await gatewayWith(emulatorUrl, undefined),
    uncachedGateway: await gatewayWith(emulatorUrl, 0),
    capGateway: await gatewayWith(emulatorUrl, 0, 'cap'),
    proxy: await proxyTo(emulatorUrl),
    replayGateway: await gatewayWith(replay, 0),
    replayCapGateway: await gatewayWith(replay, 0, 'cap'),
    replayProxy: await proxyTo(replay),
  };
  announce(servers);
}

async function run(): Promise<void> {
  const [emulator, idp] = await Promise.all([startEmulator(), startIdentityProvider({ accessTokenTtlSeconds: 3600 })]);
  let child: ChildProcess | undefined;
  try {
    const started = await startChild<Servers>(import.meta.filename, { emulatorUrl: emulator.url, issuer: idp.issuer });
    child = started.child;
    const servers = started.servers;
    const token = await idp.tokenFor('reporting-agent');
    const clients = {
      direct: client(emulator.url, 'emulator-takes-no-token'),
      gateway: client(servers.gateway, token),
      uncachedGateway: client(servers.uncachedGateway, token),
      capGateway: client(servers.capGateway, token),
    };

    console.log(`gateway benchmark: Node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, emulator on loopback\n`);
    console.log(`## latency: official client, sequential, ${N} queries per row (after 5 warm-up)\n`);
    const rows: Summary[] = [];
    const ratios: string[] = [];
    for (const [name, sql] of Object.entries(QUERIES)) {
      const [direct, gated, uncached, capped] = await latencies(sql, [
        [`${name}: emulator directly`, clients.direct],
        [`${name}: gateway (default)`, clients.gateway],
        [`${name}: gateway, dry run every query`, clients.uncachedGateway],
        [`${name}: gateway, estimate_mode cap`, clients.capGateway],
      ]);
      rows.push(direct!, gated!, uncached!, capped!);
      const ratio = (x: Summary) => `${(x.p50Us / direct!.p50Us).toFixed(2)}× / ${(x.meanUs / direct!.meanUs).toFixed(2)}×`;
      const target = capped!.p50Us <= 1.2 * direct!.p50Us ? 'met' : 'missed';
      ratios.push(`| ${name} | ${ratio(gated!)} | ${ratio(uncached!)} | ${ratio(capped!)} (${target}) |`);
    }
    console.log(table(rows));
    console.log(
      '\n| query | gateway (default) / direct, p50 / mean | dry run every query / direct | cap mode / direct (target p50 ≤ 1.2×) |\n| --- | ---: | ---: | ---: |',
    );
    console.log(ratios.join('\n'));

    const THROUGHPUT_QUERIES = Object.entries(QUERIES).slice(0, 2);
    console.log(`\n## throughput against the emulator: ${REQUESTS} jobs.query requests, ${CONCURRENCY} in flight\n`);
    console.log(
      '| query | pass-through proxy | gateway (default) | gateway / proxy | dry run every query | that / proxy | cap mode | that / proxy |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const [name, sql] of THROUGHPUT_QUERIES) {
      const [proxy, gated, uncached, capped] = await throughputs(
        [{ url: servers.proxy }, { url: servers.gateway, token }, { url: servers.uncachedGateway, token }, { url: servers.capGateway, token }],
        sql,
        REQUESTS,
        CONCURRENCY,
      );
      const pct = (x: number) => `${Math.round((x / proxy!) * 100)} %`;
      console.log(
        `| ${name} | ${proxy!.toFixed(1)} req/s | ${gated!.toFixed(1)} req/s | ${pct(gated!)} | ${uncached!.toFixed(1)} req/s | ${pct(uncached!)} | ${capped!.toFixed(1)} req/s | ${pct(capped!)} |`,
      );
    }

    console.log(`\n## throughput against a replay of the emulator's answers (instant upstream): ${REPLAY_REQUESTS} requests, ${CONCURRENCY} in flight\n`);
    console.log('The gateway makes its dry run (none in cap mode), decision and masking on every request here (dry-run cache off).\n');
    console.log('| query | pass-through proxy | gateway | gateway / proxy | cap mode | that / proxy |\n| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const [name, sql] of Object.entries(QUERIES)) {
      const [proxy, gated, capped] = await throughputs(
        [{ url: servers.replayProxy }, { url: servers.replayGateway, token }, { url: servers.replayCapGateway, token }],
        sql,
        REPLAY_REQUESTS,
        CONCURRENCY,
      );
      const pct = (x: number) => `${Math.round((x / proxy!) * 100)} %`;
      console.log(`| ${name} | ${proxy!.toFixed(0)} req/s | ${gated!.toFixed(0)} req/s | ${pct(gated!)} | ${capped!.toFixed(0)} req/s | ${pct(capped!)} |`);
    }
    console.log(
      '\nThe emulator serves one request at a time, and its dry run executes the query (slower than the query itself), so a gateway query that is not in the dry-run cache costs it two executions; in cap mode it costs one.',
    );
  } finally {
    child?.kill();
    await Promise.allSettled([emulator.stop(), idp.close()]);
  }
}

function client(apiEndpoint: string, token: string): BigQuery {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
  return new BigQuery({ apiEndpoint, projectId: ACME_PROJECT, authClient: auth });
}

/** Wall time per query of each client, the clients taking turns so drift hits them alike. */
async function latencies(sql: string, paths: [string, BigQuery][]): Promise<Summary[]> {
  for (let i = 0; i < 5; i++) for (const [, bq] of paths) await bq.query(sql);
  const ns = paths.map(() => new Float64Array(N));
  for (let i = 0; i < N; i++) {
    for (const [p, [, bq]] of paths.entries()) {
      const t = process.hrtime.bigint();
      await bq.query(sql);
      ns[p]![i] = Number(process.hrtime.bigint() - t);
    }
  }
  return paths.map(([name], p) => summarize(name, ns[p]!));
}
