// sluice mcp: the gateway's MCP door as a stdio server, for local agents that only launch stdio
// servers (Claude Desktop-style clients). A transparent JSON-RPC forwarder between the official
// SDK's stdio server transport and its Streamable HTTP client transport: every message the agent
// writes goes to the gateway's /mcp unchanged (discover or initialize included), so the gateway
// alone negotiates, lists tools and decides; the bridge only adds the agent's bearer token.
// stdout is the protocol: everything this command says goes to stderr.
import { exec } from 'node:child_process';
import { promisify } from 'node:util';
import {
  Client,
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  ProtocolErrorCode,
  SdkHttpError,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type AuthProvider,
  type JSONRPCMessage,
} from '@modelcontextprotocol/client';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import type { Command } from 'commander';
import { decodeJwt } from 'jose';
import { EXIT, UsageError } from '../output.ts';

const run = promisify(exec);
const TOKEN_COMMAND_TIMEOUT_MS = 30_000;
/** A token is renewed this long before it expires (or halfway through a shorter life). */
const RENEW_BEFORE_MS = 60_000;

interface McpOptions {
  gateway?: string;
  tokenEnv: string;
  tokenCommand?: string;
}

export function registerMcp(program: Command): void {
  program
    .command('mcp')
    .description("Serve the gateway's MCP tools on stdio, forwarding to its /mcp endpoint with the agent's token (for clients that only launch stdio servers).")
    .option('--gateway <url>', 'the gateway\'s MCP endpoint, or its base URL (/mcp is added) (env SLUICE_GATEWAY)', process.env.SLUICE_GATEWAY)
    .option('--token-env <name>', 'environment variable holding the agent\'s access token (audience: the MCP endpoint)', 'SLUICE_TOKEN')
    .option('--token-command <command>', 'shell command printing the access token; re-run before it expires and when the gateway answers 401')
    .addHelpText(
      'after',
      `
stdout carries the MCP protocol; messages go to stderr. Exit codes: 0 when the client closes stdin,
1 when the gateway is unreachable or refuses the token at start, 2 for bad usage.

Example (an mcpServers entry):
  "bigquery": { "command": "npx", "args": ["sluice", "mcp", "--gateway", "https://sluice.example.com/mcp"],
                "env": { "SLUICE_TOKEN": "<access token>" } }`,
    )
    .action(async (opts: McpOptions, command: Command) => {
      if (opts.tokenCommand !== undefined && command.getOptionValueSource('tokenEnv') === 'cli') {
        throw new UsageError('give either --token-env or --token-command, not both');
      }
      const url = endpoint(opts.gateway);
      const tokens = opts.tokenCommand !== undefined ? new CommandToken(opts.tokenCommand) : envToken(opts.tokenEnv);
      await bridge(url, tokens);
    });
}

/** The MCP endpoint: the URL as given, or `<base>/mcp` for a bare gateway URL. */
function endpoint(gateway: string | undefined): URL {
  if (!gateway) throw new UsageError('no gateway: pass --gateway URL (its MCP endpoint, e.g. https://sluice.example.com/mcp) or set SLUICE_GATEWAY');
  let url: URL;
  try {
    url = new URL(gateway);
  } catch {
    throw new UsageError(`--gateway ${gateway} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--gateway ${gateway} is not an http(s) URL`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/mcp';
  return url;
}

interface TokenSource {
  token(): Promise<string>;
  /** Drops the current token after a 401; absent when nothing can renew it. */
  renew?(): void;
}

function envToken(name: string): TokenSource {
  const value = process.env[name]?.trim();
  if (!value) throw new UsageError(`no token: set ${name} to the agent's access token for the gateway's MCP endpoint, or pass --token-command`);
  return { token: async () => value };
}

/** A token from a command (a CLI of the identity provider, a vault), cached until shortly before its `exp`. */
class CommandToken implements TokenSource {
  readonly #command: string;
  #current: { token: string; renewAt: number } | undefined;
  #running: Promise<string> | undefined;

  constructor(command: string) {
    if (!command.trim()) throw new UsageError('--token-command is empty');
    this.#command = command;
  }

  async token(): Promise<string> {
    if (this.#current && Date.now() < this.#current.renewAt) return this.#current.token;
    // Concurrent requests share one run of the command.
    this.#running ??= this.#fetch().finally(() => (this.#running = undefined));
    return this.#running;
  }

  renew(): void {
    this.#current = undefined;
  }

  async #fetch(): Promise<string> {
    let stdout: string;
    try {
      ({ stdout } = await run(this.#command, { timeout: TOKEN_COMMAND_TIMEOUT_MS, maxBuffer: 1 << 20, windowsHide: true }));
    } catch (error) {
      const e = error as { code?: unknown; signal?: unknown; stderr?: string };
      const why = e.signal ? `was killed (${String(e.signal)})` : `exited with ${String(e.code)}`;
      throw new Error(`--token-command ${why}${e.stderr?.trim() ? `: ${e.stderr.trim().slice(-500)}` : ''}`);
    }
    const token = stdout.trim();
    if (!token || /\s/.test(token)) throw new Error('--token-command did not print one token on stdout');
    this.#current = { token, renewAt: renewAt(token) };
    return token;
  }
}

/** When to renew a token: before its JWT `exp`; an opaque token is kept until the gateway refuses it. */
export function renewAt(token: string, now = Date.now()): number {
  let exp: number | undefined;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    return Infinity;
  }
  if (exp === undefined) return Infinity;
  return exp * 1000 - Math.min(RENEW_BEFORE_MS, Math.max(0, (exp * 1000 - now) / 2));
}

/** The Streamable HTTP transport to the gateway, remembering why it last answered 401. */
function upstream(url: URL, tokens: TokenSource): { transport: StreamableHTTPClientTransport; refusal(): string | undefined } {
  let refusal: string | undefined;
  const authProvider: AuthProvider = {
    token: () => tokens.token(),
    // Only a renewable token is worth the SDK's one retry after a 401.
    ...(tokens.renew && { onUnauthorized: async () => tokens.renew!() }),
  };
  const transport = new StreamableHTTPClientTransport(url, {
    authProvider,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (response.status === 401) refusal = /error_description="([^"]*)"/.exec(response.headers.get('www-authenticate') ?? '')?.[1];
      return response;
    },
  });
  return { transport, refusal: () => refusal };
}

/** One line saying why a call to the gateway failed. */
function explain(error: unknown, url: URL, refusal: string | undefined): string {
  if (error instanceof UnauthorizedError || (error instanceof SdkHttpError && error.data?.status === 401)) {
    return `the gateway refused the agent's token (HTTP 401${refusal ? `: ${refusal}` : ''}); the token must be the agent's, issued for ${url.href}`;
  }
  if (error instanceof SdkHttpError) return `the gateway answered HTTP ${error.data?.status}: ${String(error.data?.text ?? error.message).slice(0, 500)}`;
  const cause = (error as { cause?: unknown })?.cause;
  if (error instanceof TypeError && /fetch failed/.test(error.message)) {
    return `the gateway at ${url.href} could not be reached${cause instanceof Error ? `: ${cause.message}` : ''}`;
  }
  // Errors the SDK wraps (e.g. during version negotiation) carry the transport's error as their cause.
  if (cause instanceof Error) return explain(cause, url, refusal);
  return error instanceof Error ? error.message : String(error);
}

async function bridge(url: URL, tokens: TokenSource): Promise<void> {
  const say = (line: string) => void process.stderr.write(`sluice mcp: ${line}\n`);

  // At start: the gateway answers and accepts the token, or the agent's client hears why at once.
  const check = upstream(url, tokens);
  const probe = new Client({ name: 'sluice-mcp-bridge', version: process.env.npm_package_version ?? '0.1.0' }, { versionNegotiation: { mode: 'auto' } });
  try {
    await probe.connect(check.transport);
    const server = probe.getServerVersion();
    say(`forwarding stdio to ${url.href} (${server ? `${server.name} ${server.version}, ` : ''}protocol ${probe.getNegotiatedProtocolVersion() ?? 'unknown'})`);
  } catch (error) {
    say(explain(error, url, check.refusal()));
    process.exitCode = EXIT.error;
    return;
  } finally {
    await probe.close().catch(() => undefined);
  }

  const { transport: gateway, refusal } = upstream(url, tokens);
  const local = new StdioServerTransport();
  /** Requests sent to the gateway and not yet answered: their method, and how to cancel them. */
  const pending = new Map<string | number, { method: string; abort: AbortController }>();

  const toLocal = (message: JSONRPCMessage) => local.send(message).catch((error: Error) => say(`could not write to the client: ${error.message}`));
  const fail = (id: string | number, error: unknown) => {
    if (!pending.delete(id)) return;
    // A refusal the gateway gave as a JSON-RPC error body is passed on as it is.
    const body = error instanceof SdkHttpError && typeof error.data?.text === 'string' ? parse(error.data.text) : undefined;
    if (body && isJSONRPCErrorResponse(body) && body.id === id) return void toLocal(body);
    const message = explain(error, url, refusal());
    say(message);
    void toLocal({ jsonrpc: '2.0', id, error: { code: ProtocolErrorCode.InternalError, message: `sluice mcp: ${message}` } });
  };

  gateway.onmessage = (message) => {
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
      const request = message.id === undefined ? undefined : pending.get(message.id);
      if (message.id !== undefined) pending.delete(message.id);
      // A 2025-era client negotiates once; its later requests carry the version as a header.
      const version = isJSONRPCResultResponse(message) ? (message.result as { protocolVersion?: unknown }).protocolVersion : undefined;
      if (request?.method === 'initialize' && typeof version === 'string') gateway.setProtocolVersion(version);
    }
    void toLocal(message);
  };
  // Failures are answered per request (below); the transport's own reports would only repeat them.
  gateway.onerror = () => undefined;

  local.onmessage = (m) => {
    if (isJSONRPCRequest(m)) {
      const abort = new AbortController();
      pending.set(m.id, { method: m.method, abort });
      gateway
        .send(m, { requestSignal: abort.signal, onRequestStreamEnd: () => fail(m.id, new Error('the gateway ended its answer stream without an answer')) })
        .catch((error: unknown) => fail(m.id, error));
    } else if (isJSONRPCNotification(m) && m.method === 'notifications/cancelled') {
      // Closing the request's stream is the cancellation the stateless gateway understands.
      const id = (m.params as { requestId?: string | number } | undefined)?.requestId;
      if (id !== undefined) {
        pending.get(id)?.abort.abort();
        pending.delete(id);
      }
    } else {
      gateway.send(m).catch((error: unknown) => say(`a message to the gateway was not delivered: ${explain(error, url, refusal())}`));
    }
  };
  local.onerror = (error) => say(`bad input from the client: ${error.message}`);

  const closed = new Promise<void>((resolve) => (local.onclose = resolve));
  await local.start();
  await closed;
  for (const { abort } of pending.values()) abort.abort();
  await gateway.close();
}

function parse(text: string): JSONRPCMessage | undefined {
  try {
    return JSON.parse(text) as JSONRPCMessage;
  } catch {
    return undefined;
  }
}
