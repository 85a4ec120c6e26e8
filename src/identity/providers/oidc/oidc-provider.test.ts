import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../../logging/index.ts';
import { playBrowser, signInAs, startOidcIssuer, type OidcIssuer } from '../../../../test/testenv/oidc-issuer.ts';
import { providerHttp, type ProviderHttp } from '../redirect-fetch.ts';
import type { RedirectStart } from '../types.ts';
import { OidcProvider } from './oidc-provider.ts';
import type { OidcConfig } from './config.ts';
import { refused } from '../../../testing/index.ts';

const redirectUri = 'https://drover.test/v1/auth/oidc/callback';

/** Runs the browser part of a login: returns the callback URL the issuer sent the browser to. */
async function browse(issuer: OidcIssuer, start: RedirectStart, sub: string): Promise<URL> {
  const steps = await playBrowser(start.authorizeUrl, { cas: [issuer.caPem], fields: signInAs(sub), stopAt: (url) => url.startsWith(redirectUri) });
  const last = steps.at(-1);
  assert.ok(last && last.url.startsWith(redirectUri), `the issuer did not send the browser back: ${JSON.stringify(steps.map((s) => [s.url, s.status]))}`);
  return new URL(last.url);
}

describe('OIDC provider against a real OpenID provider', () => {
  let issuer: OidcIssuer;
  let userinfoIssuer: OidcIssuer;
  const providers: OidcProvider[] = [];
  const make = (overrides: Partial<OidcConfig> = {}, http?: ProviderHttp, on: OidcIssuer = issuer): OidcProvider => {
    const provider = new OidcProvider({
      config: { issuer: on.issuer, clientId: on.clientId, clientSecret: on.clientSecret, caPem: on.caPem, scopes: ['openid', 'profile', 'groups'], ...overrides }, logger: silentLogger(),
      ...(http ? { http } : {}),
    });
    providers.push(provider);
    return provider;
  };

  before(async () => {
    const accounts = [
      { sub: 'u-1001', preferredUsername: 'alice', name: 'Alice A', email: 'shared@example.org', groups: ['ops', 'dev'] },
      { sub: 'u-1002', preferredUsername: 'bob', email: 'shared@example.org', groups: [] },
    ];
    issuer = await startOidcIssuer({ redirectUris: [redirectUri], accounts });
    userinfoIssuer = await startOidcIssuer({ redirectUris: [redirectUri], accounts, groupsInIdToken: false });
  });
  after(async () => {
    for (const p of providers) await p.close();
    await issuer.stop();
    await userinfoIssuer.stop();
  });

  it('a login yields the user by sub and the groups claim as oidc_group principals', async () => {
    const provider = make();
    const start = await provider.startLogin(redirectUri);
    const authorize = new URL(start.authorizeUrl);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(start.pending.nonce && start.pending.codeVerifier);
    const identity = await provider.completeLogin(await browse(issuer, start, 'u-1001'), start.pending);
    assert.equal(identity.user.id, 'oidc_user://u-1001');
    assert.equal(identity.user.loginName, 'alice');
    assert.deepEqual(identity.groups.map((g) => g.id).sort(), ['oidc_group://dev', 'oidc_group://ops']);
    assert.deepEqual((await provider.search('op', 10)).map((p) => p.id), ['oidc_group://ops']);
  });

  it('two users with the same email are two principals: sub identifies, never email', async () => {
    const provider = make();
    const a = await provider.startLogin(redirectUri);
    const b = await provider.startLogin(redirectUri);
    const alice = await provider.completeLogin(await browse(issuer, a, 'u-1001'), a.pending);
    const bob = await provider.completeLogin(await browse(issuer, b, 'u-1002'), b.pending);
    assert.notEqual(alice.user.id, bob.user.id);
    assert.deepEqual(bob.groups, []);
  });

  it('a replayed callback (the same code twice) is refused', async () => {
    const provider = make();
    const start = await provider.startLogin(redirectUri);
    const callback = await browse(issuer, start, 'u-1001');
    await provider.completeLogin(callback, start.pending);
    await refused(provider.completeLogin(callback, start.pending), 'DRV_ERR_UNAUTHENTICATED', /invalid_grant/);
  });

  it('a callback carrying another login\'s state is refused', async () => {
    const provider = make();
    const mine = await provider.startLogin(redirectUri);
    const other = await provider.startLogin(redirectUri);
    const callback = await browse(issuer, other, 'u-1001');
    await refused(provider.completeLogin(callback, mine.pending), 'DRV_ERR_UNAUTHENTICATED', /state/);
  });

  it('an ID token with another nonce is refused', async () => {
    const provider = make();
    const start = await provider.startLogin(redirectUri);
    const callback = await browse(issuer, start, 'u-1001');
    await refused(provider.completeLogin(callback, { ...start.pending, nonce: 'not-the-nonce' }), 'DRV_ERR_UNAUTHENTICATED', /nonce/);
  });

  it('a wrong PKCE verifier is refused by the issuer', async () => {
    const provider = make();
    const start = await provider.startLogin(redirectUri);
    const callback = await browse(issuer, start, 'u-1001');
    await refused(provider.completeLogin(callback, { ...start.pending, codeVerifier: 'x'.repeat(43) }), 'DRV_ERR_UNAUTHENTICATED', /invalid_grant/);
  });

  it('an ID token tampered with on the way is refused (signature)', async () => {
    const real = providerHttp({ caPem: issuer.caPem });
    const tampering: ProviderHttp = {
      close: () => real.close(),
      fetch: async (url, init) => {
        const response = await real.fetch(url, init);
        if (!String(url).endsWith('/token')) return response;
        const body = await response.json() as { id_token: string };
        const [h, p, s] = body.id_token.split('.');
        const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<string, unknown>;
        claims.groups = ['admins'];
        body.id_token = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
        return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
      },
    };
    const provider = make({}, tampering);
    const start = await provider.startLogin(redirectUri);
    await refused(provider.completeLogin(await browse(issuer, start, 'u-1001'), start.pending), 'DRV_ERR_UNAUTHENTICATED', /signature/i);
  });

  it('an issuer whose discovery names another issuer is refused', async () => {
    const foreign = await startOidcIssuer({ redirectUris: [redirectUri], issuerOverride: 'https://evil.example' });
    try {
      const provider = make({}, undefined, foreign);
      await refused(provider.startLogin(redirectUri), 'DRV_ERR_PROVIDER_UNAVAILABLE', /issuer/);
    } finally {
      await foreign.stop();
    }
  });

  it('an issuer served with a certificate from an untrusted CA is unreachable, never trusted', async () => {
    const provider = make({ caPem: userinfoIssuer.caPem });
    await refused(provider.startLogin(redirectUri), 'DRV_ERR_PROVIDER_UNAVAILABLE');
  });

  it('an unreachable issuer gives DRV_ERR_PROVIDER_UNAVAILABLE', async () => {
    const provider = make({ issuer: 'https://127.0.0.1:1' });
    await refused(provider.startLogin(redirectUri), 'DRV_ERR_PROVIDER_UNAVAILABLE', /could not be reached/);
  });

  it('groups come from userinfo when the ID token leaves them out', async () => {
    const withoutUserinfo = make({}, undefined, userinfoIssuer);
    const s1 = await withoutUserinfo.startLogin(redirectUri);
    assert.deepEqual((await withoutUserinfo.completeLogin(await browse(userinfoIssuer, s1, 'u-1001'), s1.pending)).groups, []);
    const provider = make({ groupsFromUserinfo: true, scopes: ['openid', 'profile', 'groups'] }, undefined, userinfoIssuer);
    const s2 = await provider.startLogin(redirectUri);
    const identity = await provider.completeLogin(await browse(userinfoIssuer, s2, 'u-1001'), s2.pending);
    assert.deepEqual(identity.groups.map((g) => g.id).sort(), ['oidc_group://dev', 'oidc_group://ops']);
  });

  it('refresh keeps the last login\'s groups without a refresh token, and follows the issuer with one', async () => {
    const plain = make();
    const s1 = await plain.startLogin(redirectUri);
    await plain.completeLogin(await browse(issuer, s1, 'u-1001'), s1.pending);
    const kept = await plain.refresh('oidc_user://u-1001');
    assert.equal(kept.state, 'found');
    await refused(plain.refresh('oidc_user://never-seen'), 'DRV_ERR_PROVIDER_UNAVAILABLE');

    issuer.setAccount({ sub: 'u-2001', preferredUsername: 'carol', groups: ['ops'] });
    const offline = make({ scopes: ['openid', 'profile', 'groups', 'offline_access'] });
    const s2 = await offline.startLogin(redirectUri);
    await offline.completeLogin(await browse(issuer, s2, 'u-2001'), s2.pending);
    issuer.setAccount({ sub: 'u-2001', preferredUsername: 'carol', groups: ['dev'] });
    const changed = await offline.refresh('oidc_user://u-2001');
    assert.equal(changed.state, 'found');
    assert.deepEqual(changed.state === 'found' ? changed.identity.groups.map((g) => g.id) : [], ['oidc_group://dev']);
  });
});
