// `sluice mcp`, the stdio bridge, end to end: the CLI as a child process launched by the official
// TypeScript SDK's stdio client transport, forwarding to the running gateway's /mcp with the
// agent's token: the handshake of both protocol eras, tool calls, masking and refusals, cancelling,
// the token command (re-run on a 401), and how it refuses to start.
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renewAt } from '../../cli/commands/mcp.ts';
import { listRecords } from '../../gateway/audit/index.ts';
import { sluice } from '../support/cli.ts';
import { seededPii } from '../support/seed.ts';
import { startStack, type Stack } from '../support/stack.ts';

const CLI = fileURLToPath(new URL('../../cli/sluice.ts', import.meta.url));
const TOOLS = ['check_query', 'execute_sql', 'get_dataset_info', 'get_query_results', 'get_table_info', 'list_dataset_ids', 'list_table_ids', 'wait_for_approval'];
const PII_SQL = 'SELECT customer_id, ssn, email FROM crm.customers ORDER BY customer_id';
const FINANCE_SQL = 'SELECT account, SUM(amount) AS total FROM finance.ledger GROUP BY account ORDER BY account';

let stack: Stack;
let secrets: string[];
let scratch: string;
const clients: Client[] = [];

type ToolResult = { isError?: boolean; content: { type: string; text: string }[]; structuredContent?: any; _meta?: Record<string, any> };

/** The official client, talking to `sluice mcp` on stdio as a desktop agent would launch it. */
async function bridged(env: Record<string, string>, options: { gateway?: string; args?: string[]; mode?: 'legacy' | 'auto' } = {}) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp', '--gateway', options.gateway ?? stack.mcpResource, ...(options.args ?? [])],
    env: { NO_COLOR: '1', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr!.on('data', (d: Buffer) => void (stderr += d));
  const client = new Client({ name: 'stdio-bridge-tests', version: '1.0.0' }, options.mode === 'auto' ? { versionNegotiation: { mode: 'auto' } } : {});
  clients.push(client);
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

const call = async (client: Client, name: string, args: Record<string, unknown>, options?: Parameters<Client['callTool']>[1]) =>
  (await client.callTool({ name, arguments: args }, options)) as ToolResult;

interface Exchange {
  method: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A loopback proxy in front of the gateway's /mcp recording each HTTP exchange (bodies streamed through). */
async function recordingProxy(): Promise<{ url: string; exchanges: Exchange[]; close(): Promise<void> }> {
  const exchanges: Exchange[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString();
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name !== 'host' && name !== 'content-length')) as Record<string, string>;
      const upstream = await fetch(stack.mcpResource, { method: req.method!, headers, ...(body && { body }) });
      exchanges.push({ method: req.method!, status: upstream.status, headers: req.headers, body });
      res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
      if (!upstream.body) return void res.end();
      for await (const chunk of upstream.body) res.write(chunk);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/mcp`, exchanges, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function expectNoSecrets(value: unknown): void {
  const text = JSON.stringify(value);
  expect(secrets.filter((s) => text.includes(s))).toEqual([]);
}

beforeAll(async () => {
  stack = await startStack();
  secrets = await seededPii();
  scratch = await mkdtemp(join(tmpdir(), 'sluice-bridge-'));
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await stack?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('sluice mcp (stdio bridge)', () => {
  it.each([
    ['legacy', /^2025-/],
    ['auto', /^2026-/],
  ] as const)('serves the gateway\'s tools to a client negotiating in %s mode, with masked results', async (mode, version) => {
    const { client, stderr } = await bridged({ SLUICE_TOKEN: await stack.mcpToken('reporting-agent') }, { mode });
    expect(client.getNegotiatedProtocolVersion()).toMatch(version);
    expect(client.getServerVersion()?.name).toBe('sluice');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);

    const result = await call(client, 'execute_sql', { sql: PII_SQL });
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    expect(result.structuredContent.rows).toHaveLength(20);
    expect(result.structuredContent.rows[0]).toMatchObject({ customer_id: 'C001', ssn: '***-**-6701', email: expect.stringMatching(/^\*\*\*@/) });
    expect(result.structuredContent.masks.map((m: { column: string }) => m.column).sort()).toEqual(['email', 'ssn']);
    expectNoSecrets(result);
    expect(stderr()).toContain(`sluice mcp: forwarding stdio to ${stack.mcpResource}`);
  });

  it('forwards each message as its own HTTP request, with the token and the negotiated protocol version', async () => {
    const proxy = await recordingProxy();
    try {
      const token = await stack.mcpToken('reporting-agent');
      for (const mode of ['legacy', 'auto'] as const) {
        proxy.exchanges.length = 0;
        const { client } = await bridged({ SLUICE_TOKEN: token }, { gateway: proxy.url, mode });
        const version = client.getNegotiatedProtocolVersion()!;
        await client.listTools();
        await call(client, 'check_query', { sql: 'SELECT 1 AS one' });
        const posts = proxy.exchanges.filter((e) => e.method === 'POST');
        expect(posts.every((e) => e.headers.authorization === `Bearer ${token}`)).toBe(true);
        const methods = posts.map((e) => JSON.parse(e.body).method as string);
        const list = posts[methods.lastIndexOf('tools/list')]!;
        const toolCall = posts[methods.lastIndexOf('tools/call')]!;
        // 2025: the version initialize settled, as a header; 2026: the body's own, mirrored in the standard headers.
        expect(list.headers['mcp-protocol-version'], mode).toBe(version);
        expect(toolCall.headers['mcp-protocol-version'], mode).toBe(version);
        if (mode === 'auto') expect(toolCall.headers).toMatchObject({ 'mcp-method': 'tools/call', 'mcp-name': 'check_query' });
        expect(methods, mode).toContain(mode === 'legacy' ? 'initialize' : 'server/discover');
        expect(posts.filter((e) => e.status >= 400).map((e) => `${e.status} ${e.body}`)).toEqual([]);
        await client.close();
      }
    } finally {
      await proxy.close();
    }
  });

  it('acts as the token\'s agent: a PII reader gets raw values, and a DROP is refused with BigQuery\'s reason', async () => {
    // A bare gateway URL is taken as its /mcp endpoint.
    const reader = await bridged({ SLUICE_TOKEN: await stack.mcpToken('pii-agent') }, { gateway: stack.gatewayUrl });
    const raw = await call(reader.client, 'execute_sql', { sql: PII_SQL });
    expect(raw.structuredContent.masks).toEqual([]);
    expect(secrets).toContain(raw.structuredContent.rows[0].ssn);

    const drop = await call(reader.client, 'execute_sql', { sql: 'DROP TABLE crm.customers' });
    expect(drop.isError).toBe(true);
    expect(drop.content[0]!.text).toMatch(/^accessDenied \(HTTP 403\): /);
    expect(drop._meta?.['sluice.dev/error']).toMatchObject({ code: 403, reason: 'accessDenied' });
  });

  it('stops the call on the gateway when the client cancels it', async () => {
    const { client } = await bridged({ SLUICE_TOKEN: await stack.mcpToken('reporting-agent') });
    const first = await call(client, 'execute_sql', { sql: FINANCE_SQL });
    const id = first._meta?.['sluice.dev/error']?.approval_request_id as string;
    expect(id).toEqual(expect.any(String));
    const abort = new AbortController();
    const waiting = call(client, 'wait_for_approval', { approval_request_id: id, timeout_seconds: 60 }, { signal: abort.signal });
    await new Promise((r) => setTimeout(r, 500));
    abort.abort();
    await expect(waiting).rejects.toThrow();
    // The gateway saw its caller go away and recorded the call as stopped, long before the 60 s wait.
    let stopped: unknown;
    for (let i = 0; i < 50 && !stopped; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const records = await listRecords(stack.gateway.database.db, { order: 'oldest' });
      stopped = records.map((r) => r.record).find((r) => r.kind === 'request' && r.data.route === 'mcp.wait_for_approval' && r.data.status === 499);
    }
    expect(stopped).toMatchObject({ data: { error: { reason: 'stopped' }, identity: { subject: 'reporting-agent' } } });
  });

  it('gets its token from --token-command, and runs it again when the gateway answers 401', async () => {
    const token = join(scratch, 'token');
    const runs = join(scratch, 'runs');
    await writeFile(token, await stack.mcpToken('reporting-agent'));
    await writeFile(runs, '');
    // The first run prints a token the gateway refuses; later runs the agent's real one.
    const command = `echo run >> '${runs}'; if [ "$(wc -l < '${runs}')" -eq 1 ]; then echo not-a-token; else cat '${token}'; fi`;
    const { client } = await bridged({ SLUICE_TOKEN: '' }, { args: ['--token-command', command] });
    const result = await call(client, 'execute_sql', { sql: 'SELECT customer_id, ssn FROM crm.customers ORDER BY customer_id LIMIT 1' });
    expect(result.structuredContent.rows).toEqual([{ customer_id: 'C001', ssn: '***-**-6701' }]);
    // Once at start, once after the 401; the accepted token is then reused until shortly before it expires.
    expect((await readFile(runs, 'utf8')).trim().split('\n')).toHaveLength(2);
  });

  it('renews a JWT shortly before it expires, and keeps an opaque token until it is refused', () => {
    const jwt = (exp: number) => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.`;
    const now = 1_800_000_000_000;
    expect(renewAt(jwt(now / 1000 + 300), now)).toBe(now + 240_000);
    expect(renewAt(jwt(now / 1000 + 10), now)).toBe(now + 5_000);
    expect(renewAt(jwt(now / 1000 - 10), now)).toBe(now - 10_000);
    expect(renewAt('opaque-token', now)).toBe(Infinity);
  });

  it('refuses to start with a token the gateway refuses, saying why on stderr (exit 1)', async () => {
    const restToken = await stack.token('reporting-agent');
    const run = await sluice(['mcp', '--gateway', stack.mcpResource], { SLUICE_TOKEN: restToken });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^sluice mcp: the gateway refused the agent's token \(HTTP 401: .*audience.*\); the token must be the agent's, issued for http:\/\/127\.0\.0\.1:\d+\/mcp\n$/);

    // A client launching it sees the server exit at connect, with the reason on the server's stderr.
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--gateway', stack.mcpResource], env: { SLUICE_TOKEN: 'not-a-token' }, stderr: 'pipe' });
    let stderr = '';
    transport.stderr!.on('data', (d: Buffer) => void (stderr += d));
    const client = new Client({ name: 'stdio-bridge-tests', version: '1.0.0' });
    clients.push(client);
    await expect(client.connect(transport)).rejects.toThrow();
    expect(stderr).toContain('the gateway refused the agent\'s token (HTTP 401');
  });

  it('refuses to start without a usable gateway or token (exit 1 unreachable, exit 2 usage)', async () => {
    const token = await stack.mcpToken('reporting-agent');
    const port = await closedPort();
    const unreachable = await sluice(['mcp', '--gateway', `http://127.0.0.1:${port}/mcp`], { SLUICE_TOKEN: token });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(new RegExp(`^sluice mcp: the gateway at http://127\\.0\\.0\\.1:${port}/mcp could not be reached: .*ECONNREFUSED`));
    expect(unreachable.stdout).toBe('');

    for (const [args, env, message] of [
      [['mcp'], { SLUICE_TOKEN: token, SLUICE_GATEWAY: '' }, /no gateway/],
      [['mcp', '--gateway', 'not a url'], { SLUICE_TOKEN: token }, /is not a URL/],
      [['mcp', '--gateway', stack.mcpResource], { SLUICE_TOKEN: '' }, /no token: set SLUICE_TOKEN/],
      [['mcp', '--gateway', stack.mcpResource, '--token-env', 'AGENT_TOKEN'], { SLUICE_TOKEN: token }, /no token: set AGENT_TOKEN/],
      [['mcp', '--gateway', stack.mcpResource, '--token-env', 'X', '--token-command', 'true'], {}, /either --token-env or --token-command/],
    ] as const) {
      const run = await sluice([...args], env);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
    }
  });

  it('exits 0 once the client closes its stdin, having written nothing to stdout', async () => {
    const child = spawn(process.execPath, [CLI, 'mcp', '--gateway', stack.mcpResource], {
      env: { ...process.env, SLUICE_TOKEN: await stack.mcpToken('reporting-agent') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => void (stdout += d));
    const started = new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => void ((stderr += d), stderr.includes('forwarding') && resolve())));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await started;
    child.stdin.end();
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 5000))]);
    if (code === 'still running') child.kill();
    expect(code).toBe(0);
    expect(stdout).toBe('');
  });

  it('documents itself (--help)', async () => {
    const run = await sluice(['mcp', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/--gateway <url>[\s\S]*--token-env <name>[\s\S]*--token-command <command>/);
  });
});
