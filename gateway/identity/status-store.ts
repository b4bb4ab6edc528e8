// Principal status in the shared database (principal_status, principal_status_version,
// ssf_seen_jtis): every change bumps the change counter in the same transaction, so a replica that
// reads an unchanged counter knows its disabled set is current.
import type { Kysely, Transaction } from 'kysely';
import type { PrincipalStatusRow, Tables } from '../store/tables.ts';

export interface PrincipalStatus {
  issuer: string;
  subject: string;
  disabled: boolean;
  reason: string | null;
  /** `cli`, `introspection`, `ssf:<event>`. */
  signal: string;
  changedAtMs: number;
  /** Tokens issued before this are refused (sessions revoked). */
  notBeforeMs: number | null;
}

export interface StatusChange {
  action: 'disable' | 'enable' | 'revoke_sessions';
  issuer: string;
  subject: string;
  reason: string | null;
  signal: string;
  atMs: number;
  /** revoke_sessions: tokens issued before this are refused. */
  notBeforeMs?: number;
  /**
   * When what a signal reports happened at its source (a Security Event Token's event time, else
   * its iat). An enable that happened before the disable in force was made is stale: signals
   * arrive out of order (a transmitter's retry, a delayed push) and do not lift a later disable.
   */
  occurredAtMs?: number;
}

/** A Security Event Token id, accepted once per issuer until it could no longer be fresh. */
export interface SeenJti {
  issuer: string;
  jti: string;
  expiresAtMs: number;
}

export class PrincipalStatusStore {
  readonly #db: Kysely<Tables>;

  constructor(db: Kysely<Tables>) {
    this.#db = db;
  }

  async version(): Promise<number> {
    const row = await this.#db.selectFrom('principal_status_version').select('version').where('id', '=', 1).executeTakeFirst();
    return Number(row?.version ?? 0);
  }

  /** Every principal that is disabled or has sessions revoked: what a replica keeps in memory. */
  async restricted(): Promise<{ version: number; statuses: PrincipalStatus[] }> {
    return this.#db.transaction().execute(async (tx) => {
      const version = await new PrincipalStatusStore(tx).version();
      const rows = await tx
        .selectFrom('principal_status')
        .selectAll()
        .where((eb) => eb.or([eb('disabled', '=', 1), eb('not_before_ms', 'is not', null)]))
        .execute();
      return { version, statuses: rows.map(toStatus) };
    });
  }

  async get(issuer: string, subject: string): Promise<PrincipalStatus | undefined> {
    const row = await this.#db.selectFrom('principal_status').selectAll().where('issuer', '=', issuer).where('subject', '=', subject).executeTakeFirst();
    return row && toStatus(row);
  }

  /**
   * Applies a change; with `jti`, only if that Security Event Token was not seen before (one
   * transaction, so a replayed token changes nothing and an accepted one is never lost).
   */
  async apply(change: StatusChange, jti?: SeenJti): Promise<{ applied: true; status: PrincipalStatus } | { applied: false; reason: 'replayed' }> {
    return this.#db.transaction().execute(async (tx) => {
      if (jti) {
        const inserted = await tx
          .insertInto('ssf_seen_jtis')
          .values({ issuer: jti.issuer, jti: jti.jti, expires_at_ms: jti.expiresAtMs })
          .onConflict((oc) => oc.columns(['issuer', 'jti']).doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return { applied: false, reason: 'replayed' as const };
      }
      // The counter first: its row lock makes concurrent changes (other replicas, the CLI) wait
      // here, so each reads the status the one before it committed instead of overwriting it.
      await tx.updateTable('principal_status_version').set((eb) => ({ version: eb('version', '+', 1) })).where('id', '=', 1).execute();
      const status = await write(tx, change);
      return { applied: true as const, status };
    });
  }

  /** Forgets jtis that can no longer pass the freshness check anyway. */
  async purgeSeenJtis(nowMs: number): Promise<void> {
    await this.#db.deleteFrom('ssf_seen_jtis').where('expires_at_ms', '<', nowMs).execute();
  }
}

async function write(tx: Transaction<Tables>, change: StatusChange): Promise<PrincipalStatus> {
  const current = await tx.selectFrom('principal_status').selectAll().where('issuer', '=', change.issuer).where('subject', '=', change.subject).executeTakeFirst();
  // An introspection-made disable is lifted by the next active token: it never replaces another
  // disable, nor does an active token lift another one. A local kill switch (`cli`) is lifted only
  // locally, never by the provider's signals.
  const disabled = Number(current?.disabled) === 1;
  const keep =
    (change.action === 'disable' && change.signal === 'introspection' && disabled) ||
    (change.action === 'enable' && change.signal === 'introspection' && current?.signal !== 'introspection' && disabled) ||
    (change.action === 'enable' && change.signal !== 'cli' && current?.signal === 'cli' && disabled) ||
    (change.action === 'enable' && disabled && change.occurredAtMs !== undefined && staleBefore(change.occurredAtMs, Number(current?.changed_at_ms)));
  const next: PrincipalStatusRow =
    keep && current
      ? current
      : change.action === 'revoke_sessions' && current?.disabled === 1
      ? // Disabled stays disabled, for its own reason; the revocation still applies once enabled.
        { ...current, not_before_ms: Math.max(Number(current.not_before_ms ?? 0), change.notBeforeMs ?? change.atMs) }
      : {
          issuer: change.issuer,
          subject: change.subject,
          disabled: change.action === 'disable' ? 1 : 0,
          reason: change.reason,
          signal: change.signal,
          changed_at_ms: change.atMs,
          not_before_ms:
            change.action === 'revoke_sessions'
              ? Math.max(Number(current?.not_before_ms ?? 0), change.notBeforeMs ?? change.atMs)
              : current?.not_before_ms == null ? null : Number(current.not_before_ms),
        };
  if (current) {
    await tx.updateTable('principal_status').set(next).where('issuer', '=', change.issuer).where('subject', '=', change.subject).execute();
  } else {
    // A concurrent first write for the same principal (another replica) lands on the conflict.
    await tx.insertInto('principal_status').values(next).onConflict((oc) => oc.columns(['issuer', 'subject']).doUpdateSet(next)).execute();
  }
  return toStatus(next);
}

function toStatus(row: PrincipalStatusRow): PrincipalStatus {
  return {
    issuer: row.issuer,
    subject: row.subject,
    disabled: Number(row.disabled) === 1,
    reason: row.reason,
    signal: row.signal,
    changedAtMs: Number(row.changed_at_ms),
    notBeforeMs: row.not_before_ms == null ? null : Number(row.not_before_ms),
  };
}

/**
 * Whether what happened at `occurredAtMs` certainly happened before `changedAtMs`: a whole second
 * earlier, since a token's times are written in seconds (an iat of 12:00:00 may mean 12:00:00.9).
 */
export function staleBefore(occurredAtMs: number, changedAtMs: number): boolean {
  return occurredAtMs + 1000 <= changedAtMs;
}
