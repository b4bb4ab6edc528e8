// Minimal JSON-over-HTTP client for the upstream BigQuery REST API: pooled keep-alive connections
// (node:http/https agents), a per-call timeout, the body parsed once. Nothing here knows BigQuery.
import http from 'node:http';
import https from 'node:https';

export interface UpstreamResponse {
  status: number;
  /** Parsed JSON body; undefined when the body was empty or not JSON (`problem` says which). */
  body: unknown;
  /** Why the body cannot be used, when it cannot: empty, not JSON, or not declared JSON. */
  problem?: string;
}

export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH' | 'PUT';
  /** Path below the REST root, starting with `/`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class UpstreamUnavailable extends Error {
  override name = 'UpstreamUnavailable';
}

/** The upstream took longer than the call's timeout; the call was abandoned. */
export class UpstreamTimeout extends UpstreamUnavailable {
  override name = 'UpstreamTimeout';
}

/** Largest upstream body accepted; BigQuery pages are capped at 20 MB by the API itself. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export class HttpUpstream {
  readonly root: URL;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;
  readonly #timeoutMs: number;

  constructor(root: string, options: { timeoutMs?: number; maxSockets?: number } = {}) {
    this.root = new URL(root);
    const secure = this.root.protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 128, keepAliveMsecs: 10_000 };
    this.#agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.#request = secure ? https.request : http.request;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
  }

  call(req: UpstreamRequest): Promise<UpstreamResponse> {
    const url = new URL(this.root.pathname.replace(/\/$/, '') + req.path, this.root);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string | number> = { accept: 'application/json', ...req.headers };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    return new Promise((resolve, reject) => {
      /** Set when the gateway itself ends the call (timeout), so the cut body reports that instead. */
      let ending: UpstreamUnavailable | undefined;
      const request = this.#request(url, { method: req.method, headers, agent: this.#agent, signal: req.signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let ended = false;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            res.destroy();
            reject(new UpstreamUnavailable(`upstream response exceeds ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        // A body cut short (fewer bytes than its length, or a chunked body without its last chunk)
        // is a failed call, never a shorter answer.
        const cut = () => reject(ending ?? new UpstreamUnavailable(`upstream response was cut off after ${size} bytes`));
        res.on('error', cut);
        res.on('close', () => {
          if (!ended) cut();
        });
        res.on('end', () => {
          ended = true;
          if (!res.complete) return cut();
          resolve(parseBody(res.statusCode ?? 0, res.headers['content-type'], Buffer.concat(chunks).toString('utf8')));
        });
      });
      // A deadline for the whole exchange, not the socket's idle time: a trickling body counts too.
      const timeoutMs = req.timeoutMs ?? this.#timeoutMs;
      const deadline = setTimeout(() => {
        ending = new UpstreamTimeout(`upstream did not answer within ${timeoutMs} ms`);
        request.destroy(ending);
      }, timeoutMs);
      deadline.unref();
      request.on('close', () => clearTimeout(deadline));
      request.on('error', (error) =>
        reject(error instanceof UpstreamUnavailable ? error : new UpstreamUnavailable(`upstream call failed: ${error.message}`)),
      );
      request.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

function parseBody(status: number, contentType: string | undefined, text: string): UpstreamResponse {
  if (!text) return { status, body: undefined, problem: 'an empty body' };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { status, body: undefined, problem: `a body that is not JSON (${Buffer.byteLength(text)} bytes of ${contentType || 'undeclared content'})` };
  }
  // JSON under another content type is still a sign of something other than the API answering.
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType ?? '')) {
    return { status, body, problem: `a body declared as ${contentType || 'nothing'}, not application/json` };
  }
  return { status, body };
}
