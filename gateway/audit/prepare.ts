// Turns a gateway event into the `data` of a stored record: every field present, values
// normalized, and nothing kept that the trail must not hold: SQL literals and comments (unless the
// log is told to keep them), values quoted back in error messages, sensitive values the masker
// should have caught in the response (a backstop scan), and anything beyond the response size cap.
import { createHash, createHmac } from 'node:crypto';
import type {
  AuditApprovalData,
  AuditCellValue,
  AuditConfigReloadData,
  AuditForwardData,
  AuditGrantData,
  AuditPrincipalData,
  AuditAccessRefusedData,
  AuditRequestData,
  AuditResponse,
  AuditTableRow,
  AuditTokenFailureData,
  PolicyInput,
} from '../../engine/schema-types.ts';
import { compileContentScanner, type ContentScanner } from '../masking/detectors.ts';
import type { HashKey } from '../masking/index.ts';
import { bytesText, jsonUnescaped, plainDecimal } from '../masking/readings.ts';
import { REDACTED } from '../masking/strategies.ts';
import { claimedIdentity, sanitizeClaim } from './claimed.ts';
import { AuditRecordError } from './errors.ts';
import type { AccessRefusedAuditEvent, ApprovalAuditEvent, AuditEvent, AuditKind, ConfigReloadAuditEvent, ForwardAuditEvent, GrantAuditEvent, PrincipalAuditEvent, RequestAuditEvent, TokenFailureAuditEvent } from './events.ts';
import { redactSqlLiterals, replaceLiterals } from './sql-literals.ts';
import { rfc3339 } from './time.ts';

export interface PrepareOptions {
  /** `redact` (default): SQL literals and comments become `?`. `keep`: stored verbatim. */
  sqlLiterals: 'redact' | 'keep';
  /** Largest serialized size of the recorded response rows; later rows are left out and marked. */
  maxResponseBytes: number;
  /** Run the content detectors over recorded response values (default true). */
  scrubResponse: boolean;
  /**
   * Key of the statement hashes recorded where literals are redacted (see statementDigest); none:
   * recorded as computed.
   */
  statementKey?: HashKey | undefined;
}

/** The digest of the last key seen: a gateway has one. */
let derived: { key: HashKey; digest: (hash: string) => string } | undefined;

/**
 * How a statement hash (`sql.hash`, a statement grant's `statement_hash`) is recorded. It covers
 * the statement's literals and query parameters, so where the trail redacts them a plain hash
 * gives them back to whoever hashes guesses (an SSN is a billion guesses): it is recorded keyed
 * (HMAC-SHA256 under the gateway's key), which still tells statements apart and finds the same
 * one again, and stays consistent across the input, its grants and the decision.
 */
function statementDigest(options: PrepareOptions): (hash: string) => string {
  const key = options.statementKey;
  if (options.sqlLiterals !== 'redact' || key === undefined) return (hash) => hash;
  if (derived?.key !== key) {
    // A key of its own, derived from the gateway's (once, not per record): the `hash` masking
    // strategy HMACs values the caller chooses under the gateway's key, so a masked value
    // spelling this digest's input must not give the digest back.
    const own = createHmac('sha256', typeof key === 'string' ? Buffer.from(key, 'utf8') : key).update('sluice audit statement digest key').digest();
    derived = { key, digest: (hash) => createHmac('sha256', own).update(hash).digest('hex') };
  }
  return derived.digest;
}

function digestScope<T extends { statement_hash?: string } | null | undefined>(scope: T, digest: (hash: string) => string): T {
  return scope && typeof scope.statement_hash === 'string' ? { ...scope, statement_hash: digest(scope.statement_hash) } : scope;
}

export interface PreparedEvent {
  kind: Exclude<AuditKind, 'checkpoint'>;
  atMs: number;
  data: object;
}

// Redact strategy only, so the hash function is never called.
const detectorScanner: ContentScanner = compileContentScanner({ detectors: ['ssn', 'card', 'email', 'phone'], strategy: 'redact' }, () => REDACTED);

export function prepareEvent(event: AuditEvent, options: PrepareOptions, nowMs: number): PreparedEvent {
  if (!event || typeof event !== 'object') throw new AuditRecordError('an audit event must be an object');
  const atMs = event.at === undefined ? nowMs : event.at.getTime();
  if (!Number.isFinite(atMs)) throw new AuditRecordError('event.at is not a valid date');
  switch (event.kind) {
    case 'request':
      return { kind: 'request', atMs, data: prepareRequest(event, options) };
    case 'forward':
      return { kind: 'forward', atMs, data: prepareForward(event, options) };
    case 'approval':
      return { kind: 'approval', atMs, data: prepareApproval(event, options) };
    case 'grant':
      return { kind: 'grant', atMs, data: prepareGrant(event, options) };
    case 'token_failure':
      return { kind: 'token_failure', atMs, data: prepareTokenFailure(event) };
    case 'config_reload':
      return { kind: 'config_reload', atMs, data: prepareConfigReload(event) };
    case 'principal':
      return { kind: 'principal', atMs, data: preparePrincipal(event) };
    case 'access_refused':
      return { kind: 'access_refused', atMs, data: prepareAccessRefused(event) };
    default:
      throw new AuditRecordError(`unknown audit event kind ${JSON.stringify((event as { kind?: unknown }).kind)}`);
  }
}

function prepareRequest(e: RequestAuditEvent, options: PrepareOptions): AuditRequestData {
  requireString(e.request_id, 'request_id');
  requireString(e.route, 'route');
  if (!e.identity || typeof e.identity.subject !== 'string') throw new AuditRecordError('request events need identity.subject');
  if (!Number.isInteger(e.status)) throw new AuditRecordError('request events need the HTTP status (integer)');

  const redactions: string[] = [];
  const removed: string[] = [];
  let sql = e.sql ?? null;
  let input = e.input ?? null;
  if (options.sqlLiterals === 'redact') {
    if (sql !== null) {
      const redacted = redactSqlLiterals(sql);
      removed.push(...redacted.removed);
      if (redacted.text !== sql) redactions.push('/sql');
      sql = redacted.text;
    }
    if (input) input = redactInput(input, removed, redactions, input.sql.text === e.sql ? sql : undefined);
  }
  const scrubLiterals = (text: string, pointer: string) => {
    const clean = replaceLiterals(text, removed);
    if (clean !== text) redactions.push(pointer);
    return clean;
  };
  const scrubFreeText = (text: string, pointer: string) => {
    const clean = detectorScanner.scan(replaceLiterals(text, removed)) ?? REDACTED;
    if (clean !== text) redactions.push(pointer);
    return clean;
  };

  const evaluation = e.evaluation ?? null;
  let decision = evaluation?.decision ?? null;
  // Reasons may quote the SQL: engine-made ones (normalize_failed) quote the parser, which quotes
  // the text; a policy's may repeat a statement's parser error (statement_unparsed) or quote the
  // text itself, for a policy is the deployment's own code. Every reason has the redacted literals
  // taken out.
  if (decision && removed.length) {
    const original = decision.reasons;
    const reasons = original.map((r, i) => {
      const message = scrubLiterals(r.message, `/decision/reasons/${i}/message`);
      return message === r.message ? r : { ...r, message };
    });
    if (reasons.some((r, i) => r !== original[i])) decision = { ...decision, reasons };
  }
  const response = e.response ? captureResponse(e.response, options) : null;
  if (response && response.scrubbed_values > 0) redactions.push('/response/rows');
  const digest = statementDigest(options);
  if (input) {
    const grants = input.grants?.map((g) => (g.scope ? { ...g, scope: digestScope(g.scope, digest) } : g));
    input = { ...input, sql: { ...input.sql, hash: digest(input.sql.hash) }, ...(grants && { grants }) };
  }
  if (decision?.approval) decision = { ...decision, approval: { ...decision.approval, scope: digestScope(decision.approval.scope, digest) } };

  return {
    request_id: e.request_id,
    identity: { subject: e.identity.subject, issuer: e.identity.issuer ?? '', kind: e.identity.kind ?? null, groups: [...(e.identity.groups ?? [])] },
    connection: e.connection ?? null,
    route: e.route,
    project: e.project ?? input?.request.project ?? null,
    sql,
    sql_hash: input?.sql.hash ?? null,
    input,
    decision,
    revision: evaluation?.revision ?? null,
    eval_ns: evaluation ? Math.max(0, Math.round(evaluation.evalNs)) : null,
    engine_error: evaluation?.error ? { code: evaluation.error.code, message: scrubLiterals(evaluation.error.message, '/engine_error/message') } : null,
    bytes: {
      estimated: byteCount(e.bytes?.estimated, 'bytes.estimated'),
      processed: byteCount(e.bytes?.processed, 'bytes.processed'),
      billed: byteCount(e.bytes?.billed, 'bytes.billed'),
    },
    job: e.job ? { id: e.job.id, project: e.job.project ?? null, location: e.job.location ?? null } : null,
    status: e.status,
    // BigQuery's messages quote the values they choke on ("Could not cast literal '…'").
    error: e.error ? { reason: e.error.reason, message: scrubFreeText(e.error.message, '/error/message') } : null,
    timings_ms: {
      decision: millis(e.timings_ms?.decision),
      dry_run: millis(e.timings_ms?.dry_run),
      upstream: millis(e.timings_ms?.upstream),
      total: millis(e.timings_ms?.total),
    },
    approval_ids: [...(e.approval_ids ?? [])],
    grant_ids: [...(e.grant_ids ?? [])],
    masking: e.masking
      ? { cells_masked: e.masking.cellsMasked, content_scan_cells: e.masking.contentScanCells, detections: { ...e.masking.detections } }
      : null,
    response,
    ...(e.door && { door: { ...e.door } }),
    ...(e.byte_cap && { byte_cap: { ...e.byte_cap } }),
    ...(e.job_check && { job_check: { referenced_tables: e.job_check.referenced_tables ? [...e.job_check.referenced_tables] : null, outcome: e.job_check.outcome, reasons: [...e.job_check.reasons] } }),
    ...(e.upstream_cancel && { upstream_cancel: { ...e.upstream_cancel, outcome: scrubFreeText(e.upstream_cancel.outcome, '/upstream_cancel/outcome'), ms: millis(e.upstream_cancel.ms) ?? 0 } }),
    redactions,
  };
}

function prepareForward(e: ForwardAuditEvent, options: PrepareOptions): AuditForwardData {
  requireString(e.request_id, 'request_id');
  requireString(e.route, 'route');
  requireString(e.operation, 'operation');
  if (!e.identity || typeof e.identity.subject !== 'string') throw new AuditRecordError('forward events need identity.subject');
  let sql = e.sql ?? null;
  const redactions: string[] = [];
  if (sql !== null && options.sqlLiterals === 'redact') {
    const redacted = redactSqlLiterals(sql).text;
    if (redacted !== sql) redactions.push('/sql');
    sql = redacted;
  }
  return {
    request_id: e.request_id,
    identity: { subject: e.identity.subject, issuer: e.identity.issuer ?? '', kind: e.identity.kind ?? null, groups: [...(e.identity.groups ?? [])] },
    connection: e.connection ?? null,
    route: e.route,
    operation: e.operation,
    project: e.project ?? null,
    sql,
    sql_hash: e.sql_hash ? statementDigest(options)(e.sql_hash) : null,
    outcome: e.outcome ?? null,
    revision: e.revision ?? null,
    tables: [...(e.tables ?? [])],
    job: e.job ? { id: e.job.id, project: e.job.project ?? null, location: e.job.location ?? null } : null,
    grant_ids: [...(e.grant_ids ?? [])],
    redactions,
    ...(e.door && { door: { ...e.door } }),
  };
}

/** A copy of the input with the SQL text redacted; only the objects on the changed paths are copied. */
function redactInput(input: PolicyInput, removed: string[], redactions: string[], alreadyRedacted: string | null | undefined): PolicyInput {
  let text = alreadyRedacted;
  if (text === undefined || text === null) {
    const redacted = redactSqlLiterals(input.sql.text);
    removed.push(...redacted.removed);
    text = redacted.text;
  }
  if (text !== input.sql.text) redactions.push('/input/sql/text');
  const statements = input.sql.statements.map((s, i) => {
    if (s.error === undefined) return s;
    const error = replaceLiterals(s.error, removed);
    if (error === s.error) return s;
    redactions.push(`/input/sql/statements/${i}/error`);
    return { ...s, error };
  });
  return { ...input, sql: { ...input.sql, text, statements } };
}


function captureResponse(r: NonNullable<RequestAuditEvent['response']>, options: PrepareOptions): AuditResponse {
  const rows = r.rows ?? [];
  const recorded: AuditTableRow[] = [];
  let size = 2;
  let scrubbed = 0;
  for (const row of rows) {
    let kept = row as AuditTableRow;
    if (options.scrubResponse) {
      const result = scrubRow(kept);
      kept = result.row;
      scrubbed += result.count;
    }
    const bytes = Buffer.byteLength(JSON.stringify(kept)) + 1;
    if (size + bytes > options.maxResponseBytes) break;
    size += bytes;
    recorded.push(kept);
  }
  return {
    schema: r.schema ? { fields: r.schema.fields } : null,
    rows: recorded,
    total_rows: r.total_rows === undefined || r.total_rows === null ? null : String(r.total_rows),
    rows_received: rows.length,
    rows_recorded: recorded.length,
    truncated: recorded.length < rows.length,
    scrubbed_values: scrubbed,
  };
}

function scrubRow(row: AuditTableRow): { row: AuditTableRow; count: number } {
  let count = 0;
  const cell = (v: AuditCellValue): AuditCellValue => {
    if (v === null) return v;
    if (typeof v === 'string') {
      let clean = detectorScanner.scan(v) ?? REDACTED;
      // The same value in the spelling its reader decodes (a JSON string's escapes, BYTES'
      // base64, a number in E notation): where that holds a detected value, the whole value goes.
      if (clean === v && otherReadings(v).some((text) => detectorScanner.scan(text) !== text)) clean = REDACTED;
      if (clean !== v) count++;
      return clean;
    }
    if (Array.isArray(v)) {
      let changed = false;
      const items = v.map((item) => {
        const next = cell(item.v);
        if (next !== item.v) changed = true;
        return next === item.v ? item : { ...item, v: next };
      });
      return changed ? items : v;
    }
    return walk(v);
  };
  const walk = (r: AuditTableRow): AuditTableRow => {
    if (!r || !Array.isArray(r.f)) return r;
    let changed = false;
    const f = r.f.map((c) => {
      const next = cell(c?.v ?? null);
      if (next !== (c?.v ?? null)) changed = true;
      return next === (c?.v ?? null) ? c : { ...c, v: next };
    });
    return changed ? { ...r, f } : r;
  };
  return { row: walk(row), count };
}

/** BYTES-looking text: base64 (or base64url) of at least six bytes. */
const BASE64 = /^(?:[A-Za-z0-9+/]{8,}={0,2}|[A-Za-z0-9_-]{8,}={0,2})$/;

/**
 * The other texts a recorded value may be read as. The trail keeps cells without their types, so
 * every reading a client might make of the text is tried.
 */
function otherReadings(v: string): string[] {
  const out: string[] = [];
  const json = jsonUnescaped(v);
  if (json !== undefined) out.push(json);
  const number = plainDecimal(v);
  if (number !== undefined) out.push(number);
  if (BASE64.test(v)) {
    const bytes = bytesText(v);
    if (bytes !== undefined) out.push(bytes);
  }
  return out;
}

function prepareApproval(e: ApprovalAuditEvent, options: PrepareOptions): AuditApprovalData {
  const digest = statementDigest(options);
  if (e.approval_id !== null) requireString(e.approval_id, 'approval_id');
  requireString(e.action, 'action');
  return {
    approval_id: e.approval_id,
    action: e.action,
    request_id: e.request_id ?? null,
    subject: e.subject ?? null,
    actor: e.actor ?? null,
    vote: e.vote ?? null,
    comment: e.comment ?? null,
    approver_groups: [...(e.approver_groups ?? [])],
    min_approvals: e.min_approvals ?? null,
    scope: e.scope ? digestScope({ ...e.scope }, digest) : null,
    tables: [...(e.tables ?? [])],
    sql_hash: e.sql_hash ? digest(e.sql_hash) : null,
    grant_id: e.grant_id ?? null,
    operation: e.operation ?? null,
    error: e.error ? { code: e.error.code, message: e.error.message } : null,
  };
}

function prepareGrant(e: GrantAuditEvent, options: PrepareOptions): AuditGrantData {
  const digest = statementDigest(options);
  requireString(e.grant_id, 'grant_id');
  requireString(e.action, 'action');
  if (e.expires_at && Number.isNaN(e.expires_at.getTime())) throw new AuditRecordError('grant expires_at is not a valid date');
  return {
    grant_id: e.grant_id,
    action: e.action,
    subject: e.subject ?? null,
    issuer: e.issuer ?? null,
    scope: e.scope ? digestScope({ ...e.scope }, digest) : null,
    one_time: e.one_time ?? null,
    expires_at: e.expires_at ? rfc3339(e.expires_at.getTime()) : null,
    approval_id: e.approval_id ?? null,
    actor: e.actor ?? null,
    request_id: e.request_id ?? null,
    error: e.error ? { code: e.error.code, message: e.error.message } : null,
  };
}

function prepareTokenFailure(e: TokenFailureAuditEvent): AuditTokenFailureData {
  requireString(e.reason, 'reason');
  const claimed = claimedIdentity(e.token);
  return {
    request_id: e.request_id ?? null,
    route: e.route ?? null,
    connection: e.connection ?? null,
    reason: e.reason,
    message: detectorScanner.scan(e.message ?? '') ?? REDACTED,
    claimed_issuer: sanitizeClaim(e.claimed_issuer) ?? claimed.issuer,
    claimed_subject: sanitizeClaim(e.claimed_subject) ?? claimed.subject,
    token_sha256: e.token ? createHash('sha256').update(e.token).digest('hex').slice(0, 16) : null,
    ...(e.door && { door: { ...e.door } }),
  };
}

function prepareConfigReload(e: ConfigReloadAuditEvent): AuditConfigReloadData {
  requireString(e.component, 'component');
  return {
    component: e.component,
    ok: e.ok === true,
    source: e.source ?? null,
    revision: e.revision ?? null,
    previous_revision: e.previous_revision ?? null,
    error: e.error ?? null,
  };
}

function preparePrincipal(e: PrincipalAuditEvent): AuditPrincipalData {
  requireString(e.action, 'action');
  const time = (d: Date | null | undefined, field: string) => {
    if (!d) return null;
    if (Number.isNaN(d.getTime())) throw new AuditRecordError(`principal ${field} is not a valid date`);
    return rfc3339(d.getTime());
  };
  return {
    action: e.action,
    issuer: e.issuer ?? null,
    subject: e.subject ?? null,
    signal: e.signal ?? null,
    reason: e.reason ?? null,
    actor: e.actor ?? null,
    event_at: time(e.event_at, 'event_at'),
    not_before: time(e.not_before, 'not_before'),
    jti: e.jti ?? null,
    withdrawn: [...(e.withdrawn ?? [])],
    revoked: [...(e.revoked ?? [])],
    error: e.error ? { code: e.error.code, message: detectorScanner.scan(e.error.message) ?? REDACTED } : null,
  };
}

function prepareAccessRefused(e: AccessRefusedAuditEvent): AuditAccessRefusedData {
  requireString(e.route, 'route');
  if (!e.identity || typeof e.identity.subject !== 'string') throw new AuditRecordError('access_refused events need identity.subject');
  if (!Number.isInteger(e.status)) throw new AuditRecordError('access_refused events need the HTTP status (integer)');
  return {
    request_id: e.request_id ?? null,
    route: e.route,
    identity: { subject: e.identity.subject, issuer: e.identity.issuer ?? '', kind: e.identity.kind ?? null, groups: [...(e.identity.groups ?? [])] },
    status: e.status,
    error: { code: e.error.code, message: e.error.message },
  };
}

function requireString(value: unknown, field: string): void {
  if (typeof value !== 'string' || value === '') throw new AuditRecordError(`audit event needs ${field} (a non-empty string)`);
}

function byteCount(value: number | string | null | undefined, field: string): number | null {
  if (value === undefined || value === null) return null;
  const n = typeof value === 'string' ? Number(value) : value;
  if (!Number.isSafeInteger(n) || n < 0) throw new AuditRecordError(`${field} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

/** Milliseconds kept to the microsecond: enough for latency analysis, short in the record. */
function millis(value: number | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isFinite(value) || value < 0) throw new AuditRecordError(`timings must be non-negative numbers of milliseconds, got ${value}`);
  return Math.round(value * 1000) / 1000;
}
