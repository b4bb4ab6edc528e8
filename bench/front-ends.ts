// The current SQL front end (node-sql-parser, engine/sql/analyze.ts) and the polyglot-sql one
// (engine/sql/gsql/) side by side, on the SQL corpus (fixtures/sql-corpus) and on every SQL text of
// the policy fixture suites (fixtures/acme), with the same naming context and table schemas:
//   coverage    statements each front end understands (parsed: true), by the old, the new, both
//   agreement   on statements both understand: identical Statements (order normalised where it
//               carries no meaning), and the first differences by kind
//   by type     statements other than queries, by classified type: coverage and agreement
//   refusals    why the new front end refuses statements the old one understands, most common first,
//               and its refusals of queries and of other statements, whatever the old one made of them
//   latency     split + parse + analyse per text, p50/p99: cold (first analysis) and warm (again);
//               polyglot's WebAssembly initialisation and node-sql-parser's load measured apart
// Run: node bench/front-ends.ts [--repeats N] [--examples N] [--json FILE]
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { Sql, Statement, TableSchemas } from '../engine/schema-types.ts';
import { parseDefaultDataset, type NameContext } from '../engine/sql/tables.ts';
import { loadCorpus } from '../scripts/corpus/corpus.ts';
import { loadSuites } from '../cli/testing/load.ts';
import { summarize, table, type Summary } from './stats.ts';

const { values: args } = parseArgs({
  options: { repeats: { type: 'string', default: '3' }, examples: { type: 'string', default: '3' }, json: { type: 'string' } },
});
const REPEATS = Number(args.repeats);
const EXAMPLES = Number(args.examples);

// ---- loading, measured apart from the per-statement figures

const require = createRequire(import.meta.url);
const timed = async <T>(load: () => Promise<T> | T): Promise<number> => {
  const start = performance.now();
  await load();
  return performance.now() - start;
};
const loads = {
  'polyglot-sql (import + WebAssembly init)': await timed(() => import('@polyglot-sql/sdk')),
  'node-sql-parser (BigQuery build)': await timed(() => require('node-sql-parser/build/bigquery.js') as unknown),
};
const { analyzeSql } = await import('../engine/sql/analyze.ts');
const { analyzeSqlGsql } = await import('../engine/sql/gsql/analyze.ts');
const { schemaCatalog } = await import('../engine/sql/catalog.ts');

interface Text {
  /** Where it comes from: a corpus id or a fixture case. */
  id: string;
  set: 'corpus' | 'fixtures';
  sql: string;
  names: NameContext;
  schemas: TableSchemas | undefined;
}

const root = join(import.meta.dirname, '..');
const acmeSchemas = parseYaml(readFileSync(join(root, 'fixtures/schemas/acme.yaml'), 'utf8')) as TableSchemas;
const corpusNames: NameContext = { project: 'corpus-project', defaultDataset: { project: 'corpus-project', dataset: 'corpus_dataset' } };

const texts: Text[] = loadCorpus().map((item) => ({ id: item.id, set: 'corpus', sql: item.sql, names: corpusNames, schemas: acmeSchemas }));
const { suites, problems } = await loadSuites([join(root, 'fixtures/acme')]);
if (problems.length > 0) process.stderr.write(`fixture problems: ${problems.map((p) => p.message).join('; ')}\n`);
const seen = new Set<string>();
for (const suite of suites) {
  for (const c of suite.cases) {
    const project = c.input.project.toLowerCase();
    const names: NameContext = { project, defaultDataset: parseDefaultDataset(c.input.defaultDataset, project) };
    const key = `${project}\u0000${c.input.defaultDataset ?? ''}\u0000${c.input.schemas === undefined ? '' : 'schemas'}\u0000${c.input.sql}`;
    if (seen.has(key)) continue;
    seen.add(key);
    texts.push({ id: `${suite.name}: ${c.caseName}`, set: 'fixtures', sql: c.input.sql, names, schemas: c.input.schemas });
  }
}

// ---- both front ends on every text; cold first, then warm passes

type FrontEnd = 'old' | 'new';
const run: Record<FrontEnd, (t: Text) => Sql> = {
  old: (t) => analyzeSql(t.sql, t.names, schemaCatalog(t.schemas)).sql,
  new: (t) => analyzeSqlGsql(t.sql, t.names, schemaCatalog(t.schemas)),
};
const results: Record<FrontEnd, Sql[]> = { old: [], new: [] };
const cold: Record<FrontEnd, Float64Array> = { old: new Float64Array(texts.length), new: new Float64Array(texts.length) };
const warm: Record<FrontEnd, Float64Array> = { old: new Float64Array(texts.length * REPEATS), new: new Float64Array(texts.length * REPEATS) };

const time = (f: FrontEnd, t: Text): { sql: Sql; ns: number } => {
  const start = process.hrtime.bigint();
  const sql = run[f](t);
  return { sql, ns: Number(process.hrtime.bigint() - start) };
};
for (const [i, t] of texts.entries()) {
  if (i % 500 === 0) process.stderr.write(`texts ${i}/${texts.length}\n`);
  // Alternate which goes first, so neither always meets a colder cache.
  for (const f of (i % 2 === 0 ? ['old', 'new'] : ['new', 'old']) as FrontEnd[]) {
    const { sql, ns } = time(f, t);
    results[f][i] = sql;
    cold[f][i] = ns;
  }
}
for (let r = 0; r < REPEATS; r++) {
  process.stderr.write(`warm pass ${r + 1}/${REPEATS}\n`);
  for (const [i, t] of texts.entries()) for (const f of ['old', 'new'] as FrontEnd[]) warm[f][r * texts.length + i] = time(f, t).ns;
}

// ---- comparison, statement by statement (both split the text with the same splitter)

const byKey = <T>(list: readonly T[], key: (x: T) => string) => [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
const ref = (c: { table: string; column: string }) => `${c.table}:${c.column}`;

/** A Statement with the order of its sets made canonical; outputs keep their order (it is the result's). */
function normalised(s: Statement) {
  return {
    type: s.type,
    category: s.category,
    tables: byKey(s.tables, (t) => `${t.id}:${t.mode}`).map((t) => ({ ...t, policy_tags: t.policy_tags })),
    columns: s.columns.map(ref).sort(),
    predicate_columns: s.predicate_columns.map(ref).sort(),
    functions: [...s.functions].sort(),
    outputs: s.outputs.map((o) => ({ ...o, sources: o.sources.map(ref).sort(), tables: o.tables === undefined ? undefined : [...o.tables].sort() })),
  };
}

type Normalised = ReturnType<typeof normalised>;
const json = (x: unknown) => JSON.stringify(x);

/** The kinds of difference between two normalised statements, each with a short description. */
function differences(a: Normalised, b: Normalised): { kind: string; detail: string }[] {
  const out: { kind: string; detail: string }[] = [];
  const setDiff = (kind: string, x: readonly string[], y: readonly string[]) => {
    const onlyOld = x.filter((e) => !y.includes(e));
    const onlyNew = y.filter((e) => !x.includes(e));
    if (onlyOld.length + onlyNew.length > 0) out.push({ kind, detail: `old only: ${onlyOld.join(', ') || '–'}; new only: ${onlyNew.join(', ') || '–'}` });
  };
  if (a.type !== b.type || a.category !== b.category) out.push({ kind: 'type', detail: `${a.type} vs ${b.type}` });
  if (json(a.tables) !== json(b.tables)) out.push({ kind: 'tables', detail: `${json(a.tables.map((t) => `${t.id}:${t.mode}`))} vs ${json(b.tables.map((t) => `${t.id}:${t.mode}`))}` });
  setDiff('columns', a.columns, b.columns);
  setDiff('predicate_columns', a.predicate_columns, b.predicate_columns);
  setDiff('functions', a.functions, b.functions);
  const names = (n: Normalised) => n.outputs.map((o) => o.name);
  if (json(names(a)) !== json(names(b))) {
    out.push({ kind: 'output names', detail: `${json(names(a))} vs ${json(names(b))}` });
  } else {
    for (const [i, o] of a.outputs.entries()) {
      const p = b.outputs[i]!;
      const { reason: ra, ...restA } = o;
      const { reason: rb, ...restB } = p;
      if (json(restA) !== json(restB)) out.push({ kind: 'output lineage', detail: `${o.name}: ${json(restA)} vs ${json(restB)}` });
      else if (ra !== rb) out.push({ kind: 'output reason', detail: `${o.name}: ${ra ?? '–'} vs ${rb ?? '–'}` });
    }
  }
  return out;
}

interface Tally {
  statements: number;
  old: number;
  new: number;
  both: number;
  neither: number;
  identical: number;
  differing: number;
}
const tally = (): Tally => ({ statements: 0, old: 0, new: 0, both: 0, neither: 0, identical: 0, differing: 0 });
const tallies = { 'corpus, all statements': tally(), 'corpus, queries (SELECT)': tally(), 'fixtures, all statements': tally(), 'fixtures, queries (SELECT)': tally() };
const kinds = new Map<string, { count: number; examples: { id: string; sql: string; detail: string }[] }>();
/** Why the new front end refuses what the old one understands (positions dropped so messages group). */
const refusals = new Map<string, { count: number; example: string }>();
const newOnly: { id: string; sql: string }[] = [];
/** Every refusal of a query by the new front end, whatever the old one made of it. */
const queryRefusals = new Map<string, { count: number; example: string }>();
/** Every refusal of a statement other than a query by the new front end, by type and reason. */
const otherRefusals = new Map<string, { count: number; example: string }>();
/** Statements other than queries, corpus and fixtures together, by classified type. */
const byType = new Map<string, Tally>();
const grouped = (error: string | undefined) => (error ?? '').replace(/ at line \d+:\d+/g, '').replace(/\(line \d+:\d+\)/g, '').replace(/line \d+, column \d+/g, 'line …');

for (const [i, t] of texts.entries()) {
  const old = results.old[i]!.statements;
  const neu = results.new[i]!.statements;
  if (old.length !== neu.length) throw new Error(`${t.id}: the front ends split the text differently`);
  for (const [k, so] of old.entries()) {
    const sn = neu[k]!;
    const select = so.type === 'SELECT';
    for (const [name, tl] of Object.entries(tallies)) {
      if (!name.startsWith(t.set) || (name.endsWith('(SELECT)') && !select)) continue;
      tl.statements++;
      if (so.parsed) tl.old++;
      if (sn.parsed) tl.new++;
      if (so.parsed && sn.parsed) tl.both++;
      if (!so.parsed && !sn.parsed) tl.neither++;
    }
    if (!select) {
      const tl = byType.get(so.type) ?? tally();
      byType.set(so.type, tl);
      tl.statements++;
      if (so.parsed) tl.old++;
      if (sn.parsed) tl.new++;
      if (so.parsed && sn.parsed) tl.both++;
      if (!so.parsed && !sn.parsed) tl.neither++;
      if (so.parsed && sn.parsed) {
        if (differences(normalised(so), normalised(sn)).length === 0) tl.identical++;
        else tl.differing++;
      }
    }
    if (!sn.parsed) {
      const message = select ? grouped(sn.error) : `${so.type}: ${grouped(sn.error)}`;
      const into = select ? queryRefusals : otherRefusals;
      const r = into.get(message) ?? { count: 0, example: t.sql.slice(0, 160) };
      r.count++;
      into.set(message, r);
    }
    if (so.parsed && !sn.parsed) {
      const message = grouped(sn.error);
      const r = refusals.get(message) ?? { count: 0, example: t.sql.slice(0, 160) };
      r.count++;
      refusals.set(message, r);
    }
    if (!so.parsed && sn.parsed && newOnly.length < EXAMPLES * 3) newOnly.push({ id: t.id, sql: t.sql.slice(0, 160) });
    if (!(so.parsed && sn.parsed)) continue;
    const diffs = differences(normalised(so), normalised(sn));
    for (const [name, tl] of Object.entries(tallies)) {
      if (!name.startsWith(t.set) || (name.endsWith('(SELECT)') && !select)) continue;
      if (diffs.length === 0) tl.identical++;
      else tl.differing++;
    }
    for (const kind of new Set(diffs.map((d) => d.kind))) {
      const entry = kinds.get(kind) ?? { count: 0, examples: [] };
      entry.count++;
      if (entry.examples.length < EXAMPLES) entry.examples.push({ id: t.id, sql: t.sql.replace(/\s+/g, ' ').slice(0, 200), detail: diffs.find((d) => d.kind === kind)!.detail.slice(0, 400) });
      kinds.set(kind, entry);
    }
  }
}

// ---- report

const pct = (n: number, of: number) => (of === 0 ? '–' : `${((100 * n) / of).toFixed(1)} %`);
// On every text, and (the like-for-like figure) on the texts both understand in full: either front
// end refuses some statements before parsing them, which makes those texts cheap.
const understoodByBoth = texts.flatMap((_t, i) => (results.old[i]!.parsed && results.new[i]!.parsed ? [i] : []));
const pick = (ns: Float64Array, passes: number) =>
  Float64Array.from(Array.from({ length: passes }, (_, r) => understoodByBoth.map((i) => ns[r * texts.length + i]!)).flat());
const label = (f: FrontEnd) => (f === 'old' ? 'node-sql-parser' : 'polyglot-sql');
const latency: Summary[] = (['old', 'new'] as FrontEnd[]).flatMap((f) => [
  summarize(`${label(f)}: cold, all texts`, cold[f]),
  summarize(`${label(f)}: warm, all texts`, warm[f]),
  summarize(`${label(f)}: cold, texts both understand`, pick(cold[f], 1)),
  summarize(`${label(f)}: warm, texts both understand`, pick(warm[f], REPEATS)),
]);

console.log(
  `front ends on ${texts.filter((t) => t.set === 'corpus').length} corpus texts and ${texts.filter((t) => t.set === 'fixtures').length} distinct fixture texts, ` +
    `${REPEATS} warm passes, Node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg()[0]!.toFixed(2)}\n`,
);
console.log('## Understood (parsed: true)\n');
console.log('| statements | n | old | new | both | neither | both: identical | both: differing |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [name, t] of Object.entries(tallies)) {
  console.log(`| ${name} | ${t.statements} | ${t.old} (${pct(t.old, t.statements)}) | ${t.new} (${pct(t.new, t.statements)}) | ${t.both} | ${t.neither} | ${t.identical} (${pct(t.identical, t.both)}) | ${t.differing} |`);
}
console.log('\n## Statements other than queries, by type (corpus and fixtures)\n');
console.log('| type | n | old | new | both | neither | both: identical | both: differing |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [type, t] of [...byType].sort((a, b) => b[1].statements - a[1].statements)) {
  console.log(`| ${type} | ${t.statements} | ${t.old} | ${t.new} | ${t.both} | ${t.neither} | ${t.identical} | ${t.differing} |`);
}
console.log('\n## Differences on statements both understand, by kind (a statement can show several)\n');
for (const [kind, k] of [...kinds].sort((a, b) => b[1].count - a[1].count)) {
  console.log(`### ${kind}: ${k.count}\n`);
  for (const e of k.examples) console.log(`- ${e.id}\n  \`${e.sql}\`\n  old vs new: ${e.detail}`);
  console.log('');
}
console.log('## Why the new front end refuses statements the old one understands\n');
console.log('| refusal | statements | e.g. |');
console.log('| --- | ---: | --- |');
for (const [message, r] of [...refusals].sort((a, b) => b[1].count - a[1].count).slice(0, 25)) {
  console.log(`| ${message.replaceAll('|', '\\|')} | ${r.count} | \`${r.example.replace(/\s+/g, ' ').replaceAll('|', '\\|')}\` |`);
}
console.log('\n## The new front end\'s refusals of queries (SELECT), whatever the old one made of them\n');
console.log('| refusal | statements | e.g. |');
console.log('| --- | ---: | --- |');
for (const [message, r] of [...queryRefusals].sort((a, b) => b[1].count - a[1].count).slice(0, 30)) {
  console.log(`| ${message.replaceAll('|', '\\|')} | ${r.count} | \`${r.example.replace(/\s+/g, ' ').replaceAll('|', '\\|')}\` |`);
}
console.log('\n## The new front end\'s refusals of other statements, whatever the old one made of them\n');
console.log('| refusal | statements | e.g. |');
console.log('| --- | ---: | --- |');
for (const [message, r] of [...otherRefusals].sort((a, b) => b[1].count - a[1].count).slice(0, 30)) {
  console.log(`| ${message.replaceAll('|', '\\|')} | ${r.count} | \`${r.example.replace(/\s+/g, ' ').replaceAll('|', '\\|')}\` |`);
}
console.log('\n## Understood by the new front end only (first few)\n');
for (const e of newOnly) console.log(`- ${e.id}: \`${e.sql.replace(/\s+/g, ' ')}\``);
console.log('\n## Latency per text (split + parse + analyse)\n');
console.log(table(latency));
console.log('\n| load, once per process | ms |\n| --- | ---: |');
for (const [name, ms] of Object.entries(loads)) console.log(`| ${name} | ${ms.toFixed(0)} |`);

if (args.json !== undefined) {
  const out = { tallies, kinds: Object.fromEntries(kinds), refusals: Object.fromEntries(refusals), queryRefusals: Object.fromEntries(queryRefusals), otherRefusals: Object.fromEntries(otherRefusals), byType: Object.fromEntries(byType), latency, loads };
  writeFileSync(args.json, JSON.stringify(out, null, 2) + '\n');
}
