// A person's access token from the real local identity provider (demo/idp.ts), obtained the way
// a command-line tool would: authorization code + PKCE through the provider's login form, driven
// over HTTP with a cookie jar instead of a browser.
import { createHash, randomBytes } from 'node:crypto';
import type { IdentityProvider } from '../../../demo/idp.ts';

export const CLI_CLIENT_ID = 'sluice-cli';
export const CLI_REDIRECT_URI = 'http://127.0.0.1:8765/callback';

class CookieJar {
  readonly #cookies = new Map<string, string>();
  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';', 1);
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** Signs `login` in through the provider's form and redeems the code for an access token. */
export async function humanAccessToken(idp: IdentityProvider, login: string, password = ''): Promise<string> {
  const jar = new CookieJar();
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');
  const authorize = new URL(`${idp.url}/auth`);
  authorize.search = new URLSearchParams({
    client_id: CLI_CLIENT_ID,
    redirect_uri: CLI_REDIRECT_URI,
    response_type: 'code',
    scope: 'openid',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    resource: idp.audience,
  }).toString();

  const visit = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: jar.header() } });
    jar.store(response);
    return response;
  };

  let response = await visit(authorize.href);
  let code: string | undefined;
  for (let hop = 0; hop < 12 && !code; hop++) {
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(response.headers.get('location')!, idp.url + '/');
      await response.body?.cancel();
      if (location.href.startsWith(CLI_REDIRECT_URI)) {
        if (location.searchParams.get('state') !== state) throw new Error('state mismatch');
        code = location.searchParams.get('code') ?? undefined;
        if (!code) throw new Error(`authorization failed: ${location.searchParams.get('error')} ${location.searchParams.get('error_description')}`);
        break;
      }
      response = await visit(location.href);
      continue;
    }
    const page = await response.text();
    const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1];
    if (response.status !== 200 || !action) throw new Error(`unexpected provider page (${response.status}): ${page.slice(0, 200)}`);
    const target = new URL(action.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))), response.url || `${idp.url}/interaction/`);
    response = await visit(target.href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login, password }).toString(),
    });
  }
  if (!code) throw new Error('no authorization code');
  const token = await fetch(idp.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: CLI_REDIRECT_URI,
      client_id: CLI_CLIENT_ID,
      code_verifier: verifier,
      resource: idp.audience,
    }),
  });
  const json = (await token.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!json.access_token) throw new Error(`token request failed: ${json.error} ${json.error_description}`);
  return json.access_token;
}
