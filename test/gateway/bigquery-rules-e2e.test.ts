// BigQuery's masking rules end to end: the official Node and Python clients query types.all_types
// (demo/seed/acme.yaml: one column of each type) through the gateway, under a policy that masks
// every column of it with one rule at a time. Each client must get the rule's values, in the
// column's own type, with a schema that says so; a rule BigQuery does not allow on a column's type
// refuses the answer (403 accessDenied, recorded in the audit trail). The policy is the repository's
// own, built with one more data file naming the dataset's sensitive columns (a test bundle per rule,
// swapped into the running gateway).
//
// What the emulator cannot seed (its YAML loader ignores `mode`): ARRAY (REPEATED) and REQUIRED
// columns. Those are covered by test/masking/bigquery-rules.test.ts only.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, Engine } from '../../engine/index.ts';
import { listRecords } from '../../gateway/audit/index.ts';
import { BIGQUERY_RULES, type BigQueryRule } from '../../gateway/masking/index.ts';
import { pythonInterpreter } from '../support/python-client.ts';
import { refusal } from '../support/refusals.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const root = resolve(import.meta.dirname, '../..');
const TYPED_AGENT = join(root, 'test', 'support', 'python_typed_agent.py');

/** The seeded columns (but `id`) and their types as the emulator reports them. */
const TYPES: Record<string, string> = {
  s: 'STRING',
  b: 'BYTES',
  i: 'INTEGER',
  n: 'NUMERIC',
  bn: 'BIGNUMERIC',
  f: 'FLOAT',
  bo: 'BOOLEAN',
  d: 'DATE',
  dt: 'DATETIME',
  t: 'TIME',
  ts: 'TIMESTAMP',
  j: 'JSON',
  g: 'GEOGRAPHY',
  st: 'RECORD',
};
const COLUMNS = Object.keys(TYPES);

/** Whether BigQuery allows the rule on the column (`st`, a STRUCT of STRING x and INT64 y: on both leaves). */
function allowed(rule: BigQueryRule, column: string): boolean {
  const type = TYPES[column]!;
  switch (rule) {
    case 'ALWAYS_NULL':
    case 'DEFAULT_MASKING_VALUE':
      return true;
    case 'SHA256':
    case 'RANDOM_HASH':
      return type === 'STRING' || type === 'BYTES';
    case 'DATE_YEAR_MASK':
      return type === 'DATE' || type === 'DATETIME' || type === 'TIMESTAMP';
    default:
      return type === 'STRING';
  }
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64');
const BASE64_DIGEST = /^[A-Za-z0-9+/]{43}=$/;

/**
 * What a client reads for rows 1, 2 and 3 (all NULL) under each rule, in a plain form: BYTES as
 * base64, NUMERIC as text, DATE/TIME/DATETIME as BigQuery's text, TIMESTAMP as ISO 8601 (UTC),
 * JSON as its text, GEOGRAPHY as WKT, STRUCT as an object. Absent: checked otherwise (RANDOM_HASH).
 */
const EXPECTED: Partial<Record<BigQueryRule, Record<string, [unknown, unknown]>>> = {
  SHA256: {
    s: [sha256('cloudysanfrancisco@gmail.com'), sha256('1234')],
    b: [sha256('hello world'), sha256('hi')],
    x: [sha256('hello there'), sha256('not an address')],
  },
  ALWAYS_NULL: Object.fromEntries([...COLUMNS, 'x'].map((c) => [c, [null, null]])),
  DEFAULT_MASKING_VALUE: {
    s: ['', ''],
    b: ['', ''],
    i: [0, 0],
    n: ['0', '0'],
    bn: ['0', '0'],
    f: [0, 0],
    bo: [false, false],
    d: ['1970-01-01', '1970-01-01'],
    dt: ['1970-01-01T00:00:00', '1970-01-01T00:00:00'],
    t: ['00:00:00', '00:00:00'],
    ts: ['1970-01-01T00:00:00.000Z', '1970-01-01T00:00:00.000Z'],
    j: [null, null],
    g: ['POINT(0 0)', 'POINT(0 0)'],
    st: [
      { x: '', y: 0 },
      { x: '', y: 0 },
    ],
    x: ['', ''],
  },
  LAST_FOUR_CHARACTERS: {
    s: ['XXXXX.com', sha256('1234')],
    x: ['XXXXXhere', 'XXXXXress'],
  },
  FIRST_FOUR_CHARACTERS: {
    s: ['clouXXXXX', sha256('1234')],
    x: ['hellXXXXX', 'not XXXXX'],
  },
  EMAIL_MASK: {
    s: ['XXXXX@gmail.com', sha256('1234')],
    x: [sha256('hello there'), sha256('not an address')],
  },
  DATE_YEAR_MASK: {
    d: ['2076-01-01', '1999-01-01'],
    dt: ['2076-01-01T00:00:00', '1999-01-01T00:00:00'],
    ts: ['2076-01-01T00:00:00.000Z', '1999-01-01T00:00:00.000Z'],
  },
};

let stack: Stack;
let engine: Engine;
let work: string;
const bundles = new Map<BigQueryRule, string>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sluice-rules-'));
  // The repository's policy, plus data naming every column of types.all_types sensitive under one rule.
  const base = join(work, 'rego');
  await cp(join(root, 'rego'), base, { recursive: true });
  await Promise.all(
    BIGQUERY_RULES.map(async (rule) => {
      const regoDir = join(work, rule, 'rego');
      await cp(base, regoDir, { recursive: true });
      const dir = join(regoDir, 'org', 'projects', PROJECT, 'datasets', 'types');
      await mkdir(dir, { recursive: true });
      const columns = COLUMNS.map((c) => `      ${c}: ${rule}`).join('\n');
      await writeFile(join(dir, 'data.yaml'), `readers: ["*"]\nwriters: []\ntables:\n  all_types:\n    sensitive_columns:\n${columns}\n`);
      bundles.set(rule, (await buildBundle({ regoDir, out: join(work, `${rule}.tar.gz`) })).path);
    }),
  );
  engine = await Engine.load(bundles.get('ALWAYS_NULL')!);
  stack = await startStack({ gateway: { engine } });
}, 180_000);

afterAll(async () => {
  await stack?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

async function usePolicy(rule: BigQueryRule): Promise<void> {
  await engine.reload(bundles.get(rule)!);
}

/** A client value in the plain form of EXPECTED. */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value !== 'object') return value;
  const name = (value as object).constructor?.name;
  if (name === 'Big') return String(value);
  if ('value' in (value as object) && name !== 'Object') return (value as { value: unknown }).value;
  if (Array.isArray(value)) return value.map(plain);
  return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, plain(v)]));
}

/** The columns of `rule` a query may select, `st.x` as `x`, and the select list. */
function selection(rule: BigQueryRule): { names: string[]; sql: string } {
  const names = COLUMNS.filter((c) => allowed(rule, c));
  if (allowed(rule, 's')) names.push('x');
  const list = names.map((c) => (c === 'x' ? 'st.x AS x' : c)).join(', ');
  return { names, sql: `SELECT id, ${list} FROM types.all_types ORDER BY id` };
}

describe.each(BIGQUERY_RULES)('%s through the gateway', (rule) => {
  const { names, sql } = selection(rule);
  let agent: BigQuery;

  beforeAll(async () => {
    await usePolicy(rule);
    agent = stack.client('reporting-agent');
  });

  it('the Node client gets the rule\'s values, in each column\'s type (jobs.query and jobs.insert)', async () => {
    const [fast] = await agent.query(sql);
    const [job] = await agent.createQueryJob({ query: sql });
    const [paged] = await job.getQueryResults();
    for (const rows of [fast, paged]) {
      expect(rows.map((r: Record<string, unknown>) => r.id)).toEqual([1, 2, 3]);
      for (const name of names) {
        const got = rows.map((r: Record<string, unknown>) => plain(r[name]));
        expect(got[2], `${rule} ${name} NULL`).toBeNull();
        const want = EXPECTED[rule]?.[name];
        if (want) expect(got.slice(0, 2), `${rule} ${name}`).toEqual(want);
        else expect(got.slice(0, 2).every((v) => typeof v === 'string' && BASE64_DIGEST.test(v)), `${rule} ${name}: ${got}`).toBe(true);
      }
    }
    // The schema sent with the rows keeps BigQuery's types (and the RECORD its fields).
    const body = JSON.stringify({ query: sql, useLegacySql: false });
    const res = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, { method: 'POST', agent: 'reporting-agent', body });
    const upstream = await fetch(`${stack.emulator.url}/bigquery/v2/projects/${PROJECT}/queries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(200);
    expect(res.body.schema).toEqual(((await upstream.json()) as { schema: unknown }).schema);
  });

  it('the Python client gets the same values, parsed into each column\'s Python type', async () => {
    const [insert, fast] = await python(await stack.token('reporting-agent'), [
      { sql, method: 'query', page_size: 1 },
      { sql, method: 'query_and_wait' },
    ]);
    for (const result of [insert!, fast!]) {
      expect(result.error, JSON.stringify(result.error)).toBeUndefined();
      expect(result.schema!.map((f) => f.type)).toEqual(['INTEGER', ...names.map((n) => (n === 'x' ? 'STRING' : TYPES[n]))]);
      const rows = result.rows!;
      expect(rows.map((r) => r.id!.value)).toEqual([1, 2, 3]);
      for (const name of names) {
        const cells = rows.map((r) => r[name]!);
        expect(cells[2]!.value, `${rule} ${name} NULL`).toBeNull();
        for (const cell of cells.slice(0, 2)) {
          if (cell.value !== null) expect(cell.type, `${rule} ${name}`).toBe(PYTHON_TYPES[name === 'x' ? 'STRING' : TYPES[name]!]);
        }
        const want = EXPECTED[rule]?.[name];
        const got = cells.slice(0, 2).map((c) => pythonPlain(name, c.value));
        if (want) expect(got, `${rule} ${name}`).toEqual(want);
        else expect(got.every((v) => typeof v === 'string' && BASE64_DIGEST.test(v)), `${rule} ${name}`).toBe(true);
      }
    }
  });

  it('refuses a column of a type BigQuery does not allow the rule on, as BigQuery refuses access, and records it', async () => {
    const refused = COLUMNS.filter((c) => !allowed(rule, c));
    if (refused.length === 0) return;
    for (const column of refused) {
      const err = await refusal(agent.query(`SELECT ${column} FROM types.all_types`));
      expect(err.code, column).toBe(403);
      expect(err.errors[0]!.reason).toBe('accessDenied');
      // A STRUCT is refused at its first leaf the rule does not fit.
      const [leaf, type] = column !== 'st' ? [column, TYPES[column]] : allowed(rule, 's') ? ['st.y', 'INTEGER'] : ['st.x', 'STRING'];
      expect(err.message).toContain(`the mask ${rule} cannot apply to column ${leaf}, of type ${type}`);
    }
    // The same refusal from the Python client, and in the audit trail as the answer the agent got.
    const [py] = await python(await stack.token('reporting-agent'), [{ sql: `SELECT ${refused[0]} FROM types.all_types`, method: 'query_and_wait' }]);
    expect(py!.error).toMatchObject({ code: 403, reason: 'accessDenied' });
    const res = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, {
      method: 'POST',
      agent: 'reporting-agent',
      headers: { 'x-request-id': `rules-${rule}` },
      body: JSON.stringify({ query: `SELECT ${refused[0]} FROM types.all_types`, useLegacySql: false }),
    });
    expect(res.status).toBe(403);
    expect(res.body.error.details[0]).toMatchObject({ reason: 'MASKS_NOT_APPLICABLE', metadata: { masking_error: 'unsupported_type' } });
    const records = await listRecords(stack.gateway.database.db, { requestId: `rules-${rule}`, order: 'oldest' });
    const request = records.map((r) => r.record).find((r) => r.kind === 'request');
    expect(request?.kind === 'request' && request.data).toMatchObject({ status: 403, error: { reason: 'accessDenied' } });
    expect(JSON.stringify(request)).toContain(`cannot apply to column`);
  });
});

describe.each(['DEFAULT_MASKING_VALUE', 'ALWAYS_NULL'] as const)('%s on tabledata.list', (rule) => {
  beforeAll(() => usePolicy(rule));

  it('the Node client reads the table (tables.get, then tabledata.list) masked, in its types', async () => {
    const table = stack.client('reporting-agent').dataset('types').table('all_types');
    const [rows] = await table.getRows();
    const byId = [...rows].sort((a, b) => (a.id as number) - (b.id as number));
    expect(byId.map((r) => r.id)).toEqual([1, 2, 3]);
    for (const column of COLUMNS) {
      const got = byId.map((r) => plain(r[column]));
      expect(got, `${rule} ${column}`).toEqual([...EXPECTED[rule]![column]!, null]);
    }
    const [metadata] = await table.getMetadata();
    const [upstream] = await stack.direct().dataset('types').table('all_types').getMetadata();
    const types = (fields: { name: string; type: string; fields?: unknown[] }[]): unknown => fields.map((f) => [f.name, f.type, f.fields ? types(f.fields as never) : null]);
    expect(types(metadata.schema.fields)).toEqual(types(upstream.schema.fields));
  });
});

describe('RANDOM_HASH', () => {
  beforeAll(() => usePolicy('RANDOM_HASH'));

  it('agrees on every page of one job, and differs in the next job', async () => {
    const agent = stack.client('reporting-agent');
    // Each value twice, on separate one-row pages.
    const sql = 'SELECT id, s FROM types.all_types WHERE id < 3 UNION ALL SELECT id, s FROM types.all_types WHERE id < 3 ORDER BY id';
    const run = async () => {
      const [job] = await agent.createQueryJob({ query: sql });
      const pages: string[] = [];
      let query: Record<string, unknown> | null = { maxResults: 1, autoPaginate: false };
      while (query) {
        const [rows, next] = (await job.getQueryResults(query)) as unknown as [{ s: string }[], Record<string, unknown> | null];
        pages.push(...rows.map((r) => r.s));
        query = next ? { ...next, maxResults: 1, autoPaginate: false } : null;
      }
      return { job: job.id!, pages };
    };
    const first = await run();
    expect(first.pages).toHaveLength(4);
    expect(first.pages[0]).toBe(first.pages[1]);
    expect(first.pages[2]).toBe(first.pages[3]);
    expect(first.pages[0]).not.toBe(first.pages[2]);
    expect(first.pages[0]).toMatch(BASE64_DIGEST);
    expect(first.pages[0]).not.toBe(sha256('cloudysanfrancisco@gmail.com'));
    const second = await run();
    expect(second.job).not.toBe(first.job);
    expect(second.pages[0]).not.toBe(first.pages[0]);
    // jobs.query's first page and getQueryResults' next ones agree too.
    const [fast] = await agent.query({ query: sql, maxResults: 1 });
    const viaQuery = fast.map((r: { s: string }) => r.s);
    expect(viaQuery).toHaveLength(4);
    expect(viaQuery[0]).toBe(viaQuery[1]);
    expect(viaQuery[2]).toBe(viaQuery[3]);
    expect(viaQuery[0]).not.toBe(first.pages[0]);
    // The Python client's pages of one job agree as well.
    const [py] = await python(await stack.token('reporting-agent'), [{ sql, method: 'query', page_size: 1 }]);
    const values = py!.rows!.map((r) => r.s!.value);
    expect(values[0]).toBe(values[1]);
    expect(values[0]).not.toBe(first.pages[0]);
  });

});

const PYTHON_TYPES: Record<string, string> = {
  STRING: 'str',
  BYTES: 'bytes',
  INTEGER: 'int',
  NUMERIC: 'Decimal',
  BIGNUMERIC: 'Decimal',
  FLOAT: 'float',
  BOOLEAN: 'bool',
  DATE: 'date',
  DATETIME: 'datetime',
  TIME: 'time',
  TIMESTAMP: 'datetime',
  JSON: 'dict',
  GEOGRAPHY: 'str',
  RECORD: 'dict',
};

/** A Python-rendered value in the plain form of EXPECTED (TIMESTAMP: isoformat() with +00:00). */
function pythonPlain(name: string, value: unknown): unknown {
  return value !== null && TYPES[name] === 'TIMESTAMP' ? new Date(value as string).toISOString() : value;
}

interface TypedCell {
  type: string;
  value: unknown;
}
interface TypedResult {
  schema?: { name: string; type: string; mode: string }[];
  rows?: Record<string, TypedCell>[];
  error?: { type: string; code: number | null; reason: string | null; message: string };
}

async function python(token: string, queries: { sql: string; method: 'query' | 'query_and_wait'; page_size?: number }[]): Promise<TypedResult[]> {
  const child = spawn(pythonInterpreter(), [TYPED_AGENT], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  child.stdin.end(JSON.stringify({ endpoint: stack.gatewayUrl, project: PROJECT, token, queries }));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (code !== 0) throw new Error(`the Python agent exited with ${code}: ${stderr.slice(-2000)}`);
  return (JSON.parse(stdout) as { results: TypedResult[] }).results;
}
