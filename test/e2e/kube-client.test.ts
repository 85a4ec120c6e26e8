/**
 * KubeClient against a real kube-apiserver: CRUD, patches and server-side apply,
 * the error shapes Kubernetes really sends, watches, a custom dialer carrying TLS end
 * to end, timeouts, aborts and close.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify as toYaml } from 'yaml';
import { DroverError } from '../../src/errors/index.ts';
import {
  KubeApiError, KubeClient, WatchCache, endpointFromKubeconfig, resourcePath, resources,
  type ClusterRole, type ClusterRoleBinding, type ConfigMap, type KubeList, type Namespace, type Role, type RoleBinding,
  type SelfSubjectAccessReview, type ServiceAccount, type Status, type TokenRequest, type WatchEvent, type KubeObject,
} from '../../src/kube/index.ts';
import { freePort, sharedControlPlane, type ControlPlaneState } from '../testenv/index.ts';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

async function rejectsWith<T extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected a ${type.name}, but the call succeeded`);
}

const cmPath = (ns: string, name?: string): string => resourcePath({ ...resources.configmaps, namespace: ns, name });

describe('KubeClient against a real kube-apiserver', () => {
  let cp: ControlPlaneState;
  let client: KubeClient;
  let ns: string;

  before(async () => {
    cp = await sharedControlPlane();
    client = new KubeClient({ endpoint: { server: cp.url, caPem: cp.caPem, token: cp.adminToken } });
    ns = unique('kc');
    await client.create<Namespace>('/api/v1/namespaces', { metadata: { name: ns } });
  });

  after(async () => {
    await client.delete(resourcePath({ ...resources.namespaces, name: ns })).catch(() => undefined);
    await client.close();
  });

  it('loads the control plane admin kubeconfig (JSON) and a YAML one with a CA file and a named context', async () => {
    const fromJson = new KubeClient({ endpoint: endpointFromKubeconfig(cp.kubeconfigPath) });
    const version = await fromJson.get<{ gitVersion: string }>('/version');
    assert.equal(version.gitVersion, cp.version);
    await fromJson.close();

    const dir = mkdtempSync(join(tmpdir(), 'kc-yaml-'));
    writeFileSync(join(dir, 'ca.crt'), cp.caPem);
    writeFileSync(join(dir, 'config'), toYaml({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'other',
      clusters: [{ name: 'test', cluster: { server: cp.url, 'certificate-authority': 'ca.crt' } }],
      users: [{ name: 'admin', user: { token: cp.adminToken } }, { name: 'nobody', user: {} }],
      contexts: [{ name: 'admin', context: { cluster: 'test', user: 'admin' } }, { name: 'other', context: { cluster: 'test', user: 'nobody' } }],
    }));
    const fromYaml = new KubeClient({ endpoint: endpointFromKubeconfig(join(dir, 'config'), 'admin') });
    assert.ok(await fromYaml.exists(resourcePath({ ...resources.namespaces, name: ns })));
    await fromYaml.close();
  });

  it('creates, reads, replaces, patches three ways, lists by label and deletes a configmap', async () => {
    const created = await client.create<ConfigMap>(cmPath(ns), { metadata: { name: 'one', labels: { app: 'kc' } }, data: { a: '1' } });
    assert.equal(created.metadata.name, 'one');
    const read = await client.get<ConfigMap>(cmPath(ns, 'one'));
    assert.deepEqual(read.data, { a: '1' });

    const replaced = await client.replace<ConfigMap>(cmPath(ns, 'one'), { ...read, data: { a: '2' } });
    assert.deepEqual(replaced.data, { a: '2' });
    assert.notEqual(replaced.metadata.resourceVersion, read.metadata.resourceVersion);

    const merged = await client.patch<ConfigMap>(cmPath(ns, 'one'), { data: { b: '3' } }, { type: 'merge' });
    assert.deepEqual(merged.data, { a: '2', b: '3' });
    const strategic = await client.patch<ConfigMap>(cmPath(ns, 'one'), { metadata: { labels: { tier: 'x' } } }, { type: 'strategic' });
    assert.deepEqual(strategic.metadata.labels, { app: 'kc', tier: 'x' });
    const jsonPatched = await client.patch<ConfigMap>(cmPath(ns, 'one'), [{ op: 'remove', path: '/data/a' }], { type: 'json' });
    assert.deepEqual(jsonPatched.data, { b: '3' });

    await client.create<ConfigMap>(cmPath(ns), { metadata: { name: 'two' } });
    const labelled = await client.list<ConfigMap>(cmPath(ns), { labelSelector: 'app=kc' });
    assert.deepEqual(labelled.items.map((c) => c.metadata.name), ['one']);
    assert.ok(labelled.metadata.resourceVersion);

    await client.delete(cmPath(ns, 'one'));
    assert.equal(await client.exists(cmPath(ns, 'one')), false);
    assert.equal(await client.exists(cmPath(ns, 'two')), true);
  });

  it('creates and removes RBAC objects (ClusterRole, ClusterRoleBinding, Role, RoleBinding)', async () => {
    const name = unique('kc-role');
    const rbac = (resource: 'clusterroles' | 'clusterrolebindings' | 'roles' | 'rolebindings', n?: string, namespace?: string): string =>
      resourcePath({ ...resources[resource], namespace, name: n });
    const cr = await client.create<ClusterRole>(rbac('clusterroles'), {
      metadata: { name }, rules: [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: ['u-abc'] }],
    });
    assert.deepEqual(cr.rules?.[0]?.resourceNames, ['u-abc']);
    const crb = await client.create<ClusterRoleBinding>(rbac('clusterrolebindings'), {
      metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: ns }],
    });
    assert.equal(crb.roleRef.name, name);
    await client.create<Role>(rbac('roles', undefined, ns), { metadata: { name: 'r' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] });
    const rb = await client.create<RoleBinding>(rbac('rolebindings', undefined, ns), {
      metadata: { name: 'rb' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' },
      subjects: [{ kind: 'User', name: 'u-abc', apiGroup: 'rbac.authorization.k8s.io' }],
    });
    assert.equal(rb.subjects?.[0]?.name, 'u-abc');
    const err = await rejectsWith(client.patch(rbac('clusterrolebindings', name), { roleRef: { name: 'other' } }, { type: 'merge' }), KubeApiError);
    assert.equal(err.status, 422, 'roleRef is immutable');
    assert.equal(err.reason, 'Invalid');
    await client.delete(rbac('clusterrolebindings', name));
    await client.delete(rbac('clusterroles', name));
    assert.equal(await client.exists(rbac('clusterroles', name)), false);
  });

  it('server-side apply twice is a no-op, a second manager conflicts with 409, and force takes over', async () => {
    const path = cmPath(ns, 'applied');
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied', namespace: ns }, data: { k: 'v' } };
    const first = await client.patch<ConfigMap>(path, body, { type: 'apply', fieldManager: 'drover-test' });
    const second = await client.patch<ConfigMap>(path, body, { type: 'apply', fieldManager: 'drover-test' });
    assert.equal(second.metadata.resourceVersion, first.metadata.resourceVersion);

    const rival = { ...body, data: { k: 'other' } };
    const conflict = await rejectsWith(client.patch(path, rival, { type: 'apply', fieldManager: 'rival' }), KubeApiError);
    assert.equal(conflict.status, 409);
    assert.equal(conflict.reason, 'Conflict');
    assert.equal(conflict.code, 'DRV_ERR_KUBE_API');
    assert.match(conflict.kubeStatus.message ?? '', /conflict/i);

    const forced = await client.patch<ConfigMap>(path, rival, { type: 'apply', fieldManager: 'rival', force: true });
    assert.deepEqual(forced.data, { k: 'other' });
  });

  it('answers AlreadyExists, a stale-resourceVersion Conflict, NotFound and a failed delete precondition with typed errors', async () => {
    const cm = await client.create<ConfigMap>(cmPath(ns), { metadata: { name: 'dup' }, data: { a: '1' } });
    const exists = await rejectsWith(client.create(cmPath(ns), { metadata: { name: 'dup' } }), KubeApiError);
    assert.equal(exists.status, 409);
    assert.equal(exists.reason, 'AlreadyExists');
    assert.equal(exists.details?.name, 'dup');

    await client.patch(cmPath(ns, 'dup'), { data: { a: '2' } }, { type: 'merge' });
    const stale = await rejectsWith(client.replace(cmPath(ns, 'dup'), { ...cm, data: { a: '3' } }), KubeApiError);
    assert.equal(stale.status, 409);
    assert.equal(stale.reason, 'Conflict');

    const missing = await rejectsWith(client.get(cmPath(ns, 'nope')), KubeApiError);
    assert.equal(missing.status, 404);
    assert.equal(missing.reason, 'NotFound');
    assert.equal(missing.details?.kind, 'configmaps');
    assert.equal(missing.details?.name, 'nope');
    assert.match(missing.message, /GET .*configmaps\/nope: NotFound \(404\)/);

    const precondition = await rejectsWith(client.delete(cmPath(ns, 'dup'), { preconditions: { uid: '00000000-0000-0000-0000-000000000000' } }), KubeApiError);
    assert.equal(precondition.status, 409);
    const done = await client.delete<Status>(cmPath(ns, 'dup'), { preconditions: { uid: cm.metadata.uid }, propagationPolicy: 'Background' });
    assert.equal(done.status, 'Success');
  });

  it('a token with no RBAC gets 403 Forbidden with the Kubernetes Status details', async () => {
    const sa = unique('nobody');
    await client.create<ServiceAccount>(resourcePath({ ...resources.serviceaccounts, namespace: ns }), { metadata: { name: sa } });
    const tr = await client.create<TokenRequest>(resourcePath({ ...resources.serviceaccounts, namespace: ns, name: sa, subresource: 'token' }), {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 },
    });
    const token = tr.status?.token;
    assert.ok(token);
    const weak = new KubeClient({ endpoint: { server: cp.url, caPem: cp.caPem, token } });
    try {
      const denied = await rejectsWith(weak.list('/api/v1/namespaces'), KubeApiError);
      assert.equal(denied.status, 403);
      assert.equal(denied.reason, 'Forbidden');
      assert.equal(denied.details?.kind, 'namespaces');
      assert.match(denied.kubeStatus.message ?? '', new RegExp(`system:serviceaccount:${ns}:${sa}`));
      const review = await weak.create<SelfSubjectAccessReview>(resourcePath(resources.selfsubjectaccessreviews), {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'list', resource: 'namespaces' } },
      });
      assert.equal(review.status?.allowed, false);
    } finally {
      await weak.close();
    }
  });

  it('a watch sees add, update and delete in order, as they happen', async () => {
    const list = await client.list<ConfigMap>(cmPath(ns));
    const seen: string[] = [];
    const controller = new AbortController();
    let sawDelete!: () => void;
    const deleted = new Promise<void>((r) => { sawDelete = r; });
    const watching = client.watch<ConfigMap>(cmPath(ns), { resourceVersion: list.metadata.resourceVersion, fieldSelector: 'metadata.name=watched', signal: controller.signal }, (event) => {
      if (event.type === 'ERROR' || event.type === 'BOOKMARK') return;
      seen.push(`${event.type}:${event.object.data?.v ?? '-'}`);
      if (event.type === 'DELETED') sawDelete();
    });
    await client.create<ConfigMap>(cmPath(ns), { metadata: { name: 'watched' }, data: { v: '1' } });
    await client.patch(cmPath(ns, 'watched'), { data: { v: '2' } }, { type: 'merge' });
    await client.delete(cmPath(ns, 'watched'));
    await deleted;
    controller.abort(new Error('test done'));
    await assert.rejects(watching, /test done/);
    assert.deepEqual(seen, ['ADDED:1', 'MODIFIED:2', 'DELETED:2']);
  });

  it('a watch that the server ends (timeoutSeconds) resolves', async () => {
    const events: WatchEvent<ConfigMap>[] = [];
    const started = Date.now();
    await client.watch<ConfigMap>(cmPath(ns), { timeoutSeconds: 1, fieldSelector: 'metadata.name=none' }, (e) => { events.push(e); });
    assert.ok(Date.now() - started < 10_000);
  });

  it('dials through a custom dialer with TLS end to end, reusing one connection', async () => {
    const port = Number(new URL(cp.url).port);
    const dialed: string[] = [];
    const dial = (host: string, p: number): Promise<Socket> => {
      dialed.push(`${host}:${p}`);
      return new Promise((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
      });
    };
    // The name is not resolvable: only the dialer knows where it is, and TLS verifies it against the apiserver's certificate.
    const tunnelled = new KubeClient({ endpoint: { server: 'https://kubernetes.default.svc:443', caPem: cp.caPem, token: cp.adminToken, dial } });
    for (let i = 0; i < 5; i++) assert.ok(await tunnelled.exists(resourcePath({ ...resources.namespaces, name: ns })));
    // Keep-alive: connections are reused (undici may open a second one while the first is still finishing a response).
    assert.ok(dialed.length <= 2, `dialed ${dialed.length} times for 5 requests`);
    assert.ok(dialed.every((d) => d === 'kubernetes.default.svc:443'));
    assert.equal(tunnelled.stats.requests, 5);
    await tunnelled.close();

    const wrongName = new KubeClient({ endpoint: { server: 'https://impostor.example:443', caPem: cp.caPem, token: cp.adminToken, dial } });
    const err = await rejectsWith(wrongName.get('/version'), DroverError);
    assert.equal(err.code, 'DRV_ERR_BAD_GATEWAY');
    assert.match(err.message, /impostor\.example/);
    await wrongName.close();

    const wrongCa = new KubeClient({ endpoint: { server: 'https://kubernetes.default.svc:443', token: cp.adminToken, dial } });
    const untrusted = await rejectsWith(wrongCa.get('/version'), DroverError);
    assert.equal(untrusted.code, 'DRV_ERR_BAD_GATEWAY');
    assert.match(String((untrusted.cause as Error).message), /certificate/i);
    await wrongCa.close();
  });

  it('takes a dial whose tunnel session ended for a failed connection, not a closed client: requests and a watch cache go on', async () => {
    const port = Number(new URL(cp.url).port);
    let sessionsToLose = 3;
    const dial = (): Promise<Socket> => {
      // As the tunnel answers a dial caught in a session that has just died.
      if (sessionsToLose-- > 0) return Promise.reject(new DroverError('DRV_ERR_SESSION_CLOSED', 'tunnel session 0aca74891032 for cluster c-1 is closed (dead-peer); retry to use another session'));
      return new Promise((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
      });
    };
    const client = new KubeClient({ endpoint: { server: 'https://kubernetes.default.svc:443', caPem: cp.caPem, token: cp.adminToken, dial } });
    const failed = await rejectsWith(client.get('/version'), DroverError);
    assert.equal(failed.code, 'DRV_ERR_BAD_GATEWAY');
    assert.match(failed.message, /tunnel session 0aca74891032 .* is closed/);
    const cache = new WatchCache<KubeObject>({ source: client, path: '/api/v1/namespaces', logger: pino({ level: 'silent' }), backoff: { initialMs: 10, maxMs: 50 } }).start();
    try {
      await cache.waitForSync(AbortSignal.timeout(20_000));
      assert.ok(cache.get(undefined, ns), 'the cache synced after the dials that failed');
    } finally {
      await cache.close();
      await client.close();
    }
  });

  it('asks a token function before every request (rotating tokens)', async () => {
    let asked = 0;
    const rotating = new KubeClient({ endpoint: { server: cp.url, caPem: cp.caPem, token: () => { asked++; return cp.adminToken; } } });
    await rotating.get('/version');
    await rotating.get('/version');
    assert.equal(asked, 2);
    await rotating.close();
  });

  it('names the server when nothing listens there', async () => {
    const port = await freePort();
    const dead = new KubeClient({ endpoint: { server: `https://127.0.0.1:${port}`, caPem: cp.caPem } });
    const err = await rejectsWith(dead.get('/version'), DroverError);
    assert.equal(err.code, 'DRV_ERR_BAD_GATEWAY');
    assert.match(err.message, new RegExp(`cannot reach the Kubernetes API at https://127\\.0\\.0\\.1:${port}`));
    await dead.close();
  });

  describe('timeouts, aborts and close', () => {
    let silent: Server;
    const held: Socket[] = [];
    before(async () => {
      silent = createServer((s) => { held.push(s); });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    });
    after(() => {
      for (const s of held) s.destroy();
      silent.close();
    });

    it('a server that never finishes the TLS handshake fails with a gateway timeout', async () => {
      const { port } = silent.address() as { port: number };
      const stuck = new KubeClient({ endpoint: { server: `https://127.0.0.1:${port}`, caPem: cp.caPem }, connectTimeoutMs: 300 });
      const started = Date.now();
      const err = await rejectsWith(stuck.get('/version'), DroverError);
      assert.equal(err.code, 'DRV_ERR_GATEWAY_TIMEOUT');
      assert.ok(Date.now() - started < 5_000);
      await stuck.destroy();
    });

    it('a response body that stalls past timeoutMs fails with a gateway timeout', async () => {
      const err = await rejectsWith(client.request({ method: 'GET', path: cmPath(ns), query: { watch: 'true', fieldSelector: 'metadata.name=never' }, timeoutMs: 400 }), DroverError);
      assert.equal(err.code, 'DRV_ERR_GATEWAY_TIMEOUT');
      assert.match(err.message, /did not answer in time/);
    });

    it('an aborted signal rejects with its reason, before and during a call', async () => {
      const reason = new Error('caller gave up');
      await assert.rejects(client.get('/version', { signal: AbortSignal.abort(reason) }), (e) => e === reason);
      const controller = new AbortController();
      const watching = client.watch(cmPath(ns), { fieldSelector: 'metadata.name=never', signal: controller.signal }, () => undefined);
      setTimeout(() => controller.abort(reason), 200);
      await assert.rejects(watching, (e) => e === reason);
      const stalled = client.request({ method: 'GET', path: cmPath(ns), query: { watch: 'true', fieldSelector: 'metadata.name=never' }, signal: AbortSignal.timeout(300) });
      await assert.rejects(stalled, (e: Error) => e.name === 'TimeoutError');
    });

    it('close ends open watches and refuses later calls', async () => {
      const closing = new KubeClient({ endpoint: { server: cp.url, caPem: cp.caPem, token: cp.adminToken } });
      const list = await closing.list<ConfigMap>(cmPath(ns));
      const watching = closing.watch(cmPath(ns), { resourceVersion: list.metadata.resourceVersion }, () => undefined);
      await new Promise((r) => setTimeout(r, 200));
      const ending = rejectsWith(watching, DroverError);
      await closing.close();
      const ended = await ending;
      assert.equal(ended.code, 'DRV_ERR_SESSION_CLOSED');
      const later = await rejectsWith(closing.get('/version'), DroverError);
      assert.equal(later.code, 'DRV_ERR_SESSION_CLOSED');
      await closing.close();
      assert.equal(closing.stats.watches, 1);
    });
  });

  it('lists pages with limit and continue', async () => {
    for (const n of ['p1', 'p2', 'p3']) await client.create<ConfigMap>(cmPath(ns), { metadata: { name: n, labels: { page: 'yes' } } });
    const first: KubeList<ConfigMap> = await client.list<ConfigMap>(cmPath(ns), { labelSelector: 'page=yes', limit: 2 });
    assert.equal(first.items.length, 2);
    assert.ok(first.metadata.continue);
    const second = await client.list<ConfigMap>(cmPath(ns), { labelSelector: 'page=yes', limit: 2, continue: first.metadata.continue });
    assert.deepEqual(second.items.map((c) => c.metadata.name), ['p3']);
  });
});
