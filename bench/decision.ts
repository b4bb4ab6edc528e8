// Decision latency for a 2-table join, side by side:
//   cold         a new query shape every time (an identifier changes): parse + analyse + evaluate
//   literal      the same shape with a new literal every time: shape cache + evaluate
//   repeated     the same text every time: text cache + evaluate
//   many texts   repeated SQL, one of 2,000 texts in the text cache in turn (a gateway's steady state)
//   evaluate     Engine.evaluate on a ready input (input/decision validation + WASM)
//   evaluator    the policy with the analysis kept parsed in its memory (engine/wasm.ts), as
//                for a repeated analysis: the rest of the input parsed, the result decoded
//   opa_eval     the compiled policy alone (the whole input already in WASM memory, parsed on
//                every call, as for a new analysis; result not decoded)
// Paths run interleaved in small batches, so a busy machine slows them alike. Run: `just bench`
// or `node bench/decision.ts` (BENCH_N samples per path, default 10 000). BENCH_AGAINST=<dir of
// another checkout, its bundle built> adds that checkout's engine on the first three paths, in
// the same run (`git worktree add /tmp/prev HEAD~3 && (cd /tmp/prev && npm ci && npx sluice build)`).
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { readBundle } from '../engine/bundle.ts';
import { buildBundle, Engine, normalize, type NormalizeRequest } from '../engine/index.ts';
import { inputDocument, inputJson } from '../engine/input-json.ts';
import { normalizeCacheStats } from '../engine/normalize.ts';
import { evaluator } from '../engine/wasm.ts';
import { summarize, table } from './stats.ts';

const N = Number(process.env.BENCH_N ?? 10_000);
const BATCH = 50;
const bundlePath = (await buildBundle()).path;
const engine = await Engine.load(bundlePath);

const identity = { subject: 'reporting-agent', issuer: 'https://idp.local', kind: 'agent' as const, groups: ['agents'], claims: {} };
const join = (alias: string, units: number) =>
  `SELECT o.product, c.customer_id, SUM(o.units) AS ${alias} FROM \`acme-analytics.sales.orders\` o ` +
  `JOIN \`acme-analytics.crm.customers\` c ON o.customer_id = c.customer_id WHERE o.units > ${units} GROUP BY o.product, c.customer_id`;
const request = (sql: string): NormalizeRequest => ({
  identity,
  sql,
  project: 'acme-analytics',
  estimate: { bytes: 5_000_000, source: 'dry_run' },
  now: new Date('2027-01-15T08:00:00Z'),
});

const sanity = engine.decide(request(join('units', 0)));
if (sanity.error || sanity.decision.outcome === 'deny') throw new Error(`benchmark query is not allowed: ${JSON.stringify(sanity.decision)}`);

// The policy alone: opa_eval on an input written once into the instance's memory.
const bundle = await readBundle(await readFile(bundlePath));
const raw = await loadPolicy(bundle.wasm, { initial: 5, maximum: 4096 });
raw.setData(bundle.data.slice().buffer);
const opaEval = ((raw.wasmInstance as { exports: Record<string, unknown> }).exports.opa_eval) as (...args: number[]) => number;
const entrypoint = (raw.entrypoints as Record<string, number>)['sluice/decision']!;
const ready = normalize(request(join('units', 1)));
const base = raw.dataHeapPtr as number;
const { written } = new TextEncoder().encodeInto(inputJson(ready), new Uint8Array(raw.mem.buffer, base));
// The engine's evaluator, in an instance of its own (it keeps values in the instance's memory).
const kept = await loadPolicy(bundle.wasm, { initial: 5, maximum: 4096 });
kept.setData(bundle.data.slice().buffer);
const evaluate = evaluator(kept, entrypoint);

/**
 * A benchmarked path: `next` builds what one sample decides (outside the clock: the caller's work,
 * as the gateway builds a request), `run` is timed.
 */
interface Path {
  name: string;
  next: () => NormalizeRequest | undefined;
  run: (request: NormalizeRequest | undefined) => unknown;
  /** Runs before the clock starts (default: 1,000). */
  warmUp?: number;
}

/** Texts the "many texts" path cycles through; each is decided twice before timing, as a text is cached at its second sight. */
const CACHED_TEXTS = 2_000;

let cold = 0;
let literal = 0;
const decidePaths = (label: string, e: Pick<Engine, 'decide'>): Path[] => {
  let turn = 0;
  return [
    { name: `cold: new query shape (parse + analyse + evaluate)${label}`, next: () => request(join(`units_${cold++}`, 1)), run: (r) => e.decide(r!) },
    { name: `literal variant: shape cache + evaluate${label}`, next: () => request(join('units', 1_000_000 + literal++)), run: (r) => e.decide(r!) },
    { name: `repeated SQL: text cache + evaluate${label}`, next: () => request(join('units', 7)), run: (r) => e.decide(r!) },
    {
      name: `repeated SQL, one of ${CACHED_TEXTS.toLocaleString('en')} cached texts${label}`,
      next: () => request(join(`units_cached_${turn++ % CACHED_TEXTS}`, 7)),
      run: (r) => e.decide(r!),
      warmUp: 2 * CACHED_TEXTS + 1000,
    },
  ];
};
const against = process.env.BENCH_AGAINST;
const other = against && (await import(resolve(against, 'engine/index.ts'))) as typeof import('../engine/index.ts');
const none = () => undefined;
const paths: Path[] = [
  ...decidePaths('', engine),
  ...(other ? decidePaths(` (${against})`, await other.Engine.load(resolve(against, 'build/bundle.tar.gz'))) : []),
  { name: 'Engine.evaluate (validation + WASM)', next: none, run: () => engine.evaluate(ready) },
  { name: 'policy in WASM, analysis kept parsed (evaluator)', next: none, run: () => evaluate(inputDocument(ready)) },
  { name: 'opa_eval alone (policy in WASM, whole input parsed)', next: none, run: () => opaEval(0, entrypoint, raw.dataAddr, base, written, base + written, 0) },
];
for (const path of paths) {
  for (let i = 0; i < (path.warmUp ?? Math.min(1000, N)); i++) path.run(path.next());
}
const before = normalizeCacheStats();
const samples = paths.map(() => new Float64Array(N));
for (let done = 0; done < N; done += BATCH) {
  for (const [p, path] of paths.entries()) {
    for (let i = done; i < Math.min(N, done + BATCH); i++) {
      const prepared = path.next();
      const t = process.hrtime.bigint();
      path.run(prepared);
      samples[p]![i] = Number(process.hrtime.bigint() - t);
    }
  }
}
const after = normalizeCacheStats();

console.log(
  `decision latency, ${N} samples per path (interleaved), Node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, ` +
    `load ${loadavg()[0]!.toFixed(2)} (revision ${engine.revision})\n`,
);
console.log(table(paths.map((path, p) => summarize(path.name, samples[p]!))));
console.log(
  `\nnormalizer during the run: ${after.analysed - before.analysed} parsed, ${after.shapeHits - before.shapeHits} by shape, ` +
    `${after.textHits - before.textHits} by text`,
);
