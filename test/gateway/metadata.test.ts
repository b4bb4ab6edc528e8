// Catalog reads through the gateway (datasets.list, datasets.get, tables.list, tables.get), with
// the official Node and Python clients: each caller is shown only what it has a path to, a
// dataset it may not see is refused exactly like one that does not exist, tables.get says which
// mask each column gets, and every call is in the audit trail. Beside the seeded organisation,
// the emulator holds `security` (readable by security-team only, with ACL entries, labels and a
// description the gateway must not pass on) and two tables the policy does not know.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_CLIENTS } from '../../demo/idp.ts';
import { listRecords, verifyAudit } from '../../gateway/audit/index.ts';
import { sluice } from '../support/cli.ts';
import { pythonCatalog, type PythonCatalogCall } from '../support/python-client.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

let stack: Stack;
const api = `/bigquery/v2/projects/${PROJECT}`;

beforeAll(async () => {
  stack = await startStack({ idp: { clients: [...REFERENCE_CLIENTS, { name: 'security-bot', groups: ['agents', 'security-team'] }] } });
  const direct = stack.direct();
  const [security] = await direct.createDataset('security', {
    labels: { team: 'secops' },
    description: 'incident records',
    access: [{ role: 'READER', userByEmail: 'ciso@acme-analytics.example' }],
  });
  await security.createTable('incidents', { schema: 'incident_id:string,summary:string', labels: { severity: 'high' } });
  // Unknown to the policy's catalog: nobody may read them, so nobody is shown them.
  await security.createTable('triage_view', { view: { query: 'SELECT 1 AS x', useLegacySql: false } });
  await direct.dataset('sales').createTable('scratch', { schema: 'note:string' });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const python = async (agent: string, calls: PythonCatalogCall[]) => pythonCatalog(stack.gatewayUrl, await stack.token(agent), calls);

/** Every field of a schema with its path (`address.street`), nested ones included. */
function flatten(fields: Record<string, any>[], prefix = ''): [string, Record<string, any>][] {
  return fields.flatMap((f) => [[prefix + f.name, f] as [string, Record<string, any>], ...flatten(f.fields ?? [], `${prefix}${f.name}.`)]);
}

describe('datasets.list and tables.list', () => {
  it('show a caller only the datasets and tables it has a path to', async () => {
    // Upstream holds more than any of these callers is shown.
    const [all] = await stack.direct().getDatasets();
    expect(all.map((d) => d.id).sort()).toEqual(['crm', 'finance', 'public', 'sales', 'security', 'types', 'workforce']);
    const [salesAll] = await stack.direct().dataset('sales').getTables();
    expect(salesAll.map((t) => t.id).sort()).toEqual(['orders', 'scratch']);

    // finance needs an approval for everyone: a path, so it is listed.
    const [datasets] = await stack.client('reporting-agent').getDatasets();
    expect(datasets.map((d) => d.id).sort()).toEqual(['crm', 'finance', 'public', 'sales', 'workforce']);
    const [mine] = await stack.client('security-bot').getDatasets();
    expect(mine.map((d) => d.id).sort()).toEqual(['crm', 'finance', 'public', 'sales', 'security', 'workforce']);

    const [tables] = await stack.client('reporting-agent').dataset('sales').getTables();
    expect(tables.map((t) => t.id)).toEqual(['orders']);
    const [incidents] = await stack.client('security-bot').dataset('security').getTables();
    expect(incidents.map((t) => t.id)).toEqual(['incidents']);

    const [pyDatasets, pyTables, pyFinance] = await python('reporting-agent', [
      { op: 'list_datasets' },
      { op: 'list_tables', dataset: 'sales' },
      { op: 'list_tables', dataset: 'finance' },
    ]);
    expect(pyDatasets!.items?.sort()).toEqual(['crm', 'finance', 'public', 'sales', 'workforce']);
    expect(pyTables!.items).toEqual(['orders']);
    expect(pyFinance!.items).toEqual(['ledger']);
  });

  it('answer in BigQuery shape, with totalItems counting the visible tables and no labels', async () => {
    const list = await stack.fetch(`${api}/datasets/security/tables`, { agent: 'security-bot' });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({
      kind: 'bigquery#tableList',
      totalItems: 1,
      tables: [expect.objectContaining({ tableReference: { projectId: PROJECT, datasetId: 'security', tableId: 'incidents' }, type: 'TABLE' })],
    });
    expect(list.body.tables[0]).not.toHaveProperty('labels');
    const datasets = await stack.fetch(`${api}/datasets`, { agent: 'security-bot' });
    expect(datasets.body.kind).toBe('bigquery#datasetList');
    const security = datasets.body.datasets.find((d: { datasetReference: { datasetId: string } }) => d.datasetReference.datasetId === 'security');
    expect(security).toBeDefined();
    expect(security).not.toHaveProperty('labels');
    expect(security).not.toHaveProperty('friendlyName');
  });

  it('judge at zero cost: no dry run upstream, no approval request filed', async () => {
    const dryRuns = async () => Number(/^sluice_dry_run_seconds_count (\d+)$/m.exec((await stack.fetch('/metrics')).body)?.[1] ?? NaN);
    const dryRunsBefore = await dryRuns();
    const jobsBefore = await stack.upstreamJobs();
    const approvalsBefore = (await listRecords(stack.gateway.database.db, { kinds: ['approval'] })).length;
    const finance = await stack.fetch(`${api}/datasets/finance/tables`, { agent: 'analyst-bot' });
    expect(finance.status).toBe(200);
    expect(finance.body.tables.map((t: { tableReference: { tableId: string } }) => t.tableReference.tableId)).toEqual(['ledger']);
    expect((await stack.fetch(`${api}/datasets`, { agent: 'analyst-bot' })).status).toBe(200);
    expect(await stack.upstreamJobs()).toBe(jobsBefore);
    expect(await dryRuns()).toBe(dryRunsBefore);
    expect((await listRecords(stack.gateway.database.db, { kinds: ['approval'] })).length).toBe(approvalsBefore);
  });
});

describe('a dataset the caller has no path to', () => {
  it('is refused by datasets.get and tables.list exactly like one that does not exist', async () => {
    for (const path of ['', '/tables']) {
      const hidden = await stack.fetch(`${api}/datasets/security${path}`, { agent: 'reporting-agent' });
      const missing = await stack.fetch(`${api}/datasets/nosuch${path}`, { agent: 'reporting-agent' });
      expect(hidden.status, path).toBe(403);
      expect(missing.status, path).toBe(403);
      expect(hidden.body.error.errors[0].reason).toBe('accessDenied');
      expect(hidden.body.error.message.replaceAll('security', 'nosuch')).toBe(missing.body.error.message);
      expect(JSON.stringify(hidden.body).replaceAll('security', 'nosuch')).toBe(JSON.stringify(missing.body));
    }
    // Its own readers get it.
    const seen = await stack.fetch(`${api}/datasets/security`, { agent: 'security-bot' });
    expect(seen.status).toBe(200);
  });

  it('is refused to the official clients, while its readers get it without ACLs, labels or description', async () => {
    const err = await stack.client('reporting-agent').dataset('security').getMetadata().then(
      () => undefined,
      (e: { code?: number }) => e,
    );
    expect(err?.code).toBe(403);
    const [meta] = await stack.client('security-bot').dataset('security').getMetadata();
    expect(meta.datasetReference).toEqual({ projectId: PROJECT, datasetId: 'security' });
    for (const key of ['access', 'labels', 'description', 'friendlyName']) expect(meta, key).not.toHaveProperty(key);
    // The emulator does hold them.
    const [raw] = await stack.direct().dataset('security').getMetadata();
    expect(raw.access?.length).toBeGreaterThan(0);
    expect(raw.labels).toEqual({ team: 'secops' });

    const [hidden, missing, tables] = await python('reporting-agent', [
      { op: 'get_dataset', dataset: 'security' },
      { op: 'get_dataset', dataset: 'nosuch' },
      { op: 'list_tables', dataset: 'security' },
    ]);
    expect(hidden!.error).toMatchObject({ code: 403, reason: 'accessDenied' });
    expect(hidden!.error!.message.replaceAll('security', 'nosuch')).toBe(missing!.error!.message);
    expect(tables!.error).toMatchObject({ code: 403, reason: 'accessDenied' });
    const [got] = await python('security-bot', [{ op: 'get_dataset', dataset: 'security' }]);
    expect(got!.resource).toMatchObject({ datasetReference: { projectId: PROJECT, datasetId: 'security' } });
    expect(got!.resource).not.toHaveProperty('access');
  });
});

describe('tables.get', () => {
  const PII: Record<string, unknown> = {
    name: { reason: 'policy_mask', strategy: 'hash', source: { table: `${PROJECT}.crm.customers`, column: 'name' } },
    ssn: { reason: 'policy_mask', strategy: 'last-4', source: { table: `${PROJECT}.crm.customers`, column: 'ssn' } },
    email: { reason: 'policy_mask', strategy: 'email-domain', source: { table: `${PROJECT}.crm.customers`, column: 'email' } },
    phone: { reason: 'policy_mask', strategy: 'last-4', source: { table: `${PROJECT}.crm.customers`, column: 'phone' } },
    card_number: { reason: 'policy_mask', strategy: 'last-4', source: { table: `${PROJECT}.crm.customers`, column: 'card_number' } },
    'address.street': { reason: 'policy_mask', strategy: 'redact', source: { table: `${PROJECT}.crm.customers`, column: 'address.street' } },
  };

  it("shows each column's mask to a masked caller, nested leaves included", async () => {
    const [meta] = await stack.client('reporting-agent').dataset('crm').table('customers').getMetadata();
    const fields = Object.fromEntries(flatten(meta.schema.fields));
    for (const [path, mask] of Object.entries(PII)) expect(fields[path]?.sluiceMask, path).toEqual(mask);
    // The rest is content-scanned for this caller (crm is scanned): said so, with what is looked for.
    expect(fields.customer_id!.sluiceMask).toEqual({ reason: 'content_scan', strategy: 'redact', detectors: ['ssn', 'card', 'email', 'phone'] });
    expect(fields.created_at!.sluiceMask).toMatchObject({ reason: 'content_scan', strategy: 'null' });
    // A record carries none itself; its leaves do.
    expect(fields.address).not.toHaveProperty('sluiceMask');
  });

  it('shows no mask to a caller who reads the table raw', async () => {
    const [meta] = await stack.client('pii-agent').dataset('crm').table('customers').getMetadata();
    const fields = flatten(meta.schema.fields);
    expect(fields.map(([path]) => path)).toContain('address.street');
    expect(fields.filter(([, f]) => 'sluiceMask' in f)).toEqual([]);
  });

  it('passes on no column descriptions or default value expressions: free text that can quote the values it describes', async () => {
    const table = stack.direct().dataset('crm').table('customers');
    const [before] = await table.getMetadata();
    const described = (fields: Record<string, any>[]) =>
      fields.map((f) =>
        f.name === 'ssn' ? { ...f, description: 'National id, as in 123-45-6701 (Ada Sampleton)' } : f.name === 'notes' ? { ...f, defaultValueExpression: "'Ada Sampleton, 123-45-6701'" } : f,
      );
    await table.setMetadata({ schema: { fields: described(before.schema.fields) } });
    try {
      const [raw] = await table.getMetadata();
      expect(JSON.stringify(raw.schema)).toContain('123-45-6701');
      for (const agent of ['reporting-agent', 'pii-agent']) {
        const res = await stack.fetch(`${api}/datasets/crm/tables/customers`, { agent, headers: { 'x-request-id': `described-${agent}` } });
        expect(res.status).toBe(200);
        const text = JSON.stringify(res.body);
        expect(text, agent).not.toContain('123-45-6701');
        expect(text, agent).not.toContain('Ada Sampleton');
        const fields = Object.fromEntries(flatten(res.body.schema.fields));
        expect(fields.ssn).toMatchObject({ name: 'ssn', type: 'STRING' });
        expect(fields['address.street']).toMatchObject({ type: 'STRING' });
        const [record] = await listRecords(stack.gateway.database.db, { requestId: `described-${agent}` });
        expect(JSON.stringify(record!.record), agent).not.toContain('Ada Sampleton');
      }
    } finally {
      await table.setMetadata({ schema: before.schema });
    }
  });

  it('passes the masks through the Python client, which keeps them on its SchemaField objects', async () => {
    const [masked] = await python('reporting-agent', [{ op: 'get_table', dataset: 'crm', table: 'customers' }]);
    const [raw] = await python('pii-agent', [{ op: 'get_table', dataset: 'crm', table: 'customers' }]);
    const fields = Object.fromEntries(flatten(masked!.schema!));
    for (const [path, mask] of Object.entries(PII)) expect(fields[path]?.sluiceMask, path).toEqual(mask);
    expect(flatten(raw!.schema!).filter(([, f]) => 'sluiceMask' in f)).toEqual([]);
  });
});

describe('without a token', () => {
  it.each([
    ['datasets.list', '/datasets'],
    ['datasets.get', '/datasets/sales'],
    ['tables.list', '/datasets/sales/tables'],
    ['tables.get', '/datasets/sales/tables/orders'],
  ])('%s is 401', async (_route, path) => {
    const res = await stack.fetch(api + path);
    expect(res.status).toBe(401);
    expect(res.body.error.errors[0].reason).toBe('authError');
  });
});

describe('the audit trail', () => {
  const recordsOf = async (requestId: string) => (await listRecords(stack.gateway.database.db, { requestId, order: 'oldest' })).map((r) => r.record);

  it('records each catalog read, with what the caller was shown or why it was refused', async () => {
    const calls: [string, string, string, number][] = [
      ['meta-datasets-list', '/datasets', 'datasets.list', 200],
      ['meta-datasets-get', '/datasets/sales', 'datasets.get', 200],
      ['meta-tables-list', '/datasets/sales/tables', 'tables.list', 200],
      ['meta-tables-get', '/datasets/crm/tables/customers', 'tables.get', 200],
      ['meta-hidden', '/datasets/security', 'datasets.get', 403],
    ];
    for (const [id, path, , status] of calls) {
      const res = await stack.fetch(api + path, { agent: 'reporting-agent', headers: { 'x-request-id': id } });
      expect(res.status, id).toBe(status);
    }
    for (const [id, , route, status] of calls) {
      const records = await recordsOf(id);
      const request = records.at(-1)!;
      if (request.kind !== 'request') throw new Error(`${id}: no request record`);
      expect(request.data, id).toMatchObject({ route, status, identity: { subject: 'reporting-agent' }, project: PROJECT, connection: 'acme' });
      // Written ahead of the first upstream read (a refused dataset still had its tables read).
      expect(records.map((r) => r.kind), id).toEqual(['forward', 'request']);
    }
    const shown = async (id: string) => {
      const r = (await recordsOf(id)).at(-1)!;
      return r.kind === 'request' ? r.data.response?.rows.map((row) => row.f[0]!.v) : undefined;
    };
    expect((await shown('meta-datasets-list'))?.sort()).toEqual(['crm', 'finance', 'public', 'sales', 'workforce'].map((d) => `${PROJECT}.${d}`));
    expect(await shown('meta-tables-list')).toEqual([`${PROJECT}.sales.orders`]);
    const tablesGet = (await recordsOf('meta-tables-get')).at(-1)!;
    if (tablesGet.kind !== 'request') throw new Error('no request record');
    expect(tablesGet.data.decision?.outcome).toBe('mask');
    expect(JSON.stringify(tablesGet.data.response?.schema)).toContain('"sluiceMask"');
    const hidden = (await recordsOf('meta-hidden')).at(-1)!;
    expect(hidden.kind === 'request' && hidden.data.error?.reason).toBe('accessDenied');
    expect(hidden.kind === 'request' && hidden.data.response).toBeNull();

    const report = await verifyAudit(stack.gateway.database.db);
    expect(report.broken).toEqual([]);
    expect(report.ok).toBe(true);
    const verify = await sluice(['audit', 'verify', '--storage', stack.storageUrl]);
    expect(verify.code, verify.stderr).toBe(0);
    const replay = await sluice(['replay', 'meta-tables-list', '--storage', stack.storageUrl]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toContain(`${PROJECT}.sales.orders`);
  });
});
