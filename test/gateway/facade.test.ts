// The BigQuery REST facade's own behaviour, through the official client and raw HTTP against the
// real stack: discovery, authentication, the refusals that need no policy (dialect, job kinds,
// fields, routes, foreign jobs), error shapes, health and metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, resolveConfig } from '../../gateway/config/load.ts';
import { PROJECT, agentClient, startStack, type Stack } from '../support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

/** What the official client throws: an ApiError carrying BigQuery's error body. */
async function clientError(promise: Promise<unknown>): Promise<{ code: number; message: string; errors: { reason: string; message: string }[] }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: number; message: string; errors: { reason: string; message: string }[] };
  }
  throw new Error('expected the call to fail');
}

function expectBigQueryError(body: any, code: number, reason: string): void {
  expect(body).toMatchObject({ error: { code, errors: [{ reason, domain: 'global' }] } });
  expect(typeof body.error.message).toBe('string');
  expect(body.error.errors[0].message).toBe(body.error.message);
  expect(typeof body.error.status).toBe('string');
}

const jobsPath = `/bigquery/v2/projects/${PROJECT}/jobs`;
const queriesPath = `/bigquery/v2/projects/${PROJECT}/queries`;

describe('discovery', () => {
  it.each(['/$discovery/rest?version=v2', '/discovery/v1/apis/bigquery/v2/rest'])('serves a trimmed document pointing at the gateway at %s', async (path) => {
    const { status, body } = await stack.fetch(path);
    expect(status).toBe(200);
    expect(body.rootUrl).toBe(`${stack.gatewayUrl}/`);
    expect(body.baseUrl).toBe(`${stack.gatewayUrl}/bigquery/v2/`);
    expect(body.servicePath).toBe('bigquery/v2/');
    expect(Object.keys(body.resources).sort()).toEqual(['jobs', 'tabledata', 'tables']);
    expect(Object.keys(body.resources.tables.methods)).toEqual(['get']);
    expect(Object.keys(body.resources.jobs.methods).sort()).toEqual(['cancel', 'get', 'getQueryResults', 'insert', 'query']);
    expect(body.resources.jobs.methods.query.path).toBe('projects/{+projectId}/queries');
    expect(body.schemas.QueryResponse).toBeDefined();
    // bq passes media_body to jobs.insert, so the upload method stays described (uploads are refused).
    expect(body.resources.jobs.methods.insert.supportsMediaUpload).toBe(true);
  });
});

describe('authentication', () => {
  it('answers a request without a token with a BigQuery-shaped 401', async () => {
    const res = await fetch(`${stack.gatewayUrl}${queriesPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'SELECT 1', useLegacySql: false }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const body: any = await res.json();
    expectBigQueryError(body, 401, 'authError');
    expect(body.error.status).toBe('UNAUTHENTICATED');
    expect(body.error.message).toContain('no bearer token');
  });

  it('refuses a forged token and says why, through the official client', async () => {
    const token = await stack.token('reporting-agent');
    const [h, p] = token.split('.');
    const forged = `${h}.${p}.${Buffer.from('not the signature').toString('base64url')}`;
    const err = await clientError(agentClient(stack.gatewayUrl, async () => forged).query({ query: 'SELECT 1' }));
    expect(err.code).toBe(401);
    expect(err.errors[0]!.reason).toBe('authError');
    expect(err.message).toContain('signature');
  });

  it('refuses a token from an issuer it does not trust', async () => {
    const { startIdentityProvider } = await import('../../demo/idp.ts');
    const other = await startIdentityProvider();
    try {
      const err = await clientError(agentClient(stack.gatewayUrl, () => other.tokenFor('reporting-agent')).query('SELECT 1'));
      expect(err.code).toBe(401);
      expect(err.message).toContain('issuer');
    } finally {
      await other.close();
    }
  });
});

describe('refusals that need no policy', () => {
  const bq = () => stack.client('reporting-agent');

  it('refuses legacy SQL asked for explicitly, telling the caller how to fix it', async () => {
    const err = await clientError(bq().query({ query: 'SELECT 1', useLegacySql: true }));
    expect(err.code).toBe(403);
    expect(err.errors[0]!.reason).toBe('accessDenied');
    expect(err.message).toContain('useLegacySql=false');
  });

  it('refuses jobs.insert and jobs.query without useLegacySql (the API default is legacy SQL)', async () => {
    for (const [path, body] of [
      [jobsPath, { configuration: { query: { query: 'SELECT 1' } } }],
      [queriesPath, { query: 'SELECT 1' }],
    ] as const) {
      const res = await stack.fetch(path, { agent: 'reporting-agent', method: 'POST', body: JSON.stringify(body) });
      expect(res.status).toBe(403);
      expectBigQueryError(res.body, 403, 'accessDenied');
      expect(res.body.error.message).toContain('set useLegacySql=false');
    }
  });

  it('refuses a #legacySQL prefix even with useLegacySql=false', async () => {
    const res = await stack.fetch(queriesPath, { agent: 'reporting-agent', method: 'POST', body: JSON.stringify({ query: '#legacySQL\nSELECT 1', useLegacySql: false }) });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain('legacy SQL');
  });

  it.each([
    ['extract', { extract: { sourceTable: { projectId: PROJECT, datasetId: 'crm', tableId: 'customers' }, destinationUris: ['gs://bucket/out.csv'] } }, 'extract jobs'],
    ['copy', { copy: { sourceTable: { projectId: PROJECT, datasetId: 'crm', tableId: 'customers' }, destinationTable: { projectId: PROJECT, datasetId: 'sales', tableId: 'x' } } }, 'copy jobs'],
    ['load', { load: { sourceUris: ['gs://bucket/in.csv'], destinationTable: { projectId: PROJECT, datasetId: 'sales', tableId: 'x' } } }, 'load jobs'],
  ])('refuses %s jobs with 403 accessDenied', async (_kind, configuration, words) => {
    const res = await stack.fetch(jobsPath, { agent: 'reporting-agent', method: 'POST', body: JSON.stringify({ configuration }) });
    expect(res.status).toBe(403);
    expectBigQueryError(res.body, 403, 'accessDenied');
    expect(res.body.error.message).toContain(words);
  });

  it('refuses a copy job made with the official client, and the table is untouched', async () => {
    const source = bq().dataset('crm').table('customers');
    const err = await clientError(source.createCopyJob(bq().dataset('sales').table('customers_copy')));
    expect(err.code).toBe(403);
    expect(err.message).toContain('copy jobs are not allowed');
    const [tables] = await stack.direct().dataset('sales').getTables();
    expect(tables.map((t) => t.id)).not.toContain('customers_copy');
  });

  it.each([
    ['destinationTable', { destinationTable: { projectId: PROJECT, datasetId: 'sales', tableId: 'leak' } }, 'destination table'],
    ['createSession', { createSession: true }, 'sessions'],
    ['tableDefinitions', { tableDefinitions: { ext: { sourceUris: ['gs://b/x'] } } }, 'external table'],
  ])('refuses a query job with %s', async (_name, extra, words) => {
    const res = await stack.fetch(jobsPath, {
      agent: 'reporting-agent',
      method: 'POST',
      body: JSON.stringify({ configuration: { query: { query: 'SELECT 1', useLegacySql: false, ...extra } } }),
    });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain(words);
  });

  it('refuses connection properties that change who runs the query', async () => {
    const res = await stack.fetch(queriesPath, {
      agent: 'reporting-agent',
      method: 'POST',
      body: JSON.stringify({ query: 'SELECT 1', useLegacySql: false, connectionProperties: [{ key: 'service_account', value: 'x@y.iam.gserviceaccount.com' }] }),
    });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain('service_account');
  });

  it('answers an unknown request field with 400 invalid instead of dropping it', async () => {
    const res = await stack.fetch(queriesPath, { agent: 'reporting-agent', method: 'POST', body: JSON.stringify({ query: 'SELECT 1', useLegacySql: false, frobnicate: 1 }) });
    expect(res.status).toBe(400);
    expectBigQueryError(res.body, 400, 'invalid');
    expect(res.body.error.message).toContain('frobnicate');
  });

  it('answers malformed JSON with 400 invalid', async () => {
    const res = await stack.fetch(queriesPath, { agent: 'reporting-agent', method: 'POST', body: '{"query": ' });
    expect(res.status).toBe(400);
    expectBigQueryError(res.body, 400, 'invalid');
  });

  it('refuses a project the gateway does not serve', async () => {
    const res = await stack.fetch('/bigquery/v2/projects/other-project/queries', {
      agent: 'reporting-agent',
      method: 'POST',
      body: JSON.stringify({ query: 'SELECT 1', useLegacySql: false }),
    });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain('does not serve');
  });
});

describe('routes other than query jobs and tabledata.list', () => {
  const bq = () => stack.client('engineer-bot');

  it('refuses deleting a table and the table is still there', async () => {
    const err = await clientError(bq().dataset('sales').table('orders').delete());
    expect(err.code).toBe(403);
    expect(err.errors[0]!.reason).toBe('accessDenied');
    expect(err.message).toContain('not available through the sluice gateway');
    const [exists] = await stack.direct().dataset('sales').table('orders').exists();
    expect(exists).toBe(true);
  });

  it('refuses streaming inserts, dataset changes, table creation and media uploads', async () => {
    for (const call of [
      () => bq().dataset('sales').table('orders').insert([{ order_id: 'X1' }]),
      // Reading the catalog is served (test/gateway/metadata.test.ts); changing it is not.
      () => bq().dataset('sales').setMetadata({ description: 'changed through the gateway' }),
      () => bq().dataset('sales').createTable('new_table', { schema: 'a:string' }),
      () => bq().dataset('crm').delete({ force: true }),
    ]) {
      const err = await clientError(call());
      expect(err.code).toBe(403);
    }
    const upload = await stack.fetch(`/upload/bigquery/v2/projects/${PROJECT}/jobs?uploadType=multipart`, { agent: 'engineer-bot', method: 'POST', body: '{}' });
    expect(upload.status).toBe(403);
    const [rows] = await stack.direct().query('SELECT COUNT(*) AS n FROM sales.orders');
    expect(rows[0].n).toBe(60);
    const [datasets] = await stack.direct().getDatasets();
    expect(datasets.map((d) => d.id).sort()).toEqual(['crm', 'finance', 'public', 'sales', 'types', 'workforce']);
  });

  it('refuses refused routes only after authentication', async () => {
    const res = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/datasets`);
    expect(res.status).toBe(401);
  });

  it('answers an unknown path with a BigQuery-shaped 404', async () => {
    const res = await stack.fetch('/nothing/here');
    expect(res.status).toBe(404);
    expectBigQueryError(res.body, 404, 'notFound');
  });
});

describe('jobs the gateway did not run', () => {
  it('refuses jobs.get, jobs.getQueryResults and jobs.cancel of a job created directly upstream', async () => {
    const [job] = await stack.direct().createQueryJob({ query: 'SELECT customer_id, ssn FROM crm.customers' });
    const id = job.id!;
    for (const [method, path] of [
      ['GET', `${jobsPath}/${id}`],
      ['GET', `${queriesPath}/${id}`],
      ['POST', `${jobsPath}/${id}/cancel`],
    ] as const) {
      const res = await stack.fetch(path, { agent: 'pii-agent', method });
      expect(res.status).toBe(403);
      expectBigQueryError(res.body, 403, 'accessDenied');
      expect(res.body.error.message).toContain('only jobs this gateway ran for pii-agent');
    }
    const err = await clientError(stack.client('pii-agent').job(id).getQueryResults());
    expect(err.code).toBe(403);
  });
});

describe('an unreachable upstream', () => {
  it('answers 502 backendError (retryable) and reports not ready', async () => {
    const { randomBytes } = await import('node:crypto');
    const { freePort } = await import('../../demo/emulator.ts');
    const dead = `http://127.0.0.1:${await freePort()}`;
    const config = resolveConfig({
      listen: { host: '127.0.0.1', port: 0 },
      log_level: 'silent',
      issuers: [{ issuer: stack.idp.issuer, audience: 'https://sluice.local/bigquery' }],
      connections: [{ name: 'gone', upstream: dead, project: PROJECT, credentials: { mode: 'none' } }],
    });
    const { createGateway } = await import('../../gateway/server.ts');
    const gateway = await createGateway({ config, engine: stack.gateway.engine, hashKey: randomBytes(32), processMetrics: false });
    try {
      const url = await gateway.listen();
      const res = await fetch(`${url}${queriesPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.token('reporting-agent')}` },
        body: JSON.stringify({ query: 'SELECT product FROM sales.orders', useLegacySql: false }),
      });
      expect(res.status).toBe(502);
      expectBigQueryError(await res.json(), 502, 'backendError');
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'not ready', upstreams: { gone: 'unreachable' } });
    } finally {
      await gateway.close();
    }
  });
});

describe('operations endpoints', () => {
  it('reports health, readiness with the policy revision, and Prometheus metrics', async () => {
    expect((await stack.fetch('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await stack.fetch('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', policy_revision: stack.gateway.engine.revision, upstreams: { acme: 'reachable' } });
    const metrics = await stack.fetch('/metrics');
    expect(metrics.status).toBe(200);
    for (const name of ['sluice_decisions_total', 'sluice_decision_seconds', 'sluice_dry_run_seconds', 'sluice_upstream_seconds', 'sluice_request_seconds', 'sluice_audit_record_seconds', 'sluice_masked_cells_total', 'sluice_refusals_total']) {
      expect(metrics.body).toContain(name);
    }
    expect(metrics.body).toMatch(/sluice_refusals_total\{reason="authError"\} [1-9]/);
    expect(metrics.body).toMatch(/^sluice_audit_record_seconds_count [1-9]/m);
  });

  it('echoes a caller-supplied request id and logs no token', async () => {
    const res = await fetch(`${stack.gatewayUrl}/healthz`, { headers: { 'x-request-id': 'trace-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-123');
    const token = await stack.token('reporting-agent');
    await stack.client('reporting-agent').query({ query: 'SELECT 1', useLegacySql: true }).catch(() => undefined);
    const signature = token.split('.')[2]!;
    expect(stack.logs.join('\n')).not.toContain(signature);
    expect(stack.logs.join('\n')).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
  });
});

describe('configuration file', () => {
  it('loads YAML, expands ${VAR}, resolves paths against the file and fills defaults', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-config-'));
    const path = join(dir, 'gateway.yaml');
    await writeFile(
      path,
      [
        'listen: { port: 9999 }',
        'bundle: build/bundle.tar.gz',
        'storage: { url: "sqlite:state/sluice.sqlite" }',
        'masking: { hash_key_env: SLUICE_HASH_KEY }',
        'issuers:',
        '  - { issuer: "${IDP_URL}", audience: https://sluice.local/bigquery, groups_claim: roles }',
        'connections:',
        '  - name: acme',
        '    upstream: https://bigquery.googleapis.com/',
        '    project: acme-analytics',
        '    credentials: { mode: impersonate, target_principal: reader@acme-analytics.iam.gserviceaccount.com }',
        'approvals:',
        '  page: { issuer: "${IDP_URL}", client_id: sluice-approver, client_secret: "${PAGE_SECRET}", session_secret: "${SESSION_SECRET}" }',
      ].join('\n'),
    );
    const env = { IDP_URL: 'https://idp.acme.example', PAGE_SECRET: 'client-secret', SESSION_SECRET: 's'.repeat(32) };
    const config = await loadConfigFile(path, env);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 9999 });
    expect(config.bundle).toBe(join(dir, 'build/bundle.tar.gz'));
    expect(config.storageUrl).toBe(`sqlite:${join(dir, 'state/sluice.sqlite')}`);
    expect(config.issuers[0]).toMatchObject({ issuer: 'https://idp.acme.example', groups_claim: 'roles' });
    expect(config.connections[0]!.upstream).toBe('https://bigquery.googleapis.com');
    expect(config.limits.schemaCacheSeconds).toBe(60);
    expect(config.approverPage).toEqual({ issuer: 'https://idp.acme.example', clientId: 'sluice-approver', clientSecret: 'client-secret', sessionSecret: 's'.repeat(32) });
    await expect(loadConfigFile(path, {})).rejects.toThrow(/IDP_URL/);
    await expect(loadConfigFile(path, { ...env, SESSION_SECRET: 'short' })).rejects.toThrow(/session_secret/);
  });

  it('loads the example configuration for BigQuery, which refuses dry runs naming no tables', async () => {
    const example = join(import.meta.dirname, '..', '..', 'examples', 'gateway.yaml');
    const env = {
      SLUICE_DATABASE_URL: 'postgres://sluice@db.internal/sluice',
      SLUICE_APPROVER_CLIENT_SECRET: 'client-secret',
      SLUICE_SESSION_SECRET: 's'.repeat(32),
      SLUICE_BUNDLE_TOKEN: 'bundle-token',
      SLUICE_DECISION_LOG_TOKEN: 'decision-log-token',
    };
    const config = await loadConfigFile(example, env);
    expect(config.storageUrl).toBe(env.SLUICE_DATABASE_URL);
    expect(config.issuers).toHaveLength(2);
    expect(config.connections[0]).toEqual(expect.objectContaining({ upstream: 'https://bigquery.googleapis.com', require_referenced_tables: true }));
    // An in-memory database stays in memory, not a file named after it.
    expect(resolveConfig({ storage: { url: 'sqlite::memory:' }, issuers: config.issuers, connections: config.connections }).storageUrl).toBe('sqlite::memory:');
    // Left out, the check is on: only an emulator's connection turns it off.
    const { require_referenced_tables: _, ...implicit } = config.connections[0]!;
    expect(resolveConfig({ issuers: config.issuers, connections: [implicit] }).connections[0]!.require_referenced_tables).toBe(true);
  });

  it('serves the approver page when approvals.page is configured, and only then', async () => {
    const { randomBytes } = await import('node:crypto');
    const { createGateway } = await import('../../gateway/server.ts');
    const base = {
      listen: { host: '127.0.0.1', port: 0 },
      log_level: 'silent',
      issuers: [{ issuer: stack.idp.issuer, audience: 'https://sluice.local/bigquery' }],
      connections: [{ name: 'acme', upstream: stack.emulator.url, project: PROJECT, credentials: { mode: 'none' }, require_referenced_tables: false }],
    };
    const page = { issuer: stack.idp.issuer, client_id: 'sluice-approver', session_secret: randomBytes(32).toString('hex') };
    for (const [config, served] of [[{ ...base, approvals: { page } }, true], [base, false]] as const) {
      const gateway = await createGateway({ config: resolveConfig(config), engine: stack.gateway.engine, hashKey: randomBytes(32), processMetrics: false });
      try {
        const url = await gateway.listen();
        const css = await fetch(`${url}/approve/assets/page.css`);
        expect(css.status).toBe(served ? 200 : 404);
        const home = await fetch(`${url}/approve`, { redirect: 'manual' });
        if (served) expect([200, 302, 303]).toContain(home.status);
        else expect(home.status).toBe(404);
      } finally {
        await gateway.close();
      }
    }
  });

  it('names what is wrong in an invalid configuration', () => {
    expect(() => resolveConfig({ issuers: [], connections: [] })).toThrow(ConfigError);
    expect(() =>
      resolveConfig({
        issuers: [{ issuer: 'https://idp.example', audience: 'a' }],
        connections: [{ name: 'a', upstream: 'http://x', project: 'p', credentials: { mode: 'impersonate' } }],
      }),
    ).toThrow(/credentials/);
    expect(() =>
      resolveConfig({
        issuers: [{ issuer: 'https://idp.example', audience: 'a' }],
        connections: [
          { name: 'a', upstream: 'http://x', project: 'p', credentials: { mode: 'none' } },
          { name: 'b', upstream: 'http://y', project: 'p', credentials: { mode: 'none' } },
        ],
      }),
    ).toThrow(/two connections/);
  });
});
