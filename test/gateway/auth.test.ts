import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createAuthenticator } from '../../gateway/auth/index.ts';
import type { AuthResult, AuthenticatorConfig } from '../../gateway/auth/index.ts';
import type { IdentityProvider } from '../../demo/idp.ts';
import {
  DEFAULT_AUDIENCE,
  bearer,
  closeIdentityProviders,
  hmacWithPublicKey,
  resignedWithForeignKey,
  signInAsHuman,
  sleep,
  startTestIdentityProvider,
  startTestKeyServer,
  unsecuredCopy,
} from '../support/oidc.ts';
import type { TestKeyServer } from '../support/oidc.ts';

const OTHER_AUDIENCE = 'https://reporting.acme.example/api';

function reasonOf(result: AuthResult): string {
  return result.ok ? 'ok' : result.reason;
}

describe('gateway token validation against a real OIDC provider', () => {
  let idp: IdentityProvider;
  let config: AuthenticatorConfig;

  beforeAll(async () => {
    idp = await startTestIdentityProvider({ audiences: [DEFAULT_AUDIENCE, OTHER_AUDIENCE] });
    config = { issuers: [{ issuer: idp.issuer, audience: DEFAULT_AUDIENCE }], claims: ['client_id', 'jti'] };
  });

  afterAll(closeIdentityProviders);

  it('accepts a valid client-credentials token and builds the identity from its claims', async () => {
    const auth = createAuthenticator(config);
    const token = await idp.tokenFor('pii-agent');
    expect(decodeProtectedHeader(token).alg).toBe('RS256');

    const result = await auth.authenticate(bearer(token));
    if (!result.ok) throw new Error(`expected ok, got ${result.reason}: ${result.message}`);
    expect(result.identity).toEqual({
      subject: 'pii-agent',
      issuer: idp.issuer,
      kind: 'agent',
      groups: ['agents', 'pii-readers'],
      claims: { client_id: 'pii-agent', jti: decodeJwt(token).jti },
    });
    expect(result.tokenClaims.aud).toBe(DEFAULT_AUDIENCE);
    // The identity carries selected claims, never the token.
    expect(JSON.stringify(result.identity)).not.toContain(token.split('.')[2]!);

    for (const [client, groups] of [
      ['reporting-agent', ['agents']],
      ['analyst-bot', ['analysts']],
      ['engineer-bot', ['data-engineers']],
    ] as const) {
      const r = await auth.authenticate(`bearer  ${await idp.tokenFor(client)}`);
      expect(r.ok && r.identity).toMatchObject({ subject: client, groups, kind: 'agent' });
    }
  });

  it('refuses requests without a usable bearer token', async () => {
    const auth = createAuthenticator(config);
    const token = await idp.tokenFor('reporting-agent');
    const cases: [string | undefined, string][] = [
      [undefined, 'missing_token'],
      ['', 'missing_token'],
      ['   ', 'missing_token'],
      [`Basic ${Buffer.from('a:b').toString('base64')}`, 'malformed_token'],
      [token, 'malformed_token'], // no scheme
      ['Bearer not-a-jwt', 'malformed_token'],
      ['Bearer a.b.c', 'malformed_token'],
      ['Bearer a.b.c.d.e', 'malformed_token'], // JWE shape
      [`Bearer ${token} extra`, 'malformed_token'],
      [`Bearer ${'a'.repeat(20_000)}.b.c`, 'malformed_token'],
    ];
    for (const [header, reason] of cases) {
      const result = await auth.authenticate(header);
      expect({ header: header?.slice(0, 30), reason: reasonOf(result) }).toEqual({ header: header?.slice(0, 30), reason });
    }
  });

  it('refuses an expired token (real token with a 2 s lifetime)', async () => {
    const shortLived = await startTestIdentityProvider({ accessTokenTtlSeconds: 2 });
    const strict = createAuthenticator({ issuers: [{ issuer: shortLived.issuer, audience: DEFAULT_AUDIENCE }], clockToleranceSeconds: 0 });
    const lenient = createAuthenticator({ issuers: [{ issuer: shortLived.issuer, audience: DEFAULT_AUDIENCE }], clockToleranceSeconds: 30 });
    // Keys fetched beforehand, so the first check below runs well inside the token's lifetime.
    const warmup = await shortLived.tokenFor('reporting-agent');
    expect(reasonOf(await strict.authenticate(bearer(warmup)))).toBe('ok');
    expect(reasonOf(await lenient.authenticate(bearer(warmup)))).toBe('ok');

    const token = await shortLived.tokenFor('reporting-agent');
    const claims = decodeJwt(token);
    expect(claims.exp! - claims.iat!).toBe(2);
    expect(reasonOf(await strict.authenticate(bearer(token)))).toBe('ok');

    while (Math.floor(Date.now() / 1000) <= claims.exp!) await sleep(100);
    const expired = await strict.authenticate(bearer(token));
    expect(expired).toMatchObject({ ok: false, reason: 'expired' });
    // Within the configured clock tolerance the same token is still accepted.
    expect(reasonOf(await lenient.authenticate(bearer(token)))).toBe('ok');
  });

  it('refuses a token issued for another audience', async () => {
    const auth = createAuthenticator(config);
    const token = await idp.tokenFor('reporting-agent', { audience: OTHER_AUDIENCE });
    expect(decodeJwt(token).aud).toBe(OTHER_AUDIENCE);
    expect(await auth.authenticate(bearer(token))).toMatchObject({ ok: false, reason: 'wrong_audience' });
  });

  it('refuses a token from a real provider that is not trusted', async () => {
    const stranger = await startTestIdentityProvider();
    const auth = createAuthenticator(config);
    const token = await stranger.tokenFor('pii-agent');
    expect(await auth.authenticate(bearer(token))).toMatchObject({ ok: false, reason: 'untrusted_issuer' });
    // Never contacted: the gateway does not fetch keys of issuers it does not trust.
    expect(stranger.requestCount('discovery') + stranger.requestCount('jwks')).toBe(0);
  });

  it('refuses alg "none" built from a real token', async () => {
    const auth = createAuthenticator(config);
    const forged = unsecuredCopy(await idp.tokenFor('pii-agent'));
    expect(decodeProtectedHeader(forged).alg).toBe('none');
    expect(await auth.authenticate(bearer(forged))).toMatchObject({ ok: false, reason: 'disallowed_algorithm' });
  });

  it('refuses HS256 signed with the provider public key (algorithm confusion)', async () => {
    const auth = createAuthenticator(config);
    const forged = await hmacWithPublicKey(await idp.tokenFor('pii-agent'), idp.jwksUri);
    expect(decodeProtectedHeader(forged)).toMatchObject({ alg: 'HS256', kid: idp.signingKeyId });
    expect(await auth.authenticate(bearer(forged))).toMatchObject({ ok: false, reason: 'disallowed_algorithm' });
    // Symmetric algorithms cannot even be configured.
    expect(() => createAuthenticator({ issuers: [{ issuer: idp.issuer, audience: DEFAULT_AUDIENCE, algorithms: ['HS256'] }] })).toThrow(/not allowed/);
    expect(() => createAuthenticator({ issuers: [{ issuer: idp.issuer, audience: DEFAULT_AUDIENCE, algorithms: ['none'] }] })).toThrow(/not allowed/);
  });

  it('refuses an algorithm outside the issuer allow-list', async () => {
    const es = await startTestIdentityProvider({ signingAlgorithm: 'ES256' });
    const auth = createAuthenticator({ issuers: [{ issuer: es.issuer, audience: DEFAULT_AUDIENCE, algorithms: ['RS256'] }] });
    const token = await es.tokenFor('reporting-agent');
    expect(decodeProtectedHeader(token).alg).toBe('ES256');
    expect(await auth.authenticate(bearer(token))).toMatchObject({ ok: false, reason: 'disallowed_algorithm' });
    const defaults = createAuthenticator({ issuers: [{ issuer: es.issuer, audience: DEFAULT_AUDIENCE }] });
    expect(reasonOf(await defaults.authenticate(bearer(token)))).toBe('ok');
  });

  it('refuses tokens from an impostor provider claiming the trusted issuer', async () => {
    const auth = createAuthenticator(config);
    expect(reasonOf(await auth.authenticate(bearer(await idp.tokenFor('reporting-agent'))))).toBe('ok');

    // A second, real provider that puts the trusted issuer in `iss` but signs with its own keys.
    const impostor = await startTestIdentityProvider({ issuer: idp.issuer });
    const token = await impostor.tokenFor('pii-agent');
    expect(decodeJwt(token).iss).toBe(idp.issuer);
    expect(await auth.authenticate(bearer(token))).toMatchObject({ ok: false, reason: 'unknown_key' });

    // Same again, reusing the trusted key id: the signature check catches it.
    const sameKid = await startTestIdentityProvider({ issuer: idp.issuer, keyId: idp.signingKeyId });
    const token2 = await sameKid.tokenFor('pii-agent');
    expect(decodeProtectedHeader(token2).kid).toBe(idp.signingKeyId);
    expect(await auth.authenticate(bearer(token2))).toMatchObject({ ok: false, reason: 'bad_signature' });

    // Claims tampered after signing by the trusted provider.
    const real = (await idp.tokenFor('reporting-agent')).split('.');
    const payload = { ...decodeJwt(real.join('.')), groups: ['agents', 'pii-readers'] };
    const tampered = [real[0], Buffer.from(JSON.stringify(payload)).toString('base64url'), real[2]].join('.');
    expect(await auth.authenticate(bearer(tampered))).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('refuses an unknown kid and rate-limits the JWKS refetches it triggers', async () => {
    const target = await startTestIdentityProvider();
    const auth = createAuthenticator({
      issuers: [{ issuer: target.issuer, audience: DEFAULT_AUDIENCE }],
      jwksRefreshCooldownSeconds: 1,
    });
    const valid = await target.tokenFor('reporting-agent');
    // Forged first: key generation must not eat into the cooldown measured below.
    const forged = await resignedWithForeignKey(valid, 'rotated-key-that-does-not-exist');
    expect(reasonOf(await auth.authenticate(bearer(valid)))).toBe('ok');
    expect(target.requestCount('jwks')).toBe(1);
    expect(target.requestCount('discovery')).toBe(1);

    // A burst inside the cooldown: refused, and the provider is not asked again.
    for (let i = 0; i < 5; i++) {
      expect(await auth.authenticate(bearer(forged))).toMatchObject({ ok: false, reason: 'unknown_key' });
    }
    expect(target.requestCount('jwks')).toBe(1);

    // After the cooldown, a concurrent burst causes exactly one refetch, then nothing again.
    await sleep(1100);
    const burst = await Promise.all(Array.from({ length: 10 }, () => auth.authenticate(bearer(forged))));
    expect(burst.map(reasonOf)).toEqual(Array(10).fill('unknown_key'));
    expect(target.requestCount('jwks')).toBe(2);
    for (let i = 0; i < 5; i++) await auth.authenticate(bearer(forged));
    expect(target.requestCount('jwks')).toBe(2);
    // The discovery document stays cached throughout.
    expect(target.requestCount('discovery')).toBe(1);
  });

  it('follows a key rotation: a token signed with a newly published key validates after a refetch', async () => {
    const rotating = await startTestIdentityProvider();
    const auth = createAuthenticator({
      issuers: [{ issuer: rotating.issuer, audience: DEFAULT_AUDIENCE }],
      jwksRefreshCooldownSeconds: 1,
    });
    const before = await rotating.tokenFor('analyst-bot');
    expect(reasonOf(await auth.authenticate(bearer(before)))).toBe('ok');
    const oldKid = rotating.signingKeyId;

    const newKid = await rotating.rotateSigningKey();
    expect(newKid).not.toBe(oldKid);
    expect(rotating.publishedKeyIds).toEqual([newKid, oldKid]);
    const after = await rotating.tokenFor('analyst-bot');
    expect(decodeProtectedHeader(after).kid).toBe(newKid);

    await sleep(1100); // past the refetch cooldown of the initial fetch
    const jwksBefore = rotating.requestCount('jwks');
    const result = await auth.authenticate(bearer(after));
    expect(reasonOf(result)).toBe('ok');
    expect(rotating.requestCount('jwks')).toBe(jwksBefore + 1);
    // Tokens signed with the previous (still published) key keep validating.
    expect(reasonOf(await auth.authenticate(bearer(before)))).toBe('ok');
  });

  it('trusts several issuers at once, each with its own audience and claim names', async () => {
    const corp = await startTestIdentityProvider({ issuerPath: '/realms/acme', signingAlgorithm: 'ES256', audiences: [OTHER_AUDIENCE] });
    const auth = createAuthenticator({
      issuers: [
        { issuer: idp.issuer, audience: DEFAULT_AUDIENCE },
        { issuer: corp.issuer, audience: [OTHER_AUDIENCE], groupsClaim: 'groups', kindClaim: 'sluice_kind' },
      ],
    });
    expect(corp.issuer.endsWith('/realms/acme')).toBe(true);
    const a = await auth.authenticate(bearer(await idp.tokenFor('engineer-bot')));
    const b = await auth.authenticate(bearer(await corp.tokenFor('pii-agent', { audience: OTHER_AUDIENCE })));
    expect(a.ok && a.identity).toMatchObject({ subject: 'engineer-bot', issuer: idp.issuer, groups: ['data-engineers'] });
    expect(b.ok && b.identity).toMatchObject({ subject: 'pii-agent', issuer: corp.issuer, groups: ['agents', 'pii-readers'] });
    // Audiences are per issuer: the first provider's token for the second's audience is refused.
    const crossed = await auth.authenticate(bearer(await idp.tokenFor('engineer-bot', { audience: OTHER_AUDIENCE })));
    expect(reasonOf(crossed)).toBe('wrong_audience');
    expect(auth.issuers).toEqual([idp.issuer, corp.issuer]);
    expect(() => createAuthenticator({ issuers: [{ issuer: idp.issuer, audience: 'x' }, { issuer: idp.issuer, audience: 'y' }] })).toThrow(/twice/);
  });

  it('fails closed when the issuer keys cannot be fetched', async () => {
    const gone = await startTestIdentityProvider();
    const token = await gone.tokenFor('reporting-agent');
    await gone.close();
    const auth = createAuthenticator({ issuers: [{ issuer: gone.issuer, audience: DEFAULT_AUDIENCE }], httpTimeoutMs: 1000 });
    expect(await auth.authenticate(bearer(token))).toMatchObject({ ok: false, reason: 'jwks_unavailable' });
    const direct = createAuthenticator({ issuers: [{ issuer: gone.issuer, audience: DEFAULT_AUDIENCE, jwksUri: gone.jwksUri }] });
    expect(await direct.authenticate(bearer(token))).toMatchObject({ ok: false, reason: 'jwks_unavailable' });
  });

  it('refuses a discovery document that names another issuer', async () => {
    // The impostor serves discovery for the trusted issuer's name from its own address.
    const impostor = await startTestIdentityProvider({ issuer: idp.issuer });
    const auth = createAuthenticator({ issuers: [{ issuer: impostor.url, audience: DEFAULT_AUDIENCE }] });
    const token = await impostor.tokenFor('reporting-agent');
    // Its tokens say iss = the trusted issuer, which this authenticator does not trust...
    expect(reasonOf(await auth.authenticate(bearer(token)))).toBe('untrusted_issuer');
    // ...and a token claiming the impostor's own URL is refused on discovery.
    const relabelled = await resignedWithForeignKey(token);
    const payload = { ...decodeJwt(relabelled), iss: impostor.url };
    const parts = relabelled.split('.');
    const forged = [parts[0], Buffer.from(JSON.stringify(payload)).toString('base64url'), parts[2]].join('.');
    expect(await auth.authenticate(bearer(forged))).toMatchObject({ ok: false, reason: 'jwks_unavailable' });
  });

  it('requires https for non-loopback issuers', () => {
    expect(() => createAuthenticator({ issuers: [{ issuer: 'http://idp.acme.example', audience: DEFAULT_AUDIENCE }] })).toThrow(/https/);
    expect(() => createAuthenticator({ issuers: [{ issuer: 'https://idp.acme.example', audience: DEFAULT_AUDIENCE }] })).not.toThrow();
  });

  it('authenticates a human who signed in with authorization code + PKCE as kind human', async () => {
    const redirectUri = 'http://127.0.0.1:9/approvals/callback';
    const people = await startTestIdentityProvider({
      issuerPath: '/realms/acme',
      accounts: [
        { id: 'alice', groups: ['data-owners'], name: 'Alice', password: 'correct horse' },
        { id: 'bob', groups: ['analysts'] },
      ],
      webClients: [{ clientId: 'sluice-approver', redirectUris: [redirectUri] }],
    });
    const auth = createAuthenticator({ issuers: [{ issuer: people.issuer, audience: DEFAULT_AUDIENCE }] });
    const tokens = await signInAsHuman(people, { clientId: 'sluice-approver', redirectUri, account: 'alice', password: 'correct horse', resource: DEFAULT_AUDIENCE });
    const result = await auth.authenticate(bearer(tokens.access_token));
    expect(result.ok && result.identity).toEqual({ subject: 'alice', issuer: people.issuer, kind: 'human', groups: ['data-owners'], claims: {} });
    expect(decodeJwt(tokens.id_token!)).toMatchObject({ sub: 'alice', aud: 'sluice-approver', groups: ['data-owners'], sluice_kind: 'human' });

    await expect(signInAsHuman(people, { clientId: 'sluice-approver', redirectUri, account: 'alice', password: 'wrong', resource: DEFAULT_AUDIENCE })).rejects.toThrow(/401/);
    await expect(signInAsHuman(people, { clientId: 'sluice-approver', redirectUri, account: 'mallory', resource: DEFAULT_AUDIENCE })).rejects.toThrow(/401/);
    const bob = await signInAsHuman(people, { clientId: 'sluice-approver', redirectUri, account: 'bob', resource: DEFAULT_AUDIENCE });
    const bobResult = await auth.authenticate(bearer(bob.access_token));
    expect(bobResult.ok && bobResult.identity).toMatchObject({ subject: 'bob', kind: 'human', groups: ['analysts'] });
  });

  describe('token shapes the provider never issues', () => {
    let keys: TestKeyServer;
    const issuer = 'https://issuer.test.local';

    beforeAll(async () => {
      keys = await startTestKeyServer();
    });
    afterAll(async () => keys.close());

    function authFor(): ReturnType<typeof createAuthenticator> {
      return createAuthenticator({
        issuers: [{ issuer, audience: DEFAULT_AUDIENCE, jwksUri: keys.jwksUri, allowInsecureHttp: true, groupsClaim: 'realm_access.roles', kindClaim: 'kind' }],
        clockToleranceSeconds: 5,
        claims: ['email', 'scopes', 'nested'],
      });
    }
    const now = () => Math.floor(Date.now() / 1000);

    it('refuses a token without a subject or without an expiry', async () => {
      const auth = authFor();
      const noSub = await keys.sign({ iss: issuer, aud: DEFAULT_AUDIENCE, exp: now() + 60 });
      expect(await auth.authenticate(bearer(noSub))).toMatchObject({ ok: false, reason: 'missing_subject' });
      const emptySub = await keys.sign({ iss: issuer, aud: DEFAULT_AUDIENCE, sub: '', exp: now() + 60 });
      expect(await auth.authenticate(bearer(emptySub))).toMatchObject({ ok: false, reason: 'missing_subject' });
      const noExp = await keys.sign({ iss: issuer, aud: DEFAULT_AUDIENCE, sub: 'x' });
      expect(await auth.authenticate(bearer(noExp))).toMatchObject({ ok: false, reason: 'malformed_token' });
    });

    it('refuses a token that is not valid yet', async () => {
      const auth = authFor();
      const future = await keys.sign({ iss: issuer, aud: DEFAULT_AUDIENCE, sub: 'x', nbf: now() + 120, exp: now() + 600 });
      expect(await auth.authenticate(bearer(future))).toMatchObject({ ok: false, reason: 'not_yet_valid' });
    });

    it('refuses a token issued in the future beyond the clock tolerance (its iat would outlive a session revocation)', async () => {
      const auth = authFor();
      const later = await keys.sign({ iss: issuer, aud: DEFAULT_AUDIENCE, sub: 'x', iat: now() + 3600, exp: now() + 7200 });
      expect(await auth.authenticate(bearer(later))).toMatchObject({ ok: false, reason: 'not_yet_valid', message: expect.stringMatching(/issued in the future/) });
      // Within the tolerance (5 s here) a provider's clock running a little ahead is accepted.
      const skewed = await keys.sign({ iss: issuer, aud: DEFAULT_AUDIENCE, sub: 'x', iat: now() + 3, exp: now() + 600 });
      expect(await auth.authenticate(bearer(skewed))).toMatchObject({ ok: true });
      const mistyped = await keys.sign({ iss: issuer, aud: DEFAULT_AUDIENCE, sub: 'x', iat: 'soon' as unknown as number, exp: now() + 600 });
      expect(await auth.authenticate(bearer(mistyped))).toMatchObject({ ok: false, reason: 'malformed_token' });
    });

    it('reads nested group claims, a human kind, and copies only JSON-safe claims', async () => {
      const auth = authFor();
      const token = await keys.sign({
        iss: issuer, aud: [DEFAULT_AUDIENCE, 'other'], sub: 'alice', exp: now() + 60,
        realm_access: { roles: ['data-owners', 'data-owners'] }, kind: 'human',
        email: 'alice@acme-analytics.example', scopes: ['a', 'b'], nested: { no: 'objects' },
      });
      const result = await auth.authenticate(bearer(token));
      expect(result.ok && result.identity).toEqual({
        subject: 'alice', issuer, kind: 'human', groups: ['data-owners'],
        claims: { email: 'alice@acme-analytics.example', scopes: ['a', 'b'] },
      });
      const oddKind = await keys.sign({ iss: issuer, aud: DEFAULT_AUDIENCE, sub: 'x', exp: now() + 60, kind: 'admin' });
      const r2 = await auth.authenticate(bearer(oddKind));
      expect(r2.ok && r2.identity.kind).toBe('agent');
      expect(r2.ok && r2.identity.groups).toEqual([]);
    });

    it('refuses a groups claim that is not in the issuer\'s format, and reads the configured string formats', async () => {
      const claims = (groups: unknown) => ({ iss: issuer, aud: DEFAULT_AUDIENCE, sub: 'grace', exp: now() + 60, groups });
      const strict = createAuthenticator({ issuers: [{ issuer, audience: DEFAULT_AUDIENCE, jwksUri: keys.jwksUri, allowInsecureHttp: true }] });
      for (const groups of ['pii-readers', ['pii-readers', 7], ['pii-readers', { name: 'admins' }], { 0: 'pii-readers' }, null, 42, true]) {
        const result = await strict.authenticate(bearer(await keys.sign(claims(groups))));
        expect(result, JSON.stringify(groups)).toMatchObject({ ok: false, reason: 'invalid_groups_claim' });
        expect(result.ok || result.message).toMatch(/^invalid_groups_claim: the token's groups claim is not an array of strings$/);
      }
      const listed = await strict.authenticate(bearer(await keys.sign(claims(['pii-readers', 'analysts', 'pii-readers']))));
      expect(listed.ok && listed.identity.groups).toEqual(['pii-readers', 'analysts']);
      const none = await strict.authenticate(bearer(await keys.sign({ iss: issuer, aud: DEFAULT_AUDIENCE, sub: 'grace', exp: now() + 60 })));
      expect(none.ok && none.identity.groups).toEqual([]);

      const spaced = createAuthenticator({ issuers: [{ issuer, audience: DEFAULT_AUDIENCE, jwksUri: keys.jwksUri, allowInsecureHttp: true, groupsClaimFormat: 'space_separated' }] });
      const read = await spaced.authenticate(bearer(await keys.sign(claims(' pii-readers  analysts\tpii-readers '))));
      expect(read.ok && read.identity.groups).toEqual(['pii-readers', 'analysts']);
      // The configured format is the only one: an array is now the wrong shape.
      expect(await spaced.authenticate(bearer(await keys.sign(claims(['pii-readers']))))).toMatchObject({ ok: false, reason: 'invalid_groups_claim' });
      const commas = createAuthenticator({ issuers: [{ issuer, audience: DEFAULT_AUDIENCE, jwksUri: keys.jwksUri, allowInsecureHttp: true, groupsClaimFormat: 'comma_separated' }] });
      const split = await commas.authenticate(bearer(await keys.sign(claims('pii-readers, data owners,,analysts'))));
      expect(split.ok && split.identity.groups).toEqual(['pii-readers', 'data owners', 'analysts']);
      expect(() => createAuthenticator({ issuers: [{ issuer, audience: DEFAULT_AUDIENCE, groupsClaimFormat: 'json' as 'array' }] })).toThrow(/groupsClaimFormat/);
    });
  });

  it('only the genuine token passes among all the attacks', async () => {
    const auth = createAuthenticator(config);
    const genuine = await idp.tokenFor('pii-agent');
    const stranger = await startTestIdentityProvider();
    const impostor = await startTestIdentityProvider({ issuer: idp.issuer });
    const candidates: Record<string, string> = {
      genuine,
      otherAudience: await idp.tokenFor('pii-agent', { audience: OTHER_AUDIENCE }),
      untrusted: await stranger.tokenFor('pii-agent'),
      algNone: unsecuredCopy(genuine),
      hmacConfusion: await hmacWithPublicKey(genuine, idp.jwksUri),
      impostor: await impostor.tokenFor('pii-agent'),
      foreignKey: await resignedWithForeignKey(genuine),
    };
    const outcomes = Object.fromEntries(
      await Promise.all(Object.entries(candidates).map(async ([name, token]) => [name, reasonOf(await auth.authenticate(bearer(token)))])),
    );
    expect(outcomes).toEqual({
      genuine: 'ok',
      otherAudience: 'wrong_audience',
      untrusted: 'untrusted_issuer',
      algNone: 'disallowed_algorithm',
      hmacConfusion: 'disallowed_algorithm',
      impostor: 'unknown_key',
      foreignKey: 'unknown_key',
    });
  });
});
