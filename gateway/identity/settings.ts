// Revocation settings as the gateway uses them: the `revocation:` block and each issuer's
// `introspection:` and `signals:` (schemas/gateway-config.schema.json) with defaults filled in.
import type { IntrospectionConfig, RevocationConfig, TrustedIssuerConfig } from '../../engine/schema-types.ts';

export interface RevocationSettings {
  /** How often the shared change counter is read (the bound on how late another replica's change is seen). */
  pollIntervalMs: number;
  /** A disabled set older than this refuses every request. */
  maxStalenessMs: number;
  /** The Shared Signals receiver; undefined: not served. */
  signals: { audience: string; maxAgeSeconds: number } | undefined;
}

export interface IntrospectionSettings {
  issuer: string;
  /** Undefined: the issuer's discovery document names it. */
  endpoint: string | undefined;
  clientId: string;
  clientSecret: string;
  cacheMs: number;
  timeoutMs: number;
  fallback: NonNullable<IntrospectionConfig['fallback']>;
}

export class RevocationConfigError extends Error {
  override name = 'RevocationConfigError';
}

export function resolveRevocation(config: RevocationConfig | undefined): RevocationSettings {
  return {
    pollIntervalMs: config?.poll_interval_ms ?? 200,
    maxStalenessMs: config?.max_staleness_ms ?? 5000,
    signals: config?.signals && { audience: config.signals.audience, maxAgeSeconds: config.signals.max_age_seconds ?? 300 },
  };
}

/** The issuer's introspection, its client secret read from the environment variable the config names. */
export function introspectionOf(issuer: TrustedIssuerConfig, env: NodeJS.ProcessEnv = process.env): IntrospectionSettings | undefined {
  const c = issuer.introspection;
  if (!c) return undefined;
  const clientSecret = env[c.client_secret_env];
  if (!clientSecret) throw new RevocationConfigError(`introspection of ${issuer.issuer}: the client secret is not set (environment variable ${c.client_secret_env})`);
  return {
    issuer: issuer.issuer,
    endpoint: c.endpoint,
    clientId: c.client_id,
    clientSecret,
    cacheMs: (c.cache_seconds ?? 5) * 1000,
    timeoutMs: c.timeout_ms ?? 2000,
    fallback: c.fallback ?? 'fail_closed',
  };
}
