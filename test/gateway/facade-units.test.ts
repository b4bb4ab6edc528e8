// The facade's pure parts: request parsing, result shaping, job records and approval ids.
import { describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { registerDiscovery } from '../../gateway/bigquery/discovery.ts';
import { approvalId, DerivedApprovalIds } from '../../gateway/approval-requests.ts';
import { BigQueryError } from '../../gateway/bigquery/errors.ts';
import { parseInsertJob, parseQueryRequest } from '../../gateway/bigquery/query-request.ts';
import { maskQueryResults, projectRows, sanitizeJob, selectFields, type ResultPolicy } from '../../gateway/bigquery/results.ts';
import type { Approval, Identity } from '../../engine/schema-types.ts';
import type { TableSchema } from '../../gateway/masking/index.ts';

const KEY = 'k'.repeat(32);

function thrown(fn: () => unknown): BigQueryError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BigQueryError) return error;
    throw error;
  }
  throw new Error('expected a BigQueryError');
}

describe('query requests', () => {
  it('forwards the smaller of the caller\'s and the policy\'s byte cap, as a string', () => {
    const parsed = parseQueryRequest('p', { query: 'SELECT 1', useLegacySql: false, maximumBytesBilled: '5000' });
    expect(parsed.forward(1_000_000).maximumBytesBilled).toBe('5000');
    expect(parsed.forward(100).maximumBytesBilled).toBe('100');
    expect(parseQueryRequest('p', { query: 'SELECT 1', useLegacySql: false }).forward(undefined)).not.toHaveProperty('maximumBytesBilled');
  });

  it('accepts the #standardSQL prefix in place of useLegacySql=false and always forwards GoogleSQL', () => {
    const parsed = parseQueryRequest('p', { query: '#standardSQL\nSELECT 1' });
    expect(parsed.forward(undefined).useLegacySql).toBe(false);
    expect(thrown(() => parseQueryRequest('p', { query: 'SELECT 1', useLegacySql: 'no' })).code).toBe(400);
  });

  it('reads the default dataset against the URL project', () => {
    expect(parseQueryRequest('p', { query: 'SELECT 1', useLegacySql: false, defaultDataset: { datasetId: 'sales' } }).spec.defaultDataset).toEqual({ projectId: 'p', datasetId: 'sales' });
  });

  it('forwards the default dataset it decided on, never a second spelling of it BigQuery also reads', () => {
    // BigQuery's JSON parser takes a field's proto name (dataset_id) as well as its JSON name
    // (datasetId): a body carrying both would be decided on one dataset and run against the other.
    const dd = { datasetId: 'public', projectId: 'p', dataset_id: 'crm', project_id: 'q' };
    const query = parseQueryRequest('p', { query: 'SELECT * FROM holidays', useLegacySql: false, defaultDataset: dd });
    expect(query.spec.defaultDataset).toEqual({ projectId: 'p', datasetId: 'public' });
    expect(query.forward(undefined).defaultDataset).toEqual({ projectId: 'p', datasetId: 'public' });
    const job = parseInsertJob('p', { configuration: { query: { query: 'SELECT * FROM holidays', useLegacySql: false, defaultDataset: dd } } });
    expect(job.spec.defaultDataset).toEqual({ projectId: 'p', datasetId: 'public' });
    expect((job.forwardJob('j', undefined) as { configuration: { query: { defaultDataset: unknown } } }).configuration.query.defaultDataset).toEqual({ projectId: 'p', datasetId: 'public' });
  });

  it('builds the upstream job with the chosen id, the URL project and the cap', () => {
    const parsed = parseInsertJob('p', {
      jobReference: { projectId: 'p', location: 'EU' },
      configuration: { labels: { a: 'b' }, query: { query: 'SELECT 1', useLegacySql: false, priority: 'BATCH' } },
    });
    expect(parsed.jobId).toBeUndefined();
    expect(parsed.forwardJob('job_1', 42)).toEqual({
      jobReference: { projectId: 'p', jobId: 'job_1', location: 'EU' },
      configuration: { labels: { a: 'b' }, query: { query: 'SELECT 1', useLegacySql: false, priority: 'BATCH', maximumBytesBilled: '42' } },
    });
  });

  it('refuses a job for another project and odd job ids', () => {
    expect(thrown(() => parseInsertJob('p', { jobReference: { projectId: 'q' }, configuration: { query: { query: 'SELECT 1', useLegacySql: false } } })).code).toBe(400);
    expect(thrown(() => parseInsertJob('p', { jobReference: { jobId: 'a/b' }, configuration: { query: { query: 'SELECT 1', useLegacySql: false } } })).code).toBe(400);
  });

  it("refuses a script's key result statement other than its last: the masks are decided for the last", () => {
    const job = (scriptOptions: unknown) => ({ configuration: { query: { query: 'SELECT name FROM crm.customers; SELECT 1', useLegacySql: false, scriptOptions } } });
    const refused = thrown(() => parseInsertJob('p', job({ keyResultStatement: 'FIRST_SELECT' })));
    expect(refused.code).toBe(400);
    expect(refused.message).toContain('keyResultStatement "FIRST_SELECT"');
    expect(thrown(() => parseInsertJob('p', job({ somethingNew: 1 }))).code).toBe(400);
    for (const ok of [{ keyResultStatement: 'LAST' }, { statementTimeoutMs: '1000', statementByteBudget: '10' }, {}]) {
      expect((parseInsertJob('p', job(ok)).forwardJob('j', 1) as { configuration: { query: { scriptOptions?: unknown } } }).configuration.query.scriptOptions).toEqual(ok);
    }
  });

  it('lets `false` through for fields refused when set', () => {
    expect(() => parseQueryRequest('p', { query: 'SELECT 1', useLegacySql: false, createSession: false, continuous: false })).not.toThrow();
    expect(thrown(() => parseQueryRequest('p', { query: 'SELECT 1', useLegacySql: false, createSession: true })).reason).toBe('accessDenied');
  });
});

describe('result shaping', () => {
  const schema: TableSchema = {
    fields: [
      { name: 'id', type: 'STRING' },
      { name: 'address', type: 'RECORD', fields: [{ name: 'street', type: 'STRING' }, { name: 'city', type: 'STRING' }] },
      { name: 'tags', type: 'RECORD', mode: 'REPEATED', fields: [{ name: 'k', type: 'STRING' }, { name: 'v', type: 'STRING' }] },
    ],
  };
  const row = {
    f: [{ v: '1' }, { v: { f: [{ v: 'Main St' }, { v: 'Springfield' }] } }, { v: [{ v: { f: [{ v: 'a' }, { v: 'x' }] } }, { v: { f: [{ v: 'b' }, { v: 'y' }] } }] }],
  };

  it('projects rows onto selectedFields in table order, into records and repeated records', () => {
    expect(projectRows([row], schema, 'tags.v, id')).toEqual([{ f: [{ v: '1' }, { v: [{ v: { f: [{ v: 'x' }] } }, { v: { f: [{ v: 'y' }] } }] }] }]);
    expect(projectRows([row], schema, 'address.city')).toEqual([{ f: [{ v: { f: [{ v: 'Springfield' }] } }] }]);
    expect(projectRows([row], schema, undefined)).toEqual([row]);
    expect(thrown(() => projectRows([row], schema, 'nope')).code).toBe(400);
  });

  it('keeps the top-level keys a partial-response selector names', () => {
    const body = { kind: 'k', rows: [1], totalRows: '1', schema: {}, jobReference: {} };
    expect(selectFields(body, 'jobReference,totalRows,rows(f/v),pageToken')).toEqual({ rows: [1], totalRows: '1', jobReference: {} });
    expect(selectFields(body, undefined)).toBe(body);
  });

  it('moves a mask on an unnamed column to where the engine put it, and nowhere else', () => {
    const result = { schema: { fields: [{ name: '$col1', type: 'STRING' }, { name: 'id', type: 'STRING' }] }, rows: [{ f: [{ v: '123-45-6789' }, { v: '1' }] }] };
    const policy = { masks: [{ output: 'f0_', strategy: 'redact' as const }], outputs: ['f0_', 'id'] };
    expect(maskQueryResults('jobs.query', result, policy, KEY).rows).toEqual([{ f: [{ v: '[REDACTED]' }, { v: '1' }] }]);
    // Column counts differ: no guessing, the masker refuses.
    expect(thrown(() => maskQueryResults('jobs.query', result, { ...policy, outputs: ['f0_'] }, KEY)).reason).toBe('accessDenied');
    // The column at that position is one the policy input names: no guessing either.
    const named = { ...result, schema: { fields: [{ name: 'id', type: 'STRING' }, { name: 'x', type: 'STRING' }] } };
    expect(thrown(() => maskQueryResults('jobs.query', named, { masks: policy.masks, outputs: ['f0_', 'id'] }, KEY)).reason).toBe('accessDenied');
  });

  it('masks by position where BigQuery numbers unnamed columns over the whole result', () => {
    // SELECT 1, * FROM (SELECT 2, (SELECT name) FROM crm.customers): f0_, f1_, f2_ to BigQuery; the
    // analysis numbered each SELECT (f0_, f0__1, f1_), and its f1_ is BigQuery's f2_, not its f1_.
    const schema = { fields: ['f0_', 'f1_', 'f2_'].map((name) => ({ name, type: 'STRING' })) };
    const result = { schema, rows: [{ f: [{ v: '1' }, { v: '2' }, { v: 'Alice Smith' }] }] };
    const policy = { masks: [{ output: 'f1_', strategy: 'redact' as const }], outputs: ['f0_', 'f0__1', 'f1_'] };
    expect(maskQueryResults('jobs.query', result, policy, KEY).rows).toEqual([{ f: [{ v: '1' }, { v: '2' }, { v: '[REDACTED]' }] }]);
    // A named column where the statement has another name: not the same result, refused.
    const renamed = { ...result, schema: { fields: [{ name: 'f0_', type: 'STRING' }, { name: 'name', type: 'STRING' }, { name: 'f2_', type: 'STRING' }] } };
    expect(thrown(() => maskQueryResults('jobs.query', renamed, policy, KEY)).reason).toBe('accessDenied');
  });

  it('refuses rows that come without a schema, or do not match it, masks or not (the upstream failing: 502)', () => {
    const refusal = thrown(() => maskQueryResults('jobs.query', { rows: [row] }, { masks: [] }, KEY));
    expect([refusal.code, refusal.reason]).toEqual([502, 'backendError']);
    const schema = { fields: [{ name: 'n', type: 'INTEGER' }] };
    const mistyped = thrown(() => maskQueryResults('jobs.getQueryResults', { schema, rows: [{ f: [{ v: '123-45-6701' }] }] }, { masks: [] }, KEY));
    expect([mistyped.code, mistyped.reason]).toEqual([502, 'backendError']);
    expect(mistyped.message).toContain('row 0 field n holds a value that is not of its declared type');
    expect(mistyped.message).not.toContain('123-45-6701');
  });

  it("answers a write's result and job, which have no columns (no schema, or one without fields), as they are", () => {
    const scanned: ResultPolicy = { masks: [], outputs: [], contentScan: { detectors: ['ssn'], strategy: 'redact', scope: 'unexpected_answers' } };
    for (const schema of [undefined, {} as TableSchema]) {
      const answer = { jobReference: { jobId: 'j' }, jobComplete: true, numDmlAffectedRows: '1', ...(schema && { schema }) };
      expect(maskQueryResults('jobs.query', answer, scanned, KEY)).toEqual(answer);
      const job = { statistics: { query: { ...(schema && { schema }), numDmlAffectedRows: '1' } }, status: { errors: [] } };
      expect(sanitizeJob(job, scanned, KEY)).toEqual(job);
    }
    // Rows where the decided statement returns none are another statement's: refused.
    const rows = { jobReference: { jobId: 'j' }, schema: { fields: [{ name: 'ssn', type: 'STRING' }] }, rows: [{ f: [{ v: '123-45-6701' }] }] };
    const refused = thrown(() => maskQueryResults('jobs.query', rows, { ...scanned, rowless: true }, KEY));
    expect([refused.code, refused.reason]).toEqual([403, 'accessDenied']);
    expect(refused.message).not.toContain('123-45-6701');
    expect(maskQueryResults('jobs.query', { ...rows, rows: [] }, { ...scanned, rowless: true }, KEY).rows).toEqual([]);
    // Rows with a schema that has no fields are still the upstream failing.
    expect(thrown(() => maskQueryResults('jobs.query', { schema: {} as TableSchema, rows: [row] }, scanned, KEY)).code).toBe(502);
  });
});

describe('approval request ids', () => {
  const identity: Identity = { subject: 'agent', issuer: 'https://idp', kind: 'agent', groups: [], claims: {} };
  const approval: Approval = { approver_groups: ['owners'], min_approvals: 1, grant_ttl_seconds: 60, request_ttl_seconds: 600, scope: { kind: 'dataset', datasets: ['p.finance'] } };

  it('is stable for the same caller, statement and scope and differs otherwise', () => {
    const base = { identity, project: 'p', sqlHash: 'abc', approval };
    expect(approvalId(base)).toBe(approvalId({ ...base }));
    expect(approvalId(base)).not.toBe(approvalId({ ...base, identity: { ...identity, subject: 'other' } }));
    expect(approvalId(base)).not.toBe(approvalId({ ...base, sqlHash: 'abd' }));
    expect(approvalId(base)).toMatch(/^apr_[0-9a-f]{32}$/);
  });

  it('points at the approvals URL and lapses with the request TTL', async () => {
    const now = new Date('2027-01-01T00:00:00Z');
    const ticket = await new DerivedApprovalIds('https://sluice.example/approvals/').open({
      identity,
      project: 'p',
      sqlHash: 'abc',
      sql: 'SELECT 1',
      approval,
      reasons: [],
      input: {} as never,
      decision: { outcome: 'approve', reasons: [], masks: [] },
      now,
    });
    expect(ticket.url).toBe(`https://sluice.example/approvals/${ticket.id}`);
    expect(ticket.expiresAt).toBe(now.getTime() / 1000 + 600);
  });
});

describe('the discovery document', () => {
  it('built from the Host header, is kept out of shared caches; with public_url it is the same for everyone', async () => {
    for (const publicUrl of [undefined, 'https://sluice.example']) {
      const app = Fastify();
      registerDiscovery(app, publicUrl);
      const res = await app.inject({ url: '/$discovery/rest?version=v2', headers: { host: 'attacker.example' } });
      expect(res.statusCode).toBe(200);
      if (publicUrl === undefined) {
        expect(res.json().rootUrl).toBe('http://attacker.example/');
        expect(res.headers['cache-control']).toBe('private, no-store');
        expect(res.headers.vary).toMatch(/\bHost\b/);
      } else {
        expect(res.json().rootUrl).toBe('https://sluice.example/');
        expect(res.headers['cache-control']).toBeUndefined();
      }
      await app.close();
    }
  });
});
