// Decision-log shipping to an OPA decision-log collector. See shipper.ts.
export { resolveDecisionLogs, DECISION_LOG_DEFAULTS, type DecisionLogsConfig, type DecisionLogsSection } from './config.ts';
export {
  startDecisionLogShipper,
  DecisionLogShipper,
  type DecisionLogShipperOptions,
  type DecisionLogShipperHandle,
  type DecisionLogShipperStatus,
  type DropReason,
  type UploadOutcome,
  type ShipperLog,
} from './shipper.ts';
export { readCursor, advanceCursor, storedCursor } from './cursor.ts';
