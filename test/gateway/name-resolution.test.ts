// Name classes beyond name-forms.test.ts: the request's default dataset, INFORMATION_SCHEMA views,
// wildcard tables, and paths into a row next to tables spelled alike (test/support/resolution-forms.ts).
// For each form, what BigQuery reads (from the emulator, which embeds ZetaSQL's analyzer, where it
// answers as BigQuery does; from BigQuery's documentation where it cannot) next to what the
// normalizer names. A normalizer naming another table than BigQuery reads is a policy bypass:
// such a form goes in KNOWN_DIVERGENCES (run with it.fails) until the engine is fixed. Then a few
// forms through the gateway with the official Node client, the default dataset among them, and
// which column a name reads in each clause when a select-list alias shares it with the FROM clause.
// About 107 emulator jobs in all (it breaks after some 480 in one process; the last test checks).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BigQuery } from '@google-cloud/bigquery';
import { coversTable } from '../../engine/sql/tables.ts';
import type { PolicyInput } from '../../engine/schema-types.ts';
import {
  CASE_FORMS,
  CRM_ORDERS,
  CUSTOMERS,
  DEFAULT_DATASET_FORMS,
  INFORMATION_SCHEMA_FORMS,
  INFORMATION_SCHEMA_SYNONYMS,
  ORDERS,
  PATH_RESOLUTION_FORMS,
  RESOLUTION_MARKERS,
  RESOLUTION_TABLES_DDL,
  SCOPE_FORMS,
  VIEW_SPELLINGS,
  WILDCARD_FORMS,
  type ResolutionForm,
} from '../support/resolution-forms.ts';
import { run } from '../normalize/support.ts';
import { tablesSeenIn as seenIn } from '../support/name-forms.ts';
import { refusal } from '../support/refusals.ts';
import { seededPii } from '../support/seed.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const AGENT = 'reporting-agent';

/**
 * Forms whose normalizer reading differs from BigQuery's, run with it.fails (each fails the suite
 * once the engine is fixed). `bypass`: the normalizer names another table than BigQuery reads (none
 * is known). `over-read`: it names a table BigQuery does not read (a false refusal, never a leak).
 */
const KNOWN_DIVERGENCES: Record<string, { kind: 'bypass' | 'over-read'; bigquery: string; normalizer: string }> = {
  'WITH RECURSIVE: a WITH name spelled like a table, named before it is defined: the WITH query': {
    kind: 'over-read',
    bigquery: 'the WITH query `crm.customers`; no table',
    normalizer: 'acme-analytics.crm.customers',
  },
};

let stack: Stack;
let secrets: string[];

beforeAll(async () => {
  stack = await startStack({ connection: { approval_hold: 'refuse' } });
  secrets = await seededPii();
  for (const ddl of RESOLUTION_TABLES_DDL) await stack.direct().query({ query: ddl, useLegacySql: false });
});

afterAll(async () => {
  await stack?.close();
});

/** `dataset` or `project.dataset` as the REST API's DatasetReference. */
function datasetReference(value: string): { projectId: string; datasetId: string } {
  const [a, b] = value.split('.');
  return b === undefined ? { projectId: PROJECT, datasetId: a! } : { projectId: a!, datasetId: b };
}

/** The tables whose values show in a result. */
const tablesSeenIn = (rows: unknown): string[] => seenIn(rows, RESOLUTION_MARKERS);

async function direct(client: BigQuery, form: Pick<ResolutionForm, 'sql' | 'defaultDataset'>): Promise<{ rows: unknown[] } | { error: Error }> {
  const options = { query: form.sql, useLegacySql: false, ...(form.defaultDataset && { defaultDataset: datasetReference(form.defaultDataset) }) };
  return client.query(options).then(
    ([rows]) => ({ rows }),
    (error: Error) => ({ error }),
  );
}

function normalized(form: Pick<ResolutionForm, 'sql' | 'defaultDataset'>): PolicyInput {
  return run(form.sql, form.defaultDataset === undefined ? {} : { defaultDataset: form.defaultDataset });
}

const tableRefs = (input: PolicyInput) => input.sql.statements.flatMap((s) => s.tables);
const tableIds = (input: PolicyInput) => [...new Set(tableRefs(input).map((t) => t.id))].sort();

/** What the normalizer must name for a form. */
const expectedNames = (form: ResolutionForm) => [...(form.names ?? (form.reads === 'invalid' ? [] : form.reads))].sort();

async function checkForm(form: ResolutionForm): Promise<void> {
  const input = normalized(form);
  // The normalizer: exactly the expected ids, and for a valid text every table read covered by one.
  expect(tableIds(input), `normalizer on ${form.sql}`).toEqual(expectedNames(form));
  if (form.reads !== 'invalid') {
    expect(input.sql.parsed, `normalizer refused a valid form: ${JSON.stringify(input.sql.statements.map((s) => s.error))}`).toBe(true);
    for (const id of form.reads) expect(tableRefs(input).some((ref) => coversTable(ref, id)), `${id} is covered`).toBe(true);
  }
  if (form.emulator !== undefined) return;
  // BigQuery (the emulator).
  const answer = await direct(stack.direct(), form);
  if (form.reads === 'invalid') {
    expect('error' in answer, `BigQuery ran ${form.sql}`).toBe(true);
    if (form.syntax) expect((answer as { error: Error }).error.message).toMatch(/Syntax error/);
    return;
  }
  expect('rows' in answer, `BigQuery refused ${form.sql}: ${'error' in answer ? answer.error.message : ''}`).toBe(true);
  const rows = (answer as { rows: unknown[] }).rows;
  expect(rows.length).toBeGreaterThan(0);
  if (form.shows) expect(JSON.stringify(rows)).toMatch(form.shows);
  // The values that came back are those of tables the form says BigQuery reads; all of them, unless
  // the form shows what it read otherwise (INFORMATION_SCHEMA rows, a field without a marker, a WITH query).
  const seen = tablesSeenIn(rows);
  for (const table of seen) expect(form.reads).toContain(table);
  if (form.shows === undefined) expect(seen).toEqual([...form.reads].sort());
}

function formCases(forms: readonly ResolutionForm[]) {
  for (const form of forms) {
    const divergence = KNOWN_DIVERGENCES[form.label];
    const name = `${form.label}${form.defaultDataset ? ` [default dataset ${form.defaultDataset}]` : ''}${form.emulator ? ' (documented, not emulated)' : ''}`;
    (divergence ? it.fails : it)(divergence ? `${name}: known ${divergence.kind}` : name, () => checkForm(form));
  }
}

describe('the emulator does not answer for the default dataset', () => {
  it('ignores defaultDataset: a bare name reads whichever dataset holds it, with or without one', async () => {
    // BigQuery reads crm.orders here (DEFAULT_DATASET_FORMS), and refuses the bare name without a default dataset.
    const withDefault = await direct(stack.direct(), { sql: 'SELECT order_id FROM orders LIMIT 2', defaultDataset: 'crm' });
    expect('rows' in withDefault && tablesSeenIn(withDefault.rows)).toEqual([ORDERS]);
    const without = await direct(stack.direct(), { sql: 'SELECT order_id FROM orders LIMIT 2' });
    expect('rows' in without && tablesSeenIn(without.rows)).toEqual([ORDERS]);
  });
});

describe('the default dataset', () => formCases(DEFAULT_DATASET_FORMS));
describe('INFORMATION_SCHEMA views', () => formCases(INFORMATION_SCHEMA_FORMS));
describe('wildcard tables', () => formCases(WILDCARD_FORMS));
describe('paths into a row, columns and WITH names spelled like tables', () => formCases(PATH_RESOLUTION_FORMS));
describe('which range variables a path is resolved against', () => formCases(SCOPE_FORMS));

describe('the case of dataset and table names', () => {
  it('the emulator folds it, so these forms rest on the documentation', async () => {
    const answer = await direct(stack.direct(), { sql: 'SELECT ssn FROM CRM.Customers LIMIT 2' });
    expect('rows' in answer && tablesSeenIn(answer.rows)).toEqual([CUSTOMERS]);
  });
  formCases(CASE_FORMS);
});

describe('INFORMATION_SCHEMA ids', () => {
  it('every spelling of one view gets one id, and different views different ids', () => {
    const seen = new Map<string, string>();
    for (const { view, spellings } of VIEW_SPELLINGS) {
      for (const spelling of spellings) {
        const input = normalized(spelling);
        expect(input.sql.parsed, spelling.sql).toBe(true);
        expect(tableIds(input), spelling.sql).toEqual([view]);
        const ref = tableRefs(input)[0]!;
        // The policy (rego/sluice/catalog) lists a view as a table of the dataset `<scope>.information_schema`.
        expect(ref.dataset.endsWith('.information_schema'), spelling.sql).toBe(true);
        expect(ref.id).toBe(`${ref.project}.${ref.dataset}.${ref.table}`);
      }
      expect(seen.has(view)).toBe(false);
      seen.set(view, view);
    }
    expect(new Set(seen.keys()).size).toBe(VIEW_SPELLINGS.length);
  });

  it.each(INFORMATION_SCHEMA_SYNONYMS.map((pair) => [pair[0]!, pair[1]!] as const))('one view with and without BY_PROJECT gets one id: %s', (a, b) => {
    expect(tableIds(normalized({ sql: b }))).toEqual(tableIds(normalized({ sql: a })));
  });
});

describe('a name that is a column and a range variable', () => {
  it('the range variable wins: BigQuery returns the whole row, and the normalizer does not call it the column', async () => {
    const sql = 'SELECT customer_id FROM crm.customers AS customer_id LIMIT 1';
    // As JSON: the Node client cannot decode the emulator's TIMESTAMP inside a STRUCT.
    const answer = await direct(stack.direct(), { sql: sql.replace('SELECT customer_id', 'SELECT TO_JSON_STRING(customer_id) AS customer_id') });
    expect('rows' in answer).toBe(true);
    // The SSN is in the value: the whole row of crm.customers, not its customer_id column.
    expect(tablesSeenIn((answer as { rows: unknown[] }).rows)).toEqual([CUSTOMERS]);
    const [output] = normalized({ sql }).sql.statements[0]!.outputs;
    expect(output!.sources.some((s) => s.column === 'customer_id' && output!.direct)).toBe(false);
    expect(output!.lineage === 'unknown' ? output!.tables : output!.sources.map((s) => s.table)).toContain(CUSTOMERS);
  });
});

describe('through the gateway, the official Node client', () => {
  const leaked = (answer: unknown) => secrets.filter((s) => JSON.stringify(answer).includes(s));

  it('a bare name under the request\'s default dataset is judged as that dataset\'s table: crm.customers masked', async () => {
    const [rows] = await stack.client(AGENT).query({ query: 'SELECT ssn FROM customers LIMIT 2', defaultDataset: datasetReference('crm') });
    expect(rows).toHaveLength(2);
    for (const row of rows as { ssn: string }[]) expect(row.ssn).toMatch(/^\*{3}-\*{2}-\d{4}$/);
    expect(leaked(rows)).toEqual([]);
  });

  it('a bare name under a default dataset that needs an approval: finance.ledger', async () => {
    const err = await refusal(stack.client(AGENT).query({ query: 'SELECT memo FROM ledger', defaultDataset: datasetReference('finance') }));
    expect(err.errors[0]!.reason).toBe('approvalRequired');
    expect(leaked(err.message)).toEqual([]);
  });

  it('a WITH name like a default-dataset table reads no table', async () => {
    const [rows] = await stack.client(AGENT).query({ query: "WITH ledger AS (SELECT 'cte' AS memo) SELECT memo FROM ledger", defaultDataset: datasetReference('finance') });
    expect(rows).toEqual([{ memo: 'cte' }]);
  });

  it('a wildcard that matches crm.customers is refused as an unlisted wildcard, before anything runs upstream', async () => {
    const before = await stack.upstreamJobs();
    const err = await refusal(stack.client(AGENT).query({ query: 'SELECT ssn FROM `crm.cust*`' }));
    expect(err.code).toBe(403);
    expect(err.errors[0]!.reason).toBe('accessDenied');
    expect(err.message).toContain('unknown_table');
    expect(leaked(err.message)).toEqual([]);
    expect(await stack.upstreamJobs()).toBe(before);
  });

  it('the default dataset reaches the normalizer: the same bare name under crm reads crm.orders, which the policy does not list', async () => {
    const err = await refusal(stack.client(AGENT).query({ query: 'SELECT order_id FROM orders LIMIT 2', defaultDataset: datasetReference('crm') }));
    expect(err.code).toBe(403);
    expect(err.message).toContain(CRM_ORDERS);
  });
});

describe('a path whose first name is both a select-list alias and a range variable', () => {
  // SELECT STRUCT(REVERSE(c.name) AS ssn) AS c … FROM crm.customers c: does `c.ssn` order the rows
  // by the alias's field or by the range variable's column? BigQuery (ZetaSQL) reads the alias in
  // ORDER BY (subqueries there included) and in QUALIFY, so the ssn steers nothing there, and the
  // range variable in the select list; it refuses a path into a select-list column in GROUP BY, as
  // the normalizer does.
  const byAlias = (clause: string) => `SELECT STRUCT(REVERSE(c.name) AS ssn) AS c, c.customer_id FROM crm.customers c ${clause}`;
  const predicateColumns = (sql: string) => normalized({ sql }).sql.statements.flatMap((s) => s.predicate_columns.map((p) => p.column)).sort();

  it.each([
    ['ORDER BY', 'alias', byAlias('ORDER BY c.ssn LIMIT 4')],
    ['a subquery in ORDER BY', 'alias', byAlias('ORDER BY (SELECT c.ssn) LIMIT 4')],
    ['a window\'s ORDER BY in QUALIFY', 'alias', byAlias('QUALIFY ROW_NUMBER() OVER (ORDER BY c.ssn) <= 4')],
    // The select list does not see its own aliases.
    [
      'a window\'s ORDER BY in the select list',
      'range variable',
      'SELECT * EXCEPT (rn) FROM (SELECT STRUCT(REVERSE(c.name) AS ssn) AS c, c.customer_id, ROW_NUMBER() OVER (ORDER BY c.ssn) AS rn FROM crm.customers c) WHERE rn <= 4',
    ],
  ] as const)('%s reads the %s, as BigQuery does', async (_label, reads, sql) => {
    const [customers] = await stack.direct().query({ query: 'SELECT customer_id, name, ssn FROM crm.customers', useLegacySql: false });
    const firstFour = (key: (r: { name: string; ssn: string }) => string) =>
      (customers as { customer_id: string; name: string; ssn: string }[])
        .map((r) => [key(r), r.customer_id] as const)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, 4)
        .map(([, id]) => id)
        .sort();
    const byAliasField = firstFour((r) => [...r.name].reverse().join(''));
    const bySsn = firstFour((r) => r.ssn);
    // The seed's two orders differ, so the answer tells them apart.
    expect(byAliasField).not.toEqual(bySsn);
    const answer = await direct(stack.direct(), { sql });
    expect('rows' in answer, 'error' in answer ? answer.error.message : '').toBe(true);
    expect(((answer as { rows: { customer_id: string }[] }).rows).map((r) => r.customer_id).sort()).toEqual(reads === 'alias' ? byAliasField : bySsn);
    expect(predicateColumns(sql)).toEqual(reads === 'alias' ? ['name'] : ['ssn']);
  });

  it('HAVING reads a select-list alias inside an aggregate, as BigQuery does', async () => {
    const sql = "SELECT REVERSE(name) AS ssn, customer_id FROM crm.customers GROUP BY customer_id, name HAVING MAX(ssn) > '123-45-6718'";
    const [customers] = await stack.direct().query({ query: 'SELECT name, ssn FROM crm.customers', useLegacySql: false });
    const rows = customers as { name: string; ssn: string }[];
    // The seed's readings differ: the column ssn passes the filter on fewer customers than the alias does.
    const byColumn = rows.filter((r) => r.ssn > '123-45-6718').length;
    const byAliasValue = rows.filter((r) => [...r.name].reverse().join('') > '123-45-6718').length;
    expect(byColumn).toBeLessThan(byAliasValue);
    const answer = await direct(stack.direct(), { sql });
    expect('rows' in answer, 'error' in answer ? answer.error.message : '').toBe(true);
    expect((answer as { rows: unknown[] }).rows).toHaveLength(byAliasValue);
    expect(predicateColumns(sql)).toEqual(['customer_id', 'name']);
  });

  it.each([
    'SELECT STRUCT(REVERSE(c.name) AS ssn) AS c, COUNT(*) AS n FROM crm.customers c GROUP BY c.ssn',
    'SELECT c.address, COUNT(*) AS n FROM crm.customers c GROUP BY address.city',
  ])('GROUP BY refuses it, as BigQuery does: %s', async (sql) => {
    const answer = await direct(stack.direct(), { sql });
    expect('error' in answer && answer.error.message).toMatch(/Cannot GROUP BY field references from SELECT list alias (c|address)/);
    const [statement] = normalized({ sql }).sql.statements;
    expect(statement!.parsed).toBe(false);
    expect(statement!.error).toMatch(/^GROUP BY a field of the select-list column (c|address) \(BigQuery refuses it\)/);
  });
});

describe('the emulator\'s budget', () => {
  it('this file sent it fewer than 150 jobs', async () => {
    expect(await stack.upstreamJobs()).toBeLessThan(150);
  });
});
