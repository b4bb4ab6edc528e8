// The approver web page under `/approve`: sign-in through the identity provider, the pending
// list, a request's detail with approve/reject, the grants list with revoke.
//
// State-changing requests are POST forms only, each carrying the session's CSRF token; the
// cookies are SameSite=Lax and HttpOnly, and a POST whose Origin or Sec-Fetch-Site says it came
// from another site is refused before the token is even looked at. Every refused form, request
// and page token is recorded in the audit trail with the signed-in person. Every response forbids
// framing, inline script and caching.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../../../engine/schema-types.ts';
import type { Authenticate } from '../api.ts';
import { ApprovalError } from '../errors.ts';
import { APPROVAL_STATUSES } from '../listing.ts';
import { previewWithGrant, type PreviewEngine } from '../preview.ts';
import type { Problem, Refusals } from '../refusals.ts';
import type { ApprovalStore } from '../store.ts';
import type { ApprovalRequestView, GrantView, VoteChoice } from '../types.ts';
import { html } from './html.ts';
import { SessionCodec, newCsrfToken, newSessionId, readCookie, sameToken, serializeCookie, type PageSession } from './session.ts';
import { SignIn, SignInError, type SignInOptions } from './sign-in.ts';
import { STYLESHEET, alert, grantsPage, messagePage, requestDetailPage, requestListPage, type Chrome } from './views.ts';

export interface ApproverPageOptions extends SignInOptions {
  /** Secret the session cookies are encrypted under (at least 32 bytes); replicas must share it. Default: random per process. */
  sessionSecret?: string | Uint8Array;
  /** How long a sign-in lasts. Default 3600. */
  sessionTtlSeconds?: number;
}

export interface PageContext {
  store: ApprovalStore;
  authenticate: Authenticate;
  engine?: PreviewEngine;
  refusals: Refusals;
  /** External URL of the plugin's root; the page lives at `${publicUrl}/approve`. */
  publicUrl: string;
  now: () => number;
  options: ApproverPageOptions;
  /** Why a signed-in person may no longer act (disabled, sessions revoked), or undefined. */
  refusal?: (identity: Identity, signedInAtMs: number) => string | undefined;
}

const LOGIN_TTL_SECONDS = 600;
const PAGE_SIZE = 50;
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // same-origin keeps the Origin header on our own form posts (no-referrer would null it).
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

export function registerPage(app: FastifyInstance, context: PageContext): void {
  const { store } = context;
  const external = new URL(`${context.publicUrl.replace(/\/+$/, '')}/approve`);
  const base = external.pathname; // links and cookie paths as the browser sees them
  const secure = external.protocol === 'https:';
  const origin = external.origin;
  const sessionCookie = secure ? '__Secure-sluice_approver' : 'sluice_approver';
  const loginCookie = secure ? '__Secure-sluice_sign_in' : 'sluice_sign_in';
  const sessionTtl = context.options.sessionTtlSeconds ?? 3600;
  const codec = new SessionCodec(context.options.sessionSecret);
  const signIn = new SignIn(context.options, `${external.href}/callback`, context.authenticate);

  // Forms post application/x-www-form-urlencoded; only this plugin's routes parse it.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  function send(reply: FastifyReply, status: number, page: string): FastifyReply {
    return reply.code(status).headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(page);
  }

  async function sessionOf(request: FastifyRequest): Promise<PageSession | undefined> {
    const session = await codec.openSession(readCookie(request.headers.cookie, sessionCookie));
    if (!session) return undefined;
    // A session outlives the token it began with: a principal disabled since is signed out.
    const refused = context.refusal?.(session.identity, session.signedInAtMs ?? 0);
    if (refused) {
      request.log.info({ issuer: session.identity.issuer, subject: session.identity.subject }, 'approver page session refused by revocation');
      return undefined;
    }
    // A copy of a signed-out session's cookie is worth nothing, here or on another replica.
    if (await store.pageSessionEnded(session.id)) {
      request.log.info({ issuer: session.identity.issuer, subject: session.identity.subject }, 'approver page session refused: signed out');
      return undefined;
    }
    return session;
  }

  const internalRoot = `${app.prefix}/approve`; // where fastify sees the page; `base` is where the browser does
  function toSignIn(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const within = request.url.startsWith(internalRoot) ? request.url.slice(internalRoot.length) : '';
    const next = safeNext(`${base}${within}`, base);
    return reply.headers(SECURITY_HEADERS).redirect(`${base}/login?next=${encodeURIComponent(next)}`, 303);
  }

  /** Why a POST is refused: it came from another site, or lacks this session's CSRF token. */
  function postProblem(request: FastifyRequest, session: PageSession): Problem | undefined {
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') return { code: 'cross_site_request', message: 'the form was posted from another site (Sec-Fetch-Site)' };
    const from = request.headers.origin;
    if (from !== undefined && from !== origin) return { code: 'cross_site_request', message: 'the form was posted from another origin (Origin)' };
    const token = (request.body as Record<string, unknown> | undefined)?.csrf;
    if (typeof token !== 'string' || token === '') return { code: 'csrf_token_missing', message: 'the form carried no CSRF token' };
    return sameToken(token, session.csrf) ? undefined : { code: 'csrf_token_invalid', message: "the form's CSRF token is not this session's" };
  }

  const unauthenticated: Problem = { code: 'unauthenticated', message: 'not signed in to the approver page' };

  function chrome(session?: PageSession): Chrome {
    return { base, ...(session && { session }) };
  }

  const refusedPost = (reply: FastifyReply, session: PageSession) =>
    send(reply, 403, messagePage(chrome(session), 'Request refused', 'The form was stale or came from another site. Reload the page and try again.', { href: base, label: 'Back to pending requests' }));

  app.get('/approve/assets/page.css', async (_request, reply) =>
    reply.headers({ 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' }).type('text/css; charset=utf-8').send(STYLESHEET),
  );

  app.get<{ Querystring: { next?: string } }>('/approve/login', async (request, reply) => {
    const next = safeNext(request.query.next, base);
    let start: Awaited<ReturnType<SignIn['start']>>;
    try {
      start = await signIn.start(next);
    } catch (error) {
      request.log.warn({ err: error }, 'approver sign-in could not start');
      return send(reply, 502, messagePage(chrome(), 'Sign-in unavailable', 'The identity provider could not be reached. Try again in a moment.', { href: `${base}/login?next=${encodeURIComponent(next)}`, label: 'Try again' }));
    }
    const sealed = await codec.sealLogin(start.state, LOGIN_TTL_SECONDS);
    reply.header('set-cookie', serializeCookie(loginCookie, sealed, { path: `${base}/callback`, secure, maxAgeSeconds: LOGIN_TTL_SECONDS }));
    return reply.headers(SECURITY_HEADERS).redirect(start.url, 303);
  });

  app.get('/approve/callback', async (request, reply) => {
    const expected = await codec.openLogin(readCookie(request.headers.cookie, loginCookie));
    const clearLogin = serializeCookie(loginCookie, '', { path: `${base}/callback`, secure, maxAgeSeconds: 0 });
    const retry = { href: `${base}/login`, label: 'Sign in again' };
    if (!expected) {
      return send(reply.header('set-cookie', clearLogin), 400, messagePage(chrome(), 'Sign-in expired', 'This sign-in was not started here or took too long.', retry));
    }
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    try {
      const { identity, name } = await signIn.finish(query, expected);
      const session: PageSession = { id: newSessionId(), identity, csrf: newCsrfToken(), ...(name && { name }) };
      const sealed = await codec.sealSession(session, sessionTtl);
      reply.header('set-cookie', [clearLogin, serializeCookie(sessionCookie, sealed, { path: base, secure, maxAgeSeconds: sessionTtl })]);
      return reply.headers(SECURITY_HEADERS).redirect(safeNext(expected.next, base), 303);
    } catch (error) {
      request.log.warn({ err: error }, 'approver sign-in failed');
      const message = error instanceof SignInError ? error.message : 'sign-in failed';
      await context.refusals.tokenFailure(request.log, 'GET /approve/callback', undefined, { reason: 'sign_in_failed', message });
      return send(reply.header('set-cookie', clearLogin), 401, messagePage(chrome(), 'Sign-in failed', message, retry));
    }
  });

  app.post('/approve/logout', async (request, reply) => {
    const session = await sessionOf(request);
    if (session && postProblem(request, session)) return refusedPost(reply, session);
    reply.header('set-cookie', serializeCookie(sessionCookie, '', { path: base, secure, maxAgeSeconds: 0 }));
    const signIn = { href: `${base}/login`, label: 'Sign in' };
    if (session) {
      try {
        await store.endPageSession(session.id, session.expiresAtMs ?? context.now() + sessionTtl * 1000);
      } catch (error) {
        request.log.error({ err: { message: (error as Error).message } }, 'approver page sign-out not recorded');
        const message = 'You are signed out in this browser, but the sign-out could not be recorded: a copy of this session stays valid until it expires.';
        return send(reply, 503, messagePage(chrome(), 'Sign-out not recorded', message, signIn));
      }
    }
    return send(reply, 200, messagePage(chrome(), 'Signed out', 'You are signed out of the approver page.', signIn));
  });

  app.get<{ Querystring: { status?: string; pageToken?: string } }>('/approve', async (request, reply) => {
    const session = await sessionOf(request);
    if (!session) return toSignIn(request, reply);
    const status = APPROVAL_STATUSES.find((s) => s === request.query.status) ?? 'pending';
    const pageToken = typeof request.query.pageToken === 'string' ? request.query.pageToken : undefined;
    try {
      // People see the requests they may decide on here, not their own.
      const page = await store.listPage({ status, visibleTo: session.identity, decidableOnly: true, maxResults: PAGE_SIZE, ...(pageToken && { pageToken }) });
      return send(reply, 200, requestListPage(chrome(session), { status, ...page }));
    } catch (error) {
      if (!(error instanceof ApprovalError)) throw error;
      await context.refusals.approval(request.log, 'list', null, session.identity, { code: error.code, message: error.message });
      return send(reply, 400, messagePage(chrome(session), 'Bad request', 'That page of the list does not exist. Start again from the first page.', { href: base, label: 'Back to pending requests' }));
    }
  });

  async function renderDetail(reply: FastifyReply, session: PageSession, request: ApprovalRequestView, status: number, extra: { notice?: ReturnType<typeof html>; comment?: string } = {}) {
    const me = session.identity;
    const cannotVote =
      request.requester.subject === me.subject && request.requester.issuer === me.issuer
        ? 'You cannot decide on your own request.'
        : !me.groups.some((g) => request.approverGroups.includes(g))
          ? `Only members of ${request.approverGroups.join(', ')} decide on this request.`
          : request.votes.some((v) => v.approver.subject === me.subject && v.approver.issuer === me.issuer)
            ? 'You have voted on this request.'
            : undefined;
    const input = context.engine && request.status === 'pending' ? await store.requestInput(request.id) : undefined;
    const preview = context.engine && input ? previewWithGrant(context.engine, request, input, context.now()) : undefined;
    return send(reply, status, requestDetailPage(chrome(session), { request, ...(cannotVote && { cannotVote }), ...(preview && { preview }), ...extra }));
  }

  const notFound = (reply: FastifyReply, session: PageSession) =>
    send(reply, 404, messagePage(chrome(session), 'Not found', 'There is no such request, or it is not yours to see.', { href: base, label: 'Back to pending requests' }));

  app.get<{ Params: { id: string }; Querystring: { done?: string } }>('/approve/requests/:id', async (request, reply) => {
    const session = await sessionOf(request);
    if (!session) return toSignIn(request, reply);
    const view = await store.get(request.params.id);
    if (!view || !store.mayView(session.identity, view)) {
      await context.refusals.approval(request.log, 'view', request.params.id, session.identity, { code: 'not_found', message: `approval request ${request.params.id} does not exist or is not the caller's to see` });
      return notFound(reply, session);
    }
    // The confirmation comes from the link the vote redirected to, so it is shown only when this
    // person's recorded vote says the same: a crafted link cannot tell an approver they decided.
    const me = session.identity;
    const voted = view.votes.find((v) => v.approver.subject === me.subject && v.approver.issuer === me.issuer)?.vote;
    const done = request.query.done === 'approved' && voted === 'approve' ? 'approved' : request.query.done === 'rejected' && voted === 'reject' ? 'rejected' : undefined;
    const notice =
      done === 'approved'
        ? alert('success', view.grantId ? `You approved this request. Grant ${view.grantId} is active.` : 'Your approval is recorded; more approvals are needed.')
        : done === 'rejected'
          ? alert('success', 'You rejected this request.')
          : undefined;
    return renderDetail(reply, session, view, 200, notice ? { notice } : {});
  });

  app.post<{ Params: { id: string }; Body: Record<string, unknown> }>('/approve/requests/:id/vote', async (request, reply) => {
    const requestId = request.params.id;
    const vote = request.body?.vote;
    const choice = vote === 'approve' || vote === 'reject' ? { vote: vote as VoteChoice } : {};
    const session = await sessionOf(request);
    if (!session) {
      await context.refusals.approval(request.log, 'vote', requestId, undefined, unauthenticated, choice);
      return toSignIn(request, reply);
    }
    const problem = postProblem(request, session);
    if (problem) {
      await context.refusals.approval(request.log, 'vote', requestId, session.identity, problem, choice);
      return refusedPost(reply, session);
    }
    const comment = typeof request.body?.comment === 'string' ? request.body.comment : '';
    try {
      if (vote !== 'approve' && vote !== 'reject') {
        const error = new ApprovalError('invalid_request', 'Choose Approve or Reject.');
        await context.refusals.approval(request.log, 'vote', requestId, session.identity, { code: error.code, message: error.message }, comment ? { comment } : {});
        throw error;
      }
      await store.vote({ requestId, approver: session.identity, vote, comment });
      return reply.headers(SECURITY_HEADERS).redirect(`${base}/requests/${encodeURIComponent(requestId)}?done=${vote === 'approve' ? 'approved' : 'rejected'}`, 303);
    } catch (error) {
      if (!(error instanceof ApprovalError)) throw error;
      const view = await store.get(requestId);
      if (!view || !store.mayView(session.identity, view)) return notFound(reply, session);
      return renderDetail(reply, session, view, error.httpStatus, { notice: alert('error', refusalText(error)), comment });
    }
  });

  /** The grant's holder, or a member of the approver groups of the request it came from (as the grants listing). */
  async function maySeeGrant(me: Identity, grant: GrantView): Promise<boolean> {
    if (grant.subject === me.subject && grant.issuer === me.issuer) return true;
    const from = grant.approvalId ? await store.get(grant.approvalId) : undefined;
    return from !== undefined && me.groups.some((g) => from.approverGroups.includes(g));
  }

  async function renderGrants(reply: FastifyReply, session: PageSession, status: number, options: { notice?: ReturnType<typeof html>; pageToken?: string; revoked?: string } = {}) {
    const active = await store.listGrantsPage({ status: 'active', visibleTo: session.identity, maxResults: PAGE_SIZE, ...(options.pageToken && { pageToken: options.pageToken }) });
    const recent = await store.listGrants({ status: 'all', visibleTo: session.identity, maxResults: 50 });
    const ended = recent.filter((g) => g.status !== 'active').slice(0, 20);
    // The link's `revoked` is confirmed only for a grant this person sees that is revoked indeed.
    const revoked = options.revoked === undefined ? undefined : await store.getGrant(options.revoked);
    const confirmed = revoked?.status === 'revoked' && (await maySeeGrant(session.identity, revoked)) ? alert('success', `Grant ${revoked.id} is revoked.`) : undefined;
    const notice = options.notice ?? confirmed;
    return send(reply, status, grantsPage(chrome(session), active, ended, notice));
  }

  app.get<{ Querystring: { revoked?: string; pageToken?: string } }>('/approve/grants', async (request, reply) => {
    const session = await sessionOf(request);
    if (!session) return toSignIn(request, reply);
    const { revoked, pageToken } = request.query;
    try {
      return await renderGrants(reply, session, 200, {
        ...(typeof revoked === 'string' && { revoked }),
        ...(typeof pageToken === 'string' && { pageToken }),
      });
    } catch (error) {
      if (!(error instanceof ApprovalError)) throw error;
      await context.refusals.approval(request.log, 'list_grants', null, session.identity, { code: error.code, message: error.message });
      return send(reply, 400, messagePage(chrome(session), 'Bad request', 'That page of the list does not exist. Start again from the first page.', { href: `${base}/grants`, label: 'Back to grants' }));
    }
  });

  app.post<{ Params: { id: string }; Body: Record<string, unknown> }>('/approve/grants/:id/revoke', async (request, reply) => {
    const session = await sessionOf(request);
    if (!session) {
      await context.refusals.grant(request.log, request.params.id, undefined, unauthenticated);
      return toSignIn(request, reply);
    }
    const problem = postProblem(request, session);
    if (problem) {
      await context.refusals.grant(request.log, request.params.id, session.identity, problem);
      return refusedPost(reply, session);
    }
    const comment = typeof request.body?.comment === 'string' ? request.body.comment.trim().slice(0, 2000) : '';
    try {
      const grant = await store.revoke(request.params.id, session.identity, comment);
      return reply.headers(SECURITY_HEADERS).redirect(`${base}/grants?revoked=${encodeURIComponent(grant.id)}`, 303);
    } catch (error) {
      if (!(error instanceof ApprovalError)) throw error;
      return renderGrants(reply, session, error.httpStatus, { notice: alert('error', refusalText(error)) });
    }
  });
}

/** A redirect target inside the page only: never another origin, never `//host`. */
export function safeNext(next: string | undefined, base: string): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.includes('\\') || /[\r\n]/.test(next)) return base;
  const path = next.split(/[?#]/, 1)[0]!;
  return path === base || path.startsWith(`${base}/`) ? next : base;
}

function refusalText(error: ApprovalError): string {
  switch (error.code) {
    case 'self_approval':
      return 'You cannot decide on your own request.';
    case 'not_an_approver':
      return 'You are not in the approver groups of this request.';
    case 'already_voted':
      return 'You have already voted on this request.';
    case 'expired':
      return 'This request expired before it was decided.';
    case 'not_pending':
      return 'This request has already been decided.';
    case 'invalid_request':
      return error.message.endsWith('.') ? error.message : `${error.message[0]?.toUpperCase()}${error.message.slice(1)}.`;
    default:
      return error.message;
  }
}
