// Active just-in-time grants of a caller, handed to the policy with every request. The gateway
// reads them from the approval store (gateway/approvals, grantSourceOf); NO_GRANTS knows none.
import type { Grant, Identity } from '../engine/schema-types.ts';

export interface GrantSource {
  /** Unrevoked grants of `identity` that expire after `now`. */
  active(identity: Identity, now: Date): Promise<Grant[]>;
  /**
   * Spends one-time grants a decision relied on, before the query is forwarded. Rejects when one
   * of them is already spent, revoked or expired (another query won the race): the query is refused.
   */
  consume?(grantIds: readonly string[], requestId: string): Promise<void>;
  /** Which of these grants have been revoked (expiry does not count: a finished job keeps its pages). */
  revokedAmong?(grantIds: readonly string[]): Promise<string[]>;
}

export const NO_GRANTS: GrantSource = { active: async () => [] };
