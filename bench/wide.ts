// Decision time of wide queries, the widest any caller may send, by width: the analysis and the
// policy run on the gateway's one event loop, so their time must grow with the query, not with
// its square. Each width is decided 3 times (a new text each time, so no cache helps); the median
// is reported, and its time per column, which stays level when the growth is linear.
// BENCH_AGAINST=<dir of another checkout, its bundle built> adds that checkout's engine on the
// same widths (up to 2,000: the quadratic policy took seconds beyond). Run: `node bench/wide.ts`.
import { resolve } from 'node:path';
import { buildBundle, Engine } from '../engine/index.ts';

const identity = { subject: 'reporting-agent', issuer: 'https://idp.local', kind: 'agent' as const, groups: ['agents'], claims: {} };
const list = (n: number, item: (i: number) => string) => Array.from({ length: n }, (_, i) => item(i)).join(', ');
const shapes: Record<string, (n: number, salt: number) => string> = {
  'masked columns (`ssn AS sN`): mask': (n, salt) => `SELECT ${list(n, (i) => `ssn AS s${i}_${salt}`)} FROM crm.customers`,
  'computed sensitive columns (`CONCAT(ssn, email)`): deny': (n, salt) => `SELECT ${list(n, (i) => `CONCAT(ssn, email) AS s${i}_${salt}`)} FROM crm.customers`,
};

async function engines(): Promise<[string, Pick<Engine, 'decide'>, number][]> {
  const out: [string, Pick<Engine, 'decide'>, number][] = [['this checkout', await Engine.load((await buildBundle()).path), 8000]];
  const against = process.env.BENCH_AGAINST;
  if (against) {
    const other = (await import(resolve(against, 'engine/index.ts'))) as typeof import('../engine/index.ts');
    out.push([against, await other.Engine.load(resolve(against, 'build/bundle.tar.gz')), 2000]);
  }
  return out;
}

let salt = 0;
console.log('| engine | query | columns | decision (median of 3) | per column |\n| --- | --- | ---: | ---: | ---: |');
for (const [label, engine, widest] of await engines()) {
  for (const [name, make] of Object.entries(shapes)) {
    for (const n of [1000, 2000, 4000, 8000].filter((w) => w <= widest)) {
      const ms: number[] = [];
      for (let r = 0; r < 3; r++) {
        const sql = make(n, salt++);
        const started = performance.now();
        engine.decide({ identity, sql, project: 'acme-analytics', estimate: { bytes: 5_000_000, source: 'dry_run' }, now: new Date() });
        ms.push(performance.now() - started);
      }
      const median = ms.sort((a, b) => a - b)[1]!;
      console.log(`| ${label} | ${name} | ${n} | ${median.toFixed(0)} ms | ${((median * 1000) / n).toFixed(0)} µs |`);
    }
  }
}
