import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { createClusterPki, type ClusterPki } from './cluster-pki.ts';
import { planId, planNode, webhookConfigPath } from './planner.ts';
import type { NodePlan, NodeRegistration } from './plan.ts';
import type { BinarySet } from './binaries.ts';

const binaries: BinarySet = {
  version: 'v1.36.3', kubelet: 'kubelet',
  sha256: { etcd: 'a'.repeat(64), etcdutl: 'f'.repeat(64), 'kube-apiserver': 'b'.repeat(64), 'kube-controller-manager': 'c'.repeat(64), 'kube-scheduler': 'd'.repeat(64), kubelet: 'e'.repeat(64) },
};
const webhook = { config: (url: string) => `server: ${url}\n`, flags: (path: string) => [`--authentication-token-webhook-config-file=${path}`] };
const node = (name: string, address: string, roles: NodeRegistration['roles'], base: number): NodeRegistration => ({
  name, nodeId: '0'.repeat(32), roles, address,
  ports: { etcdClient: base, etcdPeer: base + 1, apiServer: base + 2, kubeApiAuth: base + 3, controllerManager: base + 4, scheduler: base + 5 },
});

describe('planNode', () => {
  let pki: ClusterPki;
  const cluster = { id: 'c-abc', name: 'alpha' };
  const n1 = node('n1', '10.0.0.1', ['etcd', 'controlplane', 'worker'], 2000);
  const n2 = node('n2', '10.0.0.2', ['etcd', 'controlplane'], 3000);
  const w1 = node('w1', '10.0.0.3', ['worker'], 4000);
  const nodes = [n1, n2, w1];
  const plan = async (of: NodeRegistration): Promise<NodePlan> => {
    const answer = await planNode({ cluster, binaries, pki, nodes, node: of, webhook, etcdSeed: 'n1' });
    assert.equal(answer.kind, 'plan');
    return (answer as { plan: NodePlan }).plan;
  };
  const args = (p: NodePlan, name: string): string[] => p.processes.find((x) => x.name === name)?.args ?? [];
  const file = (p: NodePlan, path: string): string => p.files.find((f) => f.path === path)?.content ?? '';

  before(async () => { pki = await createClusterPki('alpha'); });

  it('starts etcd, then kube-apiserver with kube-api-auth\'s webhook file and flag, kube-api-auth beside it, then the controllers and the kubelet', async () => {
    const p = await plan(n1);
    assert.deepEqual(p.processes.map((x) => x.name), ['etcd', 'kube-apiserver', 'kube-api-auth', 'kube-controller-manager', 'kube-scheduler', 'kubelet']);
    assert.ok(args(p, 'kube-apiserver').includes(`--authentication-token-webhook-config-file=${webhookConfigPath}`));
    assert.ok(args(p, 'kube-apiserver').includes('--shutdown-watch-termination-grace-period=5s'), 'it exits within the node agent\'s 10 s stop grace');
    assert.equal(webhookConfigPath, 'etc/kubernetes/kube-api-authn-webhook.yaml');
    assert.equal(file(p, webhookConfigPath), 'server: http://127.0.0.1:2003/v1/authenticate\n');
    assert.deepEqual(args(p, 'kube-api-auth'), ['kube-api-auth', '--kubeconfig', 'etc/kubernetes/admin.kubeconfig', '--listen', '127.0.0.1:2003']);
    assert.deepEqual(p.tunnel, { apiServer: '10.0.0.1:2002', kubeconfig: 'etc/kubernetes/admin.kubeconfig' });
  });

  it('forms one etcd cluster: the seed starts it alone, every other etcd node joins it, over TLS with client certificates, and every apiserver points at all members', async () => {
    const seed = await plan(n1);
    assert.ok(args(seed, 'etcd').includes('--initial-cluster=n1=https://10.0.0.1:2001') && args(seed, 'etcd').includes('--initial-cluster-state=new'));
    assert.equal(seed.etcdJoin, undefined);
    const p = await plan(n2);
    // Never a second cluster: the joiner names no initial cluster of its own (the node agent adds etcd's answer to MemberAdd).
    assert.ok(args(p, 'etcd').includes('--initial-cluster-state=existing'));
    assert.equal(args(p, 'etcd').some((a) => a.startsWith('--initial-cluster=')), false);
    assert.deepEqual(p.etcdJoin, { name: 'n2', peerUrl: 'https://10.0.0.2:3001', clientUrls: ['https://10.0.0.1:2000'] });
    assert.equal((await plan(w1)).etcdJoin, undefined, 'a node without etcd joins nothing');
    // A registered node without the etcd role is no member: each etcd node removes its member, should it have been one.
    assert.deepEqual(p.etcdFormerMembers, ['https://10.0.0.3:4001']);
    assert.equal((await plan(w1)).etcdFormerMembers, undefined);
    assert.ok(args(p, 'etcd').includes('--client-cert-auth=true') && args(p, 'etcd').includes('--peer-client-cert-auth=true'));
    assert.ok(args(p, 'kube-apiserver').includes('--etcd-servers=https://10.0.0.1:2000,https://10.0.0.2:3000'));
    assert.equal(p.processes.some((x) => x.name === 'kubelet'), false);
  });

  it('signs the apiserver certificate for the node\'s address and the kubernetes Service, and keeps keys at 0600', async () => {
    const p = await plan(n2);
    const cert = new X509Certificate(file(p, 'etc/kubernetes/pki/apiserver.crt'));
    assert.ok(cert.checkIssued(new X509Certificate(pki.ca.certPem)));
    for (const san of ['IP Address:10.0.0.2', 'IP Address:10.43.0.1', 'DNS:kubernetes.default.svc']) assert.ok(cert.subjectAltName?.includes(san), cert.subjectAltName);
    for (const f of p.files.filter((x) => x.path.endsWith('.key') || x.path.endsWith('.kubeconfig'))) assert.equal(f.mode, 0o600, f.path);
    assert.equal(p.files.some((f) => f.content.includes(pki.ca.keyPem)), false, 'the CA key never leaves the server');
  });

  it('gives a worker-only node a kubelet that reaches the first control plane as system:node:<name>, and no control-plane files', async () => {
    const p = await plan(w1);
    assert.deepEqual(p.processes.map((x) => x.name), ['kubelet']);
    assert.deepEqual(p.binaries.map((b) => b.name), ['kubelet']);
    const kubeconfig = parse(file(p, 'etc/kubernetes/kubelet.kubeconfig')) as { clusters: Array<{ cluster: { server: string } }>; users: Array<{ user: Record<string, string> }> };
    assert.equal(kubeconfig.clusters[0]?.cluster.server, 'https://10.0.0.1:2002');
    const cert = new X509Certificate(Buffer.from(kubeconfig.users[0]?.user['client-certificate-data'] ?? '', 'base64'));
    assert.match(cert.subject, /CN=system:node:w1/);
    assert.match(cert.subject, /O=system:nodes/);
    assert.equal(p.files.some((f) => f.path.includes('service-account') || f.path.includes('admin')), false);
    assert.equal(p.tunnel, undefined);
  });

  it('waits while no node has the etcd or controlplane role', async () => {
    assert.deepEqual(await planNode({ cluster, binaries, pki, nodes: [w1], node: w1, webhook }), { kind: 'wait', reason: 'waiting for a node with the etcd role to register' });
  });

  it('hands a restore to etcd nodes only, with etcdutl and the member\'s own name, peers and token, and gives every node a new plan for it', async () => {
    const restore = { id: 'r-1', snapshotId: 's-1', sha256: '9'.repeat(64), size: 10, requestedAt: '2026-01-01T00:00:00Z' };
    const restored = async (of: NodeRegistration): Promise<NodePlan> => {
      const answer = await planNode({ cluster, binaries, pki, nodes, node: of, webhook, restore });
      return (answer as { plan: NodePlan }).plan;
    };
    const p = await restored(n2);
    assert.deepEqual(p.restore, {
      ...restore,
      args: ['--name=n2', '--initial-advertise-peer-urls=https://10.0.0.2:3001', '--initial-cluster=n1=https://10.0.0.1:2001,n2=https://10.0.0.2:3001',
        '--initial-cluster-token=c-abc-r-1', '--bump-revision=1000000000', '--mark-compacted'],
    });
    // etcd ignores --initial-cluster and its token once its data dir holds a member, as the restored one does.
    for (const flag of p.restore?.args.slice(0, 2) ?? []) assert.ok(args(p, 'etcd').includes(flag), `etcd starts with the member the restore made: ${flag}`);
    assert.ok(p.binaries.some((b) => b.name === 'etcdutl' && b.sha256 === 'f'.repeat(64)));
    assert.equal((await plan(n2)).binaries.some((b) => b.name === 'etcdutl'), false, 'no etcdutl without a restore');
    const worker = await restored(w1);
    assert.equal(worker.restore, undefined);
    for (const n of nodes) assert.notEqual(planId({ cluster, binaries, nodes, node: n, restore }), planId({ cluster, binaries, nodes, node: n }), n.name);
    assert.notEqual(planId({ cluster, binaries, nodes, node: n1, restore: { ...restore, id: 'r-2' } }), planId({ cluster, binaries, nodes, node: n1, restore }), 'a second restore of the same snapshot');
  });

  it('gives the same id for the same inputs, and a new one when a node joins or the version changes', () => {
    const id = planId({ cluster, binaries, nodes, node: n1 });
    assert.equal(planId({ cluster, binaries, nodes: [...nodes], node: n1 }), id);
    assert.notEqual(planId({ cluster, binaries, nodes: [...nodes, node('n3', '10.0.0.4', ['etcd'], 5000)], node: n1 }), id);
    assert.notEqual(planId({ cluster, binaries: { ...binaries, version: 'v1.36.4' }, nodes, node: n1 }), id);
  });
});
