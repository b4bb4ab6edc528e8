// The principal inventory's JSON API: GET /principals (pages in a stable order) and
// GET /principals/:issuer/:subject (both URL-encoded). Authenticated as the approvals API is (a
// bearer OIDC access token checked by the gateway's authenticator); readable by people in the
// configured reviewer groups only, since it names every caller and what each reached. Every
// refusal is recorded: a refused token as token_failure, a refused caller as access_refused.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../../engine/schema-types.ts';
import { apiErrorHandler, sendApiError, sendUnauthenticated, type Authenticate } from '../approvals/api.ts';
import type { AuditEvent } from '../audit/index.ts';
import type { Database } from '../store/database.ts';
import { getPrincipal, listPrincipals, MAX_PAGE, PageTokenError } from './inventory.ts';

export interface PrincipalsApiOptions {
  database: Pick<Database, 'db'>;
  authenticate: Authenticate;
  /** The audit log's record(); refusals are recorded before they are answered. */
  record: (event: AuditEvent) => Promise<unknown>;
  /** Groups whose human members may read the inventory; empty: nobody. */
  reviewerGroups: readonly string[];
  now?: () => number;
}

const BEARER = /^Bearer +(\S+) *$/i;

export async function principalsApi(app: FastifyInstance, options: PrincipalsApiOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const db = options.database.db;

  /** The caller, or undefined once the refusal was recorded and answered. */
  async function reviewer(request: FastifyRequest, reply: FastifyReply, route: string): Promise<Identity | undefined> {
    const result = await options.authenticate(request.headers.authorization);
    if (!result.ok) {
      const token = BEARER.exec(request.headers.authorization ?? '')?.[1] ?? null;
      await recordRefusal(request, { kind: 'token_failure', reason: result.reason, message: result.message, token, route, request_id: request.id });
      await sendUnauthenticated(reply, result);
      return undefined;
    }
    const identity = result.identity;
    // Agents never: the inventory is for the people who answer for access, not for callers.
    if (identity.kind !== 'human' || !identity.groups.some((g) => options.reviewerGroups.includes(g))) {
      const message = options.reviewerGroups.length
        ? `only people in ${options.reviewerGroups.join(', ')} may read the principal inventory`
        : 'no group may read the principal inventory (principals.reviewer_groups is not configured)';
      await recordRefusal(request, {
        kind: 'access_refused',
        route,
        request_id: request.id,
        identity: { subject: identity.subject, issuer: identity.issuer, kind: identity.kind, groups: identity.groups },
        status: 403,
        error: { code: 'not_a_reviewer', message },
      });
      await sendApiError(reply, 403, 'not_a_reviewer', message);
      return undefined;
    }
    return identity;
  }

  // A refusal stays a refusal when it cannot be recorded; the failure is logged.
  async function recordRefusal(request: FastifyRequest, event: AuditEvent): Promise<void> {
    try {
      await options.record(event);
    } catch (error) {
      request.log.error({ err: { type: (error as Error).name, message: (error as Error).message } }, 'principals API refusal not recorded in the audit trail');
    }
  }

  // Before the query is validated: a caller who may not read the inventory learns nothing from it.
  const guard = (route: string) => ({
    preValidation: async (request: FastifyRequest, reply: FastifyReply) => {
      if (!(await reviewer(request, reply, route))) return reply;
      return undefined;
    },
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof PageTokenError) return sendApiError(reply, 400, 'invalid_page_token', error.message);
    return apiErrorHandler(error, request, reply);
  });

  app.get<{ Querystring: { limit?: number; page_token?: string } }>(
    '/principals',
    {
      ...guard('principals.list'),
      schema: {
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE }, page_token: { type: 'string', minLength: 1, maxLength: 2048 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const page = await listPrincipals(db, { now, ...(request.query.limit && { limit: request.query.limit }), ...(request.query.page_token && { pageToken: request.query.page_token }) });
      return reply.header('cache-control', 'no-store').send({ principals: page.principals, ...(page.nextPageToken && { next_page_token: page.nextPageToken }) });
    },
  );

  app.get<{ Params: { issuer: string; subject: string } }>(
    '/principals/:issuer/:subject',
    {
      ...guard('principals.get'),
      schema: {
        params: {
          type: 'object',
          required: ['issuer', 'subject'],
          properties: { issuer: { type: 'string', minLength: 1, maxLength: 1024 }, subject: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
      },
    },
    async (request, reply) => {
      const principal = await getPrincipal(db, request.params.issuer, request.params.subject, { now });
      if (!principal) return sendApiError(reply, 404, 'not_found', 'the audit trail has seen no such principal');
      return reply.header('cache-control', 'no-store').send({ principal });
    },
  );
}
