// Latency sampling for the benchmarks: run a function many times, report percentiles.
export interface Summary {
  name: string;
  n: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

export function sample(name: string, n: number, fn: (i: number) => void, warmup = Math.min(1000, n)): Summary {
  for (let i = 0; i < warmup; i++) fn(i);
  const ns = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn(i);
    ns[i] = Number(process.hrtime.bigint() - t);
  }
  return summarize(name, ns);
}

export function summarize(name: string, ns: Float64Array): Summary {
  const sorted = Float64Array.from(ns).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! / 1000;
  return { name, n: sorted.length, p50Us: at(0.5), p99Us: at(0.99), meanUs: sorted.reduce((a, b) => a + b, 0) / sorted.length / 1000 };
}

export function table(rows: Summary[]): string {
  const head = '| path | n | p50 | p99 | mean |\n| --- | ---: | ---: | ---: | ---: |';
  const fmt = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
  return [head, ...rows.map((r) => `| ${r.name} | ${r.n} | ${fmt(r.p50Us)} | ${fmt(r.p99Us)} | ${fmt(r.meanUs)} |`)].join('\n');
}
