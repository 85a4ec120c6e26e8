/**
 * Access ends and stays ended, and a forced password change has no back door: a
 * real `drover server`, a real agent and kube-apiserver, and the machine's kubectl
 * through the proxy.
 *
 * - Disabling a user revokes their session, API and kubeconfig tokens for good;
 *   `users enable` brings none back, they log in again.
 * - A user who must change their password (created without one, so Drover chose
 *   it) gets from every login path (POST /v1/login, POST /v1/session, drover login)
 *   a credential that opens only whoami, the change and logout: no tokens, no
 *   kubeconfig, no clusters, members or proxy. After the change the same login
 *   opens everything.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectl, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { call } from './identity-support.ts';

describe('identity lockdown: disable revokes for good, must-change-password everywhere', () => {
  let drover: Drover;
  let cp: PrivateControlPlane;
  let cluster: RegisteredCluster;

  /** A static-token kubeconfig through the proxy, as `drover kubeconfig` makes with tokens on. */
  const proxyKubeconfig = (token: string, name: string): string => {
    const path = join(drover.dir, `${name}.kubeconfig`);
    writeFileSync(path, JSON.stringify({
      apiVersion: 'v1', kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: `${drover.server.url}/k8s/clusters/${cluster.id}`, 'certificate-authority-data': Buffer.from(drover.server.caPem()).toString('base64') } }],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    }));
    return path;
  };
  const viaProxy = (token: string, name: string) => kubectl(['get', 'namespace', 'default', '-o', 'name'], { kubeconfig: proxyKubeconfig(token, name), timeoutMs: 30_000 });
  const loginToken = async (username: string, password: string): Promise<string> => {
    const res = await call(drover.server, 'POST', '/v1/login', { body: { username, password } });
    assert.equal(res.status, 200, res.text);
    return (res.json() as { token: string }).token;
  };
  const createWithGeneratedPassword = async (name: string): Promise<string> => {
    const out = await drover.cli('users', 'create', name);
    const password = /shown only now[^)]*\): (\S+)/.exec(out)?.[1];
    assert.ok(password, `no generated password in: ${out}`);
    await drover.cli('members', 'add', '--cluster', cluster.name, '--user', name, '--role', 'cluster-member');
    return password;
  };

  before(async () => {
    cp = await startPrivateControlPlane();
    drover = await startDrover();
    cluster = await drover.registerCluster('lockdown', cp.state);
  });
  after(async () => {
    await drover?.stop();
    await cp?.stop();
  });

  it('disabling a user revokes their session, API and kubeconfig tokens; enabling brings none back', async () => {
    const password = 'dora-has-a-long-password';
    await drover.cli('users', 'create', 'dora', '--password', password);
    await drover.cli('members', 'add', '--cluster', cluster.name, '--user', 'dora', '--role', 'cluster-member');
    const session = await loginToken('dora', password);
    const api = (await call(drover.server, 'POST', '/v1/tokens', { token: session, body: { description: 'ci' } })).json() as { token: string };
    const kube = (await call(drover.server, 'POST', '/v1/tokens', { token: session, body: { kind: 'kubeconfig', clusterId: cluster.id } })).json() as { token: string };
    for (const token of [session, api.token]) assert.equal((await call(drover.server, 'GET', '/v1/whoami', { token })).status, 200);
    await eventually('dora\'s kubeconfig token to reach the cluster', async () => ((await viaProxy(kube.token, 'dora-before')).code === 0 ? true : undefined), 60_000);

    const disabled = await drover.cli('users', 'disable', 'dora');
    await drover.cli('users', 'enable', 'dora');
    for (const [what, token] of [['session', session], ['API', api.token], ['kubeconfig', kube.token]] as const) {
      const res = await call(drover.server, 'GET', '/v1/whoami', { token });
      assert.equal(res.status, 401, `${what} token after enable: ${res.text}`);
    }
    const proxied = await viaProxy(kube.token, 'dora-after');
    assert.notEqual(proxied.code, 0);
    assert.match(proxied.stderr, /Unauthorized|must be logged in/i);
    const listed = await call(drover.server, 'GET', '/v1/tokens?userId=dora', { token: drover.tokenOf('admin') });
    assert.deepEqual(listed.json(), [], 'no token record of dora is left');
    // She logs in again and works as before.
    const again = await loginToken('dora', password);
    assert.equal((await call(drover.server, 'GET', '/v1/whoami', { token: again })).status, 200);
    assert.match(disabled, /all their tokens are revoked/, 'the CLI says what disabling did');
  });

  it('POST /v1/login and POST /v1/session give a must-change user a credential that opens only whoami, the change and logout', async () => {
    const password = await createWithGeneratedPassword('erin');
    const token = await loginToken('erin', password);
    const me = await call(drover.server, 'GET', '/v1/whoami', { token });
    assert.equal(me.status, 200, me.text);
    assert.equal((me.json() as { token: { passwordChangeOnly?: boolean } }).token.passwordChangeOnly, true);

    const session = await call(drover.server, 'POST', '/v1/session', { body: { username: 'erin', password } });
    assert.equal(session.status, 200, session.text);
    const cookie = /(__Host-drover_session=[^;]+)/.exec(String(session.headers['set-cookie']))?.[1] ?? '';
    const ui = { cookie, 'x-drover-csrf': (session.json() as { csrfToken: string }).csrfToken };

    const refusedEverywhere = [
      ['POST', '/v1/tokens', { description: 'sneaky' }], ['POST', '/v1/tokens', { kind: 'kubeconfig', clusterId: cluster.id }],
      ['GET', `/v1/clusters/${cluster.id}/kubeconfig`, undefined], ['GET', '/v1/clusters', undefined],
      ['GET', `/v1/clusters/${cluster.id}/members`, undefined], ['GET', '/v1/tokens', undefined],
    ] as const;
    for (const [method, path, body] of refusedEverywhere) {
      for (const [how, auth] of [['bearer', { token }], ['cookie', { headers: ui }]] as const) {
        const res = await call(drover.server, method, path, { ...auth, ...(body === undefined ? {} : { body }) });
        assert.equal(res.status, 403, `${how} ${method} ${path}: ${res.text}`);
        assert.equal((res.json() as { code: string }).code, 'DRV_ERR_PASSWORD_CHANGE_REQUIRED', `${how} ${method} ${path}`);
        assert.match((res.json() as { message: string }).message, /drover passwd/);
      }
    }
    // The proxy refuses it too, and kubectl shows why.
    const proxied = await viaProxy(token, 'erin-restricted');
    assert.notEqual(proxied.code, 0);
    assert.match(proxied.stderr, /Forbidden.*change your password.*drover passwd/s);
    const cookieProxy = await call(drover.server, 'GET', `/k8s/clusters/${cluster.id}/api`, { headers: ui });
    assert.equal(cookieProxy.status, 403, cookieProxy.text);

    // The change, made with the bearer login: that token now opens everything. The cookie's
    // session was opened with the same temporary password, which someone else may have seen
    // (the admin who handed it out, a shoulder): the change ends it rather than opening it.
    const changed = await call(drover.server, 'POST', '/v1/users/me/password', { token, body: { currentPassword: password, newPassword: 'erins-own-password' } });
    assert.equal(changed.status, 204, changed.text);
    assert.equal((await call(drover.server, 'POST', '/v1/tokens', { token, body: { description: 'now fine' } })).status, 201);
    assert.equal((await call(drover.server, 'GET', '/v1/tokens', { headers: ui })).status, 401);
    await eventually('erin\'s login to reach the cluster', async () => ((await viaProxy(token, 'erin-full')).code === 0 ? true : undefined), 60_000);
  });

  it('drover login without a terminal saves a must-change login, says to run drover passwd, and drover passwd opens it', async () => {
    const password = await createWithGeneratedPassword('finn');
    const caFile = join(drover.dir, 'server', 'ca.crt');
    const login = await drover.as('finn', ['login', drover.server.url, '--username', 'finn', '--password-stdin', '--ca-file', caFile], `${password}\n`);
    assert.equal(login.code, 1, login.stderr);
    assert.match(login.stderr, /password must be changed before anything else: run "drover passwd"/);
    const kubeconfig = await drover.as('finn', ['kubeconfig', cluster.name, '--file', join(drover.dir, 'finn.kubeconfig')]);
    assert.notEqual(kubeconfig.code, 0);
    assert.match(kubeconfig.stderr, /drover passwd/);
    assert.equal((await drover.as('finn', ['tokens', 'create', '-o', 'json'])).code, 1);
    assert.match((await drover.as('finn', ['whoami'])).stdout, /finn/);

    const badStdin = await drover.as('finn', ['passwd', '--password-stdin'], 'only-one-line\n');
    assert.equal(badStdin.code, 1);
    assert.match(badStdin.stderr, /two lines on stdin: the current password, then the new one/);
    const notTerminal = await drover.as('finn', ['passwd']);
    assert.match(notTerminal.stderr, /--password-stdin/);
    const passwd = await drover.as('finn', ['passwd', '--password-stdin'], `${password}\nfinns-own-password\n`);
    assert.equal(passwd.code, 0, passwd.stderr);
    assert.equal((await drover.as('finn', ['tokens', 'create', '-o', 'json'])).code, 0, 'the saved login opens everything now');
    assert.equal((await drover.as('finn', ['login', drover.server.url, '--username', 'finn', '--password', 'finns-own-password'])).code, 0);
  });

  it('POST /v1/users without a password answers the generated one once and marks it must-change', async () => {
    const res = await call(drover.server, 'POST', '/v1/users', { token: drover.tokenOf('admin'), body: { username: 'gina' } });
    assert.equal(res.status, 201, res.text);
    const body = res.json() as { mustChangePassword: boolean; generatedPassword?: string };
    assert.equal(body.mustChangePassword, true);
    assert.ok(body.generatedPassword && body.generatedPassword.length >= 20);
    const token = await loginToken('gina', body.generatedPassword);
    assert.equal((await call(drover.server, 'POST', '/v1/tokens', { token, body: {} })).status, 403);
    const again = await call(drover.server, 'GET', '/v1/users/gina', { token: drover.tokenOf('admin') });
    assert.equal((again.json() as { generatedPassword?: string }).generatedPassword, undefined, 'shown only once');
  });
});
