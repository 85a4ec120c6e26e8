/**
 * Drover's global admins hold cluster-admin downstream, as in the reference: every
 * enabled admin gets a ClusterRoleBinding `globaladmin-<userId>` to `cluster-admin`
 * in every live cluster, written by the server's reconciler, and loses it when
 * demoted, disabled or deleted. Proven with the user's own generated kubeconfig
 * through the proxy (no binding made by hand), and with the binding itself.
 * A private control plane keeps other test files' Drover servers away from this RBAC.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { kubectl, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { adminPassword, eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { runCliForTest } from '../../src/testing/index.ts';
import { call } from './identity-support.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const password = 'a-password-long-enough';

interface Crb {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects: Array<{ kind: string; name: string; apiGroup?: string }>;
}

describe('global admins get cluster-admin in every cluster', () => {
  let cp: PrivateControlPlane;
  let drover: Drover;
  let cluster: RegisteredCluster;
  let adminToken: string;
  let userId: string;
  let kubeconfig: string;
  const username = `ga-${suffix}`;

  const kc = (): { kubeconfig: string } => ({ kubeconfig: cp.state.kubeconfigPath });
  const binding = async (id: string): Promise<Crb | undefined> => {
    const r = await kubectl(['get', 'clusterrolebinding', `globaladmin-${id}`, '-o', 'json'], kc());
    return r.code === 0 ? JSON.parse(r.stdout) as Crb : undefined;
  };
  const patch = async (id: string, body: Record<string, unknown>): Promise<void> => {
    const r = await call(drover.server, 'PATCH', `/v1/users/${id}`, { token: adminToken, body });
    assert.equal(r.status, 200, r.text);
  };
  /** What the user's own kubeconfig gets through the proxy. */
  const asUser = (...args: string[]): ReturnType<typeof kubectl> => kubectl(args, { kubeconfig });
  const until = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> => eventually(what, check, timeoutMs);

  before(async () => {
    cp = await startPrivateControlPlane();
    drover = await startDrover();
    cluster = await drover.registerCluster(`ga-${suffix}`, cp.state);
    const login = await call(drover.server, 'POST', '/v1/login', { body: { username: 'admin', password: adminPassword } });
    adminToken = (login.json() as { token: string }).token;
    userId = (JSON.parse(await drover.cli('users', 'create', username, '--password', password, '-o', 'json')) as { id: string }).id;
  });
  after(async () => {
    await drover?.stop();
    await cp?.stop();
  });

  it('gives the bootstrap admin its globaladmin binding without anyone asking', async () => {
    const me = JSON.parse(await drover.cli('whoami', '-o', 'json')) as { id: string };
    const b = await until('the bootstrap admin\'s binding', () => binding(me.id));
    assert.equal(b.roleRef.name, 'cluster-admin');
  });

  it('gives a user made admin cluster-admin through the proxy, with their own kubeconfig and no binding made by hand', async () => {
    assert.equal(await binding(userId), undefined, 'a plain user has none');
    const promoted = JSON.parse(await drover.cli('users', 'update', username, '--admin', '-o', 'json')) as { globalRole: string };
    assert.equal(promoted.globalRole, 'admin');
    // The reconciler also ensures the admin's impersonation account, before any request of theirs.
    await until('the impersonation account', async () =>
      ((await kubectl(['get', 'serviceaccount', `cattle-impersonation-${userId}`, '-n', 'cattle-impersonation-system'], kc())).code === 0 ? true : undefined));
    const b = await until('the globaladmin binding', () => binding(userId));
    assert.deepEqual(b.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' });
    assert.deepEqual(b.subjects, [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: userId }]);
    assert.equal(b.metadata.labels?.['app.kubernetes.io/managed-by'], 'drover');
    assert.equal(b.metadata.labels?.['drover.io/component'], 'rbac');
    assert.equal(b.metadata.labels?.['drover.io/user'], userId);
    assert.equal(b.metadata.annotations?.['authz.cluster.cattle.io/globalrole'], 'admin');

    const configPath = join(drover.dir, `${username}.json`);
    kubeconfig = join(drover.dir, `${username}.kubeconfig`);
    for (const argv of [
      ['login', drover.server.url, '--username', username, '--password', password, '--ca-file', join(drover.dir, 'server', 'ca.crt')],
      ['kubeconfig', cluster.name, '--file', kubeconfig],
    ]) {
      const r = await runCliForTest(argv, { configPath });
      assert.equal(r.code, 0, `drover ${argv[0] ?? ''}: ${r.stderr}`);
    }
    for (const what of ['nodes', 'namespaces']) {
      const r = await asUser('get', what);
      assert.equal(r.code, 0, `get ${what}: ${r.stderr}`);
    }
    assert.match((await asUser('get', 'namespaces', '-o', 'name')).stdout, /namespace\/kube-system/);
    assert.equal((await asUser('auth', 'can-i', 'create', 'clusterrolebindings')).stdout.trim(), 'yes');
  });

  it('takes cluster-admin away within seconds when the user is demoted', async (t) => {
    const t0 = Date.now();
    await drover.cli('users', 'update', username, '--no-admin');
    await until('the binding is deleted', async () => ((await binding(userId)) === undefined ? true : undefined), 5_000);
    t.diagnostic(`demotion to binding deleted: ${Date.now() - t0} ms (kubectl polling included)`);
    const r = await asUser('get', 'nodes');
    assert.notEqual(r.code, 0, 'a demoted user is refused');
    // Downstream too, not only at Drover's door: the apiserver's own authorizer says no.
    const canI = await kubectl(['auth', 'can-i', 'list', 'nodes', '--as', userId], kc());
    assert.equal(canI.stdout.trim(), 'no');
    await until('the impersonation account is removed', async () =>
      ((await kubectl(['get', 'clusterrole', `cattle-impersonation-${userId}`], kc())).code !== 0 ? true : undefined), 5_000);
  });

  it('removes the binding of a disabled or deleted admin and restores it when re-enabled', async () => {
    await patch(userId, { globalRole: 'admin' });
    await until('binding back after promotion', () => binding(userId));
    await patch(userId, { enabled: false });
    await until('binding gone when disabled', async () => ((await binding(userId)) === undefined ? true : undefined), 5_000);
    await patch(userId, { enabled: true });
    await until('binding back when enabled', () => binding(userId), 5_000);
    const gone = await call(drover.server, 'DELETE', `/v1/users/${userId}`, { token: adminToken });
    assert.equal(gone.status, 204, gone.text);
    await until('binding gone when deleted', async () => ((await binding(userId)) === undefined ? true : undefined), 5_000);
  });

  it('gives a user created as admin the binding, and refuses an admin demoting themselves and a user promoting themselves', async () => {
    const created = JSON.parse(await drover.cli('users', 'create', `ga2-${suffix}`, '--password', password, '--admin', '-o', 'json')) as { id: string };
    await until('binding for a user created as admin', () => binding(created.id));
    const me = JSON.parse(await drover.cli('whoami', '-o', 'json')) as { id: string };
    const self = await call(drover.server, 'PATCH', `/v1/users/${me.id}`, { token: adminToken, body: { globalRole: 'user' } });
    assert.equal(self.status, 409, self.text);
    const plain = JSON.parse(await drover.cli('users', 'create', `ga3-${suffix}`, '--password', password, '-o', 'json')) as { id: string };
    const login = await call(drover.server, 'POST', '/v1/login', { body: { username: `ga3-${suffix}`, password } });
    const promote = await call(drover.server, 'PATCH', `/v1/users/${plain.id}`, { token: (login.json() as { token: string }).token, body: { globalRole: 'admin' } });
    assert.equal(promote.status, 403, promote.text);
    assert.equal(await binding(plain.id), undefined);
  });
});
