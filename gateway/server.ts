// Assembles a gateway from its configuration: the fastify server with the BigQuery facade, the
// enforcement pipeline behind it, the approvals API (and approver page), the audit trail, health,
// readiness and metrics endpoints. Approvals, grants and the audit trail live in the database the
// configuration's storage URL names.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { Engine } from '../engine/index.ts';
import { BundlePoller, type ActivationEvent } from './bundles/index.ts';
import { startDecisionLogShipper } from './decision-logs/index.ts';
import type { ApprovalRequests } from './approval-requests.ts';
import { approvalRequestsOf, approvalsPlugin, createApprovalStore, grantSourceOf, type ApprovalStore } from './approvals/index.ts';
import { ANSWER_WITHHELD, AuditLog, AuditStoreProbe, approvalAuditListener, auditUnavailableBody, NOT_RUN_UNRECORDED, type AuditLogOptions } from './audit/index.ts';
import { createAuthenticator, type Authenticator, type TrustedIssuer } from './auth/index.ts';
import { BigQueryError } from './bigquery/errors.ts';
import { registerDiscovery } from './bigquery/discovery.ts';
import { registerFacade } from './bigquery/facade.ts';
import type { ResolvedConfig, TrustedIssuerConfig } from './config/load.ts';
import { Connections } from './connections.ts';
import { DecisionBudget } from './decision-budget.ts';
import { Enforcer } from './enforce.ts';
import type { GrantSource } from './grants.ts';
import { INTERNAL_CALL_HEADER, InternalCalls } from './internal-calls.ts';
import { Revocation } from './identity/index.ts';
import { McpAuth } from './mcp/auth.ts';
import { MCP_PATH, registerMcp } from './mcp/server.ts';
import { principalsApi } from './principals/api.ts';
import { DatabaseJobStore, type JobStore } from './jobs.ts';
import type { HashKey } from './masking/index.ts';
import { GatewayMetrics } from './metrics.ts';
import { startTrail, takeTrail, trailOf } from './request-audit.ts';
import { RequestIds } from './request-ids.ts';
import { openDatabase, redact, type Database } from './store/database.ts';
import { credentialProviders, type CredentialProviderFactory } from './upstream/credentials.ts';
import { SchemaCache } from './upstream/schemas.ts';

export interface GatewayOptions {
  config: ResolvedConfig;
  /** A loaded engine; default: `Engine.load(config.bundle)`. */
  engine?: Engine;
  /** Secret of the `hash` strategy; default: the environment variable the config names. */
  hashKey?: HashKey;
  credentials?: CredentialProviderFactory;
  authenticator?: Authenticator;
  /** An open database; default: opened from the configured storage URL (and closed with the gateway). */
  database?: Database;
  /** Overrides of the approval store built on the database (clock, poll and sweep intervals). */
  approvalStore?: { pollIntervalMs?: number; sweepIntervalMs?: number; defaultRequestTtlSeconds?: number };
  /** Clock in epoch milliseconds for decisions, grants and approval requests (tests). */
  now?: () => number;
  /** Audit log options (stream id, commit timeout, …). */
  audit?: AuditLogOptions;
  /** Replace the store-backed grant source / approval filing (tests). */
  grants?: GrantSource;
  approvals?: ApprovalRequests;
  /** Fastify logger options or instance; default: pino at the configured level. */
  logger?: FastifyServerOptions['logger'] | FastifyServerOptions['loggerInstance'];
  /** Process-wide metrics (CPU, memory, event loop); off when several gateways share a process. */
  processMetrics?: boolean;
}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly engine: Engine;
  readonly metrics: GatewayMetrics;
  readonly jobs: JobStore;
  readonly database: Database;
  readonly approvalStore: ApprovalStore;
  readonly audit: AuditLog;
  /** The bundle server poller, when `bundle:` names a server. */
  readonly bundles: BundlePoller | undefined;
  /** Starts listening on the configured address; resolves to the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export class GatewayConfigError extends Error {
  override name = 'GatewayConfigError';
}

/** The gateway's version, as package.json gives it (servers report it, e.g. over MCP). */
const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** The request id the MCP door gives the n-th BigQuery call of a tool call: the call's id, a dot, n. */
const CALL_OF_TOOL_CALL = /\.\d+$/;

/** Without a configured storage URL approvals, grants and the audit trail live in memory only. */
const EPHEMERAL_STORAGE = 'sqlite::memory:';

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const hashKey = options.hashKey ?? hashKeyFromEnv(config);
  // With a bundle server the gateway starts with no policy (every query refused) until the persisted
  // bundle or the server's activates one; a bundle file must load now.
  const engine = options.engine ?? (config.bundleServer ? Engine.empty() : await Engine.load(config.bundle));
  const metrics = new GatewayMetrics({ processMetrics: options.processMetrics ?? true });
  const internal = new InternalCalls();
  const app = buildServer(config, options.logger, internal);
  const verifier = options.authenticator ?? createAuthenticator({ issuers: config.issuers.map(toTrustedIssuer) });

  // Storage: approvals, grants, jobs and the audit trail.
  if (!options.database && !config.storageUrl) {
    app.log.warn('no storage.url configured: approvals, grants, jobs and the audit trail are kept in memory and lost on restart');
  }
  const ownDatabase = !options.database;
  const database = options.database ?? (await openDatabase(config.storageUrl ?? EPHEMERAL_STORAGE));
  const jobs = new DatabaseJobStore(database.db, { retentionSeconds: config.limits.jobRetentionSeconds });
  let audit: AuditLog;
  try {
    audit = await AuditLog.open(database, { statementKey: hashKey, ...options.audit });
  } catch (error) {
    if (ownDatabase) await database.close();
    throw new GatewayConfigError(`the audit trail cannot be opened in ${redact(database.url)}: ${(error as Error).message}`);
  }
  // Readiness: can the store the audit log writes to take a write (cached, bounded; see store-probe.ts).
  let auditStoreWasWritable: boolean | undefined;
  const auditStore = new AuditStoreProbe(database, audit.stream, {
    onResult: (status) => {
      if (!status.writable && auditStoreWasWritable !== false) app.log.warn({ reason: status.reason }, 'the audit store cannot take a write: not ready');
      if (status.writable && auditStoreWasWritable === false) app.log.info('the audit store takes writes again');
      auditStoreWasWritable = status.writable;
    },
  });
  metrics.reportAuditStore(async () => (await auditStore.check()).writable);
  // Shipped from committed records, off the request path (gateway/decision-logs).
  const decisionLogs = config.decisionLogs && startDecisionLogShipper({ audit, database, config: config.decisionLogs, metricsRegistry: metrics.registry, log: app.log });
  const bundles = config.bundleServer
    ? new BundlePoller({
        config: config.bundleServer,
        engine,
        report: (event) => reportActivation(event, app, metrics, audit),
      })
    : undefined;
  if (bundles) {
    await bundles.restore();
    bundles.start();
  } else if (engine.active) {
    metrics.bundleActiveRevision.set({ revision: engine.revision, source: config.bundle }, 1);
  }
  const publicUrl = config.publicUrl ?? `http://${config.listen.host}:${config.listen.port}`;
  const approvalStore = createApprovalStore({
    database,
    publicUrl,
    ...(config.approvalsUrl && { approveUrlBase: config.approvalsUrl }),
    ...options.approvalStore,
    ...(options.now && { now: options.now }),
    onEvent: approvalAuditListener(audit, (error, event) =>
      app.log.error({ err: { type: (error as Error).name, message: (error as Error).message }, approval_event: event.action }, 'approval event not recorded in the audit trail'),
    ),
  });
  // Revocation: every door authenticates through the guarded authenticator (gateway/identity/).
  let revocation: Revocation;
  try {
    revocation = await Revocation.start({ settings: config.revocation, issuers: config.issuers, database, audit, approvals: approvalStore, registry: metrics.registry, log: app.log });
  } catch (error) {
    await approvalStore.close();
    if (ownDatabase) await database.close();
    throw new GatewayConfigError((error as Error).message);
  }
  const authenticator = revocation.guard(verifier);

  const connections = new Connections(config.connections, options.credentials ?? credentialProviders(app.log), {
    timeoutMs: config.limits.upstreamTimeoutMs,
  });
  const enforcer = new Enforcer({
    engine,
    authenticator,
    grants: options.grants ?? grantSourceOf(approvalStore),
    approvals: options.approvals ?? approvalRequestsOf(approvalStore),
    schemas: new SchemaCache(config.limits.schemaCacheSeconds),
    metrics,
    dryRunCacheSeconds: config.limits.dryRunCacheSeconds,
    budget: new DecisionBudget(config.limits.decisionTime),
    ...(options.now && { now: () => new Date(options.now!()) }),
  });

  // A caller's own request id names one request only (./request-ids.ts); the door's own calls
  // are named by the gateway already.
  const requestIds = new RequestIds(database.db);
  const claimed = new WeakSet<FastifyRequest>();
  app.addHook('onRequest', async (req) => {
    if (req.id !== req.headers['x-request-id'] || internal.isLive(req.headers[INTERNAL_CALL_HEADER])) return;
    if (await requestIds.claim(req.id)) {
      claimed.add(req);
      return;
    }
    req.id = randomUUID();
    req.log = req.log.child({ reqId: req.id });
  });
  const release = async (req: FastifyRequest) => {
    if (claimed.delete(req)) requestIds.release(req.id);
  };
  app.addHook('onResponse', release);
  app.addHook('onRequestAbort', release);

  // Every BigQuery API call gets a trail, recorded once its answer is known and before it is sent.
  app.addHook('onRequest', async (req) => {
    const method = (req.routeOptions.config as { apiMethod?: string } | undefined)?.apiMethod;
    if (method) startTrail(req, method);
  });
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-request-id', req.id);
    const trail = takeTrail(req);
    if (!trail) return payload;
    try {
      await metrics.time(metrics.auditRecordSeconds, undefined, () => audit.record(trail.toEvent(req.id, reply.statusCode)));
      return payload;
    } catch (error) {
      req.log.error({ err: { type: (error as Error).name, message: (error as Error).message } }, 'audit record failed');
      // A refusal stays a refusal; an answer that was not recorded is never released.
      if (reply.statusCode >= 400) return payload;
      metrics.refusals.inc({ reason: 'auditUnavailable' });
      void reply.code(503).header('content-type', 'application/json; charset=utf-8');
      reply.removeHeader('content-length');
      return JSON.stringify(auditUnavailableBody(ANSWER_WITHHELD));
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    const method = (req.routeOptions.config as { apiMethod?: string } | undefined)?.apiMethod;
    if (method) metrics.requestSeconds.observe({ route: method, code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, req, reply) => {
    let refusal: BigQueryError;
    if (error instanceof BigQueryError) {
      refusal = error;
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      // fastify's own 4xx: malformed JSON, wrong content type, body too large.
      refusal = new BigQueryError(error.statusCode === 413 ? 413 : 400, 'invalid', `Invalid request: ${error.message}`);
    } else {
      req.log.error({ err: { type: error.name, message: error.message, stack: error.stack } }, 'request failed');
      refusal = new BigQueryError(500, 'internalError', `The gateway failed to process this request (request id ${req.id}).`);
    }
    const trail = trailOf(req);
    if (trail) trail.error = { reason: refusal.reason, message: refusal.message };
    if (refusal.code < 500) {
      metrics.refusals.inc({ reason: refusal.reason });
      req.log.info({ refusal: { code: refusal.code, reason: refusal.reason } }, 'request refused');
    }
    void reply.code(refusal.code).headers(refusal.headers).send(refusal.toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(new BigQueryError(404, 'notFound', `Not found: ${req.method} ${req.url.split('?')[0]}`).toJSON());
  });

  // Written ahead: nothing is sent upstream on a caller's behalf before its record is committed.
  const beforeForward = async (req: FastifyRequest, operation: string) => {
    const trail = trailOf(req);
    if (!trail || trail.forwarded) return;
    try {
      await metrics.time(metrics.auditRecordSeconds, undefined, () => audit.record(trail.toForwardEvent(req.id, operation)));
      trail.forwarded = true;
    } catch (error) {
      req.log.error({ err: { type: (error as Error).name, message: (error as Error).message } }, 'forward record failed; the request is not sent');
      metrics.refusals.inc({ reason: 'auditUnavailable' });
      throw new BigQueryError(503, 'backendError', NOT_RUN_UNRECORDED);
    }
  };
  registerFacade(app, { enforcer, connections, jobs, metrics, hashKey, beforeForward, internal });
  await app.register(approvalsPlugin, {
    store: approvalStore,
    authenticate: authenticator.authenticate,
    engine,
    publicUrl,
    record: (event) => audit.record(event),
    ...(config.approverPage && { page: config.approverPage }),
    principalRefusal: (identity, since) => revocation.refusal(identity, since),
  });
  await app.register(principalsApi, { database, authenticate: authenticator.authenticate, record: audit.record, reviewerGroups: config.principalReviewers });
  const mcp = config.mcp
    ? registerMcp(app, {
        auth: new McpAuth(config.mcp.resource ?? `${publicUrl}${MCP_PATH}`, config.issuers.map(toTrustedIssuer), (a) => revocation.guard(a)),
        config: config.mcp,
        internal,
        enforcer,
        connections,
        approvals: approvalStore,
        jobs,
        audit,
        metrics,
        version: VERSION,
      })
    : undefined;
  registerDiscovery(app, config.publicUrl);
  revocation.registerSignals(app, verifier);
  registerHealth(app, engine, connections, auditStore, metrics, revocation);
  app.get('/status', async () => ({
    policy: bundles?.status() ?? {
      active_revision: engine.active ? engine.revision : null,
      source: config.bundle,
      etag: null,
      verification: false,
      last_success: null,
      last_failure: null,
    },
    ...(decisionLogs && { decision_logs: decisionLogs.status() }),
    revocation: revocation.status(),
  }));

  return {
    app,
    engine,
    metrics,
    jobs,
    database,
    approvalStore,
    audit,
    bundles,
    async listen() {
      const address = await app.listen({ host: config.listen.host, port: config.listen.port });
      return address.replace('[::1]', '127.0.0.1');
    },
    async close() {
      await bundles?.close();
      // Held callers are released first (answered approvalRequired), so draining does not wait on them.
      await approvalStore.close();
      revocation.close();
      await mcp?.close();
      await app.close();
      connections.close();
      await decisionLogs?.close();
      await audit.close();
      if (ownDatabase) await database.close();
    },
  };
}

/** Each bundle activation or refusal: a log line, metrics and an audit record (config_reload). */
async function reportActivation(event: ActivationEvent, app: FastifyInstance, metrics: GatewayMetrics, audit: AuditLog): Promise<void> {
  metrics.reportBundle(event);
  const fields = { bundle: { source: event.source, revision: event.revision, previous_revision: event.previousRevision, ...(event.keyId && { key_id: event.keyId }) } };
  if (event.ok) app.log.info(fields, event.error ? `policy bundle activated (${event.error})` : 'policy bundle activated');
  else app.log.error({ ...fields, err: { reason: event.reason, message: event.error } }, 'policy bundle refused; the active policy stays');
  try {
    await audit.record({
      kind: 'config_reload',
      component: 'policy',
      source: event.source,
      ok: event.ok,
      revision: event.revision || null,
      previous_revision: event.previousRevision || null,
      ...(event.error && { error: event.reason ? `${event.reason}: ${event.error}` : event.error }),
    });
  } catch (error) {
    app.log.error({ err: { message: (error as Error).message } }, 'policy bundle activation not recorded in the audit trail');
  }
}

function buildServer(config: ResolvedConfig, logger: GatewayOptions['logger'], internal: InternalCalls): FastifyInstance {
  const log = logger ?? { level: config.logLevel, redact: ['req.headers.authorization'] };
  return Fastify({
    ...(isLoggerInstance(log) ? { loggerInstance: log } : { logger: log }),
    bodyLimit: config.limits.bodyLimitBytes,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      if (typeof given !== 'string' || !REQUEST_ID.test(given)) return randomUUID();
      // `<id>.<n>` names a BigQuery call an MCP tool call made, replayed with it: only the door's
      // own calls (a live internal-call nonce) are given such an id, never an outside caller.
      if (CALL_OF_TOOL_CALL.test(given) && !internal.isLive(req.headers[INTERNAL_CALL_HEADER])) return randomUUID();
      return given;
    },
    // BigQuery ids can be long; find-my-way's default cap on a path parameter is 100 characters.
    routerOptions: { maxParamLength: 1024 },
  }) as unknown as FastifyInstance;
}

function registerHealth(app: FastifyInstance, engine: Engine, connections: Connections, auditStore: AuditStoreProbe, metrics: GatewayMetrics, revocation: Revocation): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const [upstreams, store, identity] = await Promise.all([
      Promise.all(connections.all().map(async (c) => [c.name, await c.upstream.reachable()] as const)),
      auditStore.check(),
      revocation.readiness(),
    ]);
    // No active policy (a bundle server that never delivered one): every query would be refused.
    const ready = engine.active && upstreams.every(([, ok]) => ok) && store.writable && identity.ready;
    void reply.code(ready ? 200 : 503);
    return {
      status: ready ? 'ready' : 'not ready',
      policy_revision: engine.active ? engine.revision : null,
      upstreams: Object.fromEntries(upstreams.map(([name, ok]) => [name, ok ? 'reachable' : 'unreachable'])),
      audit_store: store.writable ? 'writable' : `unavailable: ${store.reason}`,
      // Revocation's parts, when they have something to say: a stale disabled set, introspected issuers.
      ...(identity.disabled_set !== 'current' && { disabled_set: identity.disabled_set }),
      ...(Object.keys(identity.introspection).length > 0 && { introspection: identity.introspection }),
    };
  });
  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

export function toTrustedIssuer(c: TrustedIssuerConfig): TrustedIssuer {
  return {
    issuer: c.issuer,
    audience: c.audience,
    ...(c.groups_claim && { groupsClaim: c.groups_claim }),
    ...(c.groups_claim_format && { groupsClaimFormat: c.groups_claim_format }),
    ...(c.kind_claim && { kindClaim: c.kind_claim }),
    ...(c.default_kind && { defaultKind: c.default_kind }),
    ...(c.jwks_uri && { jwksUri: c.jwks_uri }),
    ...(c.algorithms && { algorithms: c.algorithms }),
    ...(c.token_type && { tokenType: c.token_type }),
  };
}

function hashKeyFromEnv(config: ResolvedConfig): HashKey {
  const name = config.hashKeyEnv;
  const value = name ? process.env[name] : undefined;
  if (!name || !value) {
    throw new GatewayConfigError(
      `the masking hash key is not set: configure masking.hash_key_env and put a secret of at least 16 bytes in ${name ?? 'that variable'}`,
    );
  }
  if (Buffer.byteLength(value) < 16) throw new GatewayConfigError(`${name} must hold at least 16 bytes`);
  return value;
}

function isLoggerInstance(value: unknown): value is NonNullable<FastifyServerOptions['loggerInstance']> {
  return !!value && typeof value === 'object' && typeof (value as { child?: unknown }).child === 'function';
}
