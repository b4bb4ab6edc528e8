// `sluice catalog diff` against the emulator seeded with the reference organisation: crm.customers
// lists its sensitive columns in the data file but carries no policy tags; workforce.* carries
// tags (set by demo/emulator.ts) that the data maps, but for medical_leave.diagnosis; and some
// columns neither covers look sensitive by name or by what a sample of their rows holds.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startEmulator, type Emulator } from '../../demo/emulator.ts';
import { sluice } from '../support/cli.ts';

let emulator: Emulator;
let dir: string;
const TAG = (id: number) => `projects/acme-analytics/locations/us/taxonomies/4011/policyTags/${id}`;

beforeAll(async () => {
  [emulator, dir] = await Promise.all([startEmulator(), mkdtemp(join(tmpdir(), 'sluice-catalog-'))]);
});

afterAll(async () => {
  await emulator?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const diff = (...args: string[]) => sluice(['catalog', 'diff', '--upstream', emulator.url, ...args]);

describe('sluice catalog diff', () => {
  it('lists tagged-but-unmapped, listed-but-untagged and unruled sensitive-looking columns, exit 3', async () => {
    const run = await diff('--json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(3);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ project: 'acme-analytics', dataset: null, upstream: emulator.url, sample: 20 });
    const findings: { kind: string; table: string; column: string }[] = report.findings;
    const at = (table: string, column: string) => findings.filter((f) => f.table === `acme-analytics.${table}` && f.column === column);

    expect(at('workforce.medical_leave', 'diagnosis')).toEqual([
      { kind: 'tagged_unmapped', table: 'acme-analytics.workforce.medical_leave', column: 'diagnosis', tags: [TAG(5199)] },
    ]);
    const listed = findings.filter((f) => f.kind === 'listed_untagged').map((f) => `${f.table}.${f.column}`);
    expect(listed.sort()).toEqual(['name', 'ssn', 'email', 'phone', 'card_number', 'address.street'].map((c) => `acme-analytics.crm.customers.${c}`).sort());
    expect(at('workforce.employees', 'personal_phone')).toEqual([
      { kind: 'unruled_sensitive', table: 'acme-analytics.workforce.employees', column: 'personal_phone', names: ['phone'], detectors: { phone: 4 }, sampled: 4 },
    ]);
    // Free text holding e-mail addresses and phone numbers, found only by its sampled values.
    expect(at('crm.customers', 'notes')).toEqual([expect.objectContaining({ kind: 'unruled_sensitive', names: [], detectors: expect.objectContaining({ email: expect.any(Number) }) })]);
    // Mapped tags and plain tables make no finding.
    for (const column of ['full_name', 'work_email', 'national_id', 'birth_date', 'salary', 'home.street']) expect(at('workforce.employees', column)).toEqual([]);
    expect(findings.filter((f) => f.table.startsWith('acme-analytics.sales.') || f.table.startsWith('acme-analytics.public.'))).toEqual([]);
    // Sampled values are counted, never shown.
    expect(run.stdout).not.toMatch(/202-555-01\d\d|@example\.(com|org)/);
  });

  it('reads as a report by finding kind', async () => {
    const run = await diff('--dataset', 'workforce');
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('tagged, but the data maps the tag to no rule (masked ALWAYS_NULL for everyone)\n');
    expect(run.stdout).toContain(`  acme-analytics.workforce.medical_leave.diagnosis  ${TAG(5199)}\n`);
    expect(run.stdout).toContain('  acme-analytics.workforce.employees.personal_phone  name (phone); phone in 4 of 4 sampled row(s)\n');
    expect(run.stdout).toMatch(/\n2 finding\(s\)\n$/);
  });

  it('exit 0 when nothing is to report', async () => {
    const run = await diff('--dataset', 'sales');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('nothing to report');
  });

  it('follows the data file it is given: mapped tags, listed columns that are gone, no sampling', async () => {
    const data = join(dir, 'data.yaml');
    await writeFile(
      data,
      stringify({
        policy_tags: Object.fromEntries([5101, 5102, 5103, 5104, 5105, 5106, 5199].map((id) => [TAG(id), { strategy: 'ALWAYS_NULL' }])),
        projects: { 'acme-analytics': { datasets: { workforce: { tables: { employees: { sensitive_columns: { personal_phone: 'last-4', fax: 'redact' } } } } } } },
      }),
    );
    const run = await diff('--dataset', 'workforce', '--data', data, '--json');
    expect(run.code).toBe(3);
    expect(JSON.parse(run.stdout).findings).toEqual([
      { kind: 'listed_untagged', table: 'acme-analytics.workforce.employees', column: 'personal_phone', strategy: 'last-4' },
      { kind: 'listed_missing', table: 'acme-analytics.workforce.employees', column: 'fax', strategy: 'redact' },
    ]);
    const unsampled = JSON.parse((await diff('--dataset', 'crm', '--sample', '0', '--json')).stdout);
    expect(unsampled.findings.filter((f: { kind: string }) => f.kind === 'unruled_sensitive')).toEqual([]);
  });

  it('exit 1 when the upstream refuses or cannot be reached, 2 on bad usage', async () => {
    const missing = await diff('--dataset', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^sluice: .*nope.*\(HTTP 404\)\n$/);
    const unreachable = await sluice(['catalog', 'diff', '--upstream', 'http://127.0.0.1:9', '--dataset', 'sales']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^sluice: BigQuery is unavailable/);
    for (const args of [['--sample', '-1'], ['--upstream', 'not a url'], ['--credentials', 'maybe'], ['--data', join(dir, 'absent.yaml')]]) {
      const run = await diff(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/^sluice: /);
    }
  });

  it('--help names the exit codes', async () => {
    const run = await sluice(['catalog', 'diff', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('3  findings');
    expect(run.stdout).toContain('--credentials <mode>');
  });
});
