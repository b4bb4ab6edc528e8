// The approvals JSON API, for the CLI and other tools. Every route needs a bearer OIDC access
// token checked by the gateway's authenticator; what a caller sees is limited to requests it
// raised or may decide on, and grants it holds or may revoke.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../../engine/schema-types.ts';
import type { AuthResult } from '../auth/index.ts';
import { ApprovalError } from './errors.ts';
import { previewWithGrant, type PreviewEngine } from './preview.ts';
import type { ApprovalStore } from './store.ts';
import type { ApprovalStatus, VoteChoice } from './types.ts';

export type Authenticate = (authorizationHeader: string | undefined) => Promise<AuthResult>;

export interface ApiContext {
  store: ApprovalStore;
  authenticate: Authenticate;
  engine?: PreviewEngine;
  now: () => number;
}

const STATUSES = ['pending', 'approved', 'rejected', 'expired', 'all'] as const;
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

export function registerApi(app: FastifyInstance, context: ApiContext): void {
  const { store } = context;

  async function requireIdentity(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const result = await context.authenticate(request.headers.authorization);
    if (!result.ok) {
      const error = result.reason === 'missing_token' ? '' : `, error="invalid_token", error_description="${result.message.replace(/["\\]/g, '')}"`;
      reply.header('www-authenticate', `Bearer realm="sluice"${error}`);
      await sendApiError(reply, 401, 'unauthenticated', result.message);
      return;
    }
    request.approvalsIdentity = result.identity;
  }

  function identityOf(request: FastifyRequest): Identity {
    if (!request.approvalsIdentity) throw new Error('route ran without authentication');
    return request.approvalsIdentity;
  }

  const authenticated = { preHandler: requireIdentity };

  app.get<{ Querystring: { status?: (typeof STATUSES)[number]; limit?: number } }>(
    '/approvals',
    {
      ...authenticated,
      schema: {
        querystring: {
          type: 'object',
          properties: { status: { enum: STATUSES }, limit: { type: 'integer', minimum: 1, maximum: 500 } },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const status = (request.query.status ?? 'pending') as ApprovalStatus | 'all';
      const requests = await store.list({ status, visibleTo: identityOf(request), ...(request.query.limit && { limit: request.query.limit }) });
      return { requests };
    },
  );

  app.get<{ Params: { id: string } }>('/approvals/:id', { ...authenticated, schema: { params: idParams } }, async (request, reply) => {
    const identity = identityOf(request);
    const view = await store.get(request.params.id);
    // Someone who may not see a request learns nothing about it, not even that it exists.
    if (!view || !store.mayView(identity, view)) return sendApiError(reply, 404, 'not_found', `approval request ${request.params.id} does not exist`);
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

  app.get<{ Querystring: { status?: 'active' | 'all'; limit?: number } }>(
    '/grants',
    {
      ...authenticated,
      schema: {
        querystring: {
          type: 'object',
          properties: { status: { enum: ['active', 'all'] }, limit: { type: 'integer', minimum: 1, maximum: 500 } },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const grants = await store.listGrants({
        status: request.query.status ?? 'active',
        visibleTo: identityOf(request),
        ...(request.query.limit && { limit: request.query.limit }),
      });
      return { grants };
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

/** Maps errors of the API's routes to `{error: {code, message}}`. */
export function apiErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof ApprovalError) return sendApiError(reply, error.httpStatus, error.code, error.message);
  const status = (error as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return sendApiError(reply, status, 'invalid_request', error instanceof Error ? error.message : 'invalid request');
  }
  request.log.error({ err: error }, 'approvals API failed');
  return sendApiError(reply, 500, 'internal', 'the request could not be completed');
}
