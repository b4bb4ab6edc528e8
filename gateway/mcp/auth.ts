// The MCP door as an OAuth protected resource (MCP authorization, RFC 9728): its metadata names
// the trusted issuers, an unauthenticated call is answered 401 with a `WWW-Authenticate` challenge
// pointing at that metadata, and only tokens issued for this resource (audience) are accepted.
// The agent's token never goes upstream: like a REST caller's, it is only ever the subject token
// of the short-lived credential exchange.
import { challengeDescription, createAuthenticator, type Authenticator, type AuthResult } from '../auth/index.ts';
import type { TrustedIssuer } from '../auth/index.ts';

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  bearer_methods_supported: string[];
  resource_name: string;
  resource_documentation?: string;
}

export class McpAuth {
  readonly resource: string;
  /** Where the protected-resource metadata is served: the well-known path inserted before the resource's path. */
  readonly metadataUrl: string;
  readonly #authenticator: Authenticator;
  readonly #issuers: string[];

  /** `guard` adds checks after a token verifies (revocation, gateway/identity/). */
  constructor(resource: string, issuers: TrustedIssuer[], guard: (authenticator: Authenticator) => Authenticator = (a) => a) {
    this.resource = resource;
    const url = new URL(resource);
    const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
    this.metadataUrl = `${url.origin}/.well-known/oauth-protected-resource${path}`;
    this.#issuers = issuers.map((i) => i.issuer);
    this.#authenticator = guard(createAuthenticator({ issuers: issuers.map((i) => ({ ...i, audience: resource })) }));
  }

  /** Path of the metadata document on this server. */
  get metadataPath(): string {
    return new URL(this.metadataUrl).pathname;
  }

  metadata(): ProtectedResourceMetadata {
    return {
      resource: this.resource,
      authorization_servers: this.#issuers,
      bearer_methods_supported: ['header'],
      resource_name: 'sluice BigQuery gateway (MCP)',
    };
  }

  authenticate(header: string | undefined): Promise<AuthResult> {
    return this.#authenticator.authenticate(header);
  }

  /** The RFC 6750 challenge: no error code when no token was sent, `invalid_token` otherwise. */
  challenge(result: Extract<AuthResult, { ok: false }>): string {
    const parts = [`resource_metadata="${this.metadataUrl}"`];
    if (result.reason !== 'missing_token') parts.push('error="invalid_token"', `error_description="${challengeDescription(result.message)}"`);
    return `Bearer ${parts.join(', ')}`;
  }
}
