// Minimal JSON-over-HTTP client for the upstream BigQuery REST API: pooled keep-alive connections
// (node:http/https agents), a per-call timeout, the body parsed once. Nothing here knows BigQuery.
import http from 'node:http';
import https from 'node:https';

export interface UpstreamResponse {
  status: number;
  /** Parsed JSON body; undefined when the body was empty or not JSON. */
  body: unknown;
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
      const request = this.#request(url, { method: req.method, headers, agent: this.#agent, signal: req.signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            res.destroy();
            reject(new UpstreamUnavailable(`upstream response exceeds ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (error) => reject(new UpstreamUnavailable(`upstream response failed: ${error.message}`)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          if (text) {
            try {
              body = JSON.parse(text);
            } catch {
              body = undefined;
            }
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      request.setTimeout(req.timeoutMs ?? this.#timeoutMs, () => {
        request.destroy(new UpstreamUnavailable(`upstream did not answer within ${req.timeoutMs ?? this.#timeoutMs} ms`));
      });
      request.on('error', (error) =>
        reject(error instanceof UpstreamUnavailable ? error : new UpstreamUnavailable(`upstream unreachable: ${error.message}`)),
      );
      request.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
