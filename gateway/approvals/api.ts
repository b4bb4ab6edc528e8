// The approvals JSON API, for the CLI and other tools. Every route needs a bearer OIDC access
// token checked by the gateway's authenticator, before anything else about the call is looked at;
// what a caller sees is limited to requests it raised or may decide on, and grants it holds or may
// revoke. Listings are paged (page tokens) and carry the caller's counts per status. Every refusal
// is recorded in the audit trail: the store records refused votes and revokes, this module the rest.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../../engine/schema-types.ts';
import { challengeDescription, type AuthResult } from '../auth/index.ts';
import { ApprovalError } from './errors.ts';
import { APPROVAL_STATUSES, GRANT_STATUSES, MAX_PAGE_SIZE } from './listing.ts';
import { previewWithGrant, type PreviewEngine } from './preview.ts';
import type { Refusals, RefusedOperation } from './refusals.ts';
import type { ApprovalStore } from './store.ts';
import type { ApprovalStatus, GrantStatus, VoteChoice } from './types.ts';

export type Authenticate = (authorizationHeader: string | undefined) => Promise<AuthResult>;

export interface ApiContext {
  store: ApprovalStore;
  authenticate: Authenticate;
  engine?: PreviewEngine;
  refusals: Refusals;
  now: () => number;
}

const STATUSES = [...APPROVAL_STATUSES, 'all'] as const;
const listingQuery = (statuses: readonly string[]) =>
  ({
    type: 'object',
    properties: {
      status: { enum: statuses },
      dataset: { type: 'string', minLength: 1, maxLength: 1024 },
      requester: { type: 'string', minLength: 1, maxLength: 1024 },
      pageToken: { type: 'string', minLength: 1, maxLength: 512 },
      maxResults: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE },
    },
    additionalProperties: false,
  }) as const;
interface ListingQuery<S> {
  status?: S;
  dataset?: string;
  requester?: string;
  pageToken?: string;
  maxResults?: number;
}
const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;
const commentBody = {
  anyOf: [
    { type: 'object', properties: { comment: { type: 'string' } }, additionalProperties: false },
    { type: 'null' },
  ],
} as const;

declare module 'fastify' {
  interface FastifyRequest {
    approvalsIdentity?: Identity;
  }
}

export function sendApiError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send({ error: { code, message } });
}

/** 401 with the Bearer challenge (RFC 6750) for a token the authenticator refused; shared by the gateway's JSON APIs. */
export function sendUnauthenticated(reply: FastifyReply, failure: Extract<AuthResult, { ok: false }>): FastifyReply {
  const error = failure.reason === 'missing_token' ? '' : `, error="invalid_token", error_description="${challengeDescription(failure.message)}"`;
  reply.header('www-authenticate', `Bearer realm="sluice"${error}`);
  return sendApiError(reply, 401, 'unauthenticated', failure.message);
}

export function registerApi(app: FastifyInstance, context: ApiContext): void {
  const { store } = context;

  async function requireIdentity(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const result = await context.authenticate(request.headers.authorization);
    if (!result.ok) {
      await context.refusals.tokenFailure(request.log, `${request.method} ${request.routeOptions.url ?? request.url}`, request.headers.authorization, result);
      await sendUnauthenticated(reply, result);
      return;
    }
    request.approvalsIdentity = result.identity;
  }

  function identityOf(request: FastifyRequest): Identity {
    if (!request.approvalsIdentity) throw new Error('route ran without authentication');
    return request.approvalsIdentity;
  }

  // onRequest: the token is checked before the input is validated, so no caller learns more than 401.
  const authenticated = { onRequest: requireIdentity };

  /** Runs a listing; a refused one (a page token not of this listing) is recorded, then answered. */
  async function listing<T>(request: FastifyRequest, operation: RefusedOperation, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof ApprovalError) await context.refusals.approval(request.log, operation, null, request.approvalsIdentity, { code: error.code, message: error.message });
      throw error;
    }
  }

  app.get<{ Querystring: ListingQuery<ApprovalStatus | 'all'> }>(
    '/approvals',
    { ...authenticated, schema: { querystring: listingQuery(STATUSES) } },
    async (request) => {
      const { status = 'pending', dataset, requester, pageToken, maxResults } = request.query;
      const page = await listing(request, 'list', () =>
        store.listPage({ status, visibleTo: identityOf(request), ...(dataset && { dataset }), ...(requester && { requester }), ...(pageToken && { pageToken }), ...(maxResults && { maxResults }) }),
      );
      return { requests: page.items, counts: page.counts, ...pageTokens(page) };
    },
  );

  app.get<{ Params: { id: string } }>('/approvals/:id', { ...authenticated, schema: { params: idParams } }, async (request, reply) => {
    const identity = identityOf(request);
    const view = await store.get(request.params.id);
    // Someone who may not see a request learns nothing about it, not even that it exists.
    if (!view || !store.mayView(identity, view)) {
      const message = `approval request ${request.params.id} does not exist`;
      await context.refusals.approval(request.log, 'view', request.params.id, identity, { code: 'not_found', message });
      return sendApiError(reply, 404, 'not_found', message);
    }
    const input = await store.requestInput(view.id);
    const preview = context.engine && input ? previewWithGrant(context.engine, view, input, context.now()) : undefined;
    return { request: view, input, ...(preview && { preview }) };
  });

  for (const vote of ['approve', 'reject'] as const satisfies VoteChoice[]) {
    app.post<{ Params: { id: string }; Body: { comment?: string } | null }>(
      `/approvals/:id/${vote}`,
      { ...authenticated, schema: { params: idParams, body: commentBody } },
      async (request) => {
        const result = await store.vote({
          requestId: request.params.id,
          approver: identityOf(request),
          vote,
          comment: request.body?.comment ?? '',
        });
        return result;
      },
    );
  }

  app.get<{ Querystring: ListingQuery<GrantStatus | 'all'> }>(
    '/grants',
    { ...authenticated, schema: { querystring: listingQuery([...GRANT_STATUSES, 'all']) } },
    async (request) => {
      const { status = 'active', dataset, requester, pageToken, maxResults } = request.query;
      const page = await listing(request, 'list_grants', () =>
        store.listGrantsPage({ status, visibleTo: identityOf(request), ...(dataset && { dataset }), ...(requester && { requester }), ...(pageToken && { pageToken }), ...(maxResults && { maxResults }) }),
      );
      return { grants: page.items, counts: page.counts, ...pageTokens(page) };
    },
  );

  app.post<{ Params: { id: string }; Body: { comment?: string } | null }>(
    '/grants/:id/revoke',
    { ...authenticated, schema: { params: idParams, body: commentBody } },
    async (request) => {
      const grant = await store.revoke(request.params.id, identityOf(request), request.body?.comment?.trim() ?? '');
      return { grant };
    },
  );
}

const VOTE_ROUTE = /\/approvals\/:id\/(approve|reject)$/;

function pageTokens(page: { nextPageToken?: string; prevPageToken?: string }) {
  return { ...(page.nextPageToken && { nextPageToken: page.nextPageToken }), ...(page.prevPageToken && { prevPageToken: page.prevPageToken }) };
}

/**
 * Maps errors of the API's routes to `{error: {code, message}}`. Input refused before the store saw
 * it (a malformed vote or revoke) is recorded here; the store records its own refusals.
 */
export async function apiErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply, refusals?: Refusals): Promise<FastifyReply> {
  if (error instanceof ApprovalError) return sendApiError(reply, error.httpStatus, error.code, error.message);
  const status = (error as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = error instanceof Error ? error.message : 'invalid request';
    const route = request.routeOptions.url ?? '';
    const id = (request.params as { id?: unknown } | undefined)?.id;
    if (refusals && typeof id === 'string' && id.length > 0) {
      const problem = { code: 'invalid_request', message };
      const vote = VOTE_ROUTE.exec(route)?.[1] as VoteChoice | undefined;
      if (vote) await refusals.approval(request.log, 'vote', id, request.approvalsIdentity, problem, { vote });
      else if (route.endsWith('/grants/:id/revoke')) await refusals.grant(request.log, id, request.approvalsIdentity, problem);
    }
    return sendApiError(reply, status, 'invalid_request', message);
  }
  request.log.error({ err: error }, 'approvals API failed');
  return sendApiError(reply, 500, 'internal', 'the request could not be completed');
}
