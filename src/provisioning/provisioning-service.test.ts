import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecretBox, openStore, type Store } from '../store/index.ts';
import { ClusterService } from '../clusters/index.ts';
import { DroverError } from '../errors/index.ts';
import { KubernetesBinaries, binaryNames } from './binaries.ts';
import { ProvisioningService, checkRegistration } from './provisioning-service.ts';
import type { NodePlan, NodeRegistration } from './plan.ts';

const refusedWith = (status: number, pattern?: RegExp) => (e: unknown) =>
  e instanceof DroverError && e.status === status && (pattern === undefined || pattern.test(e.message));
const webhook = { config: (url: string) => `server: ${url}\n`, flags: (path: string) => [`--authentication-token-webhook-config-file=${path}`] };
const ports = { etcdClient: 2379, etcdPeer: 2380, apiServer: 6443, kubeApiAuth: 6440, controllerManager: 10257, scheduler: 10259 };
const node = (name: string, extra: Partial<NodeRegistration> = {}): NodeRegistration => ({
  name, nodeId: randomBytes(16).toString('hex'), roles: ['etcd', 'controlplane', 'worker'], address: '127.0.0.1', ports, ...extra,
});

describe('ProvisioningService', () => {
  let dir: string;
  let store: Store;
  let clusters: ClusterService;
  let service: ProvisioningService;
  const secrets = createSecretBox(randomBytes(32));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'provisioning-'));
    mkdirSync(join(dir, 'bin', 'v1.36.3'), { recursive: true });
    for (const name of binaryNames) writeFileSync(join(dir, 'bin', 'v1.36.3', name), `#!/bin/sh\necho ${name}\n`);
    mkdirSync(join(dir, 'bin', 'v1.35.0'), { recursive: true });
    writeFileSync(join(dir, 'bin', 'v1.35.0', 'etcd'), 'incomplete');
    store = await openStore({ dataDir: dir });
    clusters = new ClusterService({ db: store.db, secrets });
    service = new ProvisioningService({ db: store.db, secrets, clusters, binaries: new KubernetesBinaries(join(dir, 'bin')), webhook });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a version without all six binaries, or one that tries to leave the directory, and leaves no cluster behind', async () => {
    for (const version of ['v1.35.0', 'v9.9.9', '../bin/v1.36.3', 'v1.36.3/../v1.36.3', '']) {
      await assert.rejects(service.createCustom({ name: 'nope', kubernetesVersion: version }), refusedWith(400, /unknown Kubernetes version.*offers v1\.36\.3/));
    }
    assert.equal((await clusters.list()).length, 0);
  });

  it('creates the cluster provisioning, with its CA kept encrypted (never in clear in the store)', async () => {
    const { cluster } = await service.createCustom({ name: 'alpha', kubernetesVersion: 'v1.36.3' });
    assert.equal(cluster.state, 'provisioning');
    assert.equal(cluster.kubernetesVersion, 'v1.36.3');
    const ca = new X509Certificate(await service.caPem(cluster.id));
    assert.ok(ca.ca);
    const rows = await store.db.selectFrom('secrets').selectAll().execute();
    assert.ok(rows.every((r) => !r.ciphertext.includes('PRIVATE KEY')));
  });

  it('refuses a node agent whose token is for a cluster Drover did not provision, or unknown', async () => {
    const imported = await clusters.create({ name: 'imported' });
    await assert.rejects(service.register(imported.registrationToken, node('n1')), refusedWith(403, /did not provision/));
    await assert.rejects(service.register('x'.repeat(54), node('n1')), refusedWith(401));
  });

  it('refuses a second machine claiming a registered node name, but takes the same node back after a restart', async () => {
    const { cluster, registrationToken } = await service.createCustom({ name: 'beta', kubernetesVersion: 'v1.36.3' });
    const first = node('n1');
    assert.deepEqual(await service.register(registrationToken, first), { clusterId: cluster.id, clusterName: 'beta' });
    await service.register(registrationToken, first);
    await assert.rejects(service.register(registrationToken, { ...first, nodeId: randomBytes(16).toString('hex') }), refusedWith(409, /already registered.*another machine/));
    await assert.rejects(service.plan(registrationToken, 'n1', randomBytes(16).toString('hex')), refusedWith(409));
  });

  it('starts one etcd cluster only: the first etcd node to ask starts it, every other etcd node (asking in any order, at once) joins it', async () => {
    const { registrationToken: token } = await service.createCustom({ name: 'seeded', kubernetesVersion: 'v1.36.3' });
    const three = ['e1', 'e2', 'e3'].map((n, i) => node(n, { ports: { ...ports, etcdClient: 3000 + i * 10, etcdPeer: 3001 + i * 10, apiServer: 3002 + i * 10 } }));
    for (const n of three) await service.register(token, n);
    // e3 asks first; then the others at the same moment: only e3 may start a cluster.
    const planOf = async (n: NodeRegistration): Promise<NodePlan> => ((await service.plan(token, n.name, n.nodeId)) as { plan: NodePlan }).plan;
    const seed = await planOf(three[2] as NodeRegistration);
    const [e1, e2] = await Promise.all([planOf(three[0] as NodeRegistration), planOf(three[1] as NodeRegistration)]);
    const etcdArgs = (p: NodePlan): string[] => p.processes.find((x) => x.name === 'etcd')?.args ?? [];
    assert.ok(etcdArgs(seed).includes('--initial-cluster-state=new') && etcdArgs(seed).includes('--initial-cluster=e3=https://127.0.0.1:3021'));
    assert.equal(seed.etcdJoin, undefined);
    for (const joiner of [e1, e2]) {
      assert.ok(etcdArgs(joiner).includes('--initial-cluster-state=existing'), joiner.nodeName);
      assert.ok(joiner.etcdJoin?.clientUrls.includes('https://127.0.0.1:3020'), 'a joiner always lists the seed');
    }
    // Asked again, the seed still starts (its plan is the stored one), and nobody else became one.
    assert.equal((await planOf(three[2] as NodeRegistration)).id, seed.id);
    assert.ok((await planOf(three[0] as NodeRegistration)).etcdJoin);
  });

  it('waits for etcd and control-plane roles, then plans; the same inputs give the stored plan, not new certificates', async () => {
    const { registrationToken: token } = await service.createCustom({ name: 'gamma', kubernetesVersion: 'v1.36.3' });
    const worker = node('w1', { roles: ['worker'] });
    await service.register(token, worker);
    assert.deepEqual(await service.plan(token, 'w1', worker.nodeId), { kind: 'wait', reason: 'waiting for a node with the etcd role to register' });
    const etcd = node('e1', { roles: ['etcd'] });
    await service.register(token, etcd);
    assert.deepEqual(await service.plan(token, 'w1', worker.nodeId), { kind: 'wait', reason: 'waiting for a node with the controlplane role to register' });
    const cp = node('c1', { roles: ['controlplane'] });
    await service.register(token, cp);
    const first = await service.plan(token, 'c1', cp.nodeId);
    const again = await service.plan(token, 'c1', cp.nodeId);
    assert.equal(first.kind, 'plan');
    assert.deepEqual(again, first);
    const plan = (first as { plan: NodePlan }).plan;
    assert.deepEqual(plan.processes.map((p) => p.name), ['kube-apiserver', 'kube-api-auth', 'kube-controller-manager', 'kube-scheduler']);
    await service.report(token, 'c1', cp.nodeId, { planId: plan.id, steps: [{ step: 'kube-apiserver', state: 'failed', message: 'exited (code 1)', at: new Date().toISOString() }] });
    const gamma = await clusters.get('gamma');
    assert.equal(gamma.stateReason, 'node c1: kube-apiserver failed: exited (code 1)');
  });

  it('refuses, once the plan is made, a node coming back with roles that leave the cluster with no etcd or no control plane', async () => {
    const { registrationToken: token } = await service.createCustom({ name: 'zeta', kubernetesVersion: 'v1.36.3' });
    const n1 = node('n1');
    await service.register(token, { ...n1, roles: ['worker'] });
    await service.register(token, n1);
    assert.equal((await service.plan(token, 'n1', n1.nodeId)).kind, 'plan');
    await assert.rejects(service.register(token, { ...n1, roles: ['controlplane', 'worker'] }),
      refusedWith(409, /node "n1" cannot leave the etcd role: it is the only etcd node of cluster "zeta".*no etcd member.*--roles etcd,controlplane,worker as before/));
    await assert.rejects(service.register(token, { ...n1, roles: ['etcd'] }), refusedWith(409, /cannot leave the controlplane role.*no control plane/));
    const e2 = node('e2', { roles: ['etcd'] });
    await service.register(token, e2);
    await service.register(token, { ...n1, roles: ['controlplane', 'worker'] });
    assert.deepEqual((await service.nodes((await clusters.get('zeta')).id)).find((n) => n.name === 'n1')?.roles, ['controlplane', 'worker'], 'with another etcd node, n1 may leave etcd');
  });

  it('hands a snapshot only to a registered node of its own cluster, and only while that cluster is being restored to it', async () => {
    const { cluster, registrationToken: token } = await service.createCustom({ name: 'delta', kubernetesVersion: 'v1.36.3' });
    const { registrationToken: otherToken } = await service.createCustom({ name: 'epsilon', kubernetesVersion: 'v1.36.3' });
    const n1 = node('n1');
    const intruder = node('n1');
    await assert.rejects(service.requestRestore(cluster.id, { id: 's-1', sha256: 'a'.repeat(64), size: 10 }), refusedWith(409, /no node with the etcd role/), 'nothing to restore on yet');
    await service.register(token, n1);
    await service.register(otherToken, intruder);
    await assert.rejects(service.restoreForNode(token, 'n1', n1.nodeId, 's-1'), refusedWith(403, /not the one cluster "delta" is being restored to/), 'no restore asked');
    const asked = await service.requestRestore(cluster.id, { id: 's-1', sha256: 'a'.repeat(64), size: 10 });
    assert.deepEqual(asked.etcdNodes, ['n1']);
    assert.deepEqual(await service.restoreForNode(token, 'n1', n1.nodeId, 's-1'), { clusterId: cluster.id, restore: asked.restore });
    await assert.rejects(service.restoreForNode(token, 'n1', n1.nodeId, 's-2'), refusedWith(403), 'another snapshot of the same cluster');
    await assert.rejects(service.restoreForNode(otherToken, 'n1', intruder.nodeId, 's-1'), refusedWith(403), 'a node of another cluster, same node name');
    await assert.rejects(service.restoreForNode(token, 'n1', intruder.nodeId, 's-1'), refusedWith(409), 'the right token with another machine\'s node id');
    await assert.rejects(service.restoreForNode(token, 'n9', n1.nodeId, 's-1'), refusedWith(404), 'a node that never registered');
    const plan = await service.plan(token, 'n1', n1.nodeId);
    assert.equal(plan.kind === 'plan' && plan.plan.restore?.id, asked.restore.id, 'the etcd node\'s next plan carries the restore');
  });

  it('forgets a deleted cluster\'s nodes, CA and plans', async () => {
    const cluster = await clusters.get('gamma');
    await service.forget(cluster.id);
    assert.equal(await service.versionOf(cluster.id), undefined);
    assert.deepEqual(await service.nodes(cluster.id), []);
    const left = await store.db.selectFrom('secrets').select('name').where('name', 'like', `cluster/${cluster.id}/%`).execute();
    assert.deepEqual(left.map((r) => r.name), [`cluster/${cluster.id}/registration-token`]);
  });
});

describe('checkRegistration (what a node says ends up in flags and certificates)', () => {
  const bad: Array<[string, Partial<NodeRegistration>]> = [
    ['a name with a slash', { name: 'n1/../../etc' }],
    ['a name with upper case', { name: 'Node1' }],
    ['a flag smuggled in the address', { address: '127.0.0.1 --insecure' }],
    ['a host name as address', { address: 'evil.example' }],
    ['an unknown role', { roles: ['etcd', 'root'] as NodeRegistration['roles'] }],
    ['no role', { roles: [] }],
    ['a port out of range', { ports: { ...ports, apiServer: 70000 } }],
    ['two processes on one port', { ports: { ...ports, scheduler: 6443 } }],
    ['a short node id', { nodeId: 'abc' }],
  ];
  for (const [what, change] of bad) {
    it(`refuses ${what}`, () => {
      assert.throws(() => checkRegistration({ ...node('n1'), ...change }), (e: unknown) => e instanceof DroverError && e.status === 400);
    });
  }
});
