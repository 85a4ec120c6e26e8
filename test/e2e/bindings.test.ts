/**
 * Projects, members and their reconciliation into a real cluster's RBAC, end to
 * end: a real server process, a real agent, a private control plane (so no other
 * Drover server reconciles the same RBAC), the CLI, and kubectl `--as <userId>`
 * asking the apiserver's own authorizer what each user may do.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { kubectl, kubectlOk, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { call, spawnServer } from './identity-support.ts';
import { KubeClient, resourcePath, resources, type ClusterRole } from '../../src/kube/index.ts';
import { KubeImpersonationAccounts } from '../../src/impersonation/index.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const OWNED = 'app.kubernetes.io/managed-by=drover,drover.io/component=rbac';

describe('projects and members reconciled into cluster RBAC', () => {
  let cp: PrivateControlPlane;
  let drover: Drover;
  let cluster: RegisteredCluster;
  let aliceId: string;
  let bobToken: string;
  let webId: string;
  const nsA = `web-a-${suffix}`;
  const nsB = `web-b-${suffix}`;
  const nsOther = `other-${suffix}`;

  const kc = (): string => cp.state.kubeconfigPath;
  const canI = async (user: string, verb: string, resource: string, namespace?: string): Promise<boolean> => {
    const r = await kubectl(['auth', 'can-i', verb, resource, ...(namespace ? ['-n', namespace] : []), '--as', user], { kubeconfig: kc() });
    return r.stdout.trim() === 'yes';
  };
  const until = (what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<true> =>
    eventually(what, async () => ((await check()) ? true : undefined), timeoutMs);
  const ownedVersions = async (): Promise<Map<string, string>> => {
    const out = await kubectlOk(['get', 'clusterroles,clusterrolebindings,rolebindings', '-A', '-l', OWNED, '-o', 'json'], { kubeconfig: kc() });
    const items = (JSON.parse(out) as { items: Array<{ kind: string; metadata: { name: string; namespace?: string; resourceVersion: string } }> }).items;
    return new Map(items.map((i) => [`${i.kind}/${i.metadata.namespace ?? ''}/${i.metadata.name}`, i.metadata.resourceVersion]));
  };

  before(async () => {
    cp = await startPrivateControlPlane();
    drover = await startDrover({ env: { DROVER_CLUSTER_GRACE_MS: '1500' } });
    cluster = await drover.registerCluster(`bind-${suffix}`, cp.state);
    aliceId = (JSON.parse(await drover.cli('users', 'create', 'alice', '--password', 'alice-password-long', '-o', 'json')) as { id: string }).id;
    await drover.cli('users', 'create', 'bob', '--password', 'bob-password-long-1');
    const login = await call(drover.server, 'POST', '/v1/login', { body: { username: 'bob', password: 'bob-password-long-1' } });
    bobToken = (login.json() as { token: string }).token;
    for (const ns of [nsA, nsB, nsOther]) await kubectlOk(['create', 'namespace', ns], { kubeconfig: kc() });
  });
  after(async () => {
    await drover?.stop();
    await cp?.stop();
  });

  it('gives every cluster a Default and a System project, and creates more on request', async () => {
    const projects = await eventually('default projects', async () => {
      const list = JSON.parse(await drover.cli('projects', 'list', cluster.name, '-o', 'json')) as Array<{ id: string; name: string }>;
      return list.length >= 2 ? list : undefined;
    });
    assert.deepEqual(projects.map((p) => p.name), ['Default', 'System']);
    const web = JSON.parse(await drover.cli('projects', 'create', cluster.name, 'web', '-o', 'json')) as { id: string; name: string };
    assert.match(web.id, /^p-[a-z0-9]+$/);
    webId = web.id;
    const again = await drover.run('projects', 'create', cluster.name, 'web');
    assert.notEqual(again.code, 0, 'a second project with the same name is refused');
  });

  it('lets a project member work in the project\'s namespaces and nowhere else', async () => {
    await drover.cli('projects', 'add-namespace', cluster.name, 'web', nsA);
    const added = JSON.parse(await drover.cli('members', 'add', '--cluster', cluster.name, '--project', 'web', '--user', 'alice', '--role', 'project-member', '-o', 'json')) as { subject: string; projectId: string };
    assert.equal(added.subject, aliceId);
    assert.equal(added.projectId, webId);
    await until('alice can create deployments in the project namespace', () => canI(aliceId, 'create', 'deployments.apps', nsA));
    assert.equal(await canI(aliceId, 'create', 'deployments.apps', nsB), false, 'not in a namespace outside the project');
    assert.equal(await canI(aliceId, 'get', 'pods', nsOther), false);
    assert.equal(await canI(aliceId, 'create', 'clusterrolebindings'), false);
    // Project members see their project's namespaces, and only those.
    assert.equal(await canI(aliceId, 'get', `namespace/${nsA}`), true);
    assert.equal(await canI(aliceId, 'get', `namespace/${nsOther}`), false);
    const listed = JSON.parse(await drover.cli('members', 'list', '--cluster', cluster.name, '-o', 'json')) as Array<{ username?: string; roleTemplate: string }>;
    assert.deepEqual(listed.map((m) => [m.username, m.roleTemplate]), [['alice', 'project-member']]);
  });

  it('lets the project member through the proxy into the project\'s namespaces, and the apiserver refuses the rest', async () => {
    const login = await call(drover.server, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password-long' } });
    const token = (login.json() as { token: string }).token;
    const inside = await eventually('the proxy lets alice list config maps in her project', async () => {
      const res = await call(drover.server, 'GET', `/k8s/clusters/${cluster.id}/api/v1/namespaces/${nsA}/configmaps`, { token });
      return res.status === 200 ? res : undefined;
    });
    assert.equal(inside.status, 200);
    const outside = await call(drover.server, 'GET', `/k8s/clusters/${cluster.id}/api/v1/namespaces/${nsOther}/configmaps`, { token });
    assert.equal(outside.status, 403, outside.text);
  });

  it('moves access within seconds when a namespace moves to another project with kubectl', async () => {
    const projects = JSON.parse(await drover.cli('projects', 'list', cluster.name, '-o', 'json')) as Array<{ id: string; name: string }>;
    const defaultId = projects.find((p) => p.name === 'Default')?.id ?? '';
    const started = Date.now();
    await kubectlOk(['annotate', 'namespace', nsB, `field.cattle.io/projectId=${cluster.id}:${webId}`], { kubeconfig: kc() });
    await kubectlOk(['annotate', '--overwrite', 'namespace', nsA, `field.cattle.io/projectId=${cluster.id}:${defaultId}`], { kubeconfig: kc() });
    await until('access follows the namespaces', async () => (await canI(aliceId, 'create', 'deployments.apps', nsB)) && !(await canI(aliceId, 'create', 'deployments.apps', nsA)), 10_000);
    assert.ok(Date.now() - started < 10_000, `moved in ${Date.now() - started} ms`);
  });

  it('restores a Drover-owned RoleBinding deleted by hand, and leaves other RoleBindings alone', async () => {
    await kubectlOk(['create', 'rolebinding', 'not-drovers', '-n', nsB, '--clusterrole', 'view', '--user', 'someone'], { kubeconfig: kc() });
    const before = await kubectlOk(['get', 'rolebindings', '-n', nsB, '-l', OWNED, '-o', 'name'], { kubeconfig: kc() });
    assert.match(before, /rolebinding/);
    await kubectlOk(['delete', 'rolebindings', '-n', nsB, '-l', OWNED], { kubeconfig: kc() });
    await until('the RoleBinding is back', async () => (await kubectl(['get', 'rolebindings', '-n', nsB, '-l', OWNED, '-o', 'name'], { kubeconfig: kc() })).stdout === before, 10_000);
    assert.equal(await canI(aliceId, 'create', 'deployments.apps', nsB), true);
    const foreign = await kubectl(['get', 'rolebinding', 'not-drovers', '-n', nsB], { kubeconfig: kc() });
    assert.equal(foreign.code, 0, 'a RoleBinding Drover did not create is never touched');
  });

  it('refuses a member who tries to grant more than they hold', async () => {
    await drover.cli('members', 'add', '--cluster', cluster.name, '--project', 'web', '--user', 'bob', '--role', 'project-owner');
    // Bob now sees the cluster, and no other.
    const visible = await call(drover.server, 'GET', '/v1/clusters', { token: bobToken });
    assert.deepEqual((visible.json() as Array<{ id: string }>).map((c) => c.id), [cluster.id]);
    const owner = await call(drover.server, 'POST', `/v1/clusters/${cluster.id}/members`, { token: bobToken, body: { user: 'bob', role: 'cluster-owner' } });
    assert.equal(owner.status, 403, owner.text);
    const escalate = await call(drover.server, 'POST', `/v1/clusters/${cluster.id}/members`, { token: bobToken, body: { project: 'web', user: 'bob', role: 'view-nodes' } });
    assert.ok(escalate.status === 403 || escalate.status === 422, escalate.text);
    // What he holds, he may grant: a project member on his project.
    const ok = await call(drover.server, 'POST', `/v1/clusters/${cluster.id}/members`, { token: bobToken, body: { project: 'web', group: `local_group://ops-${suffix}`, role: 'read-only' } });
    assert.equal(ok.status, 201, ok.text);
  });

  const projectOf = async (ns: string): Promise<string> =>
    kubectlOk(['get', 'namespace', ns, '-o', 'jsonpath={.metadata.annotations.field\\.cattle\\.io/projectId}'], { kubeconfig: kc() });

  it('places default in the Default project and kube-system in System, as the reference does', async () => {
    const projects = JSON.parse(await drover.cli('projects', 'list', cluster.name, '-o', 'json')) as Array<{ id: string; name: string }>;
    const idOf = (name: string): string => projects.find((p) => p.name === name)?.id ?? '';
    for (const [ns, project] of [['default', 'Default'], ['kube-system', 'System'], ['kube-public', 'System']] as const) {
      await until(`${ns} is in ${project}`, async () => (await projectOf(ns)) === `${cluster.id}:${idOf(project)}`);
    }
    assert.equal(await projectOf(nsOther), '', 'a namespace of no default project stays outside every project');
    assert.equal(await projectOf('cattle-impersonation-system'), '', 'the namespace holding impersonation tokens is never put into System');
  });

  it('creates a namespace in a project from the CLI and for its owner, refuses members, other projects and existing namespaces', async () => {
    const made = `made-${suffix}`;
    assert.match(await drover.cli('projects', 'create-namespace', cluster.name, 'web', made), new RegExp(`Namespace ${made} created in project ${webId}`));
    assert.equal(await projectOf(made), `${cluster.id}:${webId}`);
    await until('the project member can work in the new namespace', () => canI(aliceId, 'create', 'deployments.apps', made));
    // Bob owns the project "web": he may grow it, but not the Default project.
    const byOwner = await call(drover.server, 'POST', `/v1/clusters/${cluster.id}/namespaces`, { token: bobToken, body: { name: `bob-${suffix}`, project: 'web' } });
    assert.equal(byOwner.status, 201, byOwner.text);
    const elsewhere = await call(drover.server, 'POST', `/v1/clusters/${cluster.id}/namespaces`, { token: bobToken, body: { name: `bob2-${suffix}`, project: 'Default' } });
    assert.equal(elsewhere.status, 403, elsewhere.text);
    // Alice is only a member of "web".
    const aliceLogin = await call(drover.server, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password-long' } });
    const byMember = await call(drover.server, 'POST', `/v1/clusters/${cluster.id}/namespaces`, { token: (aliceLogin.json() as { token: string }).token, body: { name: `alice-${suffix}`, project: 'web' } });
    assert.equal(byMember.status, 403, byMember.text);
    // "Creating" an existing namespace never moves it into the caller's project.
    const takeover = await call(drover.server, 'POST', `/v1/clusters/${cluster.id}/namespaces`, { token: bobToken, body: { name: 'kube-system', project: 'web' } });
    assert.equal(takeover.status, 409, takeover.text);
    assert.notEqual(await projectOf('kube-system'), `${cluster.id}:${webId}`);
    for (const ns of [`bob2-${suffix}`, `alice-${suffix}`]) {
      assert.notEqual((await kubectl(['get', 'namespace', ns], { kubeconfig: kc() })).code, 0, `${ns} was not created`);
    }
  });

  it('causes no RBAC writes when the server restarts and nothing changed', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const before = await ownedVersions();
    assert.ok(before.size > 3, `owned objects: ${before.size}`);
    await drover.server.stop();
    // A new process: its output() starts empty.
    drover.server = await spawnServer({ dataDir: drover.server.dataDir, port: drover.server.port, env: { DROVER_CLUSTER_GRACE_MS: '1500' } });
    const line = await eventually('the first reconcile pass after the restart', () => {
      const lines = drover.server.output().split('\n').filter((l) => l.includes('rbac first pass done'));
      return Promise.resolve(lines[0]);
    }, 60_000);
    assert.equal((JSON.parse(line) as { writes: number }).writes, 0, line);
    assert.deepEqual(await ownedVersions(), before);
  });

  it('removes access, and the user\'s impersonation account, when the member is removed', async () => {
    await until('alice has an impersonation account', async () => (await kubectl(['get', 'clusterrole', `cattle-impersonation-${aliceId}`], { kubeconfig: kc() })).code === 0);
    await drover.cli('members', 'remove', '--cluster', cluster.name, '--project', 'web', '--user', 'alice');
    await until('alice lost access', async () => !(await canI(aliceId, 'create', 'deployments.apps', nsB)), 10_000);
    await until('alice\'s impersonation account is gone', async () => (await kubectl(['get', 'clusterrole', `cattle-impersonation-${aliceId}`], { kubeconfig: kc() })).code !== 0);
    const listed = JSON.parse(await drover.cli('members', 'list', '--cluster', cluster.name, '-o', 'json')) as Array<{ username?: string }>;
    assert.ok(!listed.some((m) => m.username === 'alice'));
  });

  it('keeps impersonation accounts level-based: a drifted role is rewritten to the current identity, an account nobody may use is removed', async () => {
    // Accounts as an earlier server process (or a request with since-lost groups) left them: this process never made them.
    const erinId = (JSON.parse(await drover.cli('users', 'create', 'erin', '--password', 'erin-password-long', '-o', 'json')) as { id: string }).id;
    const frankId = (JSON.parse(await drover.cli('users', 'create', 'frank', '--password', 'frank-password-long', '-o', 'json')) as { id: string }).id;
    const client = new KubeClient({ endpoint: { server: cp.state.url, caPem: cp.state.caPem, token: cp.state.adminToken } });
    const leftOver = new KubeImpersonationAccounts({ adminClient: () => client, waitMs: 30_000 });
    try {
      await leftOver.tokenFor(cluster.id, { id: erinId, username: 'erin', principalIds: [`local://${erinId}`], groups: ['openldap_group://left-the-team'] });
      await leftOver.tokenFor(cluster.id, { id: frankId, username: 'frank', principalIds: [`local://${frankId}`], groups: [] });
    } finally {
      await leftOver.close();
    }
    const roleOf = (id: string): Promise<ClusterRole | undefined> =>
      client.get<ClusterRole>(resourcePath({ ...resources.clusterroles, name: `cattle-impersonation-${id}` })).catch(() => undefined);

    await drover.cli('members', 'add', '--cluster', cluster.name, '--project', 'web', '--user', 'erin', '--role', 'read-only');
    await until('erin\'s role to lose the group she no longer has', async () => {
      const groups = (await roleOf(erinId))?.rules?.find((r) => r.resources?.[0] === 'groups')?.resourceNames;
      return JSON.stringify(groups) === JSON.stringify(['system:authenticated', 'system:cattle:authenticated']);
    });
    const sa = `system:serviceaccount:cattle-impersonation-system:cattle-impersonation-${erinId}`;
    const review = await client.create<{ status?: { allowed?: boolean } } & Record<string, unknown>>(resourcePath(resources.subjectaccessreviews), {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: { user: sa, resourceAttributes: { verb: 'impersonate', resource: 'groups', name: 'openldap_group://left-the-team' } },
    });
    assert.equal(review.status?.allowed, false, 'a stolen account token cannot act as the lost group');
    await until('frank\'s account (no binding, no group) to be removed', async () => (await roleOf(frankId)) === undefined);
    await client.close();
  });
});
