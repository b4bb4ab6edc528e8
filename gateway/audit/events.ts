// What the gateway hands to AuditLog.record(): one event per kind, in the shape of the stored
// record's `data` (schemas/audit-record.schema.json) with everything optional that the recorder
// can default, and the engine's and masker's own result objects accepted as they are.
import type {
  AuditApiError,
  AuditByteCap,
  AuditJobCheck,
  AuditApprovalData,
  AuditConfigReloadData,
  AuditDoor,
  AuditForwardData,
  AuditGrantData,
  AuditScope,
  AuditUpstreamCancel,
  AuditTokenFailureData,
  AuditPrincipalData,
  AuditAccessRefusedData,
  Decision,
  PolicyInput,
} from '../../engine/schema-types.ts';
import type { EngineErrorCode } from '../../engine/errors.ts';
import type { MaskStats, TableRow, TableSchema } from '../masking/index.ts';

export type {
  AuditRecord,
  AuditRequestRecord,
  AuditForwardRecord,
  AuditApprovalRecord,
  AuditGrantRecord,
  AuditTokenFailureRecord,
  AuditConfigReloadRecord,
  AuditPrincipalRecord,
  AuditAccessRefusedRecord,
  AuditCheckpointRecord,
  AuditRequestData,
  AuditForwardData,
  AuditApprovalData,
  AuditGrantData,
  AuditTokenFailureData,
  AuditConfigReloadData,
  AuditPrincipalData,
  AuditAccessRefusedData,
  AuditCheckpointData,
  AuditResponse,
  AuditTableRow,
  AuditCellValue,
} from '../../engine/schema-types.ts';

export type AuditKind = 'request' | 'forward' | 'approval' | 'grant' | 'token_failure' | 'config_reload' | 'principal' | 'access_refused' | 'checkpoint';

interface EventBase {
  /** When it happened; default: when record() was called. */
  at?: Date;
}

/** One BigQuery API call, recorded once its answer is known and before the agent receives it. */
export interface RequestAuditEvent extends EventBase {
  kind: 'request';
  request_id: string;
  identity: { subject: string; issuer: string; kind?: 'agent' | 'human' | null; groups: readonly string[] };
  route: string;
  connection?: string | null;
  project?: string | null;
  /** The SQL text as the agent sent it (the recorder redacts its literals). */
  sql?: string | null;
  /** The policy input the decision was made on (Engine.decide's `input`). */
  input?: PolicyInput | null;
  /** Engine.evaluate / Engine.decide's result, as is. */
  evaluation?: { decision: Decision; revision: string; evalNs: number; error?: { code: EngineErrorCode | string; message: string } } | null;
  bytes?: { estimated?: number | string | null; processed?: number | string | null; billed?: number | string | null };
  job?: { id: string; project?: string | null; location?: string | null } | null;
  /** HTTP status the agent receives. */
  status: number;
  /** The BigQuery error the agent receives, if any. */
  error?: AuditApiError | null;
  /** Stage durations in milliseconds (performance.now() differences). */
  timings_ms?: { decision?: number | null; dry_run?: number | null; upstream?: number | null; total?: number | null };
  approval_ids?: readonly string[];
  grant_ids?: readonly string[];
  /** The masker's running totals for this response (Masker.totals). */
  masking?: MaskStats | null;
  /**
   * What the agent receives: the masked schema and masked rows (Masker.schema, MaskedPage.rows).
   * Never the upstream rows. Capped by the log's `maxResponseBytes`.
   */
  response?: { schema: TableSchema | null; rows: readonly TableRow[] | undefined; total_rows?: string | number | null } | null;
  /** The caller's job, cancelled upstream when the gateway stopped waiting on it. */
  upstream_cancel?: AuditUpstreamCancel | null;
  /** The door the call came through, when not the REST API. */
  door?: AuditDoor | null;
  byte_cap?: AuditByteCap | null;
  job_check?: AuditJobCheck | null;
}

/**
 * Written ahead of the upstream call that carries a request: the call is sent only once this is
 * committed, so nothing reaches BigQuery unrecorded. The request event follows with the answer.
 */
export interface ForwardAuditEvent extends EventBase, Partial<Omit<AuditForwardData, 'request_id' | 'identity' | 'route' | 'operation' | 'redactions'>> {
  kind: 'forward';
  request_id: string;
  identity: RequestAuditEvent['identity'];
  route: string;
  operation: string;
}

export interface ApprovalAuditEvent
  extends EventBase,
    Partial<Omit<AuditApprovalData, 'approval_id' | 'action' | 'approver_groups' | 'scope' | 'tables'>> {
  kind: 'approval';
  approval_id: string | null;
  action: AuditApprovalData['action'];
  approver_groups?: readonly string[];
  tables?: readonly string[];
  scope?: AuditScope | null;
}

export interface GrantAuditEvent extends EventBase, Partial<Omit<AuditGrantData, 'grant_id' | 'action' | 'scope' | 'expires_at'>> {
  kind: 'grant';
  grant_id: string;
  action: AuditGrantData['action'];
  scope?: AuditScope | null;
  expires_at?: Date | null;
}

export interface TokenFailureAuditEvent extends EventBase, Partial<Omit<AuditTokenFailureData, 'reason' | 'message' | 'token_sha256'>> {
  kind: 'token_failure';
  reason: string;
  message: string;
  /** The refused token; only the first 16 hex digits of its sha256 are kept. */
  token?: string | null;
}

export interface ConfigReloadAuditEvent extends EventBase, Partial<Omit<AuditConfigReloadData, 'component' | 'ok'>> {
  kind: 'config_reload';
  component: string;
  ok: boolean;
}

/**
 * A principal disabled, enabled or its sessions revoked (gateway/identity/), or a signal or an
 * introspection answer that was refused and changed nothing.
 */
export interface PrincipalAuditEvent
  extends EventBase,
    Partial<Omit<AuditPrincipalData, 'action' | 'event_at' | 'not_before' | 'withdrawn' | 'revoked'>> {
  kind: 'principal';
  action: AuditPrincipalData['action'];
  event_at?: Date | null;
  not_before?: Date | null;
  withdrawn?: readonly string[];
  revoked?: readonly string[];
}

/** A call to the gateway's own JSON API refused to an authenticated caller (403). */
export interface AccessRefusedAuditEvent extends EventBase, Partial<Omit<AuditAccessRefusedData, 'route' | 'identity' | 'status' | 'error'>> {
  kind: 'access_refused';
  route: string;
  identity: RequestAuditEvent['identity'];
  status: number;
  error: { code: string; message: string };
}

export type AuditEvent = RequestAuditEvent | ForwardAuditEvent | ApprovalAuditEvent | GrantAuditEvent | TokenFailureAuditEvent | ConfigReloadAuditEvent | PrincipalAuditEvent | AccessRefusedAuditEvent;

/** Where a committed record sits in its chain. */
export interface RecordedAudit {
  id: string;
  stream: string;
  seq: number;
  hash: string;
  at: string;
}
