/**
 * GitHub login end to end: a real `drover server`, the GitHub stand-in (HTTPS,
 * its own CA, configured as an Enterprise host name so the code path is the one
 * github.com uses), a private control plane with a real agent, `drover login
 * --provider github` as a real CLI process with the test playing the browser,
 * and kubectl through the proxy.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { kubectl, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { startGitHubStandin, type GitHubStandin } from '../testenv/github-standin.ts';
import { playBrowser } from '../testenv/oidc-issuer.ts';
import { call } from './identity-support.ts';
import { cliBrowserLogin } from './browser-login-support.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const base = 10_000 + Math.floor(Math.random() * 1_000_000);
const sre = { id: base + 1, org: 'acme', slug: `sre-${suffix}`, name: 'SRE' };
const web = { id: base + 2, org: 'acme', slug: `web-${suffix}`, name: 'Web' };

describe('GitHub provider', () => {
  let gh: GitHubStandin;
  let cp: PrivateControlPlane;
  let drover: Drover;
  let cluster: RegisteredCluster;
  const cliLogin = (login: string) => cliBrowserLogin(drover.server, { provider: 'github', configPath: drover.configOf(login), cas: [gh.caPem], fields: () => ({ login }) });
  const callbackPrefix = (): string => `${drover.server.url}/v1/auth/github/callback`;

  before(async () => {
    [cp, drover, gh] = await Promise.all([startPrivateControlPlane(), startDrover({ env: { DROVER_PROVIDER_REFRESH_SECONDS: '1' } }), startGitHubStandin()]);
    gh.setOrg({ id: base + 100, login: 'acme' });
    gh.setTeam(sre);
    gh.setTeam(web);
    gh.setUser({ id: base + 200, login: `mona-${suffix}`, name: 'Mona', orgs: ['acme'], teams: [`acme/${sre.slug}`] });
    gh.setUser({ id: base + 201, login: `hubot-${suffix}`, orgs: [], teams: [] });
    gh.setMaxPageSize(1);
    cluster = await drover.registerCluster(`gh-${suffix}`, cp.state);
  });
  after(async () => {
    await drover?.stop();
    await cp?.stop();
    await gh?.stop();
  });

  it('lets an admin configure GitHub, test a login through the browser, and only then enable it', async () => {
    const file = drover.yamlFile('github', { config: { hostname: gh.hostname, clientId: gh.clientId, clientSecret: gh.clientSecret, caPem: gh.caPem } });
    await drover.cli('providers', 'configure', 'github', '-f', file);
    assert.notEqual((await drover.run('providers', 'enable', 'github')).code, 0);
    const tested = await cliBrowserLogin(drover.server, {
      provider: 'github', argv: ['providers', 'test', 'github'], configPath: drover.configPath, cas: [gh.caPem], fields: () => ({ login: `mona-${suffix}` }),
    });
    assert.equal(tested.code, 0, tested.stderr);
    assert.match(tested.browser.at(-1)?.text ?? '', /Test login succeeded/);
    await drover.cli('providers', 'enable', 'github');
    assert.ok(!(await drover.cli('providers', 'list', '-o', 'json')).includes(gh.clientSecret));
  });

  it('logs a user in with drover login --provider github; numeric ids become the user, org and team principals', async () => {
    const r = await cliLogin(`mona-${suffix}`);
    assert.equal(r.code, 0, r.stderr);
    const me = JSON.parse((await drover.as(`mona-${suffix}`, ['whoami', '-o', 'json'])).stdout) as { provider: string; groups: string[]; principalIds: string[] };
    assert.equal(me.provider, 'github');
    assert.ok(me.principalIds.includes(`github_user://${base + 200}`));
    assert.deepEqual(me.groups, [`github_org://${base + 100}`, `github_team://${sre.id}`]);
    const found = JSON.parse(await drover.cli('principals', 'search', sre.slug, '-o', 'json')) as Array<{ id: string }>;
    assert.ok(found.some((p) => p.id === `github_team://${sre.id}`), JSON.stringify(found));
  });

  it('grants cluster access to a GitHub team, and takes it away within the refresh interval when the user leaves the team', async () => {
    const login = `mona-${suffix}`;
    await drover.cli('members', 'add', '--cluster', cluster.name, '--group', `github_team://${sre.id}`, '--role', 'cluster-member');
    const kubeconfig = join(drover.dir, 'mona.kubeconfig');
    const made = await drover.as(login, ['kubeconfig', cluster.name, '--file', kubeconfig]);
    assert.equal(made.code, 0, made.stderr);
    await eventually('mona lists namespaces through the proxy', async () => {
      const r = await kubectl(['get', 'namespaces', '-o', 'name'], { kubeconfig });
      return r.code === 0 && r.stdout.includes('namespace/default') ? true : undefined;
    }, 30_000);
    gh.setUser({ id: base + 200, login, name: 'Mona', orgs: ['acme'], teams: [`acme/${web.slug}`] });
    await eventually('mona loses access once the refresh sees the team change', async () => {
      const r = await kubectl(['get', 'namespaces', '-o', 'name'], { kubeconfig });
      return r.code !== 0 && /forbidden/i.test(r.stderr) ? true : undefined;
    }, 20_000);
    const me = JSON.parse((await drover.as(login, ['whoami', '-o', 'json'])).stdout) as { groups: string[] };
    assert.deepEqual(me.groups, [`github_org://${base + 100}`, `github_team://${web.id}`]);
  });

  it('drover token logs a GitHub user in again through the browser when kubectl runs it in a terminal', async () => {
    const login = `mona-${suffix}`;
    gh.setUser({ id: base + 200, login, name: 'Mona', orgs: ['acme'], teams: [`acme/${sre.slug}`] });
    const saved = JSON.parse(readFileSync(drover.configOf(login), 'utf8')) as { tokenId: string; provider: string };
    assert.equal(saved.provider, 'github', 'the login remembers its provider');
    const revoked = await call(drover.server, 'DELETE', `/v1/tokens/${saved.tokenId}`, { token: drover.tokenOf('admin') });
    assert.equal(revoked.status, 204, revoked.text);
    const interactive = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: true } });
    const r = await cliBrowserLogin(drover.server, {
      provider: 'github', configPath: drover.configOf(login), cas: [gh.caPem], fields: () => ({ login }),
      argv: ['token', '--cluster', cluster.name], env: { KUBERNETES_EXEC_INFO: interactive },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Your Drover login at \S+ has expired\.\nOpen this URL in a browser to log in with github/);
    const credential = JSON.parse(r.stdout) as { kind: string; status: { token: string } };
    assert.equal(credential.kind, 'ExecCredential');
    const res = await call(drover.server, 'GET', `/k8s/clusters/${cluster.id}/api/v1/namespaces/default`, { token: credential.status.token });
    assert.equal(res.status, 200, res.text);
  });

  it('drover providers test gives up with a clear message when no test login succeeds in time', async () => {
    const r = await cliBrowserLogin(drover.server, {
      provider: 'github', argv: ['providers', 'test', 'github'], configPath: drover.configPath, cas: [], fields: () => undefined, noBrowser: true, timeoutMs: 1500,
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Open this URL in a browser to test github/);
    assert.match(r.stderr, /no successful test login through github within 2 s/);
  });

  it('drover login gives up with a clear message when the browser login is not finished in time', async () => {
    const r = await cliBrowserLogin(drover.server, { provider: 'github', configPath: drover.configOf('nobody'), cas: [], fields: () => undefined, noBrowser: true, timeoutMs: 1500 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Open this URL in a browser/);
    assert.match(r.stderr, /browser login was not finished within 2 s; run drover login again/);
  });

  it('refuses a replayed callback', async () => {
    const start = await call(drover.server, 'POST', '/v1/auth/github/cli-login', { body: { challenge: 'B'.repeat(43) } });
    const { loginUrl, userCode } = start.json() as { loginUrl: string; userCode: string };
    const steps = await playBrowser(loginUrl, {
      cas: [drover.server.caPem(), gh.caPem], userCode, fields: () => ({ login: `hubot-${suffix}` }), stopAt: (url) => url.startsWith(callbackPrefix()),
    });
    const path = (steps.at(-1)?.url ?? '').slice(drover.server.url.length);
    assert.equal((await call(drover.server, 'GET', path)).status, 200);
    const replay = await call(drover.server, 'GET', path);
    assert.equal(replay.status, 400);
    assert.equal((replay.json() as { code: string }).code, 'DRV_ERR_BAD_REQUEST');
  });

  it('a token GitHub revoked logs the user out of Drover at the next refresh', async () => {
    const login = `hubot-${suffix}`;
    assert.equal((await cliLogin(login)).code, 0);
    const token = drover.tokenOf(login);
    assert.equal((await call(drover.server, 'GET', '/v1/whoami', { token })).status, 200);
    gh.revokeTokens(login);
    await eventually('hubot\'s Drover token is revoked', async () => ((await call(drover.server, 'GET', '/v1/whoami', { token })).status === 401 ? true : undefined), 20_000);
  });

  it('answers 502 DRV_ERR_PROVIDER_UNAVAILABLE when GitHub cannot be reached at the code exchange', async () => {
    const start = await call(drover.server, 'POST', '/v1/auth/github/cli-login', { body: { challenge: 'C'.repeat(43) } });
    const { loginUrl, userCode } = start.json() as { loginUrl: string; userCode: string };
    const steps = await playBrowser(loginUrl, {
      cas: [drover.server.caPem(), gh.caPem], userCode, fields: () => ({ login: `mona-${suffix}` }), stopAt: (url) => url.startsWith(callbackPrefix()),
    });
    await gh.stop();
    const r = await call(drover.server, 'GET', (steps.at(-1)?.url ?? '').slice(drover.server.url.length));
    assert.equal(r.status, 502, r.text);
    assert.equal((r.json() as { code: string }).code, 'DRV_ERR_PROVIDER_UNAVAILABLE');
    assert.match((r.json() as { message: string }).message, /GitHub identity provider could not be reached/);
    assert.ok(!drover.server.output().includes(gh.clientSecret), 'the client secret never reaches the log');
  });
});
