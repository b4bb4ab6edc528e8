// The MCP door: Streamable HTTP at /mcp on the official SDK (@modelcontextprotocol/server),
// stateless (the 2026-07-28 revision, and 2025-era clients through the SDK's stateless fallback).
// Each HTTP exchange is authenticated here (audience: this MCP resource), then served by a fresh
// SDK server whose tools run through the gateway's one enforcement pipeline (tools.ts).
//
// Records: every tool call has its own request record (route `mcp.<tool>`, door `mcp`), and the
// BigQuery calls it made have theirs, linked by `door.call_id`. Refused tokens and protocol
// errors the SDK answers (unknown tool, malformed arguments, bad JSON) are recorded too.
//
// What a client names is bounded before it becomes a metrics label or a record field: a method
// the MCP specification does not define is `other`, as is a tool name that is none of the
// gateway's tools (anyone, even without a token, could otherwise write any text into /metrics, a
// new series each, and into the audit trail).
import { createMcpHandler, McpServer, type CallToolResult, type McpHttpHandler, type NotificationMethod, type RequestMethod } from '@modelcontextprotocol/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import type { AuditLog } from '../audit/index.ts';
import { ANSWER_WITHHELD, NOT_RUN_UNRECORDED } from '../audit/index.ts';
import type { Identity } from '../../engine/schema-types.ts';
import { BigQueryError } from '../bigquery/errors.ts';
import type { Caller } from '../enforce.ts';
import type { Door, InternalCalls } from '../internal-calls.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { RequestTrail } from '../request-audit.ts';
import { McpAuth } from './auth.ts';
import { BigQueryCalls, ToolRefusal } from './bigquery-calls.ts';
import { toolDefinitions, type ToolCall, type ToolDeps, type ToolDefinition } from './tools.ts';

export interface McpOptions extends ToolDeps {
  auth: McpAuth;
  internal: InternalCalls;
  audit: AuditLog;
  metrics: GatewayMetrics;
  version: string;
}

export const MCP_PATH = '/mcp';

/** What one HTTP exchange carries into the SDK's handlers. */
interface Exchange {
  caller: Caller;
  req: FastifyRequest;
  signal: AbortSignal;
}

export function registerMcp(app: FastifyInstance, o: McpOptions): { close(): Promise<void> } {
  const tools = toolDefinitions(o);
  const toolNames: ReadonlySet<string> = new Set(tools.map((t) => t.name));
  const peek = (message: unknown) => peekMessage(message, toolNames);
  // Servers are made per request; their tools' schemas are converted to JSON Schema once.
  const schemas = new Map(tools.map((t) => [t, { input: convertedOnce(t.input), output: convertedOnce(t.output) }]));
  const handler: McpHttpHandler = createMcpHandler((ctx) => serverFor(ctx.authInfo?.extra?.exchange as Exchange), {
    legacy: 'stateless',
    responseMode: 'auto',
    maxRequestBodySize: o.config.maxSqlBytes * 2 + 64 * 1024,
    onerror: (error) => app.log.debug({ err: { type: error.name, message: error.message } }, 'MCP request refused by the SDK'),
  });

  app.get(o.auth.metadataPath, async () => o.auth.metadata());

  void app.register(async (scope) => {
    // The SDK reads the JSON-RPC body itself (and answers a malformed one with a JSON-RPC error).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: o.config.maxSqlBytes * 2 + 64 * 1024 }, (_req, body, done) => done(null, body));
    scope.route({ method: ['POST', 'GET', 'DELETE'], url: MCP_PATH, handler: (req, reply) => serve(req, reply) });
  });

  async function serve(req: FastifyRequest, reply: FastifyReply) {
    // A body that is not JSON is left to the SDK, which answers it with a JSON-RPC parse error.
    const parsed = typeof req.body === 'string' && req.method === 'POST' ? parseOrUndefined(req.body) : undefined;
    const message = peek(parsed);
    const auth = await o.auth.authenticate(req.headers.authorization);
    if (!auth.ok) {
      o.metrics.mcpCalls.inc({ method: message.method, tool: message.tool ?? '', outcome: 'unauthenticated' });
      const trail = new RequestTrail('mcp');
      trail.door = door(message, null);
      trail.tokenFailure = { reason: auth.reason, message: auth.message, token: bearerToken(req.headers.authorization) };
      await record(trail, req.id, 401).catch(() => undefined);
      return reply
        .code(401)
        .header('www-authenticate', o.auth.challenge(auth))
        .send({ error: auth.reason === 'missing_token' ? 'invalid_request' : 'invalid_token', error_description: `${auth.message}` });
    }
    if (Array.isArray(parsed) && parsed.length > MAX_BATCH) {
      const refusal = `a JSON-RPC batch holds at most ${MAX_BATCH} messages; this one holds ${parsed.length}, none of which was served`;
      if (!(await recordProtocolError(req, auth.identity, message, refusal))) {
        return reply.code(503).send(new BigQueryError(503, 'backendError', NOT_RUN_UNRECORDED).toJSON());
      }
      return reply.code(400).header('content-type', 'application/json').send({ jsonrpc: '2.0', id: null, error: { code: -32600, message: `Invalid Request: ${refusal}` } });
    }
    const gone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort(new Error('the MCP client went away'));
    });
    const exchange: Exchange = { caller: { identity: auth.identity, token: bearerToken(req.headers.authorization)! }, req, signal: gone.signal };
    // The SDK serves a JSON-RPC batch (2025-03-26) message by message: each is checked as if sent alone.
    for (const one of Array.isArray(parsed) ? parsed : [parsed]) {
      if (!(await recordRefused(req, auth.identity, peek(one), one))) {
        return reply.code(503).send(new BigQueryError(503, 'backendError', NOT_RUN_UNRECORDED).toJSON());
      }
    }
    // Refused above (recordRefused) and answered here: nothing would ever be sent on the stream.
    if (!Array.isArray(parsed) && message.method === LISTEN) {
      const id = (parsed as { id?: unknown }).id;
      return reply
        .code(200)
        .header('content-type', 'application/json')
        .send({ jsonrpc: '2.0', id: typeof id === 'string' || typeof id === 'number' ? id : null, error: { code: -32601, message: LISTEN_REFUSED } });
    }
    const response = await handler.fetch(webRequest(req, o.auth.resource), {
      authInfo: { token: exchange.caller.token, clientId: auth.identity.subject, scopes: [], resource: new URL(o.auth.resource), extra: { exchange } },
      ...(parsed !== undefined && { parsedBody: parsed }),
    });
    void reply.code(response.status);
    response.headers.forEach((value, name) => void reply.header(name, value));
    return reply.send(response.body ? Readable.fromWeb(response.body as never) : '');
  }

  /**
   * A POST the SDK will refuse without running a tool (not JSON, an unknown tool, arguments that
   * fail the tool's schema), or such a message of a batch, is recorded here, before the SDK
   * answers it. Returns false when the refusal could not be recorded (the request is then not
   * served).
   */
  async function recordRefused(req: FastifyRequest, identity: Identity, message: Peeked, parsed: unknown): Promise<boolean> {
    let problem: string | undefined;
    if (req.method !== 'POST') return true;
    if (parsed === undefined) problem = 'the request body is not JSON';
    else if (message.method === LISTEN) problem = LISTEN_REFUSED;
    else if (message.method === 'tools/call') {
      const def = tools.find((t) => t.name === message.tool);
      if (!def) problem = 'unknown tool: the name is none of the gateway\'s tools (the name is not recorded)';
      else {
        const checked = def.input.safeParse((parsed as { params?: { arguments?: unknown } }).params?.arguments ?? {});
        if (!checked.success) problem = `invalid arguments for ${def.name}: ${checked.error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; ')}`;
      }
    }
    return !problem || recordProtocolError(req, identity, message, problem);
  }

  /** A POST refused as a protocol error, counted and recorded; false when it could not be recorded. */
  async function recordProtocolError(req: FastifyRequest, identity: Identity, message: Peeked, problem: string): Promise<boolean> {
    o.metrics.mcpCalls.inc({ method: message.method, tool: message.tool ?? '', outcome: 'protocol_error' });
    const trail = new RequestTrail(message.tool ? `mcp.${message.tool}` : 'mcp');
    trail.identity = identity;
    trail.door = door(message, null);
    trail.error = { reason: 'invalid', message: problem.slice(0, 500) };
    try {
      await record(trail, req.id, 400);
      return true;
    } catch {
      return false;
    }
  }

  async function record(trail: RequestTrail, id: string, status: number) {
    await o.metrics.time(o.metrics.auditRecordSeconds, undefined, () => o.audit.record(trail.toEvent(id, status)));
  }

  /** One SDK server per exchange, its tools bound to the exchange's caller. */
  function serverFor(exchange: Exchange): McpServer {
    const server = new McpServer(
      { name: 'sluice', version: o.version },
      {
        instructions:
          'BigQuery through the sluice policy gateway. Every query is decided by policy: it may be masked, refused, or need a human approval ' +
          '(then use wait_for_approval). check_query tells what would happen without running anything.',
      },
    );
    for (const def of tools) {
      server.registerTool(
        def.name,
        { title: def.title, description: def.description, inputSchema: schemas.get(def)!.input, outputSchema: schemas.get(def)!.output, annotations: def.annotations },
        async (args: unknown, ctx) => {
          const progressToken = ctx.mcpReq._meta?.progressToken;
          const call: ToolCall = {
            caller: exchange.caller,
            calls: new BigQueryCalls(app, o.internal, exchange.caller, door({ method: 'tools/call', tool: def.name }, exchange.req.id)),
            trail: new RequestTrail(`mcp.${def.name}`),
            signal: AbortSignal.any([exchange.signal, ctx.mcpReq.signal]),
            progress: async (progress, total, message) => {
              if (progressToken === undefined) return;
              await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress, ...(total !== undefined && { total }), message } });
            },
          };
          call.trail.identity = exchange.caller.identity;
          call.trail.door = door({ method: 'tools/call', tool: def.name }, null);
          return runTool(def, args, call, exchange);
        },
      );
    }
    return server;
  }

  async function runTool(def: ToolDefinition, args: unknown, call: ToolCall, exchange: Exchange): Promise<CallToolResult> {
    let result: CallToolResult;
    let status = 200;
    try {
      const out = await def.run(args, call);
      result = { content: [{ type: 'text', text: JSON.stringify(out) }], structuredContent: out };
    } catch (error) {
      const refusal = asRefusal(error, exchange.req);
      status = refusal.code;
      call.trail.error = { reason: refusal.reason, message: refusal.message };
      result = toolError(refusal);
    }
    o.metrics.mcpCalls.inc({ method: 'tools/call', tool: def.name, outcome: status < 400 ? 'ok' : 'tool_error' });
    try {
      await record(call.trail, exchange.req.id, status);
    } catch (error) {
      exchange.req.log.error({ err: { type: (error as Error).name, message: (error as Error).message } }, 'MCP call record failed');
      // An answer that was not recorded is never released.
      return toolError(new ToolRefusal(503, 'backendError', ANSWER_WITHHELD));
    }
    return result;
  }

  return { close: () => handler.close() };
}

/**
 * The schema with its JSON Schema conversions (`~standard.jsonSchema`) remembered: the SDK
 * converts on every tools/list and tools/call, and a fresh server per request remembers nothing.
 */
function convertedOnce<T extends object>(schema: T): T {
  const standard = (schema as { '~standard': { jsonSchema: Record<'input' | 'output', (options: unknown) => unknown> } })['~standard'];
  const memo = (convert: (options: unknown) => unknown) => {
    const done = new Map<string, unknown>();
    return (options: unknown) => {
      const key = JSON.stringify(options ?? null);
      if (!done.has(key)) done.set(key, convert(options));
      return done.get(key);
    };
  };
  const jsonSchema = { input: memo(standard.jsonSchema.input.bind(standard.jsonSchema)), output: memo(standard.jsonSchema.output.bind(standard.jsonSchema)) };
  return Object.create(schema, { '~standard': { value: { ...standard, jsonSchema } } }) as T;
}

function asRefusal(error: unknown, req: FastifyRequest): ToolRefusal {
  if (error instanceof ToolRefusal) return error;
  if (error instanceof BigQueryError) return new ToolRefusal(error.code, error.reason, error.message, (error.details ?? []) as never);
  if ((error as Error)?.name === 'AbortError' || (error as Error)?.message === 'the MCP client went away') {
    return new ToolRefusal(499, 'stopped', 'The caller closed the connection before its answer was ready.');
  }
  req.log.error({ err: { type: (error as Error).name, message: (error as Error).message, stack: (error as Error).stack } }, 'MCP tool failed');
  return new ToolRefusal(500, 'internalError', `The gateway failed to process this request (request id ${req.id}).`);
}

/** A refusal as a tool error: the reason code first, the facade's message, and the details as structured metadata. */
function toolError(refusal: ToolRefusal): CallToolResult {
  const approvalId = refusal.detail('approval_request_id');
  const hint = approvalId ? ` Call wait_for_approval with approval_request_id ${approvalId} to wait for the decision.` : '';
  return {
    isError: true,
    content: [{ type: 'text', text: `${refusal.reason} (HTTP ${refusal.code}): ${refusal.message}${hint}` }],
    _meta: {
      'sluice.dev/error': {
        code: refusal.code,
        reason: refusal.reason,
        ...(approvalId && { approval_request_id: approvalId, approval_url: refusal.detail('approval_url') ?? null }),
        details: refusal.details,
      },
    },
  };
}

function door(message: { method: string; tool?: string | null }, callId: string | null): Door {
  return { protocol: 'mcp', method: message.method, tool: message.tool ?? null, call_id: callId };
}

/**
 * The gateway publishes no notifications (its tools never change), so a `subscriptions/listen`
 * stream would carry nothing but keep-alives, held open with no end: past its token's expiry, the
 * principal's revocation, and for as many as a caller cares to open. It is refused.
 */
/**
 * Messages one JSON-RPC batch may hold. Each tool call may start BigQuery jobs, and one small POST
 * could carry thousands of them. Batching (2025-03-26) is gone from later protocol versions, and
 * clients that batch send a few messages.
 */
const MAX_BATCH = 16;

const LISTEN = 'subscriptions/listen';
const LISTEN_REFUSED = 'Method not found: subscriptions/listen is not served (this server sends no notifications)';

/** What a client's method or tool name is recorded as when it is none the gateway knows. */
export const OTHER = 'other';

/**
 * The methods the MCP specification defines, as the SDK types them (the compiler checks this
 * list against the SDK's: none missing, none extra), and the task methods it types apart.
 */
const SPEC_METHODS: Record<RequestMethod | NotificationMethod, true> = {
  'completion/complete': true,
  'elicitation/create': true,
  initialize: true,
  'logging/setLevel': true,
  'notifications/cancelled': true,
  'notifications/elicitation/complete': true,
  'notifications/initialized': true,
  'notifications/message': true,
  'notifications/progress': true,
  'notifications/prompts/list_changed': true,
  'notifications/resources/list_changed': true,
  'notifications/resources/updated': true,
  'notifications/roots/list_changed': true,
  'notifications/subscriptions/acknowledged': true,
  'notifications/tools/list_changed': true,
  ping: true,
  'prompts/get': true,
  'prompts/list': true,
  'resources/list': true,
  'resources/read': true,
  'resources/subscribe': true,
  'resources/templates/list': true,
  'resources/unsubscribe': true,
  'roots/list': true,
  'sampling/createMessage': true,
  'server/discover': true,
  'subscriptions/listen': true,
  'tools/call': true,
  'tools/list': true,
};
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  ...Object.keys(SPEC_METHODS),
  'tasks/get',
  'tasks/result',
  'tasks/list',
  'tasks/cancel',
  'notifications/tasks/status',
]);

/**
 * The JSON-RPC method and tool name of a body, for records and metrics (the SDK validates it),
 * bounded: a method the specification does not define and a tool name that is none of `tools`
 * are `other`; `(none)` when the body names no method (not JSON, a batch, no string).
 */
type Peeked = { method: string; tool: string | null };

export function peekMessage(message: unknown, tools: ReadonlySet<string>): Peeked {
  const m = message as { method?: unknown; params?: { name?: unknown } } | undefined;
  const method = typeof m?.method !== 'string' ? '(none)' : KNOWN_METHODS.has(m.method) ? m.method : OTHER;
  const name = (m?.params as { name?: unknown } | undefined)?.name;
  const tool = method !== 'tools/call' ? null : typeof name === 'string' && tools.has(name) ? name : OTHER;
  return { method, tool };
}

/** The token of an `Authorization: Bearer <token>` header (as the REST door reads it). */
function bearerToken(header: string | undefined): string | null {
  return /^Bearer +(\S+)/i.exec(header ?? '')?.[1] ?? null;
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function webRequest(req: FastifyRequest, resource: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const body = req.method === 'POST' && typeof req.body === 'string' ? req.body : undefined;
  return new Request(new URL(req.url, resource), { method: req.method, headers, ...(body !== undefined && { body }) });
}
