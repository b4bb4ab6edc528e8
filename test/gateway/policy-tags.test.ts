// End to end, policy tags: workforce.employees and workforce.medical_leave list no sensitive
// columns in rego/org/data.yaml; their columns carry BigQuery policy tags, which the emulator
// reports from tables.get (demo/emulator.ts sets them with tables.patch, as its YAML seed cannot
// carry them). The gateway fetches the tables' schemas, the normalizer hands the tags to the
// policy, and the data file's `policy_tags` map them to strategies. The official Node client
// reads through the gateway; what it gets is compared with the emulator's raw rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BigQuery } from '@google-cloud/bigquery';
import { faultyUpstream, type FaultyUpstream } from '../support/faulty-upstream.double.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { refusal } from '../support/refusals.ts';

let stack: Stack;
/** Passes every call through; used here only to count tables.get calls. */
let upstream: FaultyUpstream;
let agent: BigQuery; // reporting-agent: group `agents`
let piiAgent: BigQuery; // pii-agent: also `pii-readers`
let direct: BigQuery;
/** Raw rows of workforce.employees and workforce.medical_leave, by id. */
let employees: Map<string, Record<string, any>>;
let leave: Map<string, Record<string, any>>;
/** Every tagged text value as seeded: none may reach a masked caller. */
let secrets: string[];

beforeAll(async () => {
  stack = await startStack({ upstream: async (url) => (upstream = await faultyUpstream(url)).url });
  agent = stack.client('reporting-agent');
  piiAgent = stack.client('pii-agent');
  direct = stack.direct();
  const [e] = await direct.query('SELECT employee_id, full_name, work_email, national_id, CAST(birth_date AS STRING) AS birth_date, salary, home.street AS street FROM workforce.employees');
  const [l] = await direct.query('SELECT leave_id, employee_id, days, diagnosis FROM workforce.medical_leave');
  employees = new Map(e.map((r: Record<string, any>) => [r.employee_id, r]));
  leave = new Map(l.map((r: Record<string, any>) => [r.leave_id, r]));
  secrets = [...e.flatMap((r: Record<string, any>) => [r.full_name, r.work_email, r.national_id, r.street]), ...l.map((r: Record<string, any>) => r.diagnosis)];
  expect(secrets).toHaveLength(4 * 4 + 3);
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

async function rows(client: BigQuery, query: string): Promise<Record<string, any>[]> {
  const [result] = await client.query({ query });
  return result;
}

function expectNoSecrets(value: unknown): void {
  const text = JSON.stringify(value);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

const employee = (id: string) => employees.get(id)!;

describe('the emulator reports the tags', () => {
  it('tables.get carries policyTags on the tagged columns only', async () => {
    const [metadata] = await direct.dataset('workforce').table('employees').getMetadata();
    const tagged = (metadata.schema.fields as { name: string; policyTags?: { names: string[] }; fields?: any[] }[])
      .flatMap((f) => [f, ...(f.fields ?? []).map((g) => ({ ...g, name: `${f.name}.${g.name}` }))])
      .filter((f) => f.policyTags)
      .map((f) => f.name);
    expect(tagged).toEqual(['full_name', 'work_email', 'national_id', 'birth_date', 'salary', 'home.street']);
  });
});

describe('tagged columns are masked through the query', () => {
  it('aliases: EMAIL_MASK and SHA256 by tag, no listing in the data file', async () => {
    const through = await rows(agent, 'SELECT employee_id, work_email AS contact, e.full_name AS who FROM workforce.employees AS e ORDER BY employee_id');
    expect(through).toHaveLength(4);
    expectNoSecrets(through);
    for (const row of through) {
      const raw = employee(row.employee_id);
      expect(row.contact).toMatch(/^X+@example\.(com|org)$/);
      expect(row.contact.split('@')[1]).toBe(raw.work_email.split('@')[1]);
      expect(typeof row.who).toBe('string');
      expect(row.who).not.toBe(raw.full_name);
    }
    // SHA256 is a digest: one name, one value.
    const again = await rows(agent, 'SELECT full_name AS who FROM workforce.employees ORDER BY employee_id');
    expect(again.map((r) => r.who)).toEqual(through.map((r) => r.who));
  });

  it('CTEs: LAST_FOUR_CHARACTERS keeps only the last four', async () => {
    const sql = `WITH ids AS (SELECT employee_id, national_id AS nid FROM workforce.employees),
                 again AS (SELECT employee_id, nid AS tax_id FROM ids)
                 SELECT employee_id, tax_id FROM again ORDER BY employee_id`;
    const through = await rows(agent, sql);
    expectNoSecrets(through);
    for (const row of through) {
      const raw: string = employee(row.employee_id).national_id;
      expect(row.tax_id.endsWith(raw.slice(-4))).toBe(true);
      expect(row.tax_id).not.toContain(raw.slice(0, 6));
    }
  });

  it('joins: each side by its tags; the tag that maps to no rule is ALWAYS_NULL', async () => {
    const sql = `SELECT l.leave_id, e.work_email, l.diagnosis, l.days, e.department
                 FROM workforce.employees AS e JOIN workforce.medical_leave AS l ON l.employee_id = e.employee_id
                 ORDER BY l.leave_id`;
    const through = await rows(agent, sql);
    expect(through).toHaveLength(3);
    expectNoSecrets(through);
    for (const row of through) {
      expect(row.diagnosis).toBeNull();
      expect(row.days).toBe(leave.get(row.leave_id)!.days);
      expect(row.work_email).toMatch(/^X+@example\.(com|org)$/);
      expect(row.department).toMatch(/^[a-z]+$/);
    }
  });

  it('TO_JSON_STRING of a tagged row, or a tagged value transformed: refused, naming the tagged columns', async () => {
    const employeesJson = await refusal(agent.query('SELECT TO_JSON_STRING(e) AS j FROM workforce.employees AS e'));
    expect(employeesJson.code).toBe(403);
    expect(employeesJson.message).toContain('output j is computed from acme-analytics.workforce.employees.work_email');
    const leaveJson = await refusal(agent.query('SELECT TO_JSON_STRING(l) AS j, UPPER(diagnosis) AS d FROM workforce.medical_leave AS l'));
    expect(leaveJson.message).toContain('output d is computed from acme-analytics.workforce.medical_leave.diagnosis');
    expect(leaveJson.message).toMatch(/\[sensitive_computation(, sensitive_computation)*\]$/);
  });

  it('SELECT *: every tagged column by its rule, a tagged field of a RECORD at its path, the rest untouched', async () => {
    const through = await rows(agent, 'SELECT * FROM workforce.employees ORDER BY employee_id');
    const raw = await rows(direct, 'SELECT * FROM workforce.employees ORDER BY employee_id');
    expectNoSecrets(through);
    through.forEach((row, i) => {
      const plain = raw[i]!;
      expect(row.employee_id).toBe(plain.employee_id);
      expect(row.department).toBe(plain.department);
      expect(row.hired_on).toEqual(plain.hired_on);
      expect(row.home.city).toBe(plain.home.city);
      expect(row.home.street).toBe(''); // DEFAULT_MASKING_VALUE of a STRING
      expect(Number(row.salary)).toBe(0); // DEFAULT_MASKING_VALUE of a NUMERIC
      expect(row.birth_date.value).toBe(`${plain.birth_date.value.slice(0, 4)}-01-01`); // DATE_YEAR_MASK
    });
  });

  it('tabledata.list (getRows) is judged as SELECT * and masked the same way', async () => {
    const [tableRows] = await agent.dataset('workforce').table('medical_leave').getRows();
    expect(tableRows).toHaveLength(3);
    expectNoSecrets(tableRows);
    for (const row of tableRows) expect(row.diagnosis).toBeNull();
  });

  it("a tag's raw readers see it raw; other tags and unmapped ones stay masked", async () => {
    const sql = `SELECT e.employee_id, e.full_name, e.work_email, e.salary, l.diagnosis
                 FROM workforce.employees AS e LEFT JOIN workforce.medical_leave AS l ON l.employee_id = e.employee_id
                 ORDER BY e.employee_id`;
    const through = await rows(piiAgent, sql);
    expect(through).toHaveLength(4);
    for (const row of through) {
      const raw = employee(row.employee_id);
      expect(row.full_name).toBe(raw.full_name);
      expect(row.work_email).toBe(raw.work_email);
      expect(Number(row.salary)).toBe(0); // raw only for payroll
      expect(row.diagnosis).toBeNull();
    }
  });

  it('a tagged column that chooses the rows is refused', async () => {
    await expect(rows(agent, "SELECT employee_id FROM workforce.employees WHERE national_id = '123-45-6781'")).rejects.toThrow(/sensitive_predicate/);
  });
});

describe('the tags survive the schema cache and the dry run', () => {
  it('a query decided on cached schemas is masked as the first one was', async () => {
    const sql = 'SELECT leave_id, diagnosis FROM workforce.medical_leave ORDER BY leave_id';
    const first = await rows(agent, sql);
    const fetched = upstream.calls['tables.get'];
    const second = await rows(agent, sql);
    const third = await rows(piiAgent, `${sql} LIMIT 10`);
    // No tables.get for the later queries: their schemas, tags included, came from the cache.
    expect(upstream.calls['tables.get']).toBe(fetched);
    for (const result of [first, second, third]) {
      expect(result).toHaveLength(3);
      for (const row of result) expect(row.diagnosis).toBeNull();
    }
  });

  it('a dry run is decided with the tags: masked as the query would be, refused where it would be', async () => {
    const query = 'SELECT leave_id, diagnosis, days FROM workforce.medical_leave';
    const [job] = await agent.createQueryJob({ query, dryRun: true });
    expect(job.metadata.configuration.dryRun).toBe(true);
    const logged = stack.logs
      .map((line) => JSON.parse(line) as { decision?: { route: string; outcome: string; masks: number } })
      .filter((l) => l.decision?.route === 'jobs.insert')
      .at(-1);
    expect(logged?.decision).toMatchObject({ outcome: 'mask', masks: 1 });
    await expect(agent.createQueryJob({ query: `${query} WHERE diagnosis LIKE 'knee%'`, dryRun: true })).rejects.toThrow(/sensitive_predicate/);
  });
});
