// Prometheus metrics of one gateway instance (its own registry, so several can share a process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const COMMIT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1, 5];
const DECISION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly decisions = new Counter({
    name: 'sluice_decisions_total',
    help: 'Policy decisions, by outcome and API route.',
    labelNames: ['outcome', 'route'] as const,
    registers: [this.registry],
  });
  readonly refusals = new Counter({
    name: 'sluice_refusals_total',
    help: 'Requests refused by the gateway, by BigQuery error reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly decisionSeconds = new Histogram({
    name: 'sluice_decision_seconds',
    help: 'Normalization and policy evaluation time per decision.',
    buckets: DECISION_BUCKETS,
    registers: [this.registry],
  });
  readonly dryRunSeconds = new Histogram({
    name: 'sluice_dry_run_seconds',
    help: 'Upstream dry run latency (cache hits not included).',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly upstreamSeconds = new Histogram({
    name: 'sluice_upstream_seconds',
    help: 'Latency of upstream BigQuery calls that carry the caller\'s request, by operation.',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: 'sluice_request_seconds',
    help: 'Total time the gateway spent on a BigQuery API request, by route and status code.',
    labelNames: ['route', 'code'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly mcpCalls = new Counter({
    name: 'sluice_mcp_calls_total',
    help: 'MCP requests, by method, tool and outcome (ok, tool_error, protocol_error, unauthenticated).',
    labelNames: ['method', 'tool', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly auditRecordSeconds = new Histogram({
    name: 'sluice_audit_record_seconds',
    help: 'Time a request waited for one of its audit records (forward or request) to be durably committed (failures included).',
    buckets: COMMIT_BUCKETS,
    registers: [this.registry],
  });
  readonly auditStoreWritable = new Gauge({
    name: 'sluice_audit_store_writable',
    help: '1 when the audit store committed the readiness probe\'s write, 0 when it did not (probed at most once per cache window).',
    registers: [this.registry],
    collect: async () => {
      if (this.#auditStoreWritable) this.auditStoreWritable.set((await this.#auditStoreWritable()) ? 1 : 0);
    },
  });
  #auditStoreWritable: (() => Promise<boolean>) | undefined;
  readonly maskedCells = new Counter({
    name: 'sluice_masked_cells_total',
    help: 'Result values rewritten by masks or the content scan.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly upstreamFaults = new Counter({
    name: 'sluice_upstream_faults_total',
    help: 'Upstream answers the gateway could not use (kind: timeout, unusable), answered 502.',
    labelNames: ['connection', 'kind'] as const,
    registers: [this.registry],
  });
  readonly upstreamCancels = new Counter({
    name: 'sluice_upstream_cancels_total',
    help: 'Jobs the gateway cancelled upstream because it stopped waiting on them (reason: caller_gone, upstream_timeout).',
    labelNames: ['reason', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly bundleActivations = new Counter({
    name: 'sluice_bundle_activations_total',
    help: 'Policy bundles activated or refused (outcome: activated, refused; reason of a refusal: download, http_<status>, too_large, not_a_bundle, signature, load).',
    labelNames: ['outcome', 'reason'] as const,
    registers: [this.registry],
  });
  readonly bundleActiveRevision = new Gauge({
    name: 'sluice_bundle_active_revision_info',
    help: '1 for the revision (and source) of the active policy bundle.',
    labelNames: ['revision', 'source'] as const,
    registers: [this.registry],
  });
  readonly bundleLastSuccess = new Gauge({
    name: 'sluice_bundle_last_success_timestamp_seconds',
    help: 'When a policy bundle was last activated (Unix time).',
    registers: [this.registry],
  });
  readonly bundleLastFailure = new Gauge({
    name: 'sluice_bundle_last_failure_timestamp_seconds',
    help: 'When a policy bundle was last refused or could not be fetched (Unix time).',
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
  }

  /** What sluice_audit_store_writable reports, asked on every scrape (the gateway's cached audit store probe). */
  reportAuditStore(writable: () => Promise<boolean>): void {
    this.#auditStoreWritable = writable;
  }

  /** Records a bundle activation or refusal. */
  reportBundle(event: { ok: boolean; revision: string; source: string; reason?: string }, atMs = Date.now()): void {
    if (event.ok) {
      this.bundleActivations.inc({ outcome: 'activated', reason: '' });
      this.bundleActiveRevision.reset();
      this.bundleActiveRevision.set({ revision: event.revision, source: event.source }, 1);
      this.bundleLastSuccess.set(atMs / 1000);
    } else {
      this.bundleActivations.inc({ outcome: 'refused', reason: event.reason ?? 'unknown' });
      this.bundleLastFailure.set(atMs / 1000);
    }
  }

  /** Runs `fn` and records its wall time in `histogram`. */
  async time<T>(histogram: Histogram<string>, labels: Record<string, string> | undefined, fn: () => Promise<T>): Promise<T> {
    const end = labels ? histogram.startTimer(labels) : histogram.startTimer();
    try {
      return await fn();
    } finally {
      end();
    }
  }
}
