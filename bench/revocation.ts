// Revocation's per-request cost, side by side in one run: the token check alone (signature,
// issuer, audience, expiry: signature_only), the same with the disabled-set check, and with
// introspection against the demo provider behind its positive cache (the same token each call, as
// an agent reuses its token). Target: ≤ 0.1 ms added p50 with the cache on. A cache miss (a new
// token each call: one introspection round trip on loopback) is shown for comparison.
// Run alone: `BENCH_ONLY=revocation node bench/gateway.ts` (BENCH_AUTH_N, BENCH_AUTH_MISSES).
import { Registry } from 'prom-client';
import { DEFAULT_AUDIENCE, startIdentityProvider } from '../demo/idp.ts';
import { createApprovalStore } from '../gateway/approvals/index.ts';
import { AuditLog } from '../gateway/audit/index.ts';
import { createAuthenticator, type Authenticator } from '../gateway/auth/index.ts';
import { Revocation, resolveRevocation } from '../gateway/identity/index.ts';
import { openDatabase } from '../gateway/store/database.ts';
import { summarize, table, type Summary } from './stats.ts';

const N = Number(process.env.BENCH_AUTH_N ?? 3000);
const MISSES = Number(process.env.BENCH_AUTH_MISSES ?? 200);
const TARGET_US = 100;

export async function revocationBench(): Promise<void> {
  const idp = await startIdentityProvider({ accessTokenTtlSeconds: 3600 });
  const database = await openDatabase('sqlite::memory:');
  const audit = await AuditLog.open(database, { stream: 'bench' });
  const approvals = createApprovalStore({ database, publicUrl: 'http://localhost', sweepIntervalMs: 0 });
  const silent = { info() {}, warn() {}, error() {} };
  const revocationWith = (introspection: boolean) =>
    Revocation.start({
      settings: resolveRevocation({}),
      issuers: [{ issuer: idp.issuer, audience: DEFAULT_AUDIENCE, ...(introspection && { introspection: { client_id: idp.introspectionClient.clientId, client_secret_env: 'BENCH_INTROSPECTION_SECRET', cache_seconds: 60 } }) }],
      database,
      audit,
      approvals,
      registry: new Registry(),
      log: silent,
      env: { BENCH_INTROSPECTION_SECRET: idp.introspectionClient.clientSecret },
    });
  const [plain, introspected] = await Promise.all([revocationWith(false), revocationWith(true)]);
  try {
    const verifier = () => createAuthenticator({ issuers: [{ issuer: idp.issuer, audience: DEFAULT_AUDIENCE }] });
    const paths: [string, Authenticator][] = [
      ['signature only (no revocation)', verifier()],
      ['signature + disabled set', plain.guard(verifier())],
      ['signature + disabled set + introspection (cached)', introspected.guard(verifier())],
    ];
    const header = `Bearer ${await idp.tokenFor('reporting-agent')}`;
    const rows = await timed(paths, () => header, N);

    // A cache miss: each call a token never seen (issued up front, so issuing is not measured).
    const fresh = await Promise.all(Array.from({ length: MISSES }, () => idp.tokenFor('reporting-agent').then((t) => `Bearer ${t}`)));
    const [miss] = await timed([['signature + disabled set + introspection (cache miss)', introspected.guard(verifier())]], (i) => fresh[i]!, MISSES, 0);

    console.log(`\n## revocation: per-request token check, ${N} calls per row (same token), in-process\n`);
    console.log(table([...rows, miss!]));
    const added = rows[2]!.p50Us - rows[0]!.p50Us;
    console.log(`\nadded p50 with introspection cached: ${added.toFixed(1)} µs (target ≤ ${TARGET_US} µs: ${added <= TARGET_US ? 'met' : 'missed'}); disabled set alone: ${(rows[1]!.p50Us - rows[0]!.p50Us).toFixed(1)} µs`);
  } finally {
    plain.close();
    introspected.close();
    await approvals.close();
    await audit.close();
    await database.close();
    await idp.close();
  }
}

/** Each path's wall time per authenticate call, the paths taking turns so drift hits them alike. */
async function timed(paths: [string, Authenticator][], header: (i: number) => string, n: number, warmup = 200): Promise<Summary[]> {
  for (let i = 0; i < warmup; i++) for (const [, a] of paths) await check(a, header(i));
  const ns = paths.map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    for (const [p, [, a]] of paths.entries()) {
      const t = process.hrtime.bigint();
      await check(a, header(i));
      ns[p]![i] = Number(process.hrtime.bigint() - t);
    }
  }
  return paths.map(([name], p) => summarize(name, ns[p]!));
}

async function check(authenticator: Authenticator, header: string): Promise<void> {
  const result = await authenticator.authenticate(header);
  if (!result.ok) throw new Error(`the benchmark's token was refused: ${result.reason}`);
}
