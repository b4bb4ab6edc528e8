// Reads and validates the gateway's YAML configuration (schemas/gateway-config.schema.json) and
// resolves what the file leaves implicit: defaults, `${VAR}` references, paths relative to it.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ajv, formatErrors, loadSchema } from '../../engine/schemas.ts';
import { DEFAULT_BUNDLE } from '../../engine/build.ts';
import type { GatewayConfig } from '../../engine/schema-types.ts';
import type { ApproverPageOptions } from '../approvals/index.ts';
import { resolveDecisionLogs, type DecisionLogsConfig } from '../decision-logs/config.ts';
import type { BundleServerConfig } from '../bundles/config.ts';
import type { DecisionBudgetConfig } from '../decision-budget.ts';
import { resolveRevocation, type RevocationSettings } from '../identity/settings.ts';

export type { GatewayConfig } from '../../engine/schema-types.ts';
export type ConnectionConfig = GatewayConfig['connections'][number];
export type TrustedIssuerConfig = GatewayConfig['issuers'][number];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const validate = ajv.compile<GatewayConfig>(loadSchema('gateway-config.schema.json'));

/** The configuration with every default filled in, as the gateway uses it. */
export interface ResolvedConfig {
  listen: { host: string; port: number };
  publicUrl: string | undefined;
  logLevel: NonNullable<GatewayConfig['log_level']>;
  /** The bundle file; with a bundle server, the last activated bundle kept in its persist_dir. */
  bundle: string;
  /** The bundle server the gateway polls, when `bundle:` is one. */
  bundleServer: BundleServerConfig | undefined;
  storageUrl: string | undefined;
  hashKeyEnv: string | undefined;
  approvalsUrl: string | undefined;
  /** The approver page's sign-in, when `approvals.page` is configured. */
  approverPage: ApproverPageOptions | undefined;
  /** Groups whose people may read the principal inventory (GET /principals); empty: nobody. */
  principalReviewers: string[];
  issuers: TrustedIssuerConfig[];
  /** Disabled principals, the Shared Signals receiver (gateway/identity/). */
  revocation: RevocationSettings;
  connections: ConnectionConfig[];
  /** The MCP door; undefined when disabled. */
  mcp: McpConfig | undefined;
  /** Decision-log shipping to a collector (gateway/decision-logs/); undefined when not configured. */
  decisionLogs: DecisionLogsConfig | undefined;
  limits: {
    schemaCacheSeconds: number;
    dryRunCacheSeconds: number;
    jobRetentionSeconds: number;
    upstreamTimeoutMs: number;
    bodyLimitBytes: number;
    decisionTime: DecisionBudgetConfig;
  };
}

export interface McpConfig {
  /** The resource identifier tokens must name as audience; undefined: public URL + /mcp, known once listening. */
  resource: string | undefined;
  defaultProject: string;
  maxSqlBytes: number;
  maxRows: number;
  maxWaitSeconds: number;
}

export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read gateway configuration ${path}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new ConfigError(`${path} is not valid YAML: ${(error as Error).message}`);
  }
  return resolveConfig(document, { baseDir: dirname(resolve(path)), env, source: path });
}

export function resolveConfig(
  document: unknown,
  options: { baseDir?: string; env?: NodeJS.ProcessEnv; source?: string } = {},
): ResolvedConfig {
  const env = options.env ?? process.env;
  const source = options.source ?? 'gateway configuration';
  const expanded = expandEnv(document, env, source);
  if (!validate(expanded)) throw new ConfigError(`${source} is invalid: ${formatErrors(validate.errors)}`);
  const config = expanded;
  const baseDir = options.baseDir ?? process.cwd();
  const names = new Set<string>();
  const projects = new Set<string>();
  for (const c of config.connections) {
    if (names.has(c.name)) throw new ConfigError(`${source}: connection ${c.name} is defined twice`);
    if (projects.has(c.project.toLowerCase())) throw new ConfigError(`${source}: project ${c.project} is served by two connections`);
    names.add(c.name);
    projects.add(c.project.toLowerCase());
  }
  const storageUrl = config.storage?.url;
  return {
    listen: { host: config.listen?.host ?? '127.0.0.1', port: config.listen?.port ?? 8080 },
    publicUrl: config.public_url?.replace(/\/+$/, ''),
    logLevel: config.log_level ?? 'info',
    bundle: typeof config.bundle === 'object' ? join(absolute(config.bundle.persist_dir, baseDir), 'bundle.tar.gz') : config.bundle ? absolute(config.bundle, baseDir) : DEFAULT_BUNDLE,
    bundleServer: typeof config.bundle === 'object' ? bundleServerOf(config.bundle, baseDir) : undefined,
    storageUrl: storageUrl?.startsWith('sqlite:') && storageUrl !== 'sqlite::memory:' ? `sqlite:${absolute(storageUrl.slice('sqlite:'.length), baseDir)}` : storageUrl,
    hashKeyEnv: config.masking?.hash_key_env,
    approvalsUrl: config.approvals?.url?.replace(/\/+$/, ''),
    approverPage: approverPageOf(config.approvals?.page),
    principalReviewers: [...new Set(config.principals?.reviewer_groups ?? [])],
    issuers: config.issuers,
    revocation: resolveRevocation(config.revocation),
    connections: config.connections.map((c) => {
      const upstream = c.upstream.replace(/\/+$/, '');
      return {
        ...c,
        upstream,
        estimate_mode: c.estimate_mode ?? (isBigQuery(upstream) ? 'cap' : 'dry_run'),
        require_referenced_tables: c.require_referenced_tables ?? true,
        fault_backoff_seconds: c.fault_backoff_seconds ?? 5,
      };
    }),
    mcp:
      config.mcp?.enabled === false
        ? undefined
        : {
            resource: config.mcp?.resource,
            defaultProject: config.mcp?.default_project ?? config.connections[0]!.project,
            maxSqlBytes: config.mcp?.max_sql_bytes ?? 102_400,
            maxRows: config.mcp?.max_rows ?? 1000,
            maxWaitSeconds: config.mcp?.max_wait_seconds ?? 300,
          },
    limits: {
      schemaCacheSeconds: config.limits?.schema_cache_seconds ?? 60,
      dryRunCacheSeconds: config.limits?.dry_run_cache_seconds ?? 30,
      jobRetentionSeconds: config.limits?.job_retention_seconds ?? 86_400,
      upstreamTimeoutMs: config.limits?.upstream_timeout_ms ?? 60_000,
      bodyLimitBytes: config.limits?.body_limit_bytes ?? 4 * 1024 * 1024,
      decisionTime: { burstMs: config.limits?.decision_time?.burst_ms ?? 5000, perSecondMs: config.limits?.decision_time?.per_second_ms ?? 250 },
    },
    decisionLogs: resolveDecisionLogs(config.decision_logs, (message) => {
      throw new ConfigError(`${source}: ${message}`);
    }),
  };
}

function bundleServerOf(b: Extract<GatewayConfig['bundle'], object>, baseDir: string): BundleServerConfig {
  const minDelay = b.poll?.min_delay_seconds ?? 60;
  const maxDelay = Math.max(minDelay, b.poll?.max_delay_seconds ?? 120);
  const v = b.verification;
  return {
    url: b.url,
    minDelayMs: minDelay * 1000,
    maxDelayMs: maxDelay * 1000,
    bearerToken: b.credentials?.bearer?.token,
    persistDir: absolute(b.persist_dir, baseDir),
    maxSizeBytes: b.max_size_bytes ?? 64 * 1024 * 1024,
    timeoutMs: (b.timeout_seconds ?? 30) * 1000,
    verification: v && {
      keys: Object.fromEntries(
        Object.entries(v.keys).map(([id, k]) => {
          const algorithm = k.algorithm ?? 'RS256';
          // A PEM inline or an HS* secret stays as written; anything else is a key file, relative to the config.
          const key = k.key.includes('-----BEGIN') || algorithm.startsWith('HS') ? k.key : absolute(k.key, baseDir);
          return [id, { key, algorithm, ...(k.scope !== undefined && { scope: k.scope }) }];
        }),
      ),
      ...(v.key_id !== undefined && { keyId: v.key_id }),
      ...(v.scope !== undefined && { scope: v.scope }),
    },
  };
}

function approverPageOf(page: NonNullable<GatewayConfig['approvals']>['page']): ApproverPageOptions | undefined {
  if (!page) return undefined;
  return {
    issuer: page.issuer,
    clientId: page.client_id,
    ...(page.client_secret !== undefined && { clientSecret: page.client_secret }),
    ...(page.scope !== undefined && { scope: page.scope }),
    ...(page.resource !== undefined && { resource: page.resource }),
    ...(page.session_secret !== undefined && { sessionSecret: page.session_secret }),
    ...(page.session_ttl_seconds !== undefined && { sessionTtlSeconds: page.session_ttl_seconds }),
  };
}

/** BigQuery itself, which enforces `maximumBytesBilled` (an emulator does not). */
function isBigQuery(upstream: string): boolean {
  try {
    return new URL(upstream).hostname === 'bigquery.googleapis.com';
  } catch {
    return false;
  }
}

function absolute(path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** Replaces `${NAME}` in every string; an unset variable is an error, not an empty string. */
function expandEnv(value: unknown, env: NodeJS.ProcessEnv, source: string): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined) throw new ConfigError(`${source} refers to \${${name}}, which is not set`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v) => expandEnv(v, env, source));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, source)]));
  }
  return value;
}
