/**
 * The authentication proxy end to end: a real server process, a real agent and
 * tunnel, a real kube-apiserver, and the machine's real kubectl using kubeconfigs
 * that `drover kubeconfig` generated. Until access/ bindings land, membership is
 * "admins only", so members are Drover admins and their downstream rights are
 * granted here with plain RBAC (what the bindings reconciler will do).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, readFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import {
  freePort, kubectl, kubectlOk, kubeRequest, startPrivateControlPlane, startTestNode, type ControlPlaneState, type PrivateControlPlane, type TestNode,
} from '../testenv/index.ts';
import { eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { call } from './identity-support.ts';
import { impersonationName, impersonationServiceAccountUser, impersonationTokenSecretName } from '../../src/impersonation/index.ts';

interface Whoami { id: string; username: string }
interface SelfReview { status: { userInfo: { username: string; groups?: string[]; extra?: Record<string, string[]> } } }

const suffix = (): string => randomBytes(3).toString('hex');

describe('the authentication proxy through a real agent', () => {
  let drover: Drover;
  let cp: ControlPlaneState;
  let privateCp: PrivateControlPlane;
  let cluster: RegisteredCluster;
  let admin: Whoami;
  let adminKubeconfig: string;
  let ops: Whoami;
  let opsToken: string;
  let bobToken: string;
  let viewerToken: string;
  let node: TestNode;
  const admin$ = (): { url: string; caPem: string; token: string } => ({ url: cp.url, caPem: cp.caPem, token: cp.adminToken });

  const login = async (username: string, password: string): Promise<string> => {
    const res = await call(drover.server, 'POST', '/v1/login', { body: { username, password } });
    assert.equal(res.status, 200, res.text);
    return (res.json() as { token: string }).token;
  };
  /** Raw HTTP/1.1 over TLS, so header casing, duplicates and Connection reach the server as written. */
  const rawRequest = (lines: string[], body = ''): Promise<string> => new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: drover.server.port, ca: drover.server.caPem(), servername: 'localhost', checkServerIdentity: () => undefined });
    let answer = '';
    socket.on('data', (c: Buffer) => { answer += c.toString(); });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.once('secureConnect', () => socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`));
  });
  const selfReview = (headers: string[], token: string): Promise<string> => {
    const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    return rawRequest([
      `POST /k8s/clusters/${cluster.id}/apis/authentication.k8s.io/v1/selfsubjectreviews HTTP/1.1`, 'Host: drover',
      `Authorization: Bearer ${token}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close', ...headers,
    ], body);
  };
  const statusOf = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
  const bodyOf = (answer: string): string => answer.slice(answer.indexOf('\r\n\r\n') + 4);

  before(async () => {
    // A Drover server reconciles the RBAC it owns in the clusters it manages, so it
    // gets a control plane of its own, never the shared one.
    privateCp = await startPrivateControlPlane();
    cp = privateCp.state;
    [drover, node] = await Promise.all([startDrover(), startTestNode(cp)]);
    cluster = await drover.registerCluster(`proxy-${suffix()}`, cp);
    admin = JSON.parse(await drover.cli('whoami', '-o', 'json')) as Whoami;
    // What the bindings reconciler will do for a cluster owner: plain RBAC for the user id.
    await kubectlOk(['create', 'clusterrolebinding', `owner-${admin.id}`, '--clusterrole=cluster-admin', `--user=${admin.id}`], { kubeconfig: cp.kubeconfigPath });
    adminKubeconfig = join(drover.dir, 'admin.kubeconfig');
    await drover.cli('kubeconfig', cluster.name, '--file', adminKubeconfig);
    await drover.cli('users', 'create', 'ops', '--password', 'ops-password-long-enough', '--admin');
    await drover.cli('users', 'create', 'bob', '--password', 'bob-password-long-enough');
    opsToken = await login('ops', 'ops-password-long-enough');
    bobToken = await login('bob', 'bob-password-long-enough');
    ops = (await call(drover.server, 'GET', '/v1/whoami', { token: opsToken })).json() as Whoami;
    await kubectlOk(['create', 'clusterrolebinding', `view-${ops.id}`, '--clusterrole=view', `--user=${ops.id}`], { kubeconfig: cp.kubeconfigPath });
    // A Drover admin holds cluster-admin downstream (globaladmin-<id>), so it may impersonate
    // anyone: refusals of `--as` are checked with a plain cluster member.
    await drover.cli('users', 'create', 'viewer', '--password', 'viewer-password-long-enough');
    await drover.cli('members', 'add', '--cluster', cluster.name, '--user', 'viewer', '--role', 'cluster-member');
    viewerToken = await login('viewer', 'viewer-password-long-enough');
  });
  after(async () => {
    await drover?.stop();
    await node?.stop();
    await privateCp?.stop();
  });

  it('writes a kubeconfig named after the cluster, mode 0600, with the CA embedded and a cluster-scoped token', () => {
    assert.equal(statSync(adminKubeconfig).mode & 0o777, 0o600);
    const config = parseYaml(readFileSync(adminKubeconfig, 'utf8')) as {
      'current-context': string; clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data': string } }>;
      users: Array<{ name: string; user: { token: string } }>; contexts: Array<{ name: string }>;
    };
    assert.equal(config['current-context'], cluster.name);
    assert.deepEqual([config.clusters[0]?.name, config.users[0]?.name, config.contexts[0]?.name], [cluster.name, cluster.name, cluster.name]);
    assert.equal(config.clusters[0]?.cluster.server, `${drover.server.url}/k8s/clusters/${cluster.id}`);
    assert.equal(Buffer.from(config.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString(), drover.server.caPem());
    assert.match(config.users[0]?.user.token ?? '', /\S+/);
  });

  it('lets an admin with downstream rights list everything with real kubectl, as their own identity', async () => {
    const namespaces = await kubectlOk(['get', 'namespaces', '-o', 'name'], { kubeconfig: adminKubeconfig });
    assert.match(namespaces, /namespace\/kube-system/);
    const whoami = JSON.parse(await kubectlOk(['auth', 'whoami', '-o', 'json'], { kubeconfig: adminKubeconfig })) as SelfReview;
    const info = whoami.status.userInfo;
    assert.equal(info.username, admin.id);
    assert.ok(info.groups?.includes('system:authenticated'));
    assert.ok(info.groups?.includes('system:cattle:authenticated'));
    assert.deepEqual(info.extra?.username, ['admin']);
  });

  it('answers kubectl get --raw (which drops the kubeconfig server path) from the token\'s cluster', async () => {
    const namespaces = JSON.parse(await kubectlOk(['get', '--raw', '/api/v1/namespaces'], { kubeconfig: adminKubeconfig })) as { kind: string; items: Array<{ metadata: { name: string } }> };
    assert.equal(namespaces.kind, 'NamespaceList');
    assert.ok(namespaces.items.some((n) => n.metadata.name === 'kube-system'));
    const version = JSON.parse(await kubectlOk(['get', '--raw', '/version'], { kubeconfig: adminKubeconfig })) as { gitVersion: string };
    assert.match(version.gitVersion, /^v1\.\d+\.\d+/);
    const openapi = JSON.parse(await kubectlOk(['get', '--raw', '/openapi/v2'], { kubeconfig: adminKubeconfig })) as { swagger: string };
    assert.equal(openapi.swagger, '2.0');
    // A token that names no cluster cannot use the root paths: a plain 404 Status, nothing sent downstream.
    const res = await call(drover.server, 'GET', '/api/v1/namespaces', { token: opsToken });
    assert.equal(res.status, 404, res.text);
    assert.match(res.text, /"kind":"Status"/);
  });

  it('creates exactly the five impersonation resources, and one token Secret however many requests arrive', async () => {
    await Promise.all(Array.from({ length: 20 }, () => kubectlOk(['get', 'namespace', 'default', '-o', 'name'], { kubeconfig: adminKubeconfig })));
    const name = impersonationName(admin.id);
    const kc = { kubeconfig: cp.kubeconfigPath };
    await kubectlOk(['get', 'namespace', 'cattle-impersonation-system'], kc);
    await kubectlOk(['-n', 'cattle-impersonation-system', 'get', 'serviceaccount', name], kc);
    await kubectlOk(['-n', 'cattle-impersonation-system', 'get', 'secret', impersonationTokenSecretName(admin.id)], kc);
    await kubectlOk(['get', 'clusterrole', name, '-o', 'yaml'], kc);
    await kubectlOk(['get', 'clusterrolebinding', name], kc);
    const secrets = await kubectlOk(['-n', 'cattle-impersonation-system', 'get', 'secrets', '-o', 'name', '-l', `drover.io/user=${admin.id}`], kc);
    assert.equal(secrets.trim().split('\n').length, 1, secrets);
  });

  it('get, list, watch, create, apply, wait and delete work through the proxy', async () => {
    const ns = `px-${suffix()}`;
    const kc = { kubeconfig: adminKubeconfig };
    await kubectlOk(['create', 'namespace', ns], kc);
    const watch = kubectl(['get', 'configmaps', '-n', ns, '--watch', '-o', 'name', '--request-timeout=6s'], kc);
    await kubectlOk(['create', 'configmap', 'one', '-n', ns, '--from-literal=a=b'], kc);
    await kubectlOk(['apply', '-n', ns, '-f', '-'], { ...kc, input: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\ndata:\n  x: "1"\n` });
    await kubectlOk(['wait', '-n', ns, '--for=jsonpath={.data.x}=1', 'configmap/two', '--timeout=30s'], kc);
    assert.match(await kubectlOk(['get', 'configmap', 'one', '-n', ns, '-o', 'jsonpath={.data.a}'], kc), /^b$/);
    await kubectlOk(['delete', 'configmap', 'one', '-n', ns], kc);
    await kubectlOk(['delete', 'namespace', ns, '--wait=false'], kc);
    const watched = await watch;
    assert.match(watched.stdout, /configmap\/one/);
    assert.match(watched.stdout, /configmap\/two/);
  });

  it('passes kube-apiserver\'s own 413 for a body over its 3 MiB limit, as kubectl straight to the cluster gets it', async () => {
    // kube-apiserver answers before it has read the body and closes the connection, which the
    // kernel may reset over the unread bytes: the answer must still come through the tunnel whole.
    const file = join(drover.dir, 'big-value.txt');
    writeFileSync(file, 'x'.repeat(4 * 1024 * 1024));
    const args = ['create', 'configmap', `big-${suffix()}`, '-n', 'default', `--from-file=big=${file}`];
    const direct = await kubectl(args, { kubeconfig: cp.kubeconfigPath });
    const proxied = await kubectl(args, { kubeconfig: adminKubeconfig });
    assert.match(direct.stderr, /Request entity too large: limit is 3145728/);
    assert.notEqual(proxied.code, 0);
    assert.match(proxied.stderr, /Request entity too large: limit is 3145728/, proxied.stderr);
  });

  it('refuses a user who is not a member with 403 from Drover, creating nothing downstream', async () => {
    const res = await call(drover.server, 'GET', `/k8s/clusters/${cluster.id}/api/v1/namespaces`, { token: bobToken });
    assert.equal(res.status, 403);
    const status = res.json() as { kind: string; details: { causes: Array<{ reason: string }> } };
    assert.equal(status.kind, 'Status');
    assert.equal(status.details.causes[0]?.reason, 'DRV_ERR_FORBIDDEN');
    const kubeconfig = await call(drover.server, 'GET', `/v1/clusters/${cluster.id}/kubeconfig`, { token: bobToken });
    assert.equal(kubeconfig.status, 404);
    const bob = (await call(drover.server, 'GET', '/v1/whoami', { token: bobToken })).json() as Whoami;
    const role = await kubectl(['get', 'clusterrole', impersonationName(bob.id)], { kubeconfig: cp.kubeconfigPath });
    assert.notEqual(role.code, 0);
  });

  it('answers 404 for an unknown cluster and refuses paths that climb out of a cluster', async () => {
    const unknown = await call(drover.server, 'GET', '/k8s/clusters/c-nosuch/api', { token: opsToken });
    assert.equal(unknown.status, 404);
    const climb = await rawRequest([`GET /k8s/clusters/${cluster.id}/../c-other/api HTTP/1.1`, 'Host: drover', `Authorization: Bearer ${opsToken}`, 'Connection: close']);
    assert.equal(statusOf(climb), 400);
  });

  it('T8: refuses cookie-only and Basic authentication on /k8s', async () => {
    const cookie = await call(drover.server, 'GET', `/k8s/clusters/${cluster.id}/api`, { headers: { cookie: `R_SESS=${opsToken}; __Host-drover_session=${opsToken}` } });
    assert.equal(cookie.status, 401);
    const basic = await call(drover.server, 'GET', `/k8s/clusters/${cluster.id}/api`, { headers: { authorization: `Basic ${Buffer.from('ops:ops-password-long-enough').toString('base64')}` } });
    assert.equal(basic.status, 401);
    const two = await rawRequest([`GET /k8s/clusters/${cluster.id}/api HTTP/1.1`, 'Host: drover', `Authorization: Bearer ${opsToken}`, `authorization: Bearer ${bobToken}`, 'Connection: close']);
    assert.equal(statusOf(two), 401);
  });

  it('refuses a cluster-scoped token on another cluster path', async () => {
    const token = (parseYaml(readFileSync(adminKubeconfig, 'utf8')) as { users: Array<{ user: { token: string } }> }).users[0]?.user.token ?? '';
    const res = await call(drover.server, 'GET', '/k8s/clusters/c-elsewhere/api', { token });
    assert.equal(res.status, 403);
    // And it cannot mint further tokens.
    const mint = await call(drover.server, 'GET', `/v1/clusters/${cluster.id}/kubeconfig`, { token });
    assert.equal(mint.status, 403);
  });

  it('T1: Impersonate-* in any casing or duplicated is refused unless a SubjectAccessReview allows it', async () => {
    const variants: string[][] = [
      ['Impersonate-User: system:admin'],
      ['IMPERSONATE-USER: system:admin', 'impersonate-group: system:masters'],
      ['impersonate-user: ' + admin.id, 'Impersonate-User: ' + admin.id],
      ['iMpErSoNaTe-UsEr: someone', 'Impersonate-Extra-Scopes: x'],
      ['Impersonate-Group: system:masters'],
      ['Impersonate-Uid: 0'],
    ];
    for (const headers of variants) {
      const answer = await selfReview(headers, viewerToken);
      assert.ok([400, 403].includes(statusOf(answer)), `${headers.join(' | ')} -> ${answer.slice(0, 200)}`);
      assert.doesNotMatch(bodyOf(answer), /"username":"system:admin"/);
    }
  });

  it('T1: a non-ASCII Impersonate-User is checked as the name the cluster impersonates (UTF-8), not as Node reads its bytes', async () => {
    const viewer = (await call(drover.server, 'GET', '/v1/whoami', { token: viewerToken })).json() as Whoami;
    const garbled = Buffer.from('évil', 'utf8').toString('latin1');
    const allow = (name: string): Promise<string> => kubectlOk(['apply', '-f', '-'], { kubeconfig: cp.kubeconfigPath, input: JSON.stringify({
      apiVersion: 'v1', kind: 'List', items: [
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `t1-utf8-${viewer.id}` }, rules: [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: [name] }] },
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `t1-utf8-${viewer.id}` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `t1-utf8-${viewer.id}` }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: viewer.id }] },
      ] }) });
    // May impersonate only "Ã©vil", the name Node's latin1 reading of "évil" makes: the cluster would act as "évil".
    await allow(garbled);
    const refused = await selfReview(['Impersonate-User: évil'], viewerToken);
    assert.equal(statusOf(refused), 403, refused.slice(0, 300));
    await allow('évil');
    const allowed = await eventually('the grant for évil', async () => {
      const answer = await selfReview(['Impersonate-User: évil'], viewerToken);
      return statusOf(answer) === 201 ? answer : undefined;
    }, 15_000);
    assert.match(bodyOf(allowed), /"username":"évil"/);
  });

  it('T2: headers named in Connection cannot strip the identity the proxy sets', async () => {
    const answer = await selfReview(['Connection: Impersonate-User, Impersonate-Group, Authorization', 'Proxy-Connection: Impersonate-User', 'Keep-Alive: Impersonate-Group', 'TE: trailers'], opsToken);
    assert.equal(statusOf(answer), 201, answer.slice(0, 300));
    const review = JSON.parse(bodyOf(answer)) as SelfReview;
    assert.equal(review.status.userInfo.username, ops.id);
    const extra = review.status.userInfo.extra ?? {};
    assert.ok(Object.keys(extra).every((k) => ['principalid', 'username'].includes(k)), JSON.stringify(extra));
    assert.deepEqual(extra.username, ['ops']);
  });

  it('client impersonation (--as) works when the user may impersonate, and is refused with 403 otherwise', async () => {
    const as = JSON.parse(await kubectlOk(['auth', 'whoami', '-o', 'json', '--as', 'someone', '--as-group', 'team-a'], { kubeconfig: adminKubeconfig })) as SelfReview;
    assert.equal(as.status.userInfo.username, 'someone');
    assert.ok(as.status.userInfo.groups?.includes('team-a'));
    const refused = await selfReview(['Impersonate-User: someone'], viewerToken);
    assert.equal(statusOf(refused), 403);
    // Refused by the SubjectAccessReview, not by membership: the viewer is a member.
    assert.match(bodyOf(refused), /may not impersonate users/);
  });

  it('refuses --as a service account to a user who may impersonate any user but no service account, as kube-apiserver would', async () => {
    // kube-apiserver authorizes `system:serviceaccount:NS:NAME` as impersonate on
    // serviceaccounts in NS, not on users; the proxy forwards an approved --as with the
    // cluster's admin account, so asking about the wrong resource would be an escalation.
    const viewer = (await call(drover.server, 'GET', '/v1/whoami', { token: viewerToken })).json() as Whoami;
    const role = `impersonate-users-${randomBytes(3).toString('hex')}`;
    await kubectlOk(['create', 'clusterrole', role, '--verb=impersonate', '--resource=users'], { kubeconfig: cp.kubeconfigPath });
    await kubectlOk(['create', 'clusterrolebinding', role, `--clusterrole=${role}`, `--user=${viewer.id}`], { kubeconfig: cp.kubeconfigPath });
    try {
      await eventually('the viewer may impersonate a user', async () => {
        const answer = await selfReview(['Impersonate-User: someone'], viewerToken);
        return statusOf(answer) === 201 && /"username":"someone"/.test(bodyOf(answer)) ? true : undefined;
      }, 10_000);
      const refused = await selfReview(['Impersonate-User: system:serviceaccount:kube-system:default'], viewerToken);
      assert.equal(statusOf(refused), 403, refused);
      assert.match(bodyOf(refused), /may not impersonate serviceaccounts \\?"default\\?" in namespace \\?"kube-system/);
    } finally {
      await kubectl(['delete', 'clusterrolebinding,clusterrole', role], { kubeconfig: cp.kubeconfigPath });
    }
  });

  it('T5: the impersonation account can impersonate its own user and nobody else', async () => {
    const sa = impersonationServiceAccountUser(admin.id);
    const can = async (resource: string, name: string, group = ''): Promise<boolean> => {
      const res = await kubeRequest(admin$(), 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
        spec: { user: sa, groups: ['system:serviceaccounts', 'system:authenticated'], resourceAttributes: { verb: 'impersonate', group, resource: resource.split('/')[0], subresource: resource.split('/')[1] ?? '', name } },
      });
      return (JSON.parse(res.body) as { status: { allowed: boolean } }).status.allowed;
    };
    assert.equal(await can('users', admin.id), true);
    assert.equal(await can('groups', 'system:authenticated'), true);
    assert.equal(await can('userextras/username', 'admin', 'authentication.k8s.io'), true);
    assert.equal(await can('users', ops.id), false);
    assert.equal(await can('users', 'system:admin'), false);
    assert.equal(await can('groups', 'system:masters'), false);
    assert.equal(await can('userextras/username', 'ops', 'authentication.k8s.io'), false);
    assert.equal(await can('userextras/scopes', 'x', 'authentication.k8s.io'), false);
    assert.equal(await can('uids', '0', 'authentication.k8s.io'), false);
    assert.equal(await can('serviceaccounts', 'cattle'), false);
  });

  it('T6: a failed upgrade is answered and the connection closed, never reused', async () => {
    const answer = await rawRequest([
      `POST /k8s/clusters/${cluster.id}/api/v1/namespaces/default/pods/no-such-pod/exec?command=ls&stdout=true HTTP/1.1`, 'Host: drover',
      `Authorization: Bearer ${opsToken}`, 'Connection: Upgrade', 'Upgrade: SPDY/3.1', 'X-Stream-Protocol-Version: v4.channel.k8s.io',
    ]);
    assert.match(answer, /^HTTP\/1\.1 (403|404) /);
    assert.match(answer, /connection: close/i);
  });

  it('passes a downstream redirect back with its Location mapped onto the proxy, never following it', async () => {
    const request = (path: string): Promise<string> => rawRequest([
      `GET /k8s/clusters/${cluster.id}${path} HTTP/1.1`, 'Host: drover', `Authorization: Bearer ${opsToken}`, 'Connection: close',
    ]);
    const redirect = await request('/debug/pprof');
    assert.equal(statusOf(redirect), 302, redirect);
    const location = /\r\nlocation: ([^\r]*)\r\n/i.exec(redirect)?.[1];
    assert.equal(location, `/k8s/clusters/${cluster.id}/debug/pprof/`);
    // Where it points is the same cluster through the proxy, as the same user.
    const followed = await request('/debug/pprof/');
    assert.equal(statusOf(followed), 200, followed.slice(0, 300));
    assert.match(bodyOf(followed), /goroutine/);
  });

  it('refuses a revoked token within a second, and a disabled user', async () => {
    const issued = await call(drover.server, 'POST', '/v1/tokens', { token: opsToken, body: { description: 'revoke me' } });
    assert.equal(issued.status, 201, issued.text);
    const { token, tokenId: id } = issued.json() as { token: string; tokenId: string };
    assert.equal((await call(drover.server, 'GET', `/k8s/clusters/${cluster.id}/api`, { token })).status, 200);
    assert.equal((await call(drover.server, 'DELETE', `/v1/tokens/${id}`, { token: opsToken })).status, 204);
    const started = Date.now();
    await eventually('revoked token refused', async () =>
      (await call(drover.server, 'GET', `/k8s/clusters/${cluster.id}/api`, { token })).status === 401 ? true : undefined, 1_000);
    assert.ok(Date.now() - started <= 1_000);
    const disable = await call(drover.server, 'PATCH', `/v1/users/${ops.id}`, { token: await login('admin', 'correct horse battery staple'), body: { enabled: false } });
    assert.equal(disable.status, 200, disable.text);
    // Disabling revokes every token of the user, so the proxy no longer knows this one.
    assert.equal((await call(drover.server, 'GET', `/k8s/clusters/${cluster.id}/api`, { token: opsToken })).status, 401);
  });

  it('drover doctor reports a healthy account, and names what is missing', async () => {
    const report = JSON.parse(await drover.cli('doctor', '--cluster', cluster.name, '--user', 'admin', '-o', 'json')) as { ok: boolean; findings: Array<{ check: string; ok: boolean }> };
    assert.equal(report.ok, true, JSON.stringify(report.findings));
    const broken = await drover.run('doctor', '--cluster', cluster.name, '--user', 'bob');
    assert.notEqual(broken.code, 0);
    assert.match(broken.stdout, /PROBLEM {2}user bindings/);
    assert.match(broken.stdout, /PROBLEM {2}service account/);
  });

  describe('streams and upgrades through the proxy and the tunnel', () => {
    let ns: string;
    const kc = (): { kubeconfig: string } => ({ kubeconfig: adminKubeconfig });
    const runPod = async (name: string, container: Record<string, unknown>): Promise<void> => {
      await kubectlOk(['apply', '-f', '-'], { ...kc(), input: JSON.stringify({
        apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns },
        spec: { nodeSelector: { 'kubernetes.io/hostname': node.name }, terminationGracePeriodSeconds: 2, containers: [{ name: 'main', image: 'none', ...container }] },
      }) });
      await kubectlOk(['wait', '-n', ns, '--for=condition=Ready', `pod/${name}`, '--timeout=30s'], kc());
    };
    const streaming = (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const child = spawn('kubectl', args, { env: { ...process.env, ...env, KUBECONFIG: adminKubeconfig } });
      let out = '';
      child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
      child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('exit', () => clearTimeout(timer));
      // stop: as ^C does; kill: the client vanishes without a goodbye.
      return { output: () => out, stop: () => child.kill('SIGTERM'), kill: () => child.kill('SIGKILL') };
    };
    before(async () => {
      ns = `pxs-${suffix()}`;
      await kubectlOk(['create', 'namespace', ns], kc());
    });
    after(async () => {
      if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false'], { kubeconfig: cp.kubeconfigPath });
    });

    it('kubectl rollout status follows a Deployment to the end', async () => {
      await kubectlOk(['apply', '-f', '-'], { ...kc(), input: JSON.stringify({
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: ns },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } },
          spec: { nodeSelector: { 'kubernetes.io/hostname': node.name }, containers: [{ name: 'web', image: 'none' }] } } },
      }) });
      assert.match(await kubectlOk(['rollout', 'status', '-n', ns, 'deployment/web', '--timeout=60s'], { ...kc(), timeoutMs: 70_000 }), /successfully rolled out/);
    });

    it('kubectl logs -f streams lines as they are written', async () => {
      await runPod('ticker', { command: ['sh', '-c', 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.3; done'] });
      const follow = streaming(['logs', '-f', '-n', ns, 'ticker', '--tail=1']);
      try {
        await eventually('two new lines through logs -f', () => ((follow.output().match(/tick \d+\n/g) ?? []).length >= 3 ? true : undefined), 20_000);
      } finally {
        follow.stop();
      }
    });

    it('kubectl exec works over WebSocket and SPDY, with stdin and exit codes', async () => {
      await runPod('shell', {});
      assert.equal(await kubectlOk(['exec', '-n', ns, 'shell', '--', 'echo', 'hi'], kc()), 'hi\n');
      const spdy = { ...kc(), env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' } };
      assert.equal(await kubectlOk(['exec', '-n', ns, 'shell', '--', 'echo', 'hi'], spdy), 'hi\n');
      const input = `line ${randomBytes(256).toString('base64')}\n`;
      assert.equal(await kubectlOk(['exec', '-i', '-n', ns, 'shell', '--', 'cat'], { ...kc(), input }), input);
      const failed = await kubectl(['exec', '-n', ns, 'shell', '--', 'sh', '-c', 'exit 3'], kc());
      assert.equal(failed.code, 3);
    });

    it('kubectl attach streams a running container\'s output over WebSocket and SPDY', async () => {
      await runPod('attached', { command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "attached $i"; sleep 0.2; done'] });
      for (const env of [{}, { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' }]) {
        const attach = streaming(['attach', '-n', ns, 'attached'], env);
        try {
          await eventually('lines through attach', () => ((attach.output().match(/attached \d+\n/g) ?? []).length >= 3 ? true : undefined), 20_000);
        } finally {
          attach.stop();
        }
      }
    });

    it('tears the exec session down on both sides when the client goes away, over WebSocket and SPDY', async () => {
      await runPod('holder', {});
      for (const env of [{}, { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' }]) {
        // The pod's process reads stdin until the stream closes: it can only end if the proxy closed the upstream.
        const marker = `drover-exec-teardown-${randomBytes(4).toString('hex')}`;
        const running = (): boolean => spawnSync('pgrep', ['-f', marker]).status === 0;
        const session = streaming(['exec', '-i', '-n', ns, 'holder', '--', 'sh', '-c', `cat >/dev/null; : ${marker}`], env);
        await eventually('the exec process to start', () => (running() ? true : undefined), 20_000);
        session.kill();
        await eventually('the exec process to end once kubectl is gone', () => (running() ? undefined : true), 20_000);
      }
    });

    it('kubectl cp copies a file into a pod and back', async () => {
      await runPod('files', {});
      const local = mkdtempSync(join(tmpdir(), 'pxcp-'));
      const content = `payload ${randomBytes(1024).toString('hex')}\n`;
      writeFileSync(join(local, 'in.txt'), content);
      await kubectlOk(['cp', join(local, 'in.txt'), `${ns}/files:copied.txt`], kc());
      await kubectlOk(['cp', `${ns}/files:copied.txt`, join(local, 'out.txt')], kc());
      assert.equal(readFileSync(join(local, 'out.txt'), 'utf8'), content);
    });

    it('kubectl port-forward reaches a server in the pod over WebSocket and SPDY', async () => {
      const podPort = await freePort();
      await runPod('server', { command: ['sh', '-c', `echo forwarded-ok > index.html && exec python3 -m http.server ${podPort} --bind 127.0.0.1`] });
      await eventually('the pod server to listen', async () => (await kubectl(['exec', '-n', ns, 'server', '--', 'python3', '-c',
        `import socket; socket.create_connection(("127.0.0.1", ${podPort}), 1)`], kc())).code === 0 ? true : undefined);
      for (const env of [{}, { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }]) {
        const localPort = await freePort();
        const forward = streaming(['port-forward', '-n', ns, 'pod/server', `${localPort}:${podPort}`], env);
        try {
          await eventually('port-forward to listen', () => (/Forwarding from 127\.0\.0\.1/.test(forward.output()) ? true : undefined), 20_000);
          assert.equal(await (await fetch(`http://127.0.0.1:${localPort}/`)).text(), 'forwarded-ok\n');
        } finally {
          forward.stop();
        }
      }
    });
  });

  it('drover token prints an ExecCredential with an expiry and caches the token with mode 0600', async () => {
    const first = await drover.run('token', '--cluster', cluster.name);
    assert.equal(first.code, 0, first.stderr);
    const credential = JSON.parse(first.stdout) as { apiVersion: string; kind: string; status: { token: string; expirationTimestamp: string } };
    assert.equal(credential.apiVersion, 'client.authentication.k8s.io/v1');
    assert.equal(credential.kind, 'ExecCredential');
    assert.ok(Date.parse(credential.status.expirationTimestamp) > Date.now());
    const second = JSON.parse((await drover.run('token', '--cluster', cluster.name)).stdout) as typeof credential;
    assert.equal(second.status.token, credential.status.token, 'the cached token is reused');
    const cacheDir = join(dirname(drover.configPath), 'tokens');
    const files = readdirSync(cacheDir);
    assert.equal(files.length, 1);
    assert.equal(statSync(join(cacheDir, files[0] ?? '')).mode & 0o777, 0o600);
    const res = await call(drover.server, 'GET', `/k8s/clusters/${cluster.id}/api/v1/namespaces/default`, { token: credential.status.token });
    assert.equal(res.status, 200);

    // kubectl cannot tell the plugin its token was refused: a revoked cached token is noticed and replaced.
    const tokenId = credential.status.token.split(':')[0] ?? '';
    const revoked = await call(drover.server, 'DELETE', `/v1/tokens/${tokenId}`, { token: await login('admin', 'correct horse battery staple') });
    assert.equal(revoked.status, 204, revoked.text);
    const third = JSON.parse((await drover.run('token', '--cluster', cluster.name)).stdout) as typeof credential;
    assert.notEqual(third.status.token, credential.status.token);
    assert.equal((await call(drover.server, 'GET', `/k8s/clusters/${cluster.id}/api/v1/namespaces/default`, { token: third.status.token })).status, 200);
  });

  it('keeps the cached plugin tokens of two logins whose config files share a folder apart', async () => {
    const viewerLogin = await drover.as('viewer', ['login', drover.server.url, '--username', 'viewer', '--password', 'viewer-password-long-enough', '--ca-file', join(drover.dir, 'server', 'ca.crt')]);
    assert.equal(viewerLogin.code, 0, viewerLogin.stderr);
    const tokenOf = (r: { stdout: string }): string => (JSON.parse(r.stdout) as { status: { token: string } }).status.token;
    const whoOwns = async (token: string): Promise<string> => ((await call(drover.server, 'GET', '/v1/whoami', { token })).json() as Whoami).username;
    const adminPluginToken = tokenOf(await drover.run('token', '--cluster', cluster.name));
    const viewerPluginToken = tokenOf(await drover.as('viewer', ['token', '--cluster', cluster.name]));
    assert.equal(await whoOwns(adminPluginToken), 'admin');
    assert.equal(await whoOwns(viewerPluginToken), 'viewer');
  });

  it('a cluster-scoped token works for its cluster\'s Kubernetes API and whoami only, never to manage Drover', async () => {
    const credential = JSON.parse((await drover.run('token', '--cluster', cluster.name)).stdout) as { status: { token: string } };
    const token = credential.status.token;
    assert.equal((await call(drover.server, 'GET', '/v1/whoami', { token })).status, 200);
    for (const [method, path] of [['GET', '/v1/tokens'], ['POST', `/v1/clusters/${cluster.id}/token`], ['GET', '/v1/clusters'], ['GET', `/v1/clusters/${cluster.id}/kubeconfig`]] as const) {
      const res = await call(drover.server, method, path, { token });
      assert.equal(res.status, 403, `${method} ${path}: ${res.text}`);
      assert.match(res.text, /scoped to cluster/);
    }
  });
});
