// The MCP door with the official Python MCP SDK (`mcp` on PyPI) as the agent, against the running
// gateway, the emulator upstream and the real OIDC provider: the tool listing, masking, a refusal,
// check_query, metadata, the approval path, and a refused token, over both the 2026-07-28
// discover path and the 2025 initialize handshake.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { pythonMcp, stepsOf, toolResult, type PythonToolListing } from '../support/python-mcp.ts';
import { seededPii } from '../support/seed.ts';
import { startStack, type Stack } from '../support/stack.ts';

const TOOLS = ['check_query', 'execute_sql', 'get_dataset_info', 'get_query_results', 'get_table_info', 'list_dataset_ids', 'list_table_ids', 'wait_for_approval'];
const PII_SQL = 'SELECT customer_id, email, ssn FROM crm.customers ORDER BY customer_id';
// Reads masked crm columns next to finance, which needs an approver's grant first (rego/org/data.yaml).
const APPROVAL_SQL = 'SELECT c.customer_id, c.email, l.amount FROM crm.customers AS c CROSS JOIN finance.ledger AS l ORDER BY c.customer_id, l.amount LIMIT 5';

let stack: Stack;
let secrets: string[];

const errorOf = (meta: Record<string, any> | null) => meta?.['sluice.dev/error'] as { code: number; reason: string; approval_request_id?: string; approval_url?: string | null } | undefined;

function expectNoSecrets(value: unknown): void {
  const text = JSON.stringify(value);
  expect(secrets.filter((s) => text.includes(s))).toEqual([]);
}

async function run(agent: string, steps: Parameters<typeof pythonMcp>[2], mode?: 'auto' | 'legacy') {
  const answer = await pythonMcp(stack.mcpResource, await stack.mcpToken(agent), steps, { mode });
  return { answer, steps: stepsOf(answer) };
}

beforeAll(async () => {
  stack = await startStack({ idp: { webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] } });
  secrets = await seededPii();
  expect(secrets.length).toBeGreaterThan(20);
});

afterAll(async () => {
  await stack?.close();
});

describe('the official Python MCP SDK', () => {
  it.each([
    ['auto', /^2026-/],
    ['legacy', /^2025-/],
  ] as const)('connects (%s) and lists the tools with their schemas', async (mode, version) => {
    const { answer, steps } = await run('reporting-agent', [{ op: 'list_tools' }], mode);
    expect(answer.error).toBeUndefined();
    if (answer.error) return;
    expect(answer.protocol_version).toMatch(version);
    const { tools } = steps[0] as PythonToolListing;
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    const execute = tools.find((t) => t.name === 'execute_sql')!;
    expect(execute.input_schema.required).toEqual(['sql']);
    expect(execute.output_schema?.properties).toHaveProperty('rows');
  });

  it('gets PII masked, with no raw seeded value anywhere in the answer', async () => {
    const { steps } = await run('reporting-agent', [{ op: 'call_tool', name: 'execute_sql', arguments: { sql: PII_SQL } }]);
    const result = toolResult(steps[0]);
    expect(result.is_error, result.text).toBe(false);
    const out = result.structured_content;
    expect(out.rows).toHaveLength(20);
    expect(out.rows[0]).toMatchObject({ customer_id: 'C001', ssn: '***-**-6701', email: expect.stringMatching(/^\*\*\*@/) });
    expect(out.masks.map((m: { column: string }) => m.column).sort()).toEqual(['email', 'ssn']);
    expect(JSON.parse(result.text)).toEqual(out);
    expectNoSecrets(steps);
  });

  it('gets the raw values as a PII reader (so the masking check above can fail)', async () => {
    const { steps } = await run('pii-agent', [{ op: 'call_tool', name: 'execute_sql', arguments: { sql: PII_SQL } }]);
    const out = toolResult(steps[0]).structured_content;
    expect(out.masks).toEqual([]);
    expect(secrets).toContain(out.rows[0].ssn);
    expect(secrets).toContain(out.rows[0].email);
  });

  it('gets a DROP refused as a tool error with the BigQuery reason', async () => {
    const { steps } = await run('reporting-agent', [{ op: 'call_tool', name: 'execute_sql', arguments: { sql: 'DROP TABLE crm.customers' } }]);
    const result = toolResult(steps[0]);
    expect(result.is_error).toBe(true);
    expect(result.text).toMatch(/^accessDenied \(HTTP 403\): Access Denied: the sluice policy refused this query/);
    expect(errorOf(result.meta)).toMatchObject({ code: 403, reason: 'accessDenied' });
    const [rows] = await stack.direct().query('SELECT COUNT(*) AS n FROM crm.customers');
    expect(rows[0].n).toBe(20);
  });

  it('checks queries without running them (check_query)', async () => {
    const { steps } = await run('reporting-agent', [
      { op: 'call_tool', name: 'check_query', arguments: { sql: 'SELECT ssn FROM crm.customers' } },
      { op: 'call_tool', name: 'check_query', arguments: { sql: APPROVAL_SQL } },
      { op: 'call_tool', name: 'check_query', arguments: { sql: 'DROP TABLE crm.customers' } },
    ]);
    const [mask, approve, deny] = steps.map((s) => toolResult(s).structured_content);
    expect(mask).toMatchObject({ outcome: 'mask', masks: [{ column: 'ssn', strategy: 'last-4' }], estimated_bytes: expect.any(Number) });
    expect(approve).toMatchObject({ outcome: 'approve', approval: { approver_groups: ['data-owners'], min_approvals: 1 } });
    expect(deny).toMatchObject({ outcome: 'deny', estimated_bytes: null });
    expect(deny.reasons.map((r: { code: string }) => r.code)).toContain('category_denied');
  });

  it('lists datasets and tables, and describes a table with its masks', async () => {
    const { steps } = await run('reporting-agent', [
      { op: 'call_tool', name: 'list_dataset_ids', arguments: {} },
      { op: 'call_tool', name: 'list_table_ids', arguments: { dataset: 'crm' } },
      { op: 'call_tool', name: 'get_table_info', arguments: { dataset: 'crm', table: 'customers' } },
    ]);
    const [datasets, tables, info] = steps.map((s) => {
      const r = toolResult(s);
      expect(r.is_error, r.text).toBe(false);
      return r.structured_content;
    });
    // Datasets with a path for this caller: security (its readers only) is not one of them.
    expect(datasets.dataset_ids).toEqual(expect.arrayContaining(['crm', 'sales', 'public']));
    expect(datasets.dataset_ids).not.toContain('security');
    expect(tables.table_ids).toEqual(['customers']);
    const ssn = info.columns.find((c: { name: string }) => c.name === 'ssn');
    expect(ssn).toMatchObject({ mask: { strategy: 'last-4' } });
    expectNoSecrets(steps);
  });

  it('goes through an approval: approvalRequired, an approver\'s vote, then wait_for_approval gives masked rows', async () => {
    const first = await run('reporting-agent', [{ op: 'call_tool', name: 'execute_sql', arguments: { sql: APPROVAL_SQL } }]);
    const refused = toolResult(first.steps[0]);
    expect(refused.is_error).toBe(true);
    const error = errorOf(refused.meta)!;
    expect(error).toMatchObject({ code: 403, reason: 'approvalRequired', approval_request_id: expect.any(String), approval_url: expect.stringContaining('/approvals') });
    expect(refused.text).toContain(`wait_for_approval with approval_request_id ${error.approval_request_id}`);

    // The agent waits (a second Python process: the door is stateless) while alice approves.
    const waiting = run('reporting-agent', [{ op: 'call_tool', name: 'wait_for_approval', arguments: { approval_request_id: error.approval_request_id, timeout_seconds: 30 } }]);
    const alice = await humanAccessToken(stack.idp, 'alice');
    const vote = await fetch(`${stack.gatewayUrl}/approvals/${error.approval_request_id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ comment: 'ok for the python agent' }),
    });
    expect(vote.status).toBe(200);
    const done = toolResult((await waiting).steps[0]);
    expect(done.is_error, done.text).toBe(false);
    expect(done.structured_content).toMatchObject({ status: 'approved', comments: ['ok for the python agent'] });
    const result = done.structured_content.result;
    expect(result.rows).toHaveLength(5);
    expect(result.rows[0]).toMatchObject({ customer_id: 'C001', email: expect.stringMatching(/^\*\*\*@/) });
    expect(result.masks).toEqual([expect.objectContaining({ column: 'email' })]);
    expectNoSecrets(done);
  });

  it('is refused a token issued for another audience, with the 401 reported to it', async () => {
    const answer = await pythonMcp(stack.mcpResource, await stack.token('reporting-agent'), [{ op: 'list_tools' }]);
    expect(answer.results).toBeUndefined();
    if (!answer.error) return;
    // The SDK surfaces a refused connection as a generic JSON-RPC error; the HTTP exchange says why.
    expect(answer.error.type).toBe('MCPError');
    expect(answer.http_statuses).toContain(401);
    expect(answer.http_statuses.every((s) => s === 401)).toBe(true);
    expect(answer.challenge).toMatch(/^Bearer resource_metadata="[^"]+", error="invalid_token", error_description="[^"]*audience/);
  });
});
