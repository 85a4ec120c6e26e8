/**
 * Generic OIDC login end to end: a real `drover server`, a real OpenID provider
 * (oidc-provider over HTTPS with its own CA), a private control plane with a real
 * agent, `drover login --provider oidc` as a real CLI process with the test
 * playing the browser, and kubectl through the proxy with the user's kubeconfig.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { kubectl, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { playBrowser, signInAs, startOidcIssuer, type OidcIssuer } from '../testenv/oidc-issuer.ts';
import { call, spawnServer } from './identity-support.ts';
import { cliBrowserLogin } from './browser-login-support.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const ops = `oidc_group://ops-${suffix}`;

describe('OIDC provider', () => {
  let issuer: OidcIssuer;
  let cp: PrivateControlPlane;
  let drover: Drover;
  let cluster: RegisteredCluster;
  const settings = (config: Record<string, unknown>): string => drover.yamlFile(`oidc-${Math.random().toString(36).slice(2)}`, { config });
  const cliLogin = (name: string, sub: string) => cliBrowserLogin(drover.server, { provider: 'oidc', configPath: drover.configOf(name), cas: [issuer.caPem], fields: signInAs(sub) });
  const startCliRequest = async (): Promise<{ loginUrl: string; userCode: string }> => {
    const r = await call(drover.server, 'POST', '/v1/auth/oidc/cli-login', { body: { challenge: 'A'.repeat(43) } });
    assert.equal(r.status, 200, r.text);
    return r.json() as { loginUrl: string; userCode: string };
  };

  before(async () => {
    [cp, drover] = await Promise.all([startPrivateControlPlane(), startDrover({ env: { DROVER_PROVIDER_REFRESH_SECONDS: '1' } })]);
    issuer = await startOidcIssuer({
      redirectUris: [`${drover.server.url}/v1/auth/oidc/callback`],
      accounts: [
        { sub: `alice-${suffix}`, preferredUsername: 'alice', name: 'Alice', email: 'alice@example.org', groups: [`ops-${suffix}`, `dev-${suffix}`] },
        { sub: `bob-${suffix}`, preferredUsername: 'bob', email: 'alice@example.org', groups: [] },
      ],
    });
    cluster = await drover.registerCluster(`oidc-${suffix}`, cp.state);
  });
  after(async () => {
    await drover?.stop();
    await cp?.stop();
    await issuer?.stop();
  });

  it('lets an admin configure OIDC, test a login through the browser, and only then enable it; the client secret never comes back', async () => {
    await drover.cli('providers', 'configure', 'oidc', '-f', settings({
      issuer: issuer.issuer, clientId: issuer.clientId, clientSecret: issuer.clientSecret, caPem: issuer.caPem,
      // offline_access: the issuer hands out a refresh token, so Drover can follow group changes without a re-login.
      scopes: ['openid', 'profile', 'groups', 'offline_access'],
    }));
    const untested = await drover.run('providers', 'enable', 'oidc');
    assert.notEqual(untested.code, 0);
    const unauthenticated = await call(drover.server, 'POST', '/v1/auth/oidc/test-login');
    assert.equal(unauthenticated.status, 401);
    const tested = await cliBrowserLogin(drover.server, {
      provider: 'oidc', argv: ['providers', 'test', 'oidc'], configPath: drover.configPath, cas: [issuer.caPem], fields: signInAs(`alice-${suffix}`),
    });
    assert.equal(tested.code, 0, tested.stderr);
    assert.match(tested.stdout, /Test login through oidc succeeded/);
    assert.match(tested.browser.at(-1)?.text ?? '', /Test login succeeded/);
    assert.match(tested.browser.at(-1)?.text ?? '', /2 group/);
    await drover.cli('providers', 'enable', 'oidc');
    const list = await drover.cli('providers', 'list', '-o', 'json');
    assert.ok(!list.includes(issuer.clientSecret));
    const open = await call(drover.server, 'GET', '/v1/auth/providers');
    assert.ok((open.json() as Array<{ name: string; style: string }>).some((p) => p.name === 'oidc' && p.style === 'redirect'));
  });

  it('logs a user in with drover login --provider oidc (the test plays the browser); sub is the user, groups become principals', async () => {
    const r = await cliLogin('alice', `alice-${suffix}`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.browser.at(-1)?.text ?? '', /Return to your terminal/);
    const me = JSON.parse((await drover.as('alice', ['whoami', '-o', 'json'])).stdout) as { provider: string; groups: string[]; principalIds: string[] };
    assert.equal(me.provider, 'oidc');
    assert.ok(me.principalIds.includes(`oidc_user://alice-${suffix}`));
    assert.deepEqual(me.groups, [`oidc_group://dev-${suffix}`, ops]);
    // Another subject with the same email is another Drover user.
    const bob = await cliLogin('bob', `bob-${suffix}`);
    assert.equal(bob.code, 0, bob.stderr);
    const bobMe = JSON.parse((await drover.as('bob', ['whoami', '-o', 'json'])).stdout) as { id: string };
    const aliceMe = JSON.parse((await drover.as('alice', ['whoami', '-o', 'json'])).stdout) as { id: string };
    assert.notEqual(bobMe.id, aliceMe.id);
  });

  it('grants cluster access to an OIDC group through the proxy', async () => {
    await drover.cli('members', 'add', '--cluster', cluster.name, '--group', ops, '--role', 'cluster-member');
    const kubeconfig = join(drover.dir, 'alice.kubeconfig');
    const made = await drover.as('alice', ['kubeconfig', cluster.name, '--file', kubeconfig]);
    assert.equal(made.code, 0, made.stderr);
    await eventually('alice lists namespaces through the proxy', async () => {
      const r = await kubectl(['get', 'namespaces', '-o', 'name'], { kubeconfig });
      return r.code === 0 && r.stdout.includes('namespace/default') ? true : undefined;
    }, 30_000);
    const bobConfig = join(drover.dir, 'bob.kubeconfig');
    const bobMade = await drover.as('bob', ['kubeconfig', cluster.name, '--file', bobConfig]);
    if (bobMade.code === 0) assert.notEqual((await kubectl(['get', 'namespaces'], { kubeconfig: bobConfig })).code, 0, 'bob is in no bound group');
  });

  it('takes access away within the refresh interval when the user leaves the group at the issuer, without re-login, even across a server restart', async () => {
    const kubeconfig = join(drover.dir, 'alice.kubeconfig');
    // The refresh token is stored (encrypted) in the database: a restarted server still refreshes alice.
    await drover.server.stop();
    drover.server = await spawnServer({ dataDir: drover.server.dataDir, port: drover.server.port, env: { DROVER_CLUSTER_GRACE_MS: '1500', DROVER_PROVIDER_REFRESH_SECONDS: '1' } });
    await eventually('alice reaches the cluster again once the agent reconnected', async () => {
      const r = await kubectl(['get', 'namespaces', '-o', 'name'], { kubeconfig });
      return r.code === 0 ? true : undefined;
    }, 30_000);
    issuer.setAccount({ sub: `alice-${suffix}`, preferredUsername: 'alice', name: 'Alice', groups: [`dev-${suffix}`] });
    await eventually('alice loses access once the refresh sees the change', async () => {
      const r = await kubectl(['get', 'namespaces', '-o', 'name'], { kubeconfig });
      return r.code !== 0 && /forbidden/i.test(r.stderr) ? true : undefined;
    }, 20_000);
    const me = JSON.parse((await drover.as('alice', ['whoami', '-o', 'json'])).stdout) as { groups: string[] };
    assert.deepEqual(me.groups, [`oidc_group://dev-${suffix}`]);
    issuer.setAccount({ sub: `alice-${suffix}`, preferredUsername: 'alice', name: 'Alice', groups: [`ops-${suffix}`, `dev-${suffix}`] });
  });

  it('refuses a replayed callback, a callback from another browser, and a login link opened twice', async () => {
    const { loginUrl, userCode } = await startCliRequest();
    const callback = `${drover.server.url}/v1/auth/oidc/callback`;
    const steps = await playBrowser(loginUrl, { cas: [drover.server.caPem(), issuer.caPem], fields: signInAs(`alice-${suffix}`), userCode, stopAt: (url) => url.startsWith(callback) });
    const callbackUrl = steps.at(-1)?.url ?? '';
    assert.ok(callbackUrl.startsWith(callback));
    const path = callbackUrl.slice(drover.server.url.length);
    const first = await call(drover.server, 'GET', path);
    assert.equal(first.status, 200, first.text);
    const replay = await call(drover.server, 'GET', path);
    assert.equal(replay.status, 400);
    assert.match((replay.json() as { message: string }).message, /already used/);
    const reopened = await call(drover.server, 'GET', loginUrl.slice(drover.server.url.length));
    assert.equal(reopened.status, 400);
    // A UI login finished in a browser that did not start it (no binding cookie): refused, no session.
    const ui = await playBrowser(`${drover.server.url}/v1/auth/oidc/login?purpose=ui`, {
      cas: [drover.server.caPem(), issuer.caPem], fields: signInAs(`alice-${suffix}`), stopAt: (url) => url.startsWith(callback),
    });
    // The binding cookie is host-only (__Host-, Path=/): a sibling host cannot plant or jam it.
    assert.match(String(ui[0]?.headers['set-cookie']), /^__Host-drover_login_oidc=[\w-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax; Max-Age=600$/);
    const foreign = await call(drover.server, 'GET', (ui.at(-1)?.url ?? '').slice(drover.server.url.length));
    assert.equal(foreign.status, 400);
    assert.equal(foreign.headers['set-cookie'], undefined);
  });

  it('a terminal login link goes nowhere without the code its terminal printed: no silent login for whoever sent the link', async () => {
    // The attack: someone starts a terminal login and sends its link to a victim whose issuer
    // session would answer without a prompt. The link opens Drover's code page, not the issuer.
    const { loginUrl, userCode } = await startCliRequest();
    assert.match(userCode, /^[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}$/);
    const dispatcher = new Agent({ connect: { ca: drover.server.caPem() } });
    try {
      const shown = await request(loginUrl, { dispatcher });
      const html = await shown.body.text();
      assert.equal(shown.statusCode, 200);
      assert.match(html, /Type the code your terminal shows/);
      assert.match(html, /If you did not just run &#34;drover login&#34; yourself, close this page/);
      assert.doesNotMatch(html, new RegExp(userCode), 'the page never shows the code');
      const confirm = /name="confirm" value="([^"]+)"/.exec(html)?.[1] ?? '';
      const cookie = /^(__Host-drover_confirm=[^;]+); Path=\/; HttpOnly; Secure; SameSite=Strict/.exec(String(shown.headers['set-cookie']))?.[1];
      assert.ok(cookie, String(shown.headers['set-cookie']));
      const post = (fields: Record<string, string>, withCookie: boolean) => request(`${drover.server.url}/v1/auth/oidc/login`, {
        dispatcher, method: 'POST', body: new URLSearchParams({ request: new URL(loginUrl).searchParams.get('request') ?? '', confirm, ...fields }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(withCookie ? { cookie } : {}) },
      });
      // Posted by another site (the cookie is SameSite=Strict, so it does not come along): refused, even with the code.
      const crossSite = await post({ code: userCode }, false);
      assert.equal(crossSite.statusCode, 403, await crossSite.body.text());
      const wrong = await post({ code: 'BBBB-BBBB' }, true);
      assert.equal(wrong.statusCode, 200);
      assert.match(await wrong.body.text(), /That is not the code of this login/);
      const typed = await post({ code: userCode.toLowerCase().replace('-', ' ') }, true);
      await typed.body.text();
      assert.equal(typed.statusCode, 303);
      assert.ok(String(typed.headers.location).startsWith(issuer.issuer), String(typed.headers.location));
    } finally {
      await dispatcher.close();
    }
  });

  it('a UI login sets the session cookie and lands on a same-origin path only', async () => {
    const jar = new Map<string, Map<string, string>>();
    const steps = await playBrowser(`${drover.server.url}/v1/auth/oidc/login?purpose=ui&returnTo=${encodeURIComponent('https://evil.example/')}`, {
      cas: [drover.server.caPem(), issuer.caPem], fields: signInAs(`alice-${suffix}`), cookies: jar, stopAt: (url) => !url.includes('/v1/auth/') && !url.startsWith(issuer.issuer),
    });
    assert.equal(steps.at(-1)?.url, `${drover.server.url}/`);
    const session = jar.get(new URL(drover.server.url).host)?.get('__Host-drover_session');
    assert.ok(session);
    const me = await call(drover.server, 'GET', '/v1/session', { headers: { cookie: `__Host-drover_session=${session}` } });
    assert.equal(me.status, 200, me.text);
  });

  it('changes the settings of the enabled provider without logging anyone out: pending until a test login passed, then enable promotes them', async () => {
    const alice = drover.tokenOf('alice');
    const out = await drover.cli('providers', 'configure', 'oidc', '-f', settings({
      issuer: issuer.issuer, clientId: issuer.clientId, caPem: issuer.caPem, scopes: ['openid', 'profile', 'groups', 'offline_access'], displayName: 'Company SSO',
    }));
    assert.match(out, /pending/);
    type View = { name: string; enabled: boolean; config: Record<string, unknown>; pending?: { tested: boolean; config: Record<string, unknown> } };
    const oidcView = async (): Promise<View> => (JSON.parse(await drover.cli('providers', 'list', '-o', 'json')) as View[]).find((p) => p.name === 'oidc')!;
    const waiting = await oidcView();
    assert.equal(waiting.enabled, true);
    assert.equal(waiting.config.displayName, undefined);
    assert.equal(waiting.pending?.config.displayName, 'Company SSO');
    assert.notEqual((await drover.run('providers', 'enable', 'oidc')).code, 0, 'an untested pending configuration is not promoted');
    assert.equal((await call(drover.server, 'GET', '/v1/whoami', { token: alice })).status, 200);
    const tested = await cliBrowserLogin(drover.server, {
      provider: 'oidc', argv: ['providers', 'test', 'oidc'], configPath: drover.configPath, cas: [issuer.caPem], fields: signInAs(`bob-${suffix}`),
    });
    assert.equal(tested.code, 0, tested.stderr);
    assert.equal((await oidcView()).pending?.tested, true);
    await drover.cli('providers', 'enable', 'oidc');
    const promoted = await oidcView();
    assert.equal(promoted.pending, undefined);
    assert.equal(promoted.config.displayName, 'Company SSO');
    const buttons = (await call(drover.server, 'GET', '/v1/auth/providers')).json() as Array<{ name: string; displayName: string }>;
    assert.equal(buttons.find((p) => p.name === 'oidc')?.displayName, 'Company SSO', 'the login page names the button as configured');
    assert.equal((await call(drover.server, 'GET', '/v1/whoami', { token: alice })).status, 200, 'still logged in');
  });

  it('answers 502 DRV_ERR_PROVIDER_UNAVAILABLE for an unreachable issuer, and a disabled provider logs its users out', async () => {
    const alice = drover.tokenOf('alice');
    assert.equal((await call(drover.server, 'GET', '/v1/whoami', { token: alice })).status, 200);
    await drover.cli('providers', 'disable', 'oidc');
    assert.equal((await call(drover.server, 'GET', '/v1/whoami', { token: alice })).status, 401);
    const refused = await call(drover.server, 'POST', '/v1/auth/oidc/cli-login', { body: { challenge: 'A'.repeat(43) } });
    assert.ok(refused.status === 404 || refused.status === 409, refused.text);
    await drover.cli('providers', 'configure', 'oidc', '-f', settings({ issuer: 'https://127.0.0.1:1', clientId: 'x', clientSecret: 'y' }));
    const link = await call(drover.server, 'POST', '/v1/auth/oidc/test-login', { token: drover.tokenOf('admin') });
    const r = await call(drover.server, 'GET', (link.json() as { loginUrl: string }).loginUrl.slice(drover.server.url.length));
    assert.equal(r.status, 502);
    assert.equal((r.json() as { code: string }).code, 'DRV_ERR_PROVIDER_UNAVAILABLE');
    assert.match((r.json() as { message: string }).message, /could not be reached/);
    assert.ok(!drover.server.output().includes(issuer.clientSecret), 'the client secret never reaches the log');
  });
});
