import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecretBox, openStore, type Store } from '../store/index.ts';
import { ClusterService } from '../clusters/index.ts';
import type { KubeClient } from '../kube/index.ts';
import { createLogger } from '../logging/index.ts';
import { KubernetesBinaries, binaryNames } from './binaries.ts';
import { ProvisioningService } from './provisioning-service.ts';
import { ClusterUpgrades } from './upgrade.ts';
import type { NodePlan, NodeRegistration, PlanAnswer, StepProgress } from './plan.ts';

const webhook = { config: (url: string) => `server: ${url}\n`, flags: (path: string) => [`--authentication-token-webhook-config-file=${path}`] };
const node = (name: string, roles: NodeRegistration['roles'], base: number): NodeRegistration => ({
  name, nodeId: randomBytes(16).toString('hex'), roles, address: '127.0.0.1',
  ports: { etcdClient: base, etcdPeer: base + 1, apiServer: base + 2, kubeApiAuth: base + 3, controllerManager: base + 4, scheduler: base + 5 },
});
const planOf = (answer: PlanAnswer): NodePlan => {
  assert.equal(answer.kind, 'plan');
  return (answer as { plan: NodePlan }).plan;
};

describe('ClusterUpgrades', () => {
  let dir: string;
  let store: Store;
  let clusters: ClusterService;
  let service: ProvisioningService;
  let upgrades: ClusterUpgrades;
  let clusterId = '';
  let token = '';
  let owner = true;
  let nodeReady = 'True';
  /** The node the upgrade told the tunnel to drain. */
  let drained: string | undefined;
  const e1 = node('e1', ['etcd', 'controlplane'], 2000);
  const w1 = node('w1', ['worker'], 3000);
  const fakeClient = {
    get: (path: string) => Promise.resolve(path === '/version' ? { gitVersion: 'v1.36.3' } : { status: { conditions: [{ type: 'Ready', status: nodeReady, message: 'kubelet says so' }] } }),
  } as unknown as KubeClient;

  /** What the node agent reports once it carried out `plan` (every step done), or with `failed` as its last step. */
  const report = async (who: NodeRegistration, plan: NodePlan, failed?: string): Promise<void> => {
    const at = new Date().toISOString();
    const steps: StepProgress[] = ['plan', 'binaries', 'files', ...plan.processes.map((p) => p.name)].map((step) => ({ step, state: 'done', at }));
    if (failed) steps.push({ step: failed, state: 'failed', at });
    await service.report(token, who.name, who.nodeId, { planId: plan.id, total: 3 + plan.processes.length, steps });
  };
  const shown = async (): Promise<string> => {
    const u = await service.upgradeOf(clusterId);
    return `${u?.state ?? 'none'}: ${u?.nodes.map((n) => `${n.name}=${n.state}`).join(' ') ?? ''}`;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'upgrade-'));
    for (const version of ['v1.35.4', 'v1.36.3']) {
      mkdirSync(join(dir, 'bin', version), { recursive: true });
      for (const name of binaryNames) writeFileSync(join(dir, 'bin', version, name), `#!/bin/sh\necho ${name} ${version}\n`);
    }
    store = await openStore({ dataDir: dir });
    const secrets = createSecretBox(randomBytes(32));
    clusters = new ClusterService({ db: store.db, secrets });
    const binaries = new KubernetesBinaries(join(dir, 'bin'));
    service = new ProvisioningService({ db: store.db, secrets, clusters, binaries, webhook });
    upgrades = new ClusterUpgrades({
      db: store.db, service, clusters, binaries, owns: () => owner, liveClient: () => fakeClient, nudge: () => undefined,
      drain: (_cluster, nodeName) => { drained = nodeName; }, logger: createLogger({ level: 'silent' }),
    });
    const created = await service.createCustom({ name: 'alpha', kubernetesVersion: 'v1.35.4' });
    [clusterId, token] = [created.cluster.id, created.registrationToken];
    for (const n of [w1, e1]) await service.register(token, n);
    for (const n of [e1, w1]) await report(n, planOf(await service.plan(token, n.name, n.nodeId)));
    await clusters.updateStatus(clusterId, { state: 'active' });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('moves one node at a time, etcd and control plane first: only the node reached plans (and may download) the new version', async () => {
    assert.deepEqual(await service.nodeVersions(clusterId, 'v1.35.4'), ['v1.35.4'], 'no upgrade: only the cluster\'s version is served');
    const before = planOf(await service.plan(token, 'e1', e1.nodeId));
    await upgrades.request(clusterId, 'v1.36.3');
    assert.equal(await shown(), 'running: e1=waiting w1=waiting');
    assert.deepEqual(await service.nodeVersions(clusterId, 'v1.35.4'), ['v1.35.4', 'v1.36.3']);

    owner = false;
    await upgrades.pass();
    assert.equal(await shown(), 'running: e1=waiting w1=waiting', 'a replica that does not own the cluster leaves it alone');
    owner = true;
    // w1 still carrying out an older plan (re-planning as etcd grew, say): e1 is not restarted meanwhile.
    const w1Plan = planOf(await service.plan(token, 'w1', w1.nodeId));
    await report(w1, { ...w1Plan, id: 'an-older-plan' });
    await upgrades.pass();
    assert.equal(await shown(), 'running: e1=waiting w1=waiting', 'no node starts while another has not carried out its current plan');
    assert.equal(drained, undefined);
    await report(w1, w1Plan);
    await upgrades.pass();
    assert.equal(await shown(), 'running: e1=upgrading w1=waiting');
    assert.equal(drained, 'e1', 'traffic moves off the node before it hears of its new plan');
    const e1Plan = planOf(await service.plan(token, 'e1', e1.nodeId));
    assert.equal(e1Plan.version, 'v1.36.3');
    assert.notEqual(e1Plan.id, before.id);
    assert.equal(planOf(await service.plan(token, 'w1', w1.nodeId)).version, 'v1.35.4', 'the worker waits at the old version');

    await upgrades.pass();
    assert.equal(await shown(), 'running: e1=upgrading w1=waiting', 'not done while the node still reports its old plan');
    assert.equal(drained, 'e1');
    await report(e1, e1Plan);
    await upgrades.pass();
    assert.equal(await shown(), 'running: e1=done w1=waiting');
    assert.equal(drained, undefined, 'the drain ends once the node carried out its plan: the health check reaches it');
    assert.match((await service.upgradeOf(clusterId))?.nodes[0]?.message ?? '', /the cluster's API answers \(v1\.36\.3\)/);
  });

  it('stops at the first failed step, naming the node and the reason; asked again, it resumes at that node with a new plan', async () => {
    await upgrades.pass();
    const w1Plan = planOf(await service.plan(token, 'w1', w1.nodeId));
    assert.equal(w1Plan.version, 'v1.36.3');
    await report(w1, w1Plan, 'kubelet');
    await upgrades.pass();
    const failed = await service.upgradeOf(clusterId);
    assert.equal(failed?.state, 'failed');
    assert.match(failed?.failure ?? '', /^node w1: step kubelet failed/);
    assert.equal(drained, 'w1', 'a failed node stays drained');
    assert.equal(await service.versionOf(clusterId), 'v1.35.4', 'the cluster\'s version changes only when every node is done');

    const e1Plan = planOf(await service.plan(token, 'e1', e1.nodeId));
    await upgrades.request(clusterId, 'v1.36.3');
    assert.equal(await shown(), 'running: e1=done w1=waiting');
    await upgrades.pass();
    const again = planOf(await service.plan(token, 'w1', w1.nodeId));
    assert.notEqual(again.id, w1Plan.id, 'a new plan id: the node agent carries it out again');
    assert.equal(planOf(await service.plan(token, 'e1', e1.nodeId)).id, e1Plan.id, 'a node already done is not restarted');

    nodeReady = 'False';
    await report(w1, again);
    await upgrades.pass();
    assert.equal(await shown(), 'running: e1=done w1=upgrading', 'a worker whose Node is not Ready is not done');
    nodeReady = 'True';
    await upgrades.pass();
    await upgrades.pass();
    assert.equal(await shown(), 'done: e1=done w1=done');
    assert.equal(await service.versionOf(clusterId), 'v1.36.3');
    assert.equal((await clusters.get(clusterId)).kubernetesVersion, 'v1.36.3');
    assert.deepEqual(await service.nodeVersions(clusterId, 'v1.36.3'), ['v1.36.3'], 'afterwards the old version is no longer served');
  });

  it('refuses a downgrade and the version the cluster runs already', async () => {
    await assert.rejects(upgrades.request(clusterId, 'v1.35.4'), /runs Kubernetes v1\.36\.3, so v1\.35\.4 would be a downgrade/);
    await assert.rejects(upgrades.request(clusterId, 'v1.36.3'), /runs Kubernetes v1\.36\.3 already/);
  });
});
