// Signing approvers in: OpenID Connect authorization code flow with PKCE, through openid-client
// (discovery, state, nonce, PKCE, RFC 9207 issuer check and ID token validation are done by the
// library rather than by hand). The person's identity is then taken from the access token the
// provider issued for the gateway, checked by the gateway's own authenticator: the page sees
// the same subject, groups and kind as the API would.
import * as oidc from 'openid-client';
import type { Identity } from '../../../engine/schema-types.ts';
import { isLoopbackHost } from '../../auth/discovery.ts';
import type { Authenticate } from '../api.ts';
import type { LoginState } from './session.ts';

export interface SignInOptions {
  /** The identity provider's issuer (OIDC discovery). */
  issuer: string;
  clientId: string;
  /** Absent: a public client, authenticated by PKCE alone. */
  clientSecret?: string;
  /** Default `openid profile email`. */
  scope?: string;
  /** RFC 8707 resource indicator: the audience the gateway's authenticator accepts. */
  resource?: string;
  /** Accept an http:// issuer beyond loopback addresses. Default false. */
  allowInsecureHttp?: boolean;
  /** Timeout of requests to the provider, in seconds. Default 10. */
  timeoutSeconds?: number;
}

export class SignInError extends Error {
  override name = 'SignInError';
}

export class SignIn {
  readonly #options: SignInOptions;
  readonly #redirectUri: string;
  readonly #authenticate: Authenticate;
  #config: Promise<oidc.Configuration> | undefined;

  constructor(options: SignInOptions, redirectUri: string, authenticate: Authenticate) {
    const issuer = new URL(options.issuer);
    if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && (options.allowInsecureHttp || isLoopbackHost(issuer.hostname)))) {
      throw new TypeError(`the approver page's issuer must use https (got ${issuer.origin})`);
    }
    this.#options = options;
    this.#redirectUri = redirectUri;
    this.#authenticate = authenticate;
  }

  /** Discovery on first use, cached; a failure is retried by the next sign-in. */
  #configuration(): Promise<oidc.Configuration> {
    if (!this.#config) {
      const { issuer, clientId, clientSecret } = this.#options;
      const insecure = new URL(issuer).protocol === 'http:';
      this.#config = oidc
        .discovery(new URL(issuer), clientId, undefined, clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(), {
          timeout: this.#options.timeoutSeconds ?? 10,
          ...(insecure && { execute: [oidc.allowInsecureRequests] }),
        })
        .catch((error: unknown) => {
          this.#config = undefined;
          throw new SignInError(`identity provider discovery failed: ${error instanceof Error ? error.message : String(error)}`);
        });
    }
    return this.#config;
  }

  /** Where to send the browser, and what its return must match. */
  async start(next: string): Promise<{ url: string; state: LoginState }> {
    const config = await this.#configuration();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state: LoginState = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier, next };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.#redirectUri,
      scope: this.#options.scope ?? 'openid profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state: state.state,
      nonce: state.nonce,
      ...(this.#options.resource && { resource: this.#options.resource }),
    });
    return { url: url.href, state };
  }

  /** Redeems the code the provider sent back (its query string) for a verified human identity. */
  async finish(query: string, expected: LoginState): Promise<{ identity: Identity; name?: string }> {
    const config = await this.#configuration();
    const callback = new URL(this.#redirectUri);
    callback.search = query;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(
        config,
        callback,
        { pkceCodeVerifier: expected.codeVerifier, expectedState: expected.state, expectedNonce: expected.nonce, idTokenExpected: true },
        this.#options.resource ? { resource: this.#options.resource } : undefined,
      );
    } catch (error) {
      throw new SignInError(`sign-in failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const claims = tokens.claims();
    if (!claims?.sub) throw new SignInError('sign-in failed: the provider returned no ID token subject');
    const result = await this.#authenticate(`Bearer ${tokens.access_token}`);
    if (!result.ok) throw new SignInError(`sign-in failed: the access token was refused (${result.reason}: ${result.message})`);
    const { identity } = result;
    if (identity.subject !== claims.sub || identity.issuer !== claims.iss) {
      throw new SignInError('sign-in failed: the access token names another person than the ID token');
    }
    if (identity.kind !== 'human') throw new SignInError('only people sign in to the approver page');
    return { identity, ...(typeof claims.name === 'string' && { name: claims.name }) };
  }
}
