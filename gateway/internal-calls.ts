// Calls another door of the gateway (the MCP server) makes to the BigQuery facade on an already
// authenticated caller's behalf. They go through the facade's own routes (fastify's inject), so
// every tool call takes the same pipeline as a REST call: the same decision, dry run, masking,
// job ownership, upstream checks and audit records. The caller travels as a one-time nonce in a
// header that only lives for the duration of the injected request; a header naming no live call
// is refused, so it cannot be forged from outside.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Decision } from '../engine/index.ts';
import type { Caller } from './enforce.ts';

export const INTERNAL_CALL_HEADER = 'x-sluice-internal-call';

/** Which door a call came through, for its audit records. */
export interface Door {
  protocol: 'mcp';
  /** The MCP method (`tools/call`, `tools/list`, …). */
  method: string;
  /** The tool called, for `tools/call`. */
  tool: string | null;
  /** The request id of the door's own record of the call, linking the facade's records to it. */
  call_id: string | null;
}

export interface InternalCall {
  caller: Caller;
  door: Door;
  /** Ends a hold or an upstream wait when the door's own caller goes away. */
  signal?: AbortSignal | undefined;
  /** The decisions the facade acted on while serving the call, in order. */
  readonly decisions: Decision[];
}

export interface InjectedAnswer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: any;
}

export class InternalCalls {
  readonly #live = new Map<string, InternalCall>();

  /** The live call a facade request serves; undefined for outside requests, refused (throws) for a stale or forged header. */
  of(req: FastifyRequest): InternalCall | undefined {
    const nonce = req.headers[INTERNAL_CALL_HEADER];
    if (nonce === undefined) return undefined;
    const call = typeof nonce === 'string' ? this.#live.get(nonce) : undefined;
    if (!call) throw new ForgedInternalCall();
    return call;
  }

  /** Whether `nonce` (an internal-call header's value) names a call in progress. */
  isLive(nonce: unknown): boolean {
    return typeof nonce === 'string' && this.#live.has(nonce);
  }

  /** Runs one facade request for `call` through `app`'s routes. */
  async inject(app: FastifyInstance, call: Omit<InternalCall, 'decisions'>, request: { method: 'GET' | 'POST'; url: string; body?: unknown; headers?: Record<string, string> }): Promise<InjectedAnswer & { call: InternalCall }> {
    const nonce = randomBytes(24).toString('base64url');
    const live: InternalCall = { ...call, decisions: [] };
    this.#live.set(nonce, live);
    try {
      const res = await app.inject({
        method: request.method,
        url: request.url,
        headers: { ...request.headers, [INTERNAL_CALL_HEADER]: nonce, ...(request.body !== undefined && { 'content-type': 'application/json' }) },
        ...(request.body !== undefined && { payload: JSON.stringify(request.body) }),
      });
      let body: unknown = res.body;
      try {
        body = JSON.parse(res.body);
      } catch {
        // not JSON: kept as text
      }
      return { status: res.statusCode, headers: res.headers, body, call: live };
    } finally {
      this.#live.delete(nonce);
    }
  }
}

export class ForgedInternalCall extends Error {
  override name = 'ForgedInternalCall';
  constructor() {
    super('the internal-call header names no call in progress');
  }
}
