// Which one-time grants a decision relied on, so the gateway can spend them before forwarding.
// The policy names every grant it used in the `grant` field of a `grant_used` reason (the
// decision schema requires it there); a one-time grant named there must be consumed.
import type { Decision, Grant } from '../../engine/schema-types.ts';

/** Ids of the grants the decision's `grant_used` reasons name, among `grants`. */
export function grantsCited(decision: Pick<Decision, 'reasons'>, grants: readonly Grant[]): string[] {
  const cited = new Set(decision.reasons.flatMap((r) => (r.code === 'grant_used' && r.grant ? [r.grant] : [])));
  return grants.filter((g) => cited.has(g.id)).map((g) => g.id);
}

export function oneTimeGrantsUsed(decision: Pick<Decision, 'outcome' | 'reasons'>, grants: readonly Grant[]): string[] {
  if (decision.outcome !== 'allow' && decision.outcome !== 'mask') return [];
  const oneTime = new Set(grants.filter((g) => g.one_time === true).map((g) => g.id));
  return grantsCited(decision, grants).filter((id) => oneTime.has(id));
}
