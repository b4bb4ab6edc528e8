// Export of request records as OPA decision-log events, one JSON object per line, so any tool
// that consumes OPA's decision logs (SIEM pipelines, `opa`-aware dashboards) reads sluice's.
//
//   decision_id   the request record's own id (unique, the same when resent; the request id is the
//                 caller's to choose, so a collector deduping on it would drop decisions)
//   request_context.http.headers["x-request-id"]: the gateway's request id, where OPA puts the
//                 request headers it is told to log      path  "sluice/decision"
//   input         the policy input                  result     the decision document
//   timestamp     RFC 3339 time of the request      bundles    {sluice: {revision}}
//   labels        {app, id: stream, version}        requested_by  the authenticated subject
//   metrics       timer_rego_query_eval_ns and the gateway's stage timers, in nanoseconds
//   erased/masked JSON pointers removed / replaced, as OPA's decision-log masking reports them:
//                 values the recorder already redacted (SQL literals) are listed under `masked`.
import type { Decision, PolicyInput } from '../../engine/schema-types.ts';
import type { AuditRequestRecord } from './events.ts';

export const DECISION_PATH = 'sluice/decision';
/** What OPA's `upsert` masking conventionally writes in place of a value. */
export const MASKED_VALUE = '**REDACTED**';

export interface DecisionLogEvent {
  decision_id: string;
  request_context: { http: { headers: { 'x-request-id': [string] } } };
  labels: { app: string; id: string; version: string };
  path: typeof DECISION_PATH;
  input?: PolicyInput;
  result: Decision;
  timestamp: string;
  bundles: { sluice: { revision: string } };
  metrics: Record<string, number>;
  requested_by: string;
  erased?: string[];
  masked?: string[];
}

export interface DecisionLogOptions {
  /** JSON pointers under /input or /result to remove from every event. */
  erase?: readonly string[];
  /** JSON pointers under /input or /result whose value is replaced by MASKED_VALUE. */
  mask?: readonly string[];
  version?: string;
}

/** Undefined for records that hold no decision (nothing to export as a decision log). */
export function toDecisionLogEvent(record: AuditRequestRecord, options: DecisionLogOptions = {}): DecisionLogEvent | undefined {
  const d = record.data;
  if (!d.decision) return undefined;
  const metrics: Record<string, number> = {};
  if (d.eval_ns !== null) metrics.timer_rego_query_eval_ns = d.eval_ns;
  const timer = (name: string, ms: number | null) => {
    if (ms !== null) metrics[name] = Math.round(ms * 1e6);
  };
  timer('timer_sluice_decision_ns', d.timings_ms.decision);
  timer('timer_sluice_dry_run_ns', d.timings_ms.dry_run);
  timer('timer_sluice_upstream_ns', d.timings_ms.upstream);
  timer('timer_server_handler_ns', d.timings_ms.total);

  const event: DecisionLogEvent = {
    decision_id: record.id,
    request_context: { http: { headers: { 'x-request-id': [d.request_id] } } },
    labels: { app: 'sluice', id: record.stream, version: options.version ?? '0.1.0' },
    path: DECISION_PATH,
    ...(d.input && { input: structuredClone(d.input) }),
    result: structuredClone(d.decision),
    timestamp: record.at,
    bundles: { sluice: { revision: d.revision ?? '' } },
    metrics,
    requested_by: d.identity.subject,
  };
  const document = event as unknown as Record<string, unknown>;
  const erased = (options.erase ?? []).filter((pointer) => checkedPointer(pointer) && removeAt(document, pointer));
  const masked = (options.mask ?? []).filter((pointer) => checkedPointer(pointer) && replaceAt(document, pointer, MASKED_VALUE));
  // The recorder's own redactions that fall inside the exported input or result.
  for (const pointer of d.redactions) {
    const inEvent = pointer.startsWith('/input/') ? pointer : pointer.startsWith('/decision/') ? `/result/${pointer.slice('/decision/'.length)}` : undefined;
    if (inEvent && !masked.includes(inEvent) && !erased.includes(inEvent)) masked.push(inEvent);
  }
  if (erased.length) event.erased = erased.sort();
  if (masked.length) event.masked = masked.sort();
  return event;
}

export class PointerError extends Error {
  override name = 'PointerError';
}

/** OPA masks only under /input and /result; a pointer elsewhere is a mistake worth refusing. */
export function checkedPointer(pointer: string): true {
  if (!/^\/(input|result)(\/|$)/.test(pointer)) throw new PointerError(`${pointer}: decision-log masking applies to pointers under /input or /result`);
  return true;
}

function parsePointer(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Parent container and key of a pointer, or undefined when the path does not exist. */
function locate(document: Record<string, unknown>, pointer: string): { parent: Record<string, unknown> | unknown[]; key: string } | undefined {
  const parts = parsePointer(pointer);
  let node: unknown = document;
  for (const part of parts.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  const key = parts[parts.length - 1];
  if (key === undefined || node === null || typeof node !== 'object' || !(key in node)) return undefined;
  return { parent: node as Record<string, unknown> | unknown[], key };
}

function removeAt(document: Record<string, unknown>, pointer: string): boolean {
  const at = locate(document, pointer);
  if (!at) return false;
  if (Array.isArray(at.parent)) at.parent.splice(Number(at.key), 1);
  else delete at.parent[at.key];
  return true;
}

function replaceAt(document: Record<string, unknown>, pointer: string, value: unknown): boolean {
  const at = locate(document, pointer);
  if (!at) return false;
  (at.parent as Record<string, unknown>)[at.key] = value;
  return true;
}
