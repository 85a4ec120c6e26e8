import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DroverError } from '../errors/index.ts';
import type { NodeRegistration, NodeProgress } from './plan.ts';
import { newUpgrade, nodeTarget, readReport, resumeUpgrade, upgradeAction, upgradeOrder, type UpgradeRequest } from './upgrade-plan.ts';

const node = (name: string, roles: NodeRegistration['roles']): NodeRegistration => ({
  name, nodeId: '0'.repeat(32), roles, address: '127.0.0.1',
  ports: { etcdClient: 1, etcdPeer: 2, apiServer: 3, kubeApiAuth: 4, controllerManager: 5, scheduler: 6 },
});
const ask = (over: Partial<UpgradeRequest> = {}): UpgradeRequest => ({
  cluster: { name: 'alpha', state: 'active' }, current: 'v1.35.4', target: 'v1.36.3', offered: ['v1.35.4', 'v1.36.3'], last: undefined, ...over,
});
const refused = (request: UpgradeRequest, pattern: RegExp): void => {
  assert.throws(() => upgradeAction(request), (error: unknown) => error instanceof DroverError && pattern.test(error.message));
};

describe('upgradeAction', () => {
  it('starts an upgrade of an active provisioned cluster to a newer offered version', () => {
    assert.equal(upgradeAction(ask()), 'start');
  });

  it('refuses a version the server has no binaries for, naming those it has', () => {
    refused(ask({ target: 'v1.37.0' }), /unknown Kubernetes version "v1\.37\.0": this server offers v1\.35\.4, v1\.36\.3/);
    // A version is also a path on the node and the server: nothing but an offered folder name gets through.
    refused(ask({ target: 'v1.36.3/../../etc' }), /unknown Kubernetes version/);
    refused(ask({ target: '' }), /unknown Kubernetes version/);
  });

  it('refuses a downgrade, saying why (storage versions etcd holds), and a no-op', () => {
    refused(ask({ current: 'v1.36.3', target: 'v1.35.4' }), /would be a downgrade, which Kubernetes does not support: kube-apiserver may already have written objects/);
    refused(ask({ current: 'v1.36.3', target: 'v1.36.3' }), /runs Kubernetes v1\.36\.3 already/);
  });

  it('refuses an imported cluster and one that is not active', () => {
    refused(ask({ current: undefined }), /imported, not provisioned by Drover/);
    refused(ask({ cluster: { name: 'alpha', state: 'provisioning' } }), /is provisioning, not active/);
    refused(ask({ cluster: { name: 'alpha', state: 'unavailable' } }), /is unavailable, not active/);
  });

  it('resumes a failed upgrade to the same version (even with the cluster down), and refuses another target until it is finished', () => {
    const failed = { ...newUpgrade('v1.35.4', 'v1.36.3', [node('n1', ['etcd'])], 'now'), state: 'failed' as const, failure: 'node n1: x' };
    assert.equal(upgradeAction(ask({ last: failed, cluster: { name: 'alpha', state: 'unavailable' } })), 'resume');
    refused(ask({ last: failed, offered: ['v1.35.4', 'v1.36.3', 'v1.36.4'], target: 'v1.36.4' }), /failed \(node n1: x\).*--kubernetes-version v1\.36\.3" again/);
  });

  it('returns a running upgrade to the same version as is, and refuses a second one', () => {
    const running = newUpgrade('v1.35.4', 'v1.36.3', [node('n1', ['etcd'])], 'now');
    assert.equal(upgradeAction(ask({ last: running })), 'running');
    refused(ask({ last: running, offered: ['v1.35.4', 'v1.36.3', 'v1.36.4'], target: 'v1.36.4' }), /being upgraded to v1\.36\.3 already/);
  });
});

describe('upgradeOrder', () => {
  it('puts etcd nodes first, then control-plane nodes, then workers, by name in each group', () => {
    const order = upgradeOrder([node('w1', ['worker']), node('cp2', ['controlplane']), node('e2', ['etcd', 'worker']), node('cp1', ['controlplane', 'worker']), node('e1', ['etcd', 'controlplane'])]);
    assert.deepEqual(order.map((n) => n.name), ['e1', 'e2', 'cp1', 'cp2', 'w1']);
  });
});

describe('nodeTarget and resumeUpgrade', () => {
  it('plans a node at the new version once the upgrade reached it, and at the old one before', () => {
    const upgrade = newUpgrade('v1.35.4', 'v1.36.3', [node('a', ['etcd']), node('b', ['worker'])], 'now');
    assert.deepEqual(nodeTarget(upgrade, 'a', 'v1.35.4'), { version: 'v1.35.4' });
    upgrade.nodes[0] = { ...upgrade.nodes[0], state: 'upgrading' } as (typeof upgrade.nodes)[number];
    assert.deepEqual(nodeTarget(upgrade, 'a', 'v1.35.4'), { version: 'v1.36.3' });
    assert.deepEqual(nodeTarget(upgrade, 'b', 'v1.35.4'), { version: 'v1.35.4' });
    assert.deepEqual(nodeTarget(undefined, 'a', 'v1.35.4'), { version: 'v1.35.4' });
  });

  it('gives only the failed node a new attempt (a new plan id), leaving nodes already done as they are', () => {
    const upgrade = newUpgrade('v1.35.4', 'v1.36.3', [node('a', ['etcd']), node('b', ['controlplane']), node('c', ['worker'])], 'now');
    upgrade.state = 'failed';
    upgrade.failure = 'node b: step kube-apiserver failed';
    upgrade.nodes = upgrade.nodes.map((n, i) => ({ ...n, state: (['done', 'failed', 'waiting'] as const)[i] ?? 'waiting' }));
    const resumed = resumeUpgrade(upgrade, 'a-1');
    assert.equal(resumed.state, 'running');
    assert.equal(resumed.failure, undefined);
    assert.deepEqual(resumed.nodes.map((n) => [n.state, n.attempt]), [['done', undefined], ['waiting', 'a-1'], ['waiting', undefined]]);
    assert.deepEqual(nodeTarget(resumed, 'a', 'v1.35.4'), { version: 'v1.36.3' });
  });
});

describe('readReport', () => {
  const at = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const progress = (planId: string, states: Array<'done' | 'running' | 'failed'>): NodeProgress => ({
    planId, total: 4,
    steps: ['plan', 'binaries', 'etcd', 'kube-apiserver'].slice(0, states.length).map((step, i) => ({
      step, state: states[i] ?? 'done', at: at(i * 2), ...(step === 'etcd' ? { message: 'previous processes stopped in 1.5 s; 12 files under /d' } : {}),
      ...(states[i] === 'failed' ? { message: 'exited (code 1)' } : {}),
    })),
  });

  it('is pending while the node still reports its old plan, or has steps left', () => {
    assert.equal(readReport(progress('p1', ['done', 'done', 'done', 'done']), 'p2').kind, 'pending');
    assert.equal(readReport(progress('p2', ['done', 'done', 'running']), 'p2').kind, 'pending');
  });

  it('fails at the first failed step of the new plan, with its reason', () => {
    assert.deepEqual(readReport(progress('p2', ['done', 'done', 'failed']), 'p2'), { kind: 'failed', reason: 'step etcd failed: exited (code 1)' });
  });

  it('is done when every step of the new plan is, with the time each step took', () => {
    assert.deepEqual(readReport(progress('p2', ['done', 'done', 'done', 'done']), 'p2', at(-3)), {
      kind: 'done', steps: [{ step: 'plan', seconds: 3 }, { step: 'binaries', seconds: 2 }, { step: 'stop', seconds: 1.5 }, { step: 'etcd', seconds: 0.5 }, { step: 'kube-apiserver', seconds: 2 }],
    });
  });
});
