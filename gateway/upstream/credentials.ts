// The upstream credential for one request: headers minted for the caller (gateway/credentials),
// never the caller's own token. Maps the configuration file's connection settings onto the
// credential providers and their failures onto BigQuery-shaped errors.
import type { Identity } from '../../engine/schema-types.ts';
import type { ConnectionConfig } from '../config/load.ts';
import { CredentialError, createCredentialProvider, type ConnectionCredentials, type CredentialLogger } from '../credentials/index.ts';
import { BigQueryError, accessDenied, backendError } from '../bigquery/errors.ts';

export interface CredentialRequest {
  identity: Identity;
  /** The caller's validated OIDC token: the subject token of a token exchange. */
  subjectToken: string;
  /** Lifetime the policy allows. */
  ttlSeconds?: number | undefined;
}

export interface UpstreamCredentials {
  /** Throws a BigQueryError when no credential can be had. */
  headers(request: CredentialRequest): Promise<Record<string, string>>;
}

export type CredentialProviderFactory = (connection: ConnectionConfig) => UpstreamCredentials;

export function connectionCredentials(config: ConnectionConfig['credentials']): ConnectionCredentials {
  switch (config.mode) {
    case 'none':
      return { mode: 'none' };
    case 'impersonate':
      return {
        mode: 'impersonate',
        targetPrincipal: config.target_principal,
        ...(config.source_credentials && { sourceCredentials: config.source_credentials }),
        ...(config.lifetime_seconds && { lifetimeSeconds: config.lifetime_seconds }),
        ...(config.iam_endpoint && { iamEndpoint: config.iam_endpoint }),
        ...(config.delegates && { delegates: config.delegates }),
      };
    case 'workload-identity':
      return {
        mode: 'workload-identity',
        audience: config.audience,
        ...(config.token_url && { tokenUrl: config.token_url }),
        ...(config.service_account_impersonation_url && { serviceAccountImpersonationUrl: config.service_account_impersonation_url }),
        ...(config.token_lifetime_seconds && { tokenLifetimeSeconds: config.token_lifetime_seconds }),
        ...(config.subject_token_type && { subjectTokenType: config.subject_token_type }),
      };
  }
}

/** The default factory: one cached provider per connection. */
export function credentialProviders(logger?: CredentialLogger): CredentialProviderFactory {
  return (connection) => {
    const provider = createCredentialProvider(connectionCredentials(connection.credentials), {
      connection: connection.name,
      ...(logger && { logger }),
    });
    return {
      async headers(request) {
        try {
          return await provider.headers(request);
        } catch (error) {
          throw credentialFailure(error);
        }
      },
    };
  };
}

/** A refusal by Google's token endpoints is the caller's; anything else is retryable. */
function credentialFailure(error: unknown): BigQueryError {
  if (!(error instanceof CredentialError)) return backendError('The gateway could not obtain an upstream credential.');
  if (error.code === 'upstream_denied' || error.code === 'invalid_request') {
    return accessDenied(`Access Denied: no BigQuery credential could be obtained for you (${error.stage}: ${error.message}).`);
  }
  return backendError(`The gateway could not obtain an upstream credential (${error.stage}: ${error.code}).`);
}
