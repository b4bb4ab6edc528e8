// Which one-time grants a decision relied on, so the gateway can spend them before forwarding.
// The policy cites every grant it used in a `grant_used` reason whose message names the grant id
// ("grant <id> (scope …) allows …"); a one-time grant cited there must be consumed.
import type { Decision, Grant } from '../../engine/schema-types.ts';

export function oneTimeGrantsUsed(decision: Pick<Decision, 'outcome' | 'reasons'>, grants: readonly Grant[]): string[] {
  if (decision.outcome !== 'allow' && decision.outcome !== 'mask') return [];
  const cited = decision.reasons.filter((r) => r.code === 'grant_used').map((r) => ` ${r.message} `);
  return grants
    .filter((g) => g.one_time === true && cited.some((message) => message.includes(` ${g.id} `)))
    .map((g) => g.id);
}
