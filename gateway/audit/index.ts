// The audit trail: what the gateway records (AuditLog), and what the CLI reads back (listing,
// verification, retention, decision-log export, shadow evaluation). See README.md.
export { AuditLog, defaultStreamId, readHead, type AuditLogOptions, type ChainHead } from './audit-log.ts';
export { AuditStoreProbe, type AuditStoreProbeOptions, type AuditStoreStatus } from './store-probe.ts';
export { AuditUnavailableError, AuditRecordError, AuditClosedError, auditUnavailableBody, ANSWER_WITHHELD, NOT_RUN_UNRECORDED, type BigQueryErrorBody } from './errors.ts';
export type * from './events.ts';
export { canonicalJson, CanonicalJsonError } from './canonical-json.ts';
export { GENESIS_HASH, linkHash } from './chain.ts';
export { verifyAudit, type VerifyReport, type VerifyOptions, type StreamReport, type BrokenLink, type ChainProblem, type Anchor } from './verify.ts';
export { purgeAudit, PurgeRefusedError, type PurgeOptions, type PurgedStream } from './purge.ts';
export { listRecords, findRecords, countRecords, scanRecords, listStreams, parseRecord, type StoredRecord, type RecordFilter } from './records.ts';
export { toDecisionLogEvent, checkedPointer, PointerError, DECISION_PATH, MASKED_VALUE, type DecisionLogEvent, type DecisionLogOptions } from './decision-log.ts';
export {
  shadowEvaluate,
  parseAllowList,
  summarize,
  maskKey,
  type ShadowReport,
  type ShadowChange,
  type ShadowGroup,
  type AllowRule,
  type ShadowOptions,
  type Evaluator,
} from './shadow.ts';
export { redactSqlLiterals, PLACEHOLDER } from './sql-literals.ts';
export { parseDuration, parseTimeOrAgo, rfc3339 } from './time.ts';
export { approvalAuditListener, auditEventsOf } from './approval-events.ts';
