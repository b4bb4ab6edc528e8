// Active just-in-time grants of a caller, handed to the policy with every request. The default
// knows none; a store-backed source replaces it once approvals are recorded.
import type { Grant, Identity } from '../engine/schema-types.ts';

export interface GrantSource {
  /** Unrevoked grants of `identity` that expire after `now`. */
  active(identity: Identity, now: Date): Promise<Grant[]>;
}

export const NO_GRANTS: GrantSource = { active: async () => [] };
