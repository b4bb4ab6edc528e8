// The MCP door end to end, with the official TypeScript SDK client (@modelcontextprotocol/client)
// against the running gateway, the emulator upstream and the real OIDC provider: the tools, the
// same masks and refusals as the REST door (one shared case list), approvals (held call and
// wait_for_approval), authorization as the MCP specification requires, attacks, and the records.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRecords, verifyAudit } from '../../gateway/audit/index.ts';
import { INTERNAL_CALL_HEADER } from '../../gateway/internal-calls.ts';
import { rowObjects } from '../../gateway/mcp/rows.ts';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { sluice } from '../support/cli.ts';
import { PII_CASES } from '../support/pii-cases.ts';
import { refusal } from '../support/refusals.ts';
import { seededPii } from '../support/seed.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const FINANCE_SQL = 'SELECT account, SUM(amount) AS total FROM finance.ledger GROUP BY account ORDER BY account';

let stack: Stack;
let secrets: string[];
let alice: string;
const clients: Client[] = [];

interface Connected {
  client: Client;
  /** The gateway's request id of the last MCP exchange (its `x-request-id`). */
  lastRequestId(): string;
}

/** The official client, connected to the gateway's /mcp as `agent` (or with the given token). */
async function connect(agent: string, token?: string, era: 'legacy' | 'modern' = 'legacy'): Promise<Connected> {
  const bearer = token ?? (await stack.mcpToken(agent));
  let last = '';
  const transport = new StreamableHTTPClientTransport(new URL(stack.mcpResource), {
    requestInit: { headers: { authorization: `Bearer ${bearer}` } },
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      if (typeof init?.body === 'string' && init.body.includes('"tools/call"')) last = res.headers.get('x-request-id') ?? last;
      return res;
    },
  });
  // The SDK client speaks the 2025 revision unless told to negotiate: both eras are served.
  const client = new Client({ name: 'sluice-tests', version: '1.0.0' }, era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {});
  await client.connect(transport);
  clients.push(client);
  return { client, lastRequestId: () => last };
}

async function call(c: Connected, name: string, args: Record<string, unknown>, options: Parameters<Client['callTool']>[1] = undefined) {
  return (await c.client.callTool({ name, arguments: args }, options)) as {
    isError?: boolean;
    content: { type: string; text: string }[];
    structuredContent?: any;
    _meta?: Record<string, any>;
  };
}

const errorOf = (result: { _meta?: Record<string, any> }) => result._meta?.['sluice.dev/error'] as { code: number; reason: string; approval_request_id?: string; approval_url?: string | null };

function expectNoSecrets(value: unknown): void {
  const text = JSON.stringify(value);
  expect(secrets.filter((s) => text.includes(s))).toEqual([]);
}

async function asAlice(path: string, body?: object): Promise<{ status: number; body: any }> {
  const res = await fetch(stack.gatewayUrl + path, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${alice}`, ...(body && { 'content-type': 'application/json' }) },
    ...(body && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

async function mcpRecords() {
  return (await listRecords(stack.gateway.database.db, { order: 'oldest', limit: 100_000 })).map((r) => r.record);
}

beforeAll(async () => {
  stack = await startStack({ idp: { webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] } });
  secrets = await seededPii();
  alice = await humanAccessToken(stack.idp, 'alice');
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await stack?.close();
});

describe('tools', () => {
  it('lists the tools with input and output schemas', async () => {
    const agent = await connect('reporting-agent');
    const { tools } = await agent.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      ['check_query', 'execute_sql', 'get_dataset_info', 'get_query_results', 'get_table_info', 'list_dataset_ids', 'list_table_ids', 'wait_for_approval'].sort(),
    );
    for (const tool of tools) {
      expect(tool.inputSchema.type, tool.name).toBe('object');
      expect(tool.outputSchema?.type, tool.name).toBe('object');
      expect(tool.description!.length, tool.name).toBeGreaterThan(40);
    }
    const execute = tools.find((t) => t.name === 'execute_sql')!;
    expect(execute.inputSchema.required).toEqual(['sql']);
  });

  it('runs a PII query masked exactly as over REST, with the masks listed', async () => {
    const agent = await connect('reporting-agent');
    const sql = 'SELECT customer_id, name, ssn, email FROM crm.customers ORDER BY customer_id';
    const result = await call(agent, 'execute_sql', { sql });
    expect(result.isError).toBeFalsy();
    const out = result.structuredContent;
    expect(out.rows).toHaveLength(20);
    expect(out.rows[0]).toMatchObject({ customer_id: 'C001', ssn: '***-**-6701', email: expect.stringMatching(/^\*\*\*@/) });
    expect(out.masks.map((m: { column: string }) => m.column).sort()).toEqual(['email', 'name', 'ssn']);
    expect(out.columns.map((c: { name: string }) => c.name)).toEqual(['customer_id', 'name', 'ssn', 'email']);
    expect(out.maximum_bytes_billed).toBeGreaterThan(0);
    expect(JSON.parse(result.content[0]!.text)).toEqual(out);
    expectNoSecrets(result);

    const rest = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, { method: 'POST', agent: 'reporting-agent', body: JSON.stringify({ query: sql, useLegacySql: false }) });
    expect(rest.status).toBe(200);
    expect(out.rows).toEqual(rowObjects(rest.body.schema, rest.body.rows));
  });

  it('gives a PII reader the raw values, and reads a job\'s rows again with get_query_results', async () => {
    const reader = await connect('pii-agent');
    const first = await call(reader, 'execute_sql', { sql: 'SELECT customer_id, ssn FROM crm.customers ORDER BY customer_id' });
    expect(first.isError).toBeFalsy();
    expect(first.structuredContent.masks).toEqual([]);
    expect(secrets).toContain(first.structuredContent.rows[0].ssn);
    // The emulator answers every row at once (no page tokens); the job's rows read again are the same.
    const again = await call(reader, 'get_query_results', { job_id: first.structuredContent.job_id });
    expect(again.isError, again.content[0]?.text).toBeFalsy();
    expect(again.structuredContent.rows).toEqual(first.structuredContent.rows);
  });

  it('reads a masked job\'s rows again with the masks decided when it ran', async () => {
    const agent = await connect('reporting-agent');
    const first = await call(agent, 'execute_sql', { sql: 'SELECT customer_id, ssn FROM crm.customers ORDER BY customer_id' });
    const again = await call(agent, 'get_query_results', { job_id: first.structuredContent.job_id });
    expect(again.structuredContent.rows).toEqual(first.structuredContent.rows);
    expect(again.structuredContent.masks).toEqual(first.structuredContent.masks);
    expect(again.structuredContent.masks).toEqual([expect.objectContaining({ column: 'ssn' })]);
    expectNoSecrets(again);
  });

  it('refuses a DROP as a tool error with the REST reason, and runs nothing upstream', async () => {
    const agent = await connect('reporting-agent');
    const before = await stack.upstreamJobs();
    const result = await call(agent, 'execute_sql', { sql: 'DROP TABLE crm.customers' });
    expect(result.isError).toBe(true);
    expect(errorOf(result)).toMatchObject({ code: 403, reason: 'accessDenied' });
    expect(result.content[0]!.text).toMatch(/^accessDenied \(HTTP 403\): Access Denied: the sluice policy refused this query: .*\[category_denied/);
    expect(await stack.upstreamJobs()).toBe(before);
    const [rows] = await stack.direct().query('SELECT COUNT(*) AS n FROM crm.customers');
    expect(rows[0].n).toBe(20);
  });

  it('tells the decision without running anything (check_query)', async () => {
    const agent = await connect('reporting-agent');
    const before = await stack.upstreamJobs();
    const masked = await call(agent, 'check_query', { sql: 'SELECT ssn FROM crm.customers' });
    expect(masked.structuredContent).toMatchObject({ outcome: 'mask', masks: [{ column: 'ssn', strategy: expect.any(String) }], estimated_bytes: expect.any(Number) });
    const approve = await call(agent, 'check_query', { sql: FINANCE_SQL });
    expect(approve.structuredContent).toMatchObject({ outcome: 'approve', approval: { approver_groups: expect.arrayContaining(['data-owners']) } });
    const deny = await call(agent, 'check_query', { sql: 'DROP TABLE crm.customers' });
    expect(deny.structuredContent).toMatchObject({ outcome: 'deny', estimated_bytes: null });
    expect(deny.structuredContent.reasons.map((r: { code: string }) => r.code)).toContain('category_denied');
    // Dry runs only (the emulator counts them as jobs), and no approval request was filed.
    const pending = await asAlice('/approvals?status=pending');
    expect(JSON.stringify(pending.body)).not.toContain('finance.ledger');
    expect(await stack.upstreamJobs()).toBeLessThanOrEqual(before + 2);
  });
});

describe('metadata', () => {
  it('lists what the caller may see and shows each column\'s mask for this caller', async () => {
    const agent = await connect('reporting-agent');
    const datasets = await call(agent, 'list_dataset_ids', {});
    expect(datasets.isError, datasets.content[0]?.text).toBeFalsy();
    expect(datasets.structuredContent.dataset_ids).toEqual(expect.arrayContaining(['crm', 'sales']));
    const tables = await call(agent, 'list_table_ids', { dataset: 'crm' });
    expect(tables.structuredContent.table_ids).toContain('customers');
    const info = await call(agent, 'get_table_info', { dataset: 'crm', table: 'customers' });
    expect(info.isError, info.content[0]?.text).toBeFalsy();
    const columns = info.structuredContent.columns as { name: string; mask?: { strategy: string; source?: string }; fields?: { name: string; mask?: unknown }[] }[];
    const byName = Object.fromEntries(columns.map((c) => [c.name, c]));
    expect(byName.ssn!.mask).toMatchObject({ strategy: expect.any(String), source: expect.stringMatching(/crm\.customers\.ssn$/) });
    // customer_id has no policy mask; the content scan still reads it (crm is scanned).
    expect(byName.customer_id!.mask).toEqual({ column: 'customer_id', strategy: 'content_scan:redact' });
    expect(byName.address!.fields!.find((f) => f.name === 'street')!.mask).toBeDefined();
    const dataset = await call(agent, 'get_dataset_info', { dataset: 'crm' });
    expect(dataset.structuredContent.dataset.datasetReference).toMatchObject({ datasetId: 'crm' });

    // A raw reader sees no masks.
    const reader = await connect('pii-agent');
    const raw = await call(reader, 'get_table_info', { dataset: 'crm', table: 'customers' });
    expect((raw.structuredContent.columns as { mask?: unknown }[]).filter((c) => c.mask)).toEqual([]);
  });
});

describe('the 2026-07-28 revision (stateless, per-request envelope)', () => {
  it('serves the same tools, masks and refusals', async () => {
    const agent = await connect('reporting-agent', undefined, 'modern');
    expect(agent.client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect((await agent.client.listTools()).tools).toHaveLength(8);
    const masked = await call(agent, 'execute_sql', { sql: 'SELECT customer_id, ssn FROM crm.customers ORDER BY customer_id' });
    expect(masked.structuredContent.rows[0]).toEqual({ customer_id: 'C001', ssn: '***-**-6701' });
    expectNoSecrets(masked);
    const refused = await call(agent, 'execute_sql', { sql: 'DROP TABLE crm.customers' });
    expect(errorOf(refused)).toMatchObject({ code: 403, reason: 'accessDenied' });
    const unknown = await agent.client.callTool({ name: 'nope', arguments: {} }).then((r) => JSON.stringify(r), (e: Error) => e.message);
    expect(unknown).toMatch(/nope/);
  });
});

describe('the PII evasion cases, through both doors', () => {
  it.each(PII_CASES.map((c) => [c.sql, c] as const))('%s', async (_sql, c) => {
    const mcp = await connect('reporting-agent');
    const viaMcp = await call(mcp, 'execute_sql', { sql: c.sql });
    const rest = stack.client('reporting-agent');
    if (c.expect === 'masked') {
      expect(viaMcp.isError, viaMcp.content[0]?.text).toBeFalsy();
      expect(viaMcp.structuredContent.rows.length).toBeGreaterThan(0);
      const [rows] = await rest.query(c.sql);
      expect(rows.length).toBe(viaMcp.structuredContent.rows.length);
      expectNoSecrets([viaMcp, rows]);
      const raw = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, { method: 'POST', agent: 'reporting-agent', body: JSON.stringify({ query: c.sql, useLegacySql: false }) });
      expect(viaMcp.structuredContent.rows).toEqual(rowObjects(raw.body.schema, raw.body.rows));
    } else {
      expect(viaMcp.isError).toBe(true);
      // The reason codes close the message: [code, code, …].
      const codes = new RegExp(`\\[(\\w+, )*${c.expect.refused}[,\\]]`);
      expect(viaMcp.content[0]!.text).toMatch(codes);
      const err = await refusal(rest.query(c.sql));
      expect(err.code).toBe(errorOf(viaMcp).code);
      expect(err.errors[0]!.reason).toBe(errorOf(viaMcp).reason);
      expect(err.message).toMatch(codes);
    }
  });
});

describe('approvals', () => {
  it('answers approvalRequired with the request id and link; wait_for_approval re-runs the query once approved', async () => {
    const agent = await connect('reporting-agent');
    const first = await call(agent, 'execute_sql', { sql: FINANCE_SQL });
    expect(first.isError).toBe(true);
    const error = errorOf(first);
    expect(error).toMatchObject({ code: 403, reason: 'approvalRequired', approval_request_id: expect.any(String), approval_url: expect.stringContaining('/approvals') });
    expect(first.content[0]!.text).toContain(`wait_for_approval with approval_request_id ${error.approval_request_id}`);

    const pending = await call(agent, 'wait_for_approval', { approval_request_id: error.approval_request_id, timeout_seconds: 1 });
    expect(pending.isError).toBeFalsy();
    expect(pending.structuredContent).toMatchObject({ status: 'pending', result: null });

    // Another agent cannot wait on (or learn about) this request.
    const other = await connect('pii-agent');
    const stolen = await call(other, 'wait_for_approval', { approval_request_id: error.approval_request_id, timeout_seconds: 1 });
    expect(stolen.isError).toBe(true);
    expect(errorOf(stolen)).toMatchObject({ code: 404, reason: 'notFound' });
    const unknown = await call(other, 'wait_for_approval', { approval_request_id: 'no-such-request', timeout_seconds: 1 });
    expect(unknown.content[0]!.text.replace('no-such-request', 'ID')).toBe(stolen.content[0]!.text.replace(error.approval_request_id!, 'ID'));

    const waiting = call(agent, 'wait_for_approval', { approval_request_id: error.approval_request_id, timeout_seconds: 30 });
    await new Promise((r) => setTimeout(r, 300));
    expect((await asAlice(`/approvals/${error.approval_request_id}/approve`, { comment: 'month-end close' })).status).toBe(200);
    const done = await waiting;
    expect(done.isError, done.content[0]?.text).toBeFalsy();
    expect(done.structuredContent.status).toBe('approved');
    expect(done.structuredContent.result.rows.length).toBeGreaterThan(0);
    const [direct] = await stack.direct().query(FINANCE_SQL);
    expect(done.structuredContent.result.rows.map((r: { account: string }) => r.account)).toEqual(direct.map((r: { account: string }) => r.account));
  });

  it('holds execute_sql until an approver decides, with progress notifications while it waits', async () => {
    const agent = await connect('engineer-bot');
    const progress: string[] = [];
    const held = call(agent, 'execute_sql', { sql: FINANCE_SQL, wait_for_approval_seconds: 60 }, { onprogress: (p) => void progress.push(p.message ?? ''), timeout: 90_000 });
    // The request appears for approvers while the call is held; alice approves it after the first progress report.
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const list = await asAlice('/approvals?status=pending');
      id = (list.body.requests ?? list.body).find?.((r: { requester: { subject: string } }) => r.requester.subject === 'engineer-bot')?.id;
    }
    expect(id).toEqual(expect.any(String));
    for (let i = 0; i < 100 && progress.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(progress[0]).toMatch(/held for an approval/);
    expect((await asAlice(`/approvals/${id}/approve`, { comment: 'ok' })).status).toBe(200);
    const result = await held;
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    expect(result.structuredContent.rows.length).toBeGreaterThan(0);
  }, 60_000);

  it('reports a rejection as accessDenied with the approver\'s comment', async () => {
    const agent = await connect('analyst-bot');
    const first = await call(agent, 'execute_sql', { sql: FINANCE_SQL });
    const id = errorOf(first).approval_request_id!;
    expect(id).toEqual(expect.any(String));
    expect((await asAlice(`/approvals/${id}/reject`, { comment: 'not for analysts' })).status).toBe(200);
    const result = await call(agent, 'wait_for_approval', { approval_request_id: id, timeout_seconds: 5 });
    expect(result.isError).toBe(true);
    expect(errorOf(result)).toMatchObject({ code: 403, reason: 'accessDenied' });
    expect(result.content[0]!.text).toContain('rejected');
    expect(result.content[0]!.text).toContain('not for analysts');
  });
});

describe('authorization (MCP specification)', () => {
  it('serves protected-resource metadata naming the trusted issuer', async () => {
    const url = new URL(stack.mcpResource);
    const res = await fetch(`${url.origin}/.well-known/oauth-protected-resource${url.pathname}`);
    expect(res.status).toBe(200);
    const metadata = (await res.json()) as Record<string, unknown>;
    // RFC 9728: `resource` is the identifier the client used; the authorization servers issue its tokens.
    expect(metadata.resource).toBe(stack.mcpResource);
    expect(metadata.authorization_servers).toEqual([stack.idp.issuer]);
    expect(metadata.bearer_methods_supported).toEqual(['header']);
  });

  it('answers a call without a token with 401 and a challenge pointing at the metadata, and records it', async () => {
    const url = new URL(stack.mcpResource);
    const res = await fetch(stack.mcpResource, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'execute_sql', arguments: { sql: 'SELECT 1' } } }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${url.origin}/.well-known/oauth-protected-resource${url.pathname}"`);
    const record = (await mcpRecords()).filter((r) => r.kind === 'token_failure').at(-1)!;
    expect(record.data).toMatchObject({ route: 'mcp', reason: 'missing_token', door: { protocol: 'mcp', method: 'tools/call', tool: 'execute_sql' } });
  });

  it('refuses a token issued for another audience (the REST API\'s), and the MCP token on the REST API', async () => {
    const restToken = await stack.token('reporting-agent');
    const res = await fetch(stack.mcpResource, {
      method: 'POST',
      headers: { authorization: `Bearer ${restToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata="[^"]+", error="invalid_token", error_description="[^"]*audience/);
    const mcpToken = await stack.mcpToken('reporting-agent');
    const rest = await fetch(`${stack.gatewayUrl}/bigquery/v2/projects/${PROJECT}/queries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${mcpToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'SELECT 1' }),
    });
    expect(rest.status).toBe(401);
  });
});

describe('bad input and attacks', () => {
  it('answers an unknown tool, malformed arguments and oversized SQL with errors, and records each', async () => {
    const agent = await connect('reporting-agent');
    const unknown = await agent.client.callTool({ name: 'drop_everything', arguments: {} }).then(
      (r) => ({ isError: r.isError, text: JSON.stringify(r) }),
      (e: Error) => ({ isError: true, text: e.message }),
    );
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toMatch(/drop_everything/);
    const unknownId = agent.lastRequestId();

    const malformed = await agent.client.callTool({ name: 'execute_sql', arguments: { sql: 42 } }).then(
      (r) => ({ isError: r.isError, text: JSON.stringify(r) }),
      (e: Error) => ({ isError: true, text: e.message }),
    );
    expect(malformed.isError).toBe(true);
    expect(malformed.text).toMatch(/sql/);

    const huge = await agent.client.callTool({ name: 'execute_sql', arguments: { sql: `SELECT '${'x'.repeat(110_000)}' AS x` } }).then(
      (r) => ({ isError: r.isError, text: JSON.stringify(r) }),
      (e: Error) => ({ isError: true, text: e.message }),
    );
    expect(huge.isError).toBe(true);
    expect(huge.text).toMatch(/longer than 102400 bytes/);

    const records = await mcpRecords();
    const byId = records.find((r) => r.kind === 'request' && r.data.request_id === unknownId);
    // A name that is none of the gateway's tools is recorded as `other`: the record holds no text the caller chose.
    expect(byId?.data).toMatchObject({ route: 'mcp.other', error: { reason: 'invalid' }, door: { method: 'tools/call', tool: 'other' } });
    expect(JSON.stringify(byId)).not.toContain('drop_everything');
    const refusedCalls = records.filter((r) => r.kind === 'request' && r.data.route === 'mcp.execute_sql' && r.data.status >= 400 && /sql/i.test(r.data.error?.message ?? ''));
    expect(refusedCalls.length).toBeGreaterThanOrEqual(2);
    // The gateway is unaffected.
    expect((await call(agent, 'execute_sql', { sql: 'SELECT 1 AS one' })).structuredContent.rows).toEqual([{ one: '1' }]);
  });

  it('takes a flood of bad-token calls and garbage bodies, records each, and keeps serving', async () => {
    const before = (await mcpRecords()).length;
    const forged = (await stack.mcpToken('reporting-agent')).replace(/\.[^.]+$/, '.AAAA');
    const floods = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        fetch(stack.mcpResource, {
          method: 'POST',
          headers: { authorization: `Bearer ${i % 2 ? forged : 'not-a-jwt'}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'execute_sql', arguments: { sql: 'SELECT ssn FROM crm.customers' } } }),
        }).then((r) => r.status),
      ),
    );
    expect(new Set(floods)).toEqual(new Set([401]));
    const token = await stack.mcpToken('reporting-agent');
    const garbage = await fetch(stack.mcpResource, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{"jsonrpc": "2.0", "id": 1, "method": ',
    });
    expect(garbage.status).toBeGreaterThanOrEqual(400);
    expect(await garbage.text()).toMatch(/Parse error|parse/i);
    const records = (await mcpRecords()).slice(before);
    expect(records.filter((r) => r.kind === 'token_failure' && r.data.route === 'mcp')).toHaveLength(40);
    expect(records.some((r) => r.kind === 'request' && r.data.route === 'mcp' && /not JSON/.test(r.data.error?.message ?? ''))).toBe(true);
    // Someone else's session id confers nothing: the door is stateless and every call is judged on its own token.
    const res = await fetch(stack.mcpResource, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'pii-agents-session', 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'execute_sql', arguments: { sql: "SELECT ssn FROM crm.customers WHERE customer_id = 'C001'" } } }),
    });
    const text = await res.text();
    expect(text).toContain('***-**-6701');
    expectNoSecrets(text);
  });

  it('refuses subscriptions/listen at once (nothing is ever sent on it) instead of holding a stream open, and records it', async () => {
    const token = await stack.mcpToken('reporting-agent');
    const requestId = `mcp-listen-${Date.now()}`;
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'listener', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} };
    const res = await fetch(stack.mcpResource, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'subscriptions/listen',
        'x-request-id': requestId,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'subscriptions/listen', params: { notifications: { toolsListChanged: true }, _meta: meta } }),
      signal: AbortSignal.timeout(5000),
    });
    // The answer ends: a stream held open would time out here.
    const body = JSON.parse(await res.text());
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32601 } });
    const record = (await mcpRecords()).find((r) => r.kind === 'request' && r.data.request_id === requestId);
    expect(record?.data).toMatchObject({ route: 'mcp', status: 400, door: { method: 'subscriptions/listen' }, error: { reason: 'invalid' } });
  });

  it('keeps what a client names out of /metrics and the records unless the gateway knows it (methods, tool names)', async () => {
    const series = async () => {
      const text = String((await stack.fetch('/metrics', { agent: null })).body);
      return { text, count: text.split('\n').filter((l) => l.startsWith('sluice_mcp_calls_total{')).length };
    };
    const before = await series();
    const beforeRecords = (await mcpRecords()).length;
    const post = (body: object, token?: string) =>
      fetch(stack.mcpResource, {
        method: 'POST',
        headers: { ...(token && { authorization: `Bearer ${token}` }), 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify(body),
      });
    const JUNK_METHOD = 'ssn 123-45-6789';
    const JUNK_TOOL = 'jane.doe@example.com 4111111111111111';
    const junk = (i: number) => `junk-method-${i}-${Math.random().toString(36).slice(2)}`;
    // Without a token: any method, any tool name.
    const statuses = await Promise.all([
      post({ jsonrpc: '2.0', id: 1, method: JUNK_METHOD }),
      post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: JUNK_TOOL, arguments: {} } }),
      ...Array.from({ length: 300 }, (_, i) => post({ jsonrpc: '2.0', id: i + 3, method: junk(i) })),
    ].map((p) => p.then((r) => r.status)));
    expect(new Set(statuses)).toEqual(new Set([401]));
    // With a token: an unknown method and an unknown tool name.
    const token = await stack.mcpToken('reporting-agent');
    const unknownMethod = await post({ jsonrpc: '2.0', id: 1, method: JUNK_METHOD }, token);
    expect(unknownMethod.status).toBeGreaterThanOrEqual(200);
    await unknownMethod.text();
    const unknownTool = await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: JUNK_TOOL, arguments: {} } }, token);
    await unknownTool.text();

    const after = await series();
    // Bounded: the refused calls add at most the `other` series, however many names were sent.
    expect(after.count - before.count).toBeLessThanOrEqual(3);
    expect(after.text).toContain('sluice_mcp_calls_total{method="other",tool="",outcome="unauthenticated"}');
    expect(after.text).toContain('sluice_mcp_calls_total{method="tools/call",tool="other",outcome="unauthenticated"}');
    expect(after.text).toContain('sluice_mcp_calls_total{method="tools/call",tool="other",outcome="protocol_error"}');
    for (const text of [JUNK_METHOD, JUNK_TOOL, 'junk-method', '123-45-6789', 'jane.doe@example.com', '4111111111111111']) {
      expect(after.text.includes(text), `${text} in /metrics`).toBe(false);
    }
    const records = (await mcpRecords()).slice(beforeRecords);
    expect(records.filter((r) => r.kind === 'token_failure')).toHaveLength(302);
    const stored = JSON.stringify(records);
    for (const text of [JUNK_METHOD, JUNK_TOOL, 'junk-method', '123-45-6789', 'jane.doe@example.com', '4111111111111111']) {
      expect(stored.includes(text), `${text} in the records`).toBe(false);
    }
    expect(records.some((r) => r.kind === 'request' && r.data.route === 'mcp.other' && r.data.door?.tool === 'other')).toBe(true);
  });

  it('keeps the algorithm name of an unverified token out of the answer, its challenge and the records unless it is a JWS algorithm', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const forged = (alg: string) => `${b64({ alg, typ: 'JWT' })}.${b64({ iss: stack.idp.issuer, sub: 'reporting-agent', exp: 4_102_444_800 })}.AAAA`;
    const JUNK = ['jane.doe@example.com Evangeline Quarrington-Voss', 'x\r\nSet-Cookie: session=stolen'];
    const beforeRecords = (await mcpRecords()).length;
    for (const alg of [...JUNK, 'HS256']) {
      const token = forged(alg);
      const mcp = await fetch(stack.mcpResource, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      const mcpText = await mcp.text();
      expect(mcp.status, mcpText).toBe(401);
      const challenge = mcp.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/error="invalid_token"/);
      const rest = await fetch(`${stack.gatewayUrl}/bigquery/v2/projects/${PROJECT}/queries`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'SELECT 1', useLegacySql: false }),
      });
      const restText = await rest.text();
      expect(rest.status).toBe(401);
      if (alg === 'HS256') {
        // A JWS algorithm's name says what was refused.
        expect(challenge).toContain('HS256');
        expect(restText).toContain('HS256');
      } else {
        for (const text of [mcpText, challenge, restText]) expect(text).not.toContain(alg.slice(0, 12));
      }
    }
    const records = (await mcpRecords()).slice(beforeRecords);
    expect(records.filter((r) => r.kind === 'token_failure' && r.data.reason === 'disallowed_algorithm')).toHaveLength(6);
    const stored = JSON.stringify(records) + stack.logs.join('');
    for (const alg of JUNK) expect(stored).not.toContain(alg.slice(0, 12));
  });

  it('never serves one agent\'s job to another', async () => {
    const reader = await connect('pii-agent');
    const own = await call(reader, 'execute_sql', { sql: 'SELECT customer_id, ssn FROM crm.customers ORDER BY customer_id', max_results: 2 });
    const thief = await connect('reporting-agent');
    const stolen = await call(thief, 'get_query_results', { job_id: own.structuredContent.job_id });
    expect(stolen.isError).toBe(true);
    expect(errorOf(stolen)).toMatchObject({ code: 403, reason: 'accessDenied' });
    expectNoSecrets(stolen);
  });

  it('runs no tool under an odd spelling of its name (case, whitespace, lookalike letters, NUL)', async () => {
    const agent = await connect('reporting-agent');
    for (const name of ['Execute_SQL', 'EXECUTE_SQL', ' execute_sql', 'execute_sql ', 'execute_sql\n', 'ex\u0435cute_sql', 'execute\u2010sql', 'execute_sql\u0000', 'execute_sql\u200b']) {
      const answer = await agent.client.callTool({ name, arguments: { sql: "SELECT ssn FROM crm.customers WHERE customer_id = 'C001'" } }).then(
        (r) => ({ isError: r.isError, text: JSON.stringify(r) }),
        (e: Error) => ({ isError: true, text: e.message }),
      );
      expect(answer.isError, JSON.stringify(name)).toBe(true);
      expect(answer.text).not.toContain('***-**-6701');
      expectNoSecrets(answer);
    }
  });

  it('refuses ids that are path segments or name another table, through every tool, as the REST door does', async () => {
    const agent = await connect('reporting-agent');
    const attempts: [string, Record<string, unknown>][] = [
      ['list_dataset_ids', { project: '..' }],
      ['list_dataset_ids', { project: `../${PROJECT}` }],
      ['list_table_ids', { dataset: '..' }],
      ['list_table_ids', { dataset: 'crm/../hr' }],
      ['get_dataset_info', { dataset: '.' }],
      ['get_table_info', { dataset: '..', table: 'customers' }],
      ['get_table_info', { dataset: 'crm', table: '../customers' }],
      ['get_query_results', { job_id: '..' }],
      ['get_query_results', { job_id: '../../datasets/crm' }],
      ['execute_sql', { sql: 'SELECT 1 AS one', project: `${PROJECT}/../x` }],
      ['execute_sql', { sql: 'SELECT 1 AS one', default_dataset: `${PROJECT}.crm.customers` }],
      ['check_query', { sql: 'SELECT 1 AS one', default_dataset: `${PROJECT}.crm.customers` }],
      ['check_query', { sql: 'SELECT 1 AS one', default_dataset: '../x.crm' }],
    ];
    for (const [tool, args] of attempts) {
      const answer = await call(agent, tool, args);
      expect(answer.isError, `${tool} ${JSON.stringify(args)}: ${answer.content[0]?.text}`).toBe(true);
      expect(errorOf(answer), `${tool} ${JSON.stringify(args)}: ${answer.content[0]?.text}`).toMatchObject({ code: 400, reason: 'invalid' });
    }
    // check_query reaches the enforcer without the facade's routes, and checks the project id as they do.
    for (const project of [`../${PROJECT}`, '..', `${PROJECT}/x`, PROJECT.toUpperCase()]) {
      const answer = await call(agent, 'check_query', { sql: 'SELECT 1 AS one', project });
      expect(answer.isError, `${project}: ${answer.content[0]?.text}`).toBe(true);
      expect(errorOf(answer)).toMatchObject({ code: 400, reason: 'invalid' });
    }
  });

  it('serves a flood of concurrent tool calls from one agent, each judged on its own', async () => {
    const agent = await connect('reporting-agent');
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call(agent, i % 2 ? 'check_query' : 'execute_sql', { sql: "SELECT ssn FROM crm.customers WHERE customer_id = 'C001'" }),
      ),
    );
    for (const [i, a] of answers.entries()) {
      expect(a.isError, a.content[0]?.text).toBeFalsy();
      if (i % 2) expect(a.structuredContent.outcome).toBe('mask');
      else expect(a.structuredContent.rows).toEqual([{ ssn: '***-**-6701' }]);
    }
    expectNoSecrets(answers);
  });

  it('refuses a forged internal-call header on the REST API, and records it', async () => {
    const res = await fetch(`${stack.gatewayUrl}/bigquery/v2/projects/${PROJECT}/queries`, {
      method: 'POST',
      headers: { [INTERNAL_CALL_HEADER]: 'guessed-nonce', 'content-type': 'application/json', 'x-request-id': 'forged-internal-1' },
      body: JSON.stringify({ query: 'SELECT ssn FROM crm.customers' }),
    });
    expect(res.status).toBe(401);
    const record = (await mcpRecords()).find((r) => r.kind === 'token_failure' && r.data.request_id === 'forged-internal-1');
    expect(record?.data).toMatchObject({ reason: 'forged_internal_call' });
  });

  it('gives an outside caller no request id of the form a tool call\'s BigQuery calls are recorded under', async () => {
    // `<id>.<n>`: `sluice replay <id>` would show the caller's records as calls another agent's tool call made.
    const agent = await connect('reporting-agent');
    expect((await call(agent, 'list_dataset_ids', {})).isError).toBeFalsy();
    const victim = agent.lastRequestId();
    const token = await stack.token('pii-agent');
    const sent: string[] = [];
    for (const [id, headers] of [[`${victim}.7`, {}], [`${victim}.8`, { [INTERNAL_CALL_HEADER]: 'guessed-nonce' }], ['my-own-trace.id', {}]] as const) {
      const res = await fetch(`${stack.gatewayUrl}/bigquery/v2/projects/${PROJECT}/datasets`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': id, ...headers } });
      sent.push(res.headers.get('x-request-id') ?? '');
    }
    expect(sent[0]).not.toBe(`${victim}.7`);
    expect(sent[1]).not.toBe(`${victim}.8`);
    expect(sent[2]).toBe('my-own-trace.id'); // any other id of the caller's own is kept
    const under = (await mcpRecords()).filter((r) => 'data' in r && typeof (r.data as { request_id?: unknown }).request_id === 'string' && (r.data as { request_id: string }).request_id.startsWith(`${victim}.`));
    expect(under.every((r) => r.kind !== 'token_failure' && (r.data as { identity?: { subject?: string } }).identity?.subject === 'reporting-agent')).toBe(true);
  });
});

describe('records', () => {
  it('records each tool call with its tool name, links the BigQuery calls it made, and replays it', async () => {
    const agent = await connect('reporting-agent');
    const result = await call(agent, 'execute_sql', { sql: 'SELECT customer_id, ssn FROM crm.customers ORDER BY customer_id LIMIT 3' });
    expect(result.isError).toBeFalsy();
    const id = agent.lastRequestId();
    const records = (await mcpRecords()).filter((r) => (r.kind === 'request' || r.kind === 'forward') && (r.data.request_id === id || r.data.request_id.startsWith(`${id}.`)));
    const own = records.find((r) => r.kind === 'request' && r.data.request_id === id)!;
    expect(own.data).toMatchObject({ route: 'mcp.execute_sql', status: 200, identity: { subject: 'reporting-agent' }, door: { protocol: 'mcp', method: 'tools/call', tool: 'execute_sql', call_id: null } });
    const inner = records.find((r) => r.kind === 'request' && r.data.request_id === `${id}.1`)!;
    expect(inner.data).toMatchObject({ route: 'jobs.query', status: 200, door: { tool: 'execute_sql', call_id: id }, decision: { outcome: 'mask' } });

    const replay = await sluice(['replay', id, '--storage', stack.storageUrl]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toContain('door      mcp tools/call execute_sql');
    expect(replay.stdout).toContain('route     mcp.execute_sql');
    expect(replay.stdout).toContain('route     jobs.query');
    expect(replay.stdout).toContain('***-**-6701');
    expectNoSecrets(replay.stdout);
  });

  it('keeps a chain that verifies after everything above', async () => {
    const report = await verifyAudit(stack.gateway.database.db);
    expect(report.broken).toEqual([]);
    expect(report.ok).toBe(true);
    const text = JSON.stringify(await mcpRecords());
    expectNoSecrets(text);
    expect(stack.logs.join('').includes('Bearer ey')).toBe(false);
  });
});
