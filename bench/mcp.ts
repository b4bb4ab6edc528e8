// MCP door overhead, side by side in one run on loopback: the same query through the same gateway
// as a REST jobs.query call (the official Node client, as bench/gateway.ts measures it) and as an
// MCP execute_sql tool call (the official TypeScript client, one connected client reused, as an
// agent keeps one), taking turns; target: MCP ≤ 1.1× REST p50. The MCP client runs twice: with
// its default 2025-11-25 handshake (served by the SDK's stateless fallback, answers over SSE) and
// negotiating the 2026-07-28 revision (answers as JSON). All of it in front of the emulator, and
// in front of an instant replay of its answers, where the gateway's own work is all there is and
// the MCP layer's share shows. The gateways run in a child process so the clients do not share
// their event loop. Run: `node bench/mcp.ts` (BENCH_N, BENCH_REPLAY_N).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { BigQuery } from '@google-cloud/bigquery';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { OAuth2Client } from 'google-auth-library';
import { ACME_PROJECT, startEmulator } from '../demo/emulator.ts';
import { DEFAULT_AUDIENCE, startIdentityProvider } from '../demo/idp.ts';
import { buildBundle } from '../engine/index.ts';
import { resolveConfig } from '../gateway/config/load.ts';
import { createGateway } from '../gateway/server.ts';
import { AGGREGATE_SQL, PII_SQL } from './load.ts';
import { replayOf } from './replay-upstream.ts';
import { announce, serveArgs, startChild } from './servers.ts';
import { summarize, table, type Summary } from './stats.ts';

const N = Number(process.env.BENCH_N ?? 30);
const REPLAY_N = Number(process.env.BENCH_REPLAY_N ?? 300);
const WARMUP = 5;

const QUERIES = {
  aggregate: AGGREGATE_SQL,
  'PII (masked)': PII_SQL,
  'SELECT * (60 rows)': 'SELECT * FROM sales.orders ORDER BY order_id',
};

/** The MCP resource both gateways serve; named explicitly since they listen on port 0. */
const MCP_RESOURCE = 'https://sluice.local/mcp';

/** Upstream name → gateway URL. */
type Servers = Record<'emulator' | 'instant replay', string>;

interface ServeArgs {
  emulatorUrl: string;
  issuer: string;
}

const args = serveArgs<ServeArgs>();
if (args) await serve(args);
else await run();

/** Child: one gateway (default configuration) in front of the emulator, one in front of a replay of it. */
async function serve({ emulatorUrl, issuer }: ServeArgs): Promise<void> {
  const bundle = await buildBundle();
  const gatewayIn = async (upstream: string) => {
    const config = resolveConfig({
      listen: { host: '127.0.0.1', port: 0 },
      log_level: 'warn',
      bundle: bundle.path,
      issuers: [{ issuer, audience: DEFAULT_AUDIENCE }],
      connections: [{ name: 'acme', upstream, project: ACME_PROJECT, credentials: { mode: 'none' }, require_referenced_tables: false }],
      mcp: { resource: MCP_RESOURCE },
    });
    const gateway = await createGateway({ config, hashKey: randomBytes(32), processMetrics: false });
    return gateway.listen();
  };
  announce({ emulator: await gatewayIn(emulatorUrl), 'instant replay': await gatewayIn(await replayOf(emulatorUrl)) } satisfies Servers);
}

async function run(): Promise<void> {
  const [emulator, idp] = await Promise.all([
    startEmulator(),
    startIdentityProvider({ accessTokenTtlSeconds: 3600, audiences: [DEFAULT_AUDIENCE, MCP_RESOURCE] }),
  ]);
  let child: ChildProcess | undefined;
  const mcpClients: Client[] = [];
  try {
    const started = await startChild<Servers>(import.meta.filename, { emulatorUrl: emulator.url, issuer: idp.issuer });
    child = started.child;
    const [restToken, mcpToken] = await Promise.all([idp.tokenFor('reporting-agent'), idp.tokenFor('reporting-agent', { audience: MCP_RESOURCE })]);

    console.log(`MCP benchmark: Node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, emulator on loopback\n`);
    const ratios: string[] = [];
    for (const [upstream, url] of Object.entries(started.servers)) {
      const n = upstream === 'emulator' ? N : REPLAY_N;
      const rest = restClient(url, restToken);
      const legacy = await mcpClient(`${url}/mcp`, mcpToken, false);
      const modern = await mcpClient(`${url}/mcp`, mcpToken, true);
      mcpClients.push(legacy, modern);
      console.log(`## ${upstream} upstream: sequential, ${n} queries per row (after ${WARMUP} warm-up)\n`);
      const rows: Summary[] = [];
      for (const [name, sql] of Object.entries(QUERIES)) {
        const [viaRest, viaLegacy, viaModern] = await latencies(n, [
          [`${name}: REST jobs.query (official client)`, () => rest.query(sql)],
          [`${name}: MCP execute_sql, 2025-11-25`, () => executeSql(legacy, sql)],
          [`${name}: MCP execute_sql, 2026-07-28`, () => executeSql(modern, sql)],
        ]);
        rows.push(viaRest!, viaLegacy!, viaModern!);
        const vsRest = (mcp: Summary) => {
          const extraMs = (mcp.p50Us - viaRest!.p50Us) / 1000;
          return `${(mcp.p50Us / viaRest!.p50Us).toFixed(2)}× | ${(mcp.p99Us / viaRest!.p99Us).toFixed(2)}× | ${extraMs >= 0 ? '+' : '−'}${Math.abs(extraMs).toFixed(2)} ms`;
        };
        ratios.push(`| ${upstream} | ${name} | ${vsRest(viaLegacy!)} | ${vsRest(viaModern!)} |`);
      }
      console.log(`${table(rows)}\n`);
    }
    console.log('| upstream | query | 2025-11-25 MCP / REST p50 | p99 | MCP − REST p50 | 2026-07-28 MCP / REST p50 | p99 | MCP − REST p50 |');
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    console.log(ratios.join('\n'));
  } finally {
    await Promise.allSettled(mcpClients.map((c) => c.close()));
    child?.kill();
    await Promise.allSettled([emulator.stop(), idp.close()]);
  }
}

function restClient(apiEndpoint: string, token: string): BigQuery {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
  return new BigQuery({ apiEndpoint, projectId: ACME_PROJECT, authClient: auth });
}

/** `modern`: negotiate the 2026-07-28 revision; otherwise the client's default 2025-11-25 handshake. */
async function mcpClient(url: string, token: string, modern: boolean): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'sluice-bench', version: '1.0.0' }, modern ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {});
  await client.connect(transport);
  return client;
}

/** One execute_sql call; a tool error fails the run, so an error path is never measured as a fast one. */
async function executeSql(client: Client, sql: string): Promise<void> {
  const r = await client.callTool({ name: 'execute_sql', arguments: { sql } });
  if (r.isError || !Array.isArray((r.structuredContent as { rows?: unknown } | undefined)?.rows)) {
    throw new Error(`execute_sql failed: ${JSON.stringify(r.content).slice(0, 300)}`);
  }
}

/** Wall time per call of each path, the paths taking turns so drift hits them alike. */
async function latencies(n: number, paths: [string, () => Promise<unknown>][]): Promise<Summary[]> {
  for (let i = 0; i < WARMUP; i++) for (const [, call] of paths) await call();
  const ns = paths.map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    for (const [p, [, call]] of paths.entries()) {
      const t = process.hrtime.bigint();
      await call();
      ns[p]![i] = Number(process.hrtime.bigint() - t);
    }
  }
  return paths.map(([name], p) => summarize(name, ns[p]!));
}
