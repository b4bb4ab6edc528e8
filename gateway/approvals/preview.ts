// What the policy would decide on a pending request once the proposed grant exists: tells an
// approver whether approving lets the query through, or whether a further approval follows
// (say the byte threshold after the dataset).
import type { Decision, Grant, PolicyInput } from '../../engine/schema-types.ts';
import type { ApprovalRequestView } from './types.ts';

/** The engine's evaluate(), or anything shaped like it. */
export interface PreviewEngine {
  evaluate(input: PolicyInput): { decision: Decision };
}

export interface Preview {
  outcome: Decision['outcome'];
  reasons: Decision['reasons'];
}

export function previewWithGrant(engine: PreviewEngine, request: ApprovalRequestView, input: PolicyInput, nowMs: number): Preview | undefined {
  if (request.status !== 'pending' || !input?.sql) return undefined;
  const proposed: Grant = {
    id: 'proposed-grant',
    subject: request.requester.subject,
    scope: request.scope,
    expires_at: Math.floor(nowMs / 1000) + request.grantTtlSeconds,
    ...(request.oneTime && { one_time: true }),
  };
  const now = new Date(nowMs);
  try {
    const { decision } = engine.evaluate({
      ...input,
      now: { unix: Math.floor(nowMs / 1000), rfc3339: now.toISOString() },
      grants: [...(input.grants ?? []), proposed],
    });
    return { outcome: decision.outcome, reasons: decision.reasons };
  } catch {
    return undefined; // a preview is a convenience: never let it break the page
  }
}
