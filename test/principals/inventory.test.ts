// The principal inventory after real traffic: agents with tokens from the real provider query the
// emulator through the gateway; a data owner (a person signed in through the provider) approves
// one of them. The inventory, read through the JSON API and the real CLI, names each principal
// with its calls by outcome, the datasets it read, its first and last call and its grant. The
// API refuses agents, people outside the reviewer groups and bad tokens, and records each refusal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRecords, verifyAudit } from '../../gateway/audit/index.ts';
import { REFERENCE_CLIENTS } from '../../demo/idp.ts';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { sluice } from '../support/cli.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

let stack: Stack;
let alice: string; // data-owners: a reviewer
let bob: string; // analysts: a person, not a reviewer
let started: number;
let finished: number;

const SALES = 'SELECT order_id FROM sales.orders ORDER BY order_id LIMIT 1';
const CRM = 'SELECT name FROM crm.customers ORDER BY customer_id LIMIT 1';
const FINANCE = 'SELECT entry_id FROM finance.ledger ORDER BY entry_id LIMIT 1';
const SECURITY = 'SELECT incident_id FROM security.incidents';

async function query(agent: string, sql: string): Promise<number> {
  const res = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, { method: 'POST', agent, body: JSON.stringify({ query: sql, useLegacySql: false }) });
  return res.status;
}

async function as(token: string | null, path: string): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(stack.gatewayUrl + path, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

beforeAll(async () => {
  stack = await startStack({
    idp: { webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }], clients: [...REFERENCE_CLIENTS, { name: 'sec-officer', groups: ['security-team'], kind: 'human' }] },
    config: { principals: { reviewer_groups: ['data-owners', 'security-team'] } },
  });
  [alice, bob] = await Promise.all([humanAccessToken(stack.idp, 'alice'), humanAccessToken(stack.idp, 'bob')]);

  started = Date.now();
  // reporting-agent (agents): two plain reads, a masked one, one held for approval, one denied.
  expect(await query('reporting-agent', SALES)).toBe(200);
  expect(await query('reporting-agent', CRM)).toBe(200);
  expect(await query('reporting-agent', SALES)).toBe(200);
  await query('reporting-agent', FINANCE); // held for approval (how the call is answered is the approvals API's business)
  expect(await query('reporting-agent', SECURITY)).toBe(403);
  // pii-agent (agents, pii-readers) reads the customers raw.
  expect(await query('pii-agent', CRM)).toBe(200);
  // analyst-bot asks for finance, alice approves, the query runs under the grant.
  await query('analyst-bot', FINANCE);
  const pending = await as(alice, '/approvals?status=pending');
  const id = pending.body.requests.find((r: any) => r.requester.subject === 'analyst-bot').id as string;
  const vote = await fetch(`${stack.gatewayUrl}/approvals/${id}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
    body: JSON.stringify({ comment: 'month-end close' }),
  });
  expect(vote.status).toBe(200);
  expect(await query('analyst-bot', FINANCE)).toBe(200);
  finished = Date.now();
});

afterAll(async () => {
  await stack?.close();
});

const issuerOf = () => stack.idp.issuer;
const path = (subject: string) => `/principals/${encodeURIComponent(issuerOf())}/${encodeURIComponent(subject)}`;

describe('the principal inventory after real traffic', () => {
  it('counts each principal’s calls by outcome, with its kind, groups and first and last call', async () => {
    const res = await as(alice, '/principals');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const bySubject = new Map<string, any>(res.body.principals.map((p: any) => [p.subject, p]));
    expect([...bySubject.keys()].sort()).toEqual(['analyst-bot', 'pii-agent', 'reporting-agent']);

    const reporting = bySubject.get('reporting-agent');
    expect(reporting).toMatchObject({ issuer: issuerOf(), kind: 'agent', groups: ['agents'], status: { disabled: false } });
    expect(reporting.requests).toEqual({ allow: 2, mask: 1, approve: 1, deny: 1, refused: 0, other: 0, total: 5 });
    expect(bySubject.get('pii-agent').requests).toMatchObject({ allow: 1, total: 1 });
    expect(bySubject.get('pii-agent').groups).toEqual(['agents', 'pii-readers']);
    // The official client's refused query is one call; the granted query another.
    expect(bySubject.get('analyst-bot').requests).toMatchObject({ approve: 1, allow: 1, total: 2 });

    const first = Date.parse(reporting.firstSeen);
    const last = Date.parse(reporting.lastSeen);
    expect(first).toBeGreaterThanOrEqual(started - 1);
    expect(last).toBeGreaterThan(first);
    expect(last).toBeLessThanOrEqual(finished + 1);
    // The same instants as the principal's first and last request records.
    const records = await listRecords(stack.gateway.database.db, { kinds: ['request'], subject: 'reporting-agent', order: 'oldest', limit: 100 });
    expect(records.map((r) => Date.parse(r.record.at))).toEqual(expect.arrayContaining([first, last]));
    expect(Date.parse(records[0]!.record.at)).toBe(first);
    expect(Date.parse(records.at(-1)!.record.at)).toBe(last);
  });

  it('shows the datasets a principal read and its active grant', async () => {
    const reporting = await as(alice, path('reporting-agent'));
    expect(reporting.status).toBe(200);
    // Reads that were answered: not the finance query held for approval, not the denied one.
    expect(reporting.body.principal.datasets.map((d: any) => [d.dataset, d.requests])).toEqual([
      ['acme-analytics.crm', 1],
      ['acme-analytics.sales', 2],
    ]);
    expect(reporting.body.principal.activeGrants).toEqual([]);

    const analyst = await as(alice, path('analyst-bot'));
    expect(analyst.body.principal.datasets.map((d: any) => d.dataset)).toEqual(['acme-analytics.finance']);
    expect(analyst.body.principal.activeGrants).toHaveLength(1);
    expect(analyst.body.principal.activeGrants[0]).toMatchObject({ subject: 'analyst-bot', status: 'active', scope: { kind: 'dataset', datasets: ['acme-analytics.finance'] } });
  });

  it('stays current: later calls are counted on the next read, once', async () => {
    expect(await query('pii-agent', SALES)).toBe(200);
    const once = await as(alice, path('pii-agent'));
    const twice = await as(alice, path('pii-agent'));
    expect(once.body.principal.requests).toMatchObject({ allow: 2, total: 2 });
    expect(twice.body.principal.requests).toEqual(once.body.principal.requests);
  });

  it('pages in a stable order with page tokens', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await as(alice, `/principals?limit=1${token ? `&page_token=${encodeURIComponent(token)}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.principals).toHaveLength(1);
      seen.push(res.body.principals[0].subject);
      token = res.body.next_page_token;
      pages++;
    } while (token && pages < 10);
    expect(seen).toEqual(['analyst-bot', 'pii-agent', 'reporting-agent']);
    // A reviewer in another reviewer group sees the same.
    const secOfficer = await stack.token('sec-officer');
    expect((await as(secOfficer, '/principals')).body.principals.map((p: any) => p.subject)).toEqual(seen);
  });

  it('refuses a page token it did not issue, and an unknown principal', async () => {
    for (const forged of ['not base64!', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('[1,2]').toString('base64url')]) {
      const res = await as(alice, `/principals?page_token=${encodeURIComponent(forged)}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_page_token');
    }
    expect((await as(alice, '/principals?limit=0')).status).toBe(400);
    const unknown = await as(alice, `/principals/${encodeURIComponent(issuerOf())}/nobody`);
    expect(unknown.status).toBe(404);
    // Another issuer's subject of the same name is another principal.
    expect((await as(alice, `/principals/${encodeURIComponent('https://elsewhere.example')}/reporting-agent`)).status).toBe(404);
  });

  it('refuses agents and people outside the reviewer groups with 403, and records each refusal', async () => {
    for (const [who, token] of [
      ['reporting-agent', await stack.token('reporting-agent')],
      ['pii-agent', await stack.token('pii-agent')],
      ['bob', bob],
    ] as const) {
      for (const route of ['/principals', path('reporting-agent'), `/principals?page_token=${'x'.repeat(3000)}`]) {
        const res = await as(token, route);
        expect(res.status, `${who} ${route}`).toBe(403);
        expect(res.body.error.code).toBe('not_a_reviewer');
        expect(JSON.stringify(res.body)).not.toContain('analyst-bot');
      }
    }
    const refusals = await listRecords(stack.gateway.database.db, { kinds: ['access_refused'], limit: 100 });
    const data = refusals.map((r) => r.record.data as any);
    expect(data.filter((d) => d.identity.subject === 'reporting-agent')).toHaveLength(3);
    expect(data.filter((d) => d.identity.subject === 'bob')).toHaveLength(3);
    expect(data.find((d) => d.identity.subject === 'reporting-agent' && d.route === 'principals.get')).toMatchObject({
      status: 403,
      identity: { kind: 'agent', groups: ['agents'] },
      error: { code: 'not_a_reviewer' },
    });
    // The new records chain like every other: the trail still verifies.
    expect((await verifyAudit(stack.gateway.database.db)).broken).toEqual([]);
  });

  it('answers 401 to a missing or bad token, and records it as a token failure', async () => {
    const missing = await as(null, '/principals');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="sluice"');
    const good = await stack.token('reporting-agent');
    const tampered = good.slice(0, -4) + (good.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    for (const token of ['garbage', tampered]) {
      const res = await as(token, path('analyst-bot'));
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(JSON.stringify(res.body)).not.toContain('analyst-bot');
    }
    const failures = (await listRecords(stack.gateway.database.db, { kinds: ['token_failure'], limit: 100 })).map((r) => r.record.data as any);
    expect(failures.filter((f) => f.route === 'principals.list' && f.reason === 'missing_token')).toHaveLength(1);
    expect(failures.filter((f) => f.route === 'principals.get')).toHaveLength(2);
    // Never the token itself.
    expect(JSON.stringify(failures)).not.toContain(tampered);
  });
});

describe('disabled state', () => {
  it('shows a principal disabled in principal_status as disabled, with why', async () => {
    const changedAt = Date.now();
    await stack.gateway.database.db
      .insertInto('principal_status')
      .values({ issuer: issuerOf(), subject: 'pii-agent', disabled: 1, reason: 'credentials leaked', signal: 'cli', changed_at_ms: changedAt, not_before_ms: null })
      .execute();
    const res = await as(alice, path('pii-agent'));
    expect(res.body.principal.status).toEqual({ disabled: true, reason: 'credentials leaked', signal: 'cli', changedAt: new Date(changedAt).toISOString() });
    const list = await as(alice, '/principals');
    expect(list.body.principals.filter((p: any) => p.status.disabled).map((p: any) => p.subject)).toEqual(['pii-agent']);
  });
});

describe('sluice principals list / show', () => {
  const storage = () => `sqlite:${stack.databaseFile}`;

  it('lists the inventory as a table and as JSON', async () => {
    const json = await sluice(['principals', 'list', '--storage', storage(), '--json']);
    expect(json.code, json.stderr).toBe(0);
    const principals = JSON.parse(json.stdout);
    expect(principals.map((p: any) => p.subject)).toEqual(['analyst-bot', 'pii-agent', 'reporting-agent']);
    expect(principals[2].requests).toMatchObject({ allow: 2, mask: 1, approve: 1, deny: 1 });

    const table = await sluice(['principals', 'list', '--storage', storage()]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ISSUER\s+SUBJECT\s+KIND\s+GROUPS/);
    expect(lines.find((l) => l.includes('reporting-agent'))).toMatch(/agent\s+agents\s+\S+\s+\S+\s+2\s+1\s+1\s+1\s+0\s+0\s+enabled/);
    expect(lines.find((l) => l.includes('pii-agent'))).toMatch(/disabled$/);
  });

  it('shows one principal with its datasets and grant; an unknown one exits 1', async () => {
    const json = await sluice(['principals', 'show', issuerOf(), 'analyst-bot', '--storage', storage(), '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ subject: 'analyst-bot', datasets: [{ dataset: 'acme-analytics.finance' }], activeGrants: [{ status: 'active' }] });
    const text = await sluice(['principals', 'show', issuerOf(), 'analyst-bot', '--storage', storage()]);
    expect(text.stdout).toContain('acme-analytics.finance');
    expect(text.stdout).toMatch(/grt_\w+\s+dataset acme-analytics\.finance/);

    const unknown = await sluice(['principals', 'show', issuerOf(), 'nobody', '--storage', storage()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no principal nobody');
    const missing = await sluice(['principals', 'list', '--storage', 'sqlite:/nonexistent/sluice.sqlite']);
    expect(missing.code).toBe(2);
    const help = await sluice(['principals', 'list', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--storage');
  });
});
