// The candidate parsers side by side on the SQL corpus (fixtures/sql-corpus), in one run:
//   coverage   statements each parses without an error, per category and for the real-world sources
//   latency    parse only, p50/p99: cold (each statement's first parse) and warm (parsed again)
//   agreement  on read queries the normalizer understands: does the candidate's tree name the same tables?
//   name forms which tables each candidate's tree names for the FROM name forms BigQuery reads one way
//              (test/support/name-forms.ts, plus the spellings below): a missed table is a misread
// The normalizer end to end (split, parse, analyse; empty cache) runs alongside as the reference.
// Candidates run interleaved statement by statement, so a busy machine slows them alike.
// Run: node bench/parsers.ts [--repeats N] [--json FILE]
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { clearNormalizeCache, normalize } from '../engine/normalize.ts';
import { classify } from '../engine/sql/classify.ts';
import { lex } from '../engine/sql/lexer.ts';
import { parseStatement } from '../engine/sql/parser/index.ts';
import { splitStatements } from '../engine/sql/split.ts';
import { qualify, type NameContext } from '../engine/sql/tables.ts';
import { CATEGORIES, loadCorpus, type CorpusItem } from '../scripts/corpus/corpus.ts';
import { CUSTOMERS, GATEWAY_FORMS, NAME_FORMS, ORDERS, type NameForm } from '../test/support/name-forms.ts';
import { summarize, table, type Summary } from './stats.ts';

const { values: args } = parseArgs({ options: { repeats: { type: 'string', default: '3' }, json: { type: 'string' } } });
const REPEATS = Number(args.repeats);
const identity = { subject: 'bench', issuer: 'https://idp.local', kind: 'agent' as const, groups: [], claims: {} };

/** A table path as written: one element per identifier (a back-quoted one may hold dots). */
type Path = string[];

interface Candidate {
  name: string;
  /** Returns the tree, throws when the parser refuses the text. */
  parse: (sql: string) => unknown;
  /** The table paths the tree names. */
  tables: (tree: unknown, sql: string) => Path[];
}

/** Every object in a JSON tree, depth first. */
function* nodes(value: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(value)) for (const v of value) yield* nodes(v);
  else if (value !== null && typeof value === 'object') {
    yield value as Record<string, unknown>;
    for (const v of Object.values(value)) yield* nodes(v);
  }
}

async function timedLoad<T>(load: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await load();
  return { value, ms: performance.now() - start };
}

const require = createRequire(import.meta.url);
const loads: Record<string, number> = {};

const nsp = await timedLoad(async () => {
  const { Parser } = require('node-sql-parser/build/bigquery.js') as {
    Parser: new () => { astify(sql: string, o: object): unknown; tableList(sql: string, o: object): string[] };
  };
  return new Parser();
});
loads['node-sql-parser'] = nsp.ms;

const sqlparser = await timedLoad(async () => {
  const module = await import('@guanmingchiu/sqlparser-ts');
  await module.init();
  return module;
});
loads['sqlparser-ts'] = sqlparser.ms;

const polyglot = await timedLoad(async () => {
  const module = await import('@polyglot-sql/sdk');
  await module.init();
  return module;
});
loads['polyglot-sql'] = polyglot.ms;

/** Table references in polyglot-sql's tree shapes, which the project's parser gives too: {table: {catalog, schema, name: {name}}}. */
function polyglotShapedTables(tree: unknown): Path[] {
  const paths: Path[] = [];
  for (const n of nodes(tree)) {
    const t = n.table as { name?: { name?: unknown }; schema?: { name: string } | null; catalog?: { name: string } | null } | undefined;
    if (t === null || typeof t !== 'object' || !('schema' in t || 'name' in t) || typeof t.name?.name !== 'string') continue;
    paths.push([t.catalog?.name, t.schema?.name, t.name.name].filter((p): p is string => typeof p === 'string'));
  }
  return paths;
}

const candidates: Candidate[] = [
  {
    name: 'this project\'s parser',
    // Lexed, split and classified as the normalizer does; each statement parsed by its kind.
    parse: (sql) =>
      splitStatements(lex(sql).tokens).map((span) => {
        const result = parseStatement(classify(span.tokens).type, sql, span);
        if (result.error !== undefined) throw new Error(result.error);
        return result.ast;
      }),
    tables: polyglotShapedTables,
  },
  {
    name: 'node-sql-parser',
    parse: (sql) => nsp.value.astify(sql, { database: 'bigquery' }),
    // tableList entries are `mode::dataset::table`, `null` for an absent dataset.
    tables: (_tree, sql) => nsp.value.tableList(sql, { database: 'bigquery' }).map((e) => e.split('::').slice(1).filter((p) => p !== 'null')),
  },
  {
    name: 'sqlparser-ts',
    parse: (sql) => sqlparser.value.parse(sql, 'bigquery'),
    // Table factors {Table: {name: [{Identifier: {value}}, …]}}, and INSERT targets {TableName: […]}.
    tables: (tree) => {
      type Parts = { Identifier?: { value: string } }[];
      const paths: Path[] = [];
      for (const n of nodes(tree)) {
        const table = n.Table as { name?: Parts } | undefined;
        const parts = Array.isArray(n.TableName) ? (n.TableName as Parts) : table !== null && typeof table === 'object' ? table.name : undefined;
        if (Array.isArray(parts)) paths.push(parts.map((p) => p.Identifier?.value ?? ''));
      }
      return paths;
    },
  },
  {
    name: 'polyglot-sql',
    parse: (sql) => {
      const result = polyglot.value.parse(sql, polyglot.value.Dialect.BigQuery);
      if (!result.success) throw new Error(result.error ?? 'parse failed');
      return result.ast;
    },
    tables: polyglotShapedTables,
  },
];

/**
 * Table ids a candidate's paths qualify to (unqualifiable paths left out). A tree has no scope:
 * WITH names and paths into range variables come out as tables too, which only adds names.
 */
function tableIds(paths: Path[], names: NameContext): string[] {
  const ids = new Set<string>();
  for (const path of paths) {
    const q = qualify(path, names);
    if (q.name !== undefined) ids.add(q.name.id);
  }
  return [...ids].sort();
}

/** `named` is the table `id`, or a wildcard over it. */
function covers(named: string, id: string): boolean {
  if (named === id) return true;
  const prefix = named.slice(0, -1);
  return named.endsWith('*') && id.startsWith(prefix) && !id.includes('.', prefix.length);
}

/** What a reading misses (a table read but not named: a misread) and adds (a name that is no table read). */
function compare(expected: readonly string[], named: readonly string[]): { missed: string[]; extra: string[] } {
  return { missed: expected.filter((id) => !named.some((n) => covers(n, id))), extra: named.filter((n) => !expected.some((id) => covers(n, id))) };
}

/** A wasm trap or a JavaScript error inside the parser, as opposed to a refusal of the text. */
function isCrash(e: unknown): boolean {
  return e instanceof TypeError || e instanceof RangeError || (e instanceof Error && e.name === 'RuntimeError') || /panicked|unreachable/.test(String(e));
}

// ---- coverage and latency on the corpus

const items = loadCorpus();
const realWorld = (item: CorpusItem) => item.source.repo !== 'google/zetasql';
const corpusNames: NameContext = { project: 'corpus-project', defaultDataset: { project: 'corpus-project', dataset: 'corpus_dataset' } };
const paths = [...candidates.map((c) => c.name), 'normalizer (end to end)'];
const parsed = paths.map(() => new Array<boolean>(items.length).fill(false));
const crashes = paths.map(() => 0);
const trees = candidates.map(() => new Array<unknown>(items.length));
const cold = paths.map(() => new Float64Array(items.length));
const warm = paths.map(() => new Float64Array(items.length * REPEATS));
/** The normalizer's tables for each statement: its parsed reading, or the token scan's when it refused. */
const normalizerTables: string[][] = [];

const runNormalizer = (sql: string) => {
  clearNormalizeCache();
  return normalize({ identity, sql, project: corpusNames.project, defaultDataset: 'corpus_dataset' });
};

for (const [i, item] of items.entries()) {
  if (i % 200 === 0) process.stderr.write(`corpus ${i}/${items.length}\n`);
  for (const [c, candidate] of candidates.entries()) {
    const start = process.hrtime.bigint();
    try {
      trees[c]![i] = candidate.parse(item.sql);
      parsed[c]![i] = true;
    } catch (e) {
      if (isCrash(e)) crashes[c]!++;
    }
    cold[c]![i] = Number(process.hrtime.bigint() - start);
  }
  const start = process.hrtime.bigint();
  const input = runNormalizer(item.sql);
  cold[candidates.length]![i] = Number(process.hrtime.bigint() - start);
  parsed[candidates.length]![i] = input.sql.parsed;
  normalizerTables[i] = [...new Set(input.sql.statements.flatMap((s) => s.tables.map((t) => t.id)))].sort();
}
for (let r = 0; r < REPEATS; r++) {
  process.stderr.write(`warm pass ${r + 1}/${REPEATS}\n`);
  for (const [i, item] of items.entries()) {
    for (const [c, candidate] of candidates.entries()) {
      const start = process.hrtime.bigint();
      try {
        candidate.parse(item.sql);
      } catch {
        // refusals cost time too
      }
      warm[c]![r * items.length + i] = Number(process.hrtime.bigint() - start);
    }
    const start = process.hrtime.bigint();
    runNormalizer(item.sql);
    warm[candidates.length]![r * items.length + i] = Number(process.hrtime.bigint() - start);
  }
}

const share = (ok: boolean[], keep: (item: CorpusItem) => boolean) => {
  const idx = items.flatMap((item, i) => (keep(item) ? [i] : []));
  const n = idx.filter((i) => ok[i]).length;
  return { parsed: n, of: idx.length, pct: idx.length === 0 ? 0 : (100 * n) / idx.length };
};
const cell = (s: { parsed: number; of: number; pct: number }) => `${s.parsed}/${s.of} (${s.pct.toFixed(1)} %)`;
const coverage = paths.map((name, p) => ({
  name,
  all: share(parsed[p]!, () => true),
  realWorldQueries: share(parsed[p]!, (item) => realWorld(item) && item.category === 'query'),
  realWorld: share(parsed[p]!, realWorld),
  byCategory: Object.fromEntries(CATEGORIES.map((c) => [c, share(parsed[p]!, (item) => item.category === c)])),
  crashes: crashes[p]!,
}));
const latency: Summary[] = paths.flatMap((name, p) => [summarize(`${name}: cold`, cold[p]!), summarize(`${name}: warm`, warm[p]!)]);

// ---- agreement with the normalizer's tables on read queries: those it understands, and (against
// its token scan) those it refuses

const normalizerIndex = candidates.length;
const agreement = candidates.flatMap((candidate, c) => [true, false].map((understood) => {
  let compared = 0;
  let extra = 0;
  /** Statements where the candidate names fewer tables than the reference, with the tables it leaves out. */
  const missed: { id: string; tables: string[] }[] = [];
  for (const [i, item] of items.entries()) {
    const expected = normalizerTables[i]!;
    if (item.category !== 'query' || parsed[normalizerIndex]![i] !== understood || !parsed[c]![i]) continue;
    compared++;
    let named: string[];
    try {
      named = tableIds(candidate.tables(trees[c]![i], item.sql), corpusNames);
    } catch {
      named = [];
    }
    const diff = compare(expected, named);
    if (diff.missed.length > 0) missed.push({ id: item.id, tables: diff.missed });
    else if (diff.extra.length > 0) extra++;
  }
  return { name: candidate.name, reference: understood ? 'normalizer, understood' : 'token scan, refused', compared, missed, extra };
}));

// ---- name forms

const PROJECT = 'acme-analytics';
const ORDERS_WILDCARD = `${PROJECT}.sales.orders*`;
const JOBS = `${PROJECT}.region-us.information_schema.jobs`;
const ORDERS_COPY = `${PROJECT}.sales.orders_copy`;
/** Spellings of a table name, and places a table hides in, that the shared list does not cover. */
const MORE_FORMS: readonly NameForm[] = [
  { label: 'back-quoted project.dataset.table', sql: 'SELECT order_id FROM `acme-analytics.sales.orders`', reads: [ORDERS] },
  { label: 'back-quoted project, then dataset.table', sql: 'SELECT order_id FROM `acme-analytics`.sales.orders', reads: [ORDERS] },
  { label: 'unquoted project with dashes', sql: 'SELECT order_id FROM acme-analytics.sales.orders', reads: [ORDERS] },
  { label: 'unquoted table name starting with digits', sql: 'SELECT order_id FROM acme-analytics.sales.2024_orders', reads: [`${PROJECT}.sales.2024_orders`] },
  { label: 'wildcard table, unquoted (BigQuery documents the back-quoted form)', sql: 'SELECT order_id FROM sales.orders* WHERE _TABLE_SUFFIX > "a"', reads: [ORDERS_WILDCARD] },
  { label: 'wildcard table, back-quoted', sql: 'SELECT order_id FROM `sales.orders*` WHERE _TABLE_SUFFIX > "a"', reads: [ORDERS_WILDCARD] },
  { label: 'region INFORMATION_SCHEMA, back-quoted region', sql: 'SELECT job_id FROM `region-us`.INFORMATION_SCHEMA.JOBS', reads: [JOBS] },
  { label: 'region INFORMATION_SCHEMA, unquoted', sql: 'SELECT job_id FROM region-us.INFORMATION_SCHEMA.JOBS', reads: [JOBS] },
  { label: 'correlated UNNEST of an array column', sql: 'SELECT tag FROM crm.customers AS t, UNNEST(t.tags) AS tag', reads: [CUSTOMERS] },
  { label: 'correlated array path without UNNEST', sql: 'SELECT tag FROM crm.customers AS t, t.tags AS tag', reads: [CUSTOMERS] },
  { label: 'struct field path in the select list', sql: 'SELECT t.address.city FROM crm.customers AS t', reads: [CUSTOMERS] },
  { label: 'struct field path through the table name', sql: 'SELECT customers.address.city FROM crm.customers', reads: [CUSTOMERS] },
  { label: 'EXISTS subquery in WHERE', sql: 'SELECT order_id FROM sales.orders AS o WHERE EXISTS (SELECT 1 FROM crm.customers AS c WHERE c.id = o.customer_id)', reads: [ORDERS, CUSTOMERS] },
  { label: 'parenthesised join', sql: 'SELECT o.order_id FROM (sales.orders AS o JOIN crm.customers AS c ON o.customer_id = c.id)', reads: [ORDERS, CUSTOMERS] },
  { label: 'PIVOT', sql: "SELECT * FROM sales.orders PIVOT(SUM(units) FOR product IN ('a', 'b'))", reads: [ORDERS] },
  { label: 'ML.PREDICT over a TABLE argument', sql: 'SELECT * FROM ML.PREDICT(MODEL sales.churn, TABLE crm.customers)', reads: [CUSTOMERS] },
  { label: 'ML.PREDICT over a subquery', sql: 'SELECT * FROM ML.PREDICT(MODEL sales.churn, (SELECT * FROM crm.customers))', reads: [CUSTOMERS] },
  { label: 'INSERT … SELECT: target and source', sql: 'INSERT INTO sales.orders_copy SELECT * FROM sales.orders', reads: [ORDERS_COPY, ORDERS] },
  {
    label: 'MERGE: target and USING source',
    sql: 'MERGE sales.orders AS t USING crm.customers AS s ON t.customer_id = s.id WHEN MATCHED THEN DELETE',
    reads: [ORDERS, CUSTOMERS],
  },
];
const FORMS = [...NAME_FORMS, ...GATEWAY_FORMS, ...MORE_FORMS];
const formNames: NameContext = { project: PROJECT };
const short = (id: string) => (id.startsWith(`${PROJECT}.`) ? id.slice(PROJECT.length + 1) : id);

interface FormReading {
  /** Tables named, or undefined when the text was refused. */
  tables?: string[];
  missed: string[];
  extra: string[];
  /** The normalizer refused the statement (`parsed: false`, which the default policy denies); its token scan named these. */
  scanned?: boolean;
}

function reading(expected: readonly string[], named: string[] | undefined): FormReading {
  return named === undefined ? { missed: [], extra: [] } : { tables: named, ...compare(expected, named) };
}

const forms = FORMS.map((form) => {
  const expected = form.reads === 'invalid' ? form.names! : form.reads;
  const readings: Record<string, FormReading> = {};
  for (const candidate of candidates) {
    let named: string[] | undefined;
    try {
      named = tableIds(candidate.tables(candidate.parse(form.sql), form.sql), formNames);
    } catch {
      named = undefined;
    }
    readings[candidate.name] = reading(expected, named);
  }
  const input = normalize({ identity, sql: form.sql, project: PROJECT });
  // Unparsed statements still name the token scan's tables, and the policy sees them.
  const scanned = !input.sql.parsed;
  readings['normalizer'] = { ...reading(expected, [...new Set(input.sql.statements.flatMap((s) => s.tables.map((t) => t.id)))].sort()), scanned };
  return { label: form.label, sql: form.sql, invalid: form.reads === 'invalid', expected: [...expected].sort(), readings };
});

// ---- report

const formCell = (r: FormReading) => {
  if (r.tables === undefined) return 'refused';
  const mark = r.missed.length > 0 ? '✗ missed' : r.extra.length > 0 ? '± extra' : '✓';
  const detail = [...r.missed.map((t) => `−${short(t)}`), ...r.extra.map((t) => `+${short(t)}`)].join(' ');
  const cell = detail === '' ? mark : `${mark} ${detail}`;
  return r.scanned ? `refused; its scan: ${cell}` : cell;
};
const readers = [...candidates.map((c) => c.name), 'normalizer'];

console.log(
  `parsers on the SQL corpus: ${items.length} statements (${items.filter(realWorld).length} from real-world sources), ${REPEATS} warm passes, ` +
    `Node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg()[0]!.toFixed(2)}\n`,
);
console.log('## Coverage (parses without an error; the normalizer: every statement parsed and analysed)\n');
console.log(`| candidate | all | real-world | real-world queries | ${CATEGORIES.join(' | ')} | crashes | load + init |`);
console.log(`| --- | ---: | ---: | ---: | ${CATEGORIES.map(() => '---:').join(' | ')} | ---: | ---: |`);
for (const c of coverage) {
  const load = loads[c.name] === undefined ? '–' : `${loads[c.name]!.toFixed(0)} ms`;
  console.log(`| ${c.name} | ${cell(c.all)} | ${cell(c.realWorld)} | ${cell(c.realWorldQueries)} | ${CATEGORIES.map((k) => `${c.byCategory[k]!.pct.toFixed(1)} %`).join(' | ')} | ${c.crashes} | ${load} |`);
}
console.log('\n## Latency per statement\n');
console.log(table(latency));
console.log('\n## Tables named on read queries, against the normalizer (its reading where it understands, its token scan where it refuses)\n');
console.log('A tree has no scope, so WITH names and array paths come out as more names. Fewer names against the token scan need');
console.log('a look: the scan is a heuristic and can be the one that is wrong.\n');
console.log('| candidate | reference | compared | same tables | more names | fewer names | e.g. (the tables left out) |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | --- |');
for (const a of agreement) {
  const eg = a.missed.slice(0, 2).map((m) => `${m.id}: ${m.tables.join(', ')}`).join('; ');
  console.log(`| ${a.name} | ${a.reference} | ${a.compared} | ${a.compared - a.extra - a.missed.length} | ${a.extra} | ${a.missed.length} | ${eg} |`);
}
console.log('\n## Name forms: tables each tree names (✗ missed: a table BigQuery reads is not named; ± extra: a name that is no table)\n');
console.log(`| form | BigQuery reads | ${readers.join(' | ')} |`);
console.log(`| --- | --- | ${readers.map(() => '---').join(' | ')} |`);
for (const f of forms) {
  const reads = f.invalid ? `invalid (names ${f.expected.map(short).join(', ') || 'none'})` : f.expected.map(short).join(', ');
  console.log(`| ${f.label} | ${reads} | ${readers.map((r) => formCell(f.readings[r]!)).join(' | ')} |`);
}
console.log('\n| candidate | forms | refused | missed a table | named an extra | refused, and its token scan missed a table |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of readers) {
  const all = forms.map((f) => f.readings[r]!);
  const refused = all.filter((x) => x.tables === undefined || x.scanned).length;
  const parsedOnly = all.filter((x) => !x.scanned);
  const scanMissed = all.filter((x) => x.scanned && x.missed.length > 0).length;
  console.log(`| ${r} | ${all.length} | ${refused} | ${parsedOnly.filter((x) => x.missed.length > 0).length} | ${parsedOnly.filter((x) => x.extra.length > 0).length} | ${scanMissed} |`);
}

if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ items: items.length, coverage, latency, loads, agreement, forms }, null, 2) + '\n');
