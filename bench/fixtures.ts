// Fixture-suite speed: 1,000 generated cases run by `sluice test` (a whole CLI process, bundle
// load included) against the same 1,000 cases as a Rego table test run by `opa test` on a copy
// of rego/ (policy without its own tests). Two shapes: a matrix (100 requests × 10 identities,
// how suites are written) and 1,000 cases with 1,000 distinct SQL texts (no parse reused).
// Run: node bench/fixtures.ts
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { findOpa } from '../engine/build.ts';
import { buildBundle, Engine } from '../engine/index.ts';
import { clearNormalizeCache, normalize } from '../engine/normalize.ts';
import { loadSuites } from '../cli/testing/load.ts';
import { runSuites } from '../cli/testing/run.ts';

const RUNS = Number(process.env.RUNS ?? 3);
const root = resolve(import.meta.dirname, '..');
const run = promisify(execFile);

type Outcome = 'allow' | 'deny' | 'approve' | 'mask';
type Role = 'agent' | 'analyst' | 'pii_reader' | 'data_owner' | 'data_engineer';
interface Who {
  subject: string;
  kind: 'agent' | 'human';
  groups: string[];
}

const roles: Record<Role, Omit<Who, 'subject'>> = {
  agent: { kind: 'agent', groups: ['agents'] },
  analyst: { kind: 'human', groups: ['analysts'] },
  pii_reader: { kind: 'human', groups: ['analysts', 'pii-readers'] },
  data_owner: { kind: 'human', groups: ['data-owners'] },
  data_engineer: { kind: 'human', groups: ['data-engineers'] },
};
const roleNames = Object.keys(roles) as Role[];
const GIB = 2 ** 30;
const NOW = '2027-01-15T08:00:00Z';

/** Request templates with the reference organisation's expected outcome per role. */
const templates: { sql: (i: number) => string; bytes?: number; grant?: boolean; expect: (role: Role) => Outcome }[] = [
  { sql: (i) => `SELECT order_id, amount FROM sales.orders WHERE units > ${i}`, expect: () => 'allow' },
  { sql: (i) => `SELECT day, name FROM public.holidays WHERE EXTRACT(YEAR FROM day) = ${2000 + i}`, expect: () => 'allow' },
  {
    sql: (i) => `SELECT c.customer_id, c.email AS contact FROM crm.customers AS c WHERE c.customer_id > ${i}`,
    expect: (role) => (role === 'pii_reader' ? 'allow' : 'mask'),
  },
  {
    sql: (i) =>
      `WITH o AS (SELECT customer_id, SUM(amount) AS total FROM sales.orders GROUP BY customer_id) ` +
      `SELECT c.name, o.total FROM o JOIN crm.customers AS c USING (customer_id) WHERE o.total > ${i}`,
    expect: (role) => (role === 'pii_reader' ? 'allow' : 'mask'),
  },
  { sql: (i) => `SELECT entry_id, amount FROM finance.ledger WHERE amount > ${i}`, expect: () => 'approve' },
  { sql: (i) => `SELECT entry_id, amount FROM finance.ledger WHERE amount < ${i}`, grant: true, expect: () => 'allow' },
  { sql: (i) => `SELECT product, units FROM sales.orders WHERE order_id = ${i}`, bytes: 20 * GIB, expect: () => 'approve' },
  { sql: (i) => `SELECT * FROM sales.orders WHERE order_id = ${i}`, bytes: 2 * 1024 * GIB, expect: () => 'deny' },
  { sql: (i) => `SELECT * FROM hr.salaries WHERE id = ${i}`, expect: () => 'deny' },
  { sql: (i) => `DROP TABLE sales.orders_${i}`, expect: () => 'deny' },
];

interface Request {
  name: string;
  sql: string;
  bytes: number;
  grant: boolean;
  template: number;
}
interface Cell {
  identity: string;
  who: Who;
  request: Request;
  outcome: Outcome;
}

const FINANCE_GRANT = { scope: { kind: 'dataset', datasets: ['acme-analytics.finance'] }, expires_in: 3600 };
const requestOf = (template: number, i: number): Request => {
  const t = templates[template]!;
  return { name: `r${i}`, sql: t.sql(i), bytes: t.bytes ?? 50 * 2 ** 20, grant: t.grant ?? false, template };
};
const yamlRequest = (r: Request) => ({ sql: r.sql, estimate_bytes: r.bytes, ...(r.grant && { grants: [FINANCE_GRANT] }) });

/** 10 identities (two per role) × 100 requests, written as one matrix. */
function matrixShape(): { suite: object; cells: Cell[] } {
  const identities = Object.fromEntries(
    roleNames.flatMap((role) => [1, 2].map((n) => [`${role}_${n}`, { subject: `${role}-${n}@acme.example`, ...roles[role] }])),
  ) as Record<string, Who>;
  const requests = Array.from({ length: 100 }, (_, i) => requestOf(i % templates.length, i));
  const cells = Object.entries(identities).flatMap(([identity, who]) =>
    requests.map((request) => ({ identity, who, request, outcome: templates[request.template]!.expect(identity.replace(/_\d$/, '') as Role) })),
  );
  const expect = Object.fromEntries(
    Object.keys(identities).map((identity) => [
      identity,
      Object.fromEntries(cells.filter((c) => c.identity === identity && c.outcome !== 'deny').map((c) => [c.request.name, c.outcome])),
    ]),
  );
  const suite = {
    name: 'generated matrix',
    now: NOW,
    defaults: { project: 'acme-analytics' },
    identities,
    requests: Object.fromEntries(requests.map((r) => [r.name, yamlRequest(r)])),
    cases: [{ name: 'grid', identities: Object.keys(identities), requests: requests.map((r) => r.name), expect }],
  };
  return { suite, cells };
}

/** 1,000 single cases, each with its own SQL text. */
function distinctShape(): { suite: object; cells: Cell[] } {
  const identities = Object.fromEntries(roleNames.map((role) => [role, { subject: `${role}@acme.example`, ...roles[role] }])) as Record<string, Who>;
  const cells = Array.from({ length: 1000 }, (_, i) => {
    const identity = roleNames[Math.floor(i / templates.length) % roleNames.length]!;
    const request = requestOf(i % templates.length, i);
    return { identity, who: identities[identity]!, request, outcome: templates[request.template]!.expect(identity) };
  });
  const suite = {
    name: 'generated distinct',
    now: NOW,
    defaults: { project: 'acme-analytics' },
    identities,
    cases: cells.map((c, i) => ({ name: `case ${i}`, identity: c.identity, request: yamlRequest(c.request), expect: c.outcome })),
  };
  return { suite, cells };
}

/** The same cases as one Rego test rule each, over their normalized inputs. */
function regoTable(cells: Cell[]): { data: object; rego: string } {
  const now = new Date(NOW);
  const inputs = cells.map(({ who, request: r }) =>
    normalize({
      identity: { ...who, issuer: 'local', claims: {} },
      sql: r.sql,
      project: 'acme-analytics',
      route: 'jobs.query',
      estimate: { bytes: r.bytes, source: 'caller' },
      grants: r.grant
        ? [
            {
              id: 'g',
              subject: who.subject,
              scope: { kind: 'dataset', datasets: ['acme-analytics.finance'] },
              expires_at: now.getTime() / 1000 + 3600,
            },
          ]
        : [],
      now,
    }),
  );
  const rules = cells.map((c, i) => `test_case_${i} if data.sluice.decision.outcome == "${c.outcome}" with input as data.benchcases.inputs[${i}]`);
  return { data: { inputs }, rego: `package bench_test\n\n${rules.join('\n\n')}\n` };
}

/** CPU seconds used by finished child processes so far (Linux: cutime + cstime of /proc/self/stat). */
function childCpu(): number | undefined {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return undefined;
  }
}

/** Wall and CPU time of one child process run. */
interface Timing {
  wall: number;
  cpu?: number;
}

async function timed(fn: () => Promise<unknown>): Promise<Timing> {
  const cpuBefore = childCpu();
  const started = performance.now();
  await fn();
  const wall = (performance.now() - started) / 1000;
  const cpuAfter = childCpu();
  return { wall, ...(cpuBefore !== undefined && cpuAfter !== undefined && { cpu: cpuAfter - cpuBefore }) };
}

const median = (xs: Timing[]) => [...xs].sort((a, b) => a.wall - b.wall)[Math.floor(xs.length / 2)]!;
const seconds = (r: Timing) => `${r.wall.toFixed(2)} s${r.cpu === undefined ? '' : ` (${r.cpu.toFixed(2)} s CPU)`}`;

const bundle = (await buildBundle()).path;
const opa = await findOpa();

async function scenario(shape: 'matrix' | 'distinct'): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), `sluice-bench-fixtures-${shape}-`));
  const { suite, cells } = shape === 'matrix' ? matrixShape() : distinctShape();
  const suiteFile = join(dir, 'generated_test.yaml');
  await writeFile(suiteFile, stringify(suite));

  // In process, first and with a cold parse cache (the Rego table below normalizes every case).
  clearNormalizeCache();
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  const loaded = await loadSuites([suiteFile]);
  const loadMs = performance.now() - wallStart;
  let t = performance.now();
  const engine = await Engine.load(bundle);
  const engineMs = performance.now() - t;
  const result = runSuites(engine, bundle, loaded.suites, loaded.problems);
  const inProcess = {
    wall: (performance.now() - wallStart) / 1000,
    cpu: (process.cpuUsage(cpuStart).user + process.cpuUsage(cpuStart).system) / 1e6,
  };

  const regoCopy = join(dir, 'rego');
  await cp(join(root, 'rego'), regoCopy, { recursive: true, filter: (src) => !src.endsWith('_test.rego') });
  const table = regoTable(cells);
  await mkdir(join(regoCopy, 'benchcases'), { recursive: true });
  await writeFile(join(regoCopy, 'benchcases', 'data.json'), JSON.stringify(table.data));
  await writeFile(join(regoCopy, 'bench_test.rego'), table.rego);

  const sluiceRuns: Timing[] = [];
  const opaRuns: Timing[] = [];
  let opaSummary = '';
  for (let i = 0; i < RUNS; i++) {
    const args = [join(root, 'cli/sluice.ts'), 'test', suiteFile, '--bundle', bundle, '--quiet'];
    sluiceRuns.push(await timed(() => run(process.execPath, args, { cwd: root, maxBuffer: 64 * 2 ** 20 })));
    opaRuns.push(
      await timed(async () => {
        try {
          opaSummary = (await run(opa, ['test', regoCopy], { maxBuffer: 64 * 2 ** 20 })).stdout.trim().split('\n').at(-1) ?? '';
        } catch (thrown) {
          opaSummary = `failed: ${String((thrown as { stdout?: string }).stdout ?? thrown)
            .trim()
            .split('\n')
            .at(-1)}`;
        }
      }),
    );
  }
  const s = median(sluiceRuns);
  const o = median(opaRuns);
  const distinct = new Set(cells.map((c) => c.request.sql)).size;
  return [
    `${shape}: ${cells.length} cases, ${distinct} distinct SQL texts`,
    `  sluice test, whole process with bundle load   ${seconds(s)}   ${result.passed} passed, ${result.failed} failed`,
    `    in process ${seconds(inProcess)}: load fixtures ${loadMs.toFixed(0)} ms, load bundle ${engineMs.toFixed(0)} ms, run ${result.durationMs.toFixed(0)} ms`,
    `  opa test, same cases as a Rego table test     ${seconds(o)}   ${opaSummary}`,
    `  opa test / sluice test: ${(o.wall / s.wall).toFixed(1)}× wall${s.cpu && o.cpu ? `, ${(o.cpu / s.cpu).toFixed(1)}× CPU` : ''}`,
  ];
}

const lines = [...(await scenario('matrix')), '', ...(await scenario('distinct'))];
console.log(`fixture suites, median of ${RUNS} runs, Node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}\n`);
console.log(lines.join('\n'));
