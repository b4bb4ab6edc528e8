export { createAuthenticator, DEFAULT_ALGORITHMS } from './authenticator.ts';
export { callerKey } from './caller-key.ts';
export { challengeDescription } from './challenge.ts';
export type {
  Authenticator,
  AuthenticatorConfig,
  AuthFailureReason,
  AuthResult,
  IdentityKind,
  TrustedIssuer,
} from './authenticator.ts';
export { checkFetchableUrl, discoveryUrl, isLoopbackHost } from './discovery.ts';
export { KeySetUnavailable } from './authenticator.ts';
export { DiscoveryCache, DiscoveryError } from './discovery.ts';
