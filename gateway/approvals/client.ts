// A small client of the approvals JSON API, for the CLI and scripts.
import type { ApprovalRequestView, ApprovalStatus, GrantView, VoteChoice, VoteResult } from './types.ts';
import type { Preview } from './preview.ts';
import type { PolicyInput } from '../../engine/schema-types.ts';

export class ApprovalsClientError extends Error {
  override name = 'ApprovalsClientError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface ApprovalsClientOptions {
  /** Base URL of the gateway (where the plugin is mounted). */
  gateway: string;
  /** Bearer OIDC access token. */
  token: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class ApprovalsClient {
  readonly #base: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: ApprovalsClientOptions) {
    this.#base = options.gateway.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#fetch = options.fetch ?? fetch;
  }

  async list(status: ApprovalStatus | 'all' = 'pending', limit?: number): Promise<ApprovalRequestView[]> {
    const query = new URLSearchParams({ status, ...(limit && { limit: String(limit) }) });
    return (await this.#call<{ requests: ApprovalRequestView[] }>('GET', `/approvals?${query}`)).requests;
  }

  async show(id: string): Promise<{ request: ApprovalRequestView; input?: PolicyInput; preview?: Preview }> {
    return this.#call('GET', `/approvals/${encodeURIComponent(id)}`);
  }

  async vote(id: string, vote: VoteChoice, comment: string): Promise<VoteResult> {
    return this.#call('POST', `/approvals/${encodeURIComponent(id)}/${vote}`, { comment });
  }

  async grants(status: 'active' | 'all' = 'active', limit?: number): Promise<GrantView[]> {
    const query = new URLSearchParams({ status, ...(limit && { limit: String(limit) }) });
    return (await this.#call<{ grants: GrantView[] }>('GET', `/grants?${query}`)).grants;
  }

  async revoke(id: string, comment = ''): Promise<GrantView> {
    return (await this.#call<{ grant: GrantView }>('POST', `/grants/${encodeURIComponent(id)}/revoke`, { comment })).grant;
  }

  async #call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const response = await this.#fetch(`${this.#base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.#token}`,
        accept: 'application/json',
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApprovalsClientError(response.status, error?.code ?? 'http_error', error?.message ?? `the gateway answered HTTP ${response.status}`);
    }
    if (json === undefined) throw new ApprovalsClientError(response.status, 'bad_response', 'the gateway answered with no JSON');
    return json as T;
  }
}
