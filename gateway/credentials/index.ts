export { BIGQUERY_SCOPE, createCredentialProvider } from './provider.ts';
export type {
  ConnectionCredentials,
  CredentialLogger,
  CredentialProvider,
  CredentialProviderOptions,
  CredentialRequest,
} from './provider.ts';
export { CredentialError } from './errors.ts';
export type { CredentialErrorCode, CredentialStage } from './errors.ts';
export { CLOUD_PLATFORM_SCOPE, loadSourceClient, serviceAccountKeyClient } from './source.ts';
export type { ServiceAccountKey } from './source.ts';
