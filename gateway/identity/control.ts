// The one way a principal's status changes, whatever the signal (the CLI's kill switch, a Shared
// Signals event, an introspection answer): the change is committed to the shared database, the
// principal's pending approval requests are withdrawn and its grants revoked (the approval store
// records each), and a `principal` record tells the whole story in the audit trail.
import type { AuditLog, PrincipalAuditEvent } from '../audit/index.ts';
import { staleBefore, type PrincipalStatus, type PrincipalStatusStore, type SeenJti, type StatusChange } from './status-store.ts';

/** What the approval store does for a principal that is cut off (ApprovalStore.cutOffPrincipal). */
export interface CutOff {
  cutOffPrincipal(issuer: string, subject: string, reason: string): Promise<{ withdrawn: string[]; revoked: string[] }>;
}

export interface ChangeRequest {
  issuer: string;
  subject: string;
  reason: string | null;
  signal: string;
  /** Who made it: the CLI's operating-system user, or the signal's issuer. */
  actor: string | null;
  /** When the event happened, as the signal says. */
  eventAt?: Date;
  /** revoke_sessions: tokens issued before this are refused. */
  notBefore?: Date;
  /** When the change happened at its source (a signal's event time, else its iat): a stale enable lifts no later disable. */
  occurredAt?: Date;
  jti?: SeenJti;
}

export type ChangeResult =
  | { applied: true; status: PrincipalStatus; withdrawn: string[]; revoked: string[]; recorded: boolean }
  | { applied: false; reason: 'replayed' };

export interface PrincipalControlOptions {
  store: PrincipalStatusStore;
  audit: Pick<AuditLog, 'record'>;
  approvals: CutOff;
  now?: () => number;
  /** Every committed change (the replica's own disabled set takes it at once). */
  onChange?: (status: PrincipalStatus) => void;
  /** A step that failed after the change was committed (cut-off, audit record): log it. */
  onError?: (error: Error, what: string) => void;
}

const ACTIONS = { disable: 'disabled', enable: 'enabled', revoke_sessions: 'sessions_revoked' } as const;

export class PrincipalControl {
  readonly #o: PrincipalControlOptions;
  readonly #now: () => number;

  constructor(options: PrincipalControlOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  get store(): PrincipalStatusStore {
    return this.#o.store;
  }

  disable(request: ChangeRequest): Promise<ChangeResult> {
    return this.#change('disable', request);
  }

  enable(request: ChangeRequest): Promise<ChangeResult> {
    return this.#change('enable', request);
  }

  revokeSessions(request: ChangeRequest & { notBefore: Date }): Promise<ChangeResult> {
    return this.#change('revoke_sessions', request);
  }

  /** A signal or an introspection answer that was refused: recorded, nothing changed. */
  async refused(event: Omit<PrincipalAuditEvent, 'kind'>): Promise<void> {
    await this.#record({ kind: 'principal', ...event });
  }

  async #change(action: StatusChange['action'], r: ChangeRequest): Promise<ChangeResult> {
    const atMs = this.#now();
    const result = await this.#o.store.apply(
      { action, issuer: r.issuer, subject: r.subject, reason: r.reason, signal: r.signal, atMs, ...(r.notBefore && { notBeforeMs: r.notBefore.getTime() }), ...(r.occurredAt && { occurredAtMs: r.occurredAt.getTime() }) },
      r.jti,
    );
    if (!result.applied) return result;
    if (action === 'enable' && result.status.disabled) {
      // The store kept a disable in force (a local kill switch, or one introspection did not make): say so instead of recording an enable.
      const stale = result.status.signal !== 'cli' && r.occurredAt !== undefined && staleBefore(r.occurredAt.getTime(), result.status.changedAtMs);
      const message =
        result.status.signal === 'cli'
          ? `${r.signal} would enable ${r.subject}, which \`sluice principals disable\` disabled; only \`sluice principals enable\` lifts that`
          : stale
            ? `${r.signal} would enable ${r.subject} as of ${r.occurredAt!.toISOString()}, before ${result.status.signal} disabled it at ${new Date(result.status.changedAtMs).toISOString()}; an earlier event does not lift a later disable`
            : `${r.signal} would enable ${r.subject}, which ${result.status.signal} disabled; an active token does not lift that`;
      const code = result.status.signal === 'cli' ? 'kill_switch_in_force' : stale ? 'stale_event' : 'disable_in_force';
      await this.refused({ action: 'signal_refused', issuer: r.issuer, subject: r.subject, signal: r.signal, actor: r.actor, jti: r.jti?.jti ?? null, error: { code, message } });
      return { applied: true, status: result.status, withdrawn: [], revoked: [], recorded: true };
    }
    this.#o.onChange?.(result.status);
    let cut = { withdrawn: [] as string[], revoked: [] as string[] };
    if (action !== 'enable') {
      try {
        cut = await this.#o.approvals.cutOffPrincipal(r.issuer, r.subject, `${r.signal}: ${r.reason ?? ACTIONS[action]}`);
      } catch (error) {
        this.#o.onError?.(error as Error, 'withdrawing the principal\'s approval requests and revoking its grants');
      }
    }
    const recorded = await this.#record({
      kind: 'principal',
      at: new Date(atMs),
      action: ACTIONS[action],
      issuer: r.issuer,
      subject: r.subject,
      signal: r.signal,
      reason: r.reason,
      actor: r.actor,
      event_at: r.eventAt ?? null,
      not_before: action === 'revoke_sessions' && result.status.notBeforeMs !== null ? new Date(result.status.notBeforeMs) : null,
      jti: r.jti?.jti ?? null,
      ...cut,
    });
    return { applied: true, status: result.status, ...cut, recorded };
  }

  async #record(event: PrincipalAuditEvent): Promise<boolean> {
    try {
      await this.#o.audit.record(event);
      return true;
    } catch (error) {
      this.#o.onError?.(error as Error, `recording the principal event (${event.action}) in the audit trail`);
      return false;
    }
  }
}
