// `sluice access-review` on the reference organisation, through the real CLI and the compiled
// policy: who reads crm.customers raw, masked or not at all, for the fixture identities and the
// group combinations the policy data names, each answer checked against a separate `sluice eval`
// process deciding the same query for the same identity.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { buildBundle } from '../../engine/index.ts';
import { AuditLog } from '../../gateway/audit/index.ts';
import { openDatabase } from '../../gateway/store/database.ts';
import { sluice } from '../support/cli.ts';

const SCHEMAS = 'fixtures/schemas/acme.yaml';
const IDENTITIES = 'fixtures/acme/access_test.yaml';
const CUSTOMERS = 'acme-analytics.crm.customers';
const ISSUER = 'https://idp.acme.example';

interface Row {
  table: string;
  source: 'principal' | 'groups';
  name: string;
  issuer: string;
  subject: string;
  kind: 'agent' | 'human';
  groups: string[];
  access: 'raw' | 'masked' | 'approval' | 'none';
  masked: { column: string; strategy: string }[];
  approverGroups: string[];
  reasons: string[];
  revision: string;
  sql: string;
}

let bundle: string;
let storage: string;

beforeAll(async () => {
  bundle = (await buildBundle()).path;
  // A gateway store whose trail has seen two principals (written by the real audit log).
  storage = `sqlite:${join(await mkdtemp(join(tmpdir(), 'sluice-review-')), 'sluice.sqlite')}`;
  const database = await openDatabase(storage);
  const audit = await AuditLog.open(database, { stream: 'review-test' });
  for (const [subject, groups, kind] of [
    ['kyc-bot', ['agents', 'pii-readers'], 'agent'],
    ['payroll-clerk', ['payroll'], 'human'],
  ] as const) {
    await audit.record({ kind: 'request', request_id: `r-${subject}`, identity: { subject, issuer: ISSUER, kind, groups }, route: 'jobs.query', status: 200 });
  }
  await audit.close();
  // A store whose schema predates principal status: nobody is disabled.
  await sql`DROP TABLE principal_status`.execute(database.db);
  await database.close();
});

async function review(args: string[]): Promise<Row[]> {
  const run = await sluice(['access-review', ...args, '--schemas', SCHEMAS, '--bundle', bundle, '--format', 'json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Row[];
}

const names = (rows: Row[], access: Row['access']) => rows.filter((r) => r.access === access).map((r) => r.name);
const groupRow = (rows: Row[], ...groups: string[]) => rows.find((r) => r.source === 'groups' && r.groups.join('+') === [...groups].sort().join('+'))!;

/** The same query decided by `sluice eval` in its own process. */
async function evaluate(row: Row): Promise<{ decision: { outcome: string; masks: { output: string; path?: string[]; strategy: string }[] }; revision: string }> {
  const identity = JSON.stringify({ subject: row.subject, issuer: row.issuer, kind: row.kind, groups: row.groups });
  const run = await sluice(['eval', '--sql', row.sql, '--identity', identity, '--schemas', SCHEMAS, '--project', row.table.split('.')[0]!, '--bundle', bundle, '--json']);
  expect([0, 3, 4], run.stderr).toContain(run.code);
  return JSON.parse(run.stdout);
}

describe('sluice access-review --table', () => {
  it('reads crm.customers raw for pii-readers, masked for agents and analysts, and agrees with sluice eval case by case', async () => {
    const rows = await review(['--table', CUSTOMERS, '--identities', IDENTITIES]);
    const people = rows.filter((r) => r.source === 'principal');
    expect(people.map((r) => r.subject).sort()).toEqual(
      ['ana@acme.example', 'eng@acme.example', 'etl-bot@agents.acme.example', 'guest@partner.example', 'owen@acme.example', 'pia@acme.example', 'report-bot@agents.acme.example', 'sec@acme.example'],
    );
    expect(names(people, 'raw')).toEqual(['pia@acme.example (local)']);
    expect(names(people, 'masked')).toEqual(expect.arrayContaining(['report-bot@agents.acme.example (local)', 'ana@acme.example (local)']));
    expect(names(people, 'approval')).toEqual([]);
    expect(names(people, 'none')).toEqual([]);
    // Group combinations: pii-readers reads raw, with or without other groups; agents alone masked.
    expect(groupRow(rows, 'pii-readers').access).toBe('raw');
    expect(groupRow(rows, 'agents', 'pii-readers').access).toBe('raw');
    expect(groupRow(rows, 'agents').access).toBe('masked');
    expect(groupRow(rows).access).toBe('masked'); // no group: crm's readers are "*"
    expect(groupRow(rows, 'agents').masked).toEqual(
      expect.arrayContaining([
        { column: 'ssn', strategy: 'last-4', source: `${CUSTOMERS}.ssn` },
        { column: 'address.street', strategy: 'redact', source: `${CUSTOMERS}.address.street` },
      ]),
    );
    // Every column is read, from the table schemas.
    expect(rows[0]!.sql).toBe('SELECT `customer_id`, `name`, `ssn`, `email`, `phone`, `card_number`, `address`, `created_at` FROM `acme-analytics.crm.customers`');
    // The groups the policy data names, all combined (none of them is analysts: that is a fixture group).
    const combos = rows.filter((r) => r.source === 'groups');
    const named = [...new Set(combos.flatMap((r) => r.groups))].sort();
    expect(named).toEqual(['agents', 'data-engineers', 'data-owners', 'payroll', 'pii-readers', 'security-team']);
    expect(combos).toHaveLength(2 ** named.length);

    // Each fixture identity and each single group, decided again by sluice eval.
    const checked = [...people, ...combos.filter((r) => r.groups.length <= 1)];
    for (let i = 0; i < checked.length; i += 2) {
      await Promise.all(
        checked.slice(i, i + 2).map(async (row) => {
          const { decision, revision } = await evaluate(row);
          expect(revision).toBe(row.revision);
          expect({ allow: 'raw', mask: 'masked', approve: 'approval', deny: 'none' }[decision.outcome], row.name).toBe(row.access);
          expect(decision.masks.map((m) => ({ column: [m.output, ...(m.path ?? [])].join('.'), strategy: m.strategy })).sort(byColumn)).toEqual(
            row.masked.map(({ column, strategy }) => ({ column, strategy })).sort(byColumn),
          );
        }),
      );
    }
  }, 120_000);

  it('adds the principals of the inventory when given the gateway store', async () => {
    const rows = await review(['--table', CUSTOMERS, '--storage', storage]);
    const principals = rows.filter((r) => r.source === 'principal');
    expect(principals.map((r) => [r.subject, r.issuer, r.access])).toEqual([
      ['kyc-bot', ISSUER, 'raw'],
      ['payroll-clerk', ISSUER, 'masked'],
    ]);
  });

  it('prints a table by default and CSV that parses to the same rows', async () => {
    const table = await sluice(['access-review', '--table', CUSTOMERS, '--identities', IDENTITIES, '--schemas', SCHEMAS, '--bundle', bundle]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^acme-analytics\.crm\.customers {2}\(policy revision \S+;/);
    expect(lines.find((l) => l.trimStart().startsWith('raw'))).toMatch(/pia@acme\.example \(local\); pii-readers$/);
    expect(lines.find((l) => l.trimStart().startsWith('masked'))).toContain('ssn (last-4)');
    // Group combinations containing pii-readers add nothing to the table: pii-readers alone says it.
    expect(table.stdout).not.toContain('agents+pii-readers');

    const json = await review(['--table', CUSTOMERS, '--identities', IDENTITIES]);
    const csv = await sluice(['access-review', '--table', CUSTOMERS, '--identities', IDENTITIES, '--schemas', SCHEMAS, '--bundle', bundle, '--format', 'csv']);
    expect(csv.code).toBe(0);
    const [header, ...records] = parseCsv(csv.stdout);
    expect(header).toEqual(['table', 'source', 'name', 'issuer', 'subject', 'kind', 'groups', 'access', 'masked_columns', 'approver_groups', 'reasons', 'revision', 'sql']);
    expect(records).toHaveLength(json.length);
    records.forEach((r, i) => {
      expect(r[2]).toBe(json[i]!.name);
      expect(r[7]).toBe(json[i]!.access);
      expect(r[12]).toBe(json[i]!.sql); // the SQL holds commas and backquotes: quoted
    });
  });
});

describe('sluice access-review --dataset and --principal', () => {
  it('reviews every table of a dataset: security is read by security-team and nobody else', async () => {
    const rows = await review(['--dataset', 'acme-analytics.security', '--identities', IDENTITIES]);
    expect([...new Set(rows.map((r) => r.table))]).toEqual(['acme-analytics.security.incidents']);
    expect(names(rows.filter((r) => r.source === 'principal'), 'raw')).toEqual(['sec@acme.example (local)']);
    expect(rows.filter((r) => r.access !== 'none').every((r) => r.groups.includes('security-team'))).toBe(true);
    expect(groupRow(rows, 'agents')).toMatchObject({ access: 'none', reasons: ['dataset_access_denied'] });

    const finance = await review(['--dataset', 'acme-analytics.finance']);
    expect(groupRow(finance)).toMatchObject({ access: 'approval', approverGroups: ['data-owners'] });
  });

  it('reviews every table for one principal of the inventory', async () => {
    const shown = await sluice(['principals', 'show', ISSUER, 'kyc-bot', '--storage', storage, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ subject: 'kyc-bot', groups: ['agents', 'pii-readers'], requests: { other: 1, total: 1 }, status: { disabled: false } });
    const rows = await review(['--principal', ISSUER, 'kyc-bot', '--storage', storage]);
    expect(rows.every((r) => r.subject === 'kyc-bot' && r.source === 'principal')).toBe(true);
    const access = Object.fromEntries(rows.map((r) => [r.table, r.access]));
    expect(access).toMatchObject({
      'acme-analytics.crm.customers': 'raw',
      'acme-analytics.sales.orders': 'raw',
      'acme-analytics.finance.ledger': 'approval',
      'acme-analytics.security.incidents': 'none',
    });
  });

  it('exits 2 on bad usage, 1 for a principal the inventory lacks, 0 for --help', async () => {
    const help = await sluice(['access-review', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--format <format>');
    for (const args of [
      [],
      ['--table', CUSTOMERS, '--dataset', 'acme-analytics.crm'],
      ['--table', 'crm.customers'],
      ['--principal', ISSUER],
      ['--principal', ISSUER, 'kyc-bot'],
      ['--dataset', 'acme-analytics.nowhere'],
      ['--table', CUSTOMERS, '--format', 'xml'],
      ['--table', CUSTOMERS, '--identities', '[{"groups":["agents"]}]'],
    ]) {
      const run = await sluice(['access-review', ...args, '--bundle', bundle], { SLUICE_STORAGE: '' });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).not.toBe('');
    }
    const unknown = await sluice(['access-review', '--principal', ISSUER, 'nobody', '--storage', storage, '--bundle', bundle]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('nobody');
  });
});

function byColumn(a: { column: string }, b: { column: string }): number {
  return a.column < b.column ? -1 : a.column > b.column ? 1 : 0;
}

/** RFC 4180: quoted fields may hold commas, quotes (doubled) and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field), rows.push(row), (row = []), (field = ''), i++;
    } else field += c;
  }
  return rows;
}
