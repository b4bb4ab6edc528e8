// Decision latency: the full path for a 2-table join (parse + normalize + evaluate, a new SQL
// text every time so no cache helps), the WASM evaluation alone, and the repeated-SQL path
// (the parse cache hit the gateway sees when an agent re-runs a query). Run: `just bench`.
import { cpus } from 'node:os';
import { buildBundle, Engine, normalize, type NormalizeRequest } from '../engine/index.ts';
import { sample, table } from './stats.ts';

const N = Number(process.env.BENCH_N ?? 20_000);
const engine = await Engine.load((await buildBundle()).path);

const identity = { subject: 'reporting-agent', issuer: 'https://idp.local', kind: 'agent' as const, groups: ['agents'], claims: {} };
const join = (i: number) =>
  `SELECT o.product, c.customer_id, SUM(o.units) AS units FROM \`acme-analytics.sales.orders\` o ` +
  `JOIN \`acme-analytics.crm.customers\` c ON o.customer_id = c.customer_id WHERE o.units > ${i} GROUP BY o.product, c.customer_id`;
const request = (sql: string): NormalizeRequest => ({
  identity,
  sql,
  project: 'acme-analytics',
  estimate: { bytes: 5_000_000, source: 'dry_run' },
  now: new Date('2027-01-15T08:00:00Z'),
});

const sanity = engine.decide(request(join(0)));
if (sanity.error || sanity.decision.outcome === 'deny') throw new Error(`benchmark query is not allowed: ${JSON.stringify(sanity.decision)}`);

const input = normalize(request(join(1)));
const results = [
  sample('2-table join: parse + normalize + evaluate', N, (i) => engine.decide(request(join(i + 1_000_000)))),
  sample('WASM evaluation alone (incl. input/decision validation)', N, () => engine.evaluate(input)),
  sample('repeated SQL: cached parse + normalize + evaluate', N, () => engine.decide(request(join(7)))),
];

console.log(`decision latency, ${N} samples each, Node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} (revision ${engine.revision})\n`);
console.log(table(results));
