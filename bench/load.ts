// Load generation for the gateway benchmarks: raw jobs.query calls over loopback, every answer
// required to be 200, so an error path is never measured as a fast one.
import { ACME_PROJECT } from '../demo/emulator.ts';

/** The queries the gateway benchmarks run: an aggregate, and a read of every PII column (masked). */
export const AGGREGATE_SQL = 'SELECT product, SUM(units) AS units, SUM(amount) AS revenue FROM sales.orders GROUP BY product ORDER BY product';
export const PII_SQL = 'SELECT customer_id, name, ssn, email, phone, card_number, address FROM crm.customers ORDER BY customer_id';

export interface Target {
  url: string;
  /** Bearer token, when the target is a gateway. */
  token?: string;
}

/** One jobs.query call; resolves with its wall time in nanoseconds. */
export async function queryOnce(target: Target, sql: string): Promise<number> {
  const t = process.hrtime.bigint();
  const res = await fetch(`${target.url}/bigquery/v2/projects/${ACME_PROJECT}/queries`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(target.token && { authorization: `Bearer ${target.token}` }) },
    body: JSON.stringify({ query: sql, useLegacySql: false, formatOptions: { useInt64Timestamp: true } }),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${target.url} answered ${res.status}`);
  return Number(process.hrtime.bigint() - t);
}

/** Seconds for `requests` calls with `concurrency` in flight. */
export async function loadFor(target: Target, sql: string, requests: number, concurrency: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next++;
        await queryOnce(target, sql);
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

/** Requests per second of each target, measured in three alternating rounds after a warm-up round. */
export async function throughputs(targets: Target[], sql: string, requests: number, concurrency: number): Promise<number[]> {
  for (const target of targets) await loadFor(target, sql, concurrency, concurrency);
  const seconds = targets.map(() => 0);
  const rounds = 3;
  const perRound = Math.ceil(requests / rounds);
  for (let r = 0; r < rounds; r++) {
    for (const [t, target] of targets.entries()) seconds[t]! += await loadFor(target, sql, perRound, concurrency);
  }
  return seconds.map((s) => (perRound * rounds) / s);
}
