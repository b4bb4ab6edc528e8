// A small client of the approvals JSON API, for the CLI and scripts.
import type { ApprovalRequestView, ApprovalStatus, GrantStatus, GrantView, VoteChoice, VoteResult } from './types.ts';
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

/** Filters and paging of `GET /approvals` and `GET /grants`. */
export interface ListQuery<S extends string> {
  status?: S;
  /** `project.dataset`. */
  dataset?: string;
  /** The requester's (grant holder's) subject. */
  requester?: string;
  pageToken?: string;
  maxResults?: number;
}

interface Paged {
  nextPageToken?: string;
  prevPageToken?: string;
}

export interface RequestListing extends Paged {
  requests: ApprovalRequestView[];
  counts: Record<ApprovalStatus, number>;
}

export interface GrantListing extends Paged {
  grants: GrantView[];
  counts: Record<GrantStatus, number>;
}

function queryString(query: ListQuery<string>): URLSearchParams {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, String(value));
  return params;
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

  /** One page of requests with the caller's counts per status; pass nextPageToken back for the next. */
  async listPage(query: ListQuery<ApprovalStatus | 'all'> = {}): Promise<RequestListing> {
    return this.#call('GET', `/approvals?${queryString(query)}`);
  }

  /** The first page of requests in one status (default pending). */
  async list(status: ApprovalStatus | 'all' = 'pending', maxResults?: number): Promise<ApprovalRequestView[]> {
    return (await this.listPage({ status, ...(maxResults && { maxResults }) })).requests;
  }

  async show(id: string): Promise<{ request: ApprovalRequestView; input?: PolicyInput; preview?: Preview }> {
    return this.#call('GET', `/approvals/${encodeURIComponent(id)}`);
  }

  async vote(id: string, vote: VoteChoice, comment: string): Promise<VoteResult> {
    return this.#call('POST', `/approvals/${encodeURIComponent(id)}/${vote}`, { comment });
  }

  async grantsPage(query: ListQuery<GrantStatus | 'all'> = {}): Promise<GrantListing> {
    return this.#call('GET', `/grants?${queryString(query)}`);
  }

  /** The first page of grants in one status (default active). */
  async grants(status: GrantStatus | 'all' = 'active', maxResults?: number): Promise<GrantView[]> {
    return (await this.grantsPage({ status, ...(maxResults && { maxResults }) })).grants;
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
