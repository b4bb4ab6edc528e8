// A JSON-RPC batch at the MCP door (2025-03-26 clients may send one): the SDK serves each of its
// messages, so each tool call the SDK refuses without running a tool (an unknown tool, arguments
// that fail its schema) is recorded and counted as it is when sent alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRecords } from '../../gateway/audit/index.ts';
import { startStack, type Stack } from '../support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const protocolErrors = async (tool: string) => {
  const text = String((await stack.fetch('/metrics')).body);
  const line = text.split('\n').find((l) => l.startsWith(`sluice_mcp_calls_total{method="tools/call",tool="${tool}",outcome="protocol_error"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

/** A JSON-RPC batch POSTed to the MCP door by reporting-agent, as a 2025-03-26 client sends one. */
async function postBatch(messages: unknown[], requestId?: string): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${await stack.mcpToken('reporting-agent')}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-03-26' };
  if (requestId) headers['x-request-id'] = requestId;
  return fetch(stack.mcpResource, { method: 'POST', headers, body: JSON.stringify(messages) });
}

describe('a JSON-RPC batch', () => {
  it('records and counts every tool call in it that the SDK refuses', async () => {
    const requestId = `mcp-batch-${Date.now()}`;
    const [executeBefore, otherBefore] = [await protocolErrors('execute_sql'), await protocolErrors('other')];
    const res = await postBatch(
      [
        { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'execute_sql', arguments: { sql: 42 } } },
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'drop_everything', arguments: {} } },
        { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'execute_sql', arguments: { sql: 'SELECT 1 AS one' } } },
      ],
      requestId,
    );
    const text = await res.text();
    // The SDK served the batch: the valid call ran, the others were refused.
    expect(text).toContain('Invalid arguments for tool execute_sql');
    expect(text).toContain('\\"one\\":\\"1\\"');

    const records = (await listRecords(stack.gateway.database.db, { order: 'oldest', limit: 100_000 }))
      .flatMap((r) => (r.record.kind === 'request' && r.record.data.request_id === requestId ? [r.record.data] : []));
    const routes = records.map((r) => `${r.route} ${r.status}`).sort();
    expect(routes).toEqual(['mcp.execute_sql 200', 'mcp.execute_sql 400', 'mcp.other 400']);
    expect(records.find((r) => r.route === 'mcp.execute_sql' && r.status === 400)?.error?.message).toMatch(/^invalid arguments for execute_sql: sql:/);
    expect(JSON.stringify(records)).not.toContain('drop_everything');
    expect(await protocolErrors('execute_sql')).toBe(executeBefore + 1);
    expect(await protocolErrors('other')).toBe(otherBefore + 1);
  });

  it('of more than 16 messages is refused whole, recorded, and runs nothing', async () => {
    const requestId = `mcp-big-batch-${Date.now()}`;
    const call = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'execute_sql', arguments: { sql: `SELECT ${id} AS n` } } });
    const res = await postBatch(Array.from({ length: 2000 }, (_, i) => call(i + 1)), requestId);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.stringMatching(/at most 16 messages; this one holds 2000/) } });
    const records = (await listRecords(stack.gateway.database.db, { requestId, limit: 100 })).map((r) => r.record);
    expect(records.map((r) => [r.kind, (r.data as { status?: number }).status])).toEqual([['request', 400]]);
    // Sixteen are served.
    const sixteen = await postBatch(Array.from({ length: 16 }, (_, i) => call(i + 1)));
    expect(sixteen.status).toBe(200);
    expect(await sixteen.text()).toContain('\\"n\\":\\"16\\"');
  }, 60_000);
});
