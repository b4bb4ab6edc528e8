// Fastify plugin: the approvals JSON API (`/approvals`, `/grants`) and, when sign-in is
// configured, the approver web page (`/approve`). Encapsulated: its form parser and error
// handler apply to its own routes only.
//
//   await app.register(approvalsPlugin, { store, authenticate: auth.authenticate, publicUrl, page: {…} });
import type { FastifyInstance } from 'fastify';
import type { Identity } from '../../engine/schema-types.ts';
import { apiErrorHandler, registerApi, type Authenticate } from './api.ts';
import { registerPage, type ApproverPageOptions } from './page/routes.ts';
import { messagePage } from './page/views.ts';
import type { PreviewEngine } from './preview.ts';
import { Refusals, type RecordAudit } from './refusals.ts';
import type { ApprovalStore } from './store.ts';

export type { ApproverPageOptions } from './page/routes.ts';
export type { PreviewEngine } from './preview.ts';

export interface ApprovalsPluginOptions {
  store: ApprovalStore;
  /** The gateway's token check (createAuthenticator(…).authenticate). */
  authenticate: Authenticate;
  /** Shows approvers what the policy would decide once the proposed grant exists. */
  engine?: PreviewEngine;
  /** External URL of the plugin's root (include the prefix it is registered under). Default the store's. */
  publicUrl?: string;
  /**
   * Records the refusals the store does not see (bad tokens, refused forms, requests the caller may
   * not see) in the audit trail: AuditLog.record. Absent, they are answered but not recorded.
   */
  record?: RecordAudit;
  /** The approver page and its sign-in; absent, only the API is served. */
  page?: ApproverPageOptions;
  /** Why a person signed in to the page may no longer act (revocation), or undefined. */
  principalRefusal?: (identity: Identity, signedInAtMs: number) => string | undefined;
  /** Clock in epoch milliseconds (tests). */
  now?: () => number;
}

export async function approvalsPlugin(app: FastifyInstance, options: ApprovalsPluginOptions): Promise<void> {
  if (!options?.store || typeof options.authenticate !== 'function') throw new TypeError('approvalsPlugin needs a store and an authenticate function');
  const now = options.now ?? Date.now;
  const publicUrl = (options.publicUrl ?? options.store.publicUrl).replace(/\/+$/, '');
  const refusals = new Refusals(options.record);
  registerApi(app, { store: options.store, authenticate: options.authenticate, refusals, now, ...(options.engine && { engine: options.engine }) });
  if (options.page) {
    registerPage(app, {
      store: options.store,
      authenticate: options.authenticate,
      refusals,
      publicUrl,
      now,
      options: options.page,
      ...(options.principalRefusal && { refusal: options.principalRefusal }),
      ...(options.engine && { engine: options.engine }),
    });
  }
  const pageRoot = `${app.prefix}/approve`;
  app.setErrorHandler(async (error, request, reply) => {
    if (request.url === pageRoot || request.url.startsWith(`${pageRoot}/`) || request.url.startsWith(`${pageRoot}?`)) {
      const status = (error as { statusCode?: number }).statusCode;
      const client = typeof status === 'number' && status >= 400 && status < 500;
      if (!client) request.log.error({ err: error }, 'approver page failed');
      const page = messagePage({ base: new URL(`${publicUrl}/approve`).pathname }, client ? 'Bad request' : 'Something went wrong', client ? 'The request could not be understood.' : 'The page could not be shown. Try again in a moment.');
      return reply.code(client ? status : 500).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page);
    }
    return apiErrorHandler(error, request, reply, refusals);
  });
}
