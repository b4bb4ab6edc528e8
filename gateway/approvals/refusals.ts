// Refusals of the approvals API and the approver page that never reach the store (which records
// its own refused votes, revokes and consumes): bad tokens, stale or cross-site forms, requests
// the caller may not see, malformed input. Each becomes an audit record naming the actor when it
// is known; the refusal stands whether or not the record could be written.
import type { FastifyBaseLogger } from 'fastify';
import type { Identity } from '../../engine/schema-types.ts';
import type { AuditEvent } from '../audit/events.ts';
import { COMMENT_MAX_LENGTH } from './store.ts';

export type RecordAudit = (event: AuditEvent) => Promise<unknown>;

/** What a refused read or change was about. */
export type RefusedOperation = 'vote' | 'view' | 'list' | 'list_grants';

export interface Problem {
  code: string;
  message: string;
}

const BEARER = /^Bearer +(\S+) *$/i;
/** Ids come from the URL: a made-up one is recorded, but not at any length. */
const MAX_ID_LENGTH = 100;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export class Refusals {
  readonly #record: RecordAudit | undefined;

  constructor(record: RecordAudit | undefined) {
    this.#record = record;
  }

  /** A 401: the token's digest and the issuer and subject it claimed are recorded, never the token. */
  tokenFailure(log: FastifyBaseLogger, route: string, authorization: string | undefined, failure: { reason: string; message: string }): Promise<void> {
    const token = authorization ? (BEARER.exec(authorization)?.[1] ?? null) : null;
    return this.#write(log, { kind: 'token_failure', reason: failure.reason, message: failure.message, token, route });
  }

  /** A refused attempt on an approval request (or on the listing, `approvalId` null). */
  approval(log: FastifyBaseLogger, operation: RefusedOperation, approvalId: string | null, actor: Identity | undefined, error: Problem, extra: { vote?: 'approve' | 'reject'; comment?: string } = {}): Promise<void> {
    return this.#write(log, {
      kind: 'approval',
      approval_id: approvalId === null ? null : clip(approvalId, MAX_ID_LENGTH),
      action: 'refused',
      operation,
      actor: actor?.subject ?? null,
      ...(extra.vote && { vote: extra.vote }),
      ...(extra.comment && { comment: clip(extra.comment, COMMENT_MAX_LENGTH) }),
      error,
    });
  }

  /** A refused revoke of a grant. */
  grant(log: FastifyBaseLogger, grantId: string, actor: Identity | undefined, error: Problem): Promise<void> {
    return this.#write(log, { kind: 'grant', grant_id: clip(grantId, MAX_ID_LENGTH), action: 'refused', actor: actor?.subject ?? null, error });
  }

  async #write(log: FastifyBaseLogger, event: AuditEvent): Promise<void> {
    if (!this.#record) return;
    try {
      await this.#record(event);
    } catch (error) {
      log.error({ err: { type: (error as Error).name, message: (error as Error).message }, refusal: event.kind }, 'refusal not recorded in the audit trail');
    }
  }
}
