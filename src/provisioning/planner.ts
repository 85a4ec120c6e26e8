/**
 * Makes one node's plan from the cluster's registered nodes. Pure apart from
 * signing certificates: the same inputs give the same plan id, which is how the
 * service knows to hand out the stored plan instead of signing new certificates.
 *
 * The layout under the data dir: `bin/<version>/`, `etc/kubernetes/` (configs,
 * kubeconfigs, `pki/`), `var/lib/etcd`, `var/lib/kubelet`, `log/`.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { BinarySet, BinaryName } from './binaries.ts';
import { issueCertificate, publicKeyPem, type ClusterPki, type KeyPair } from './cluster-pki.ts';
import { kubeletInvocation, kubeletKubeconfigPath } from './kubelet-config.ts';
import type { EtcdJoin, NodePlan, NodeRegistration, PlanAnswer, PlannedFile, PlannedProcess, PlannedRestore, RestoreRequest } from './plan.ts';

/** kube-api-auth's webhook config and the kube-apiserver flags that go with it (kube-api-auth/ owns both; wire.ts hands them in). */
export interface WebhookFiles {
  config(url: string): string;
  flags(configPath: string): string[];
}

export interface PlanInput {
  cluster: { id: string; name: string };
  binaries: BinarySet;
  pki: ClusterPki;
  nodes: NodeRegistration[];
  node: NodeRegistration;
  webhook: WebhookFiles;
  /** The restore the admin asked for last, if any: etcd nodes carry it out once. */
  restore?: RestoreRequest;
  /** The etcd node that starts the cluster's etcd (the first to get a plan); every other etcd node joins it. */
  etcdSeed?: string;
  /** An upgrade's new attempt at this node after a failure: a new plan id, so the node carries it out again. */
  attempt?: string;
}

const k8s = 'etc/kubernetes';
const pki = `${k8s}/pki`;
export const adminKubeconfigPath = `${k8s}/admin.kubeconfig`;
export const webhookConfigPath = `${k8s}/kube-api-authn-webhook.yaml`;
const serviceCidr = '10.43.0.0/16';
const kubernetesServiceIp = '10.43.0.1';

const hostOf = (address: string): string => (address.includes(':') ? `[${address}]` : address);

/** The role no node has, of the two a cluster cannot do without (etcd first), or undefined. */
export function missingRole(nodes: readonly NodeRegistration[]): 'etcd' | 'controlplane' | undefined {
  return (['etcd', 'controlplane'] as const).find((role) => !nodes.some((n) => n.roles.includes(role)));
}

/** Why no plan can be made yet, or undefined when one can. */
export function waitingFor(nodes: NodeRegistration[], node: NodeRegistration): string | undefined {
  const missing = missingRole(nodes);
  if (missing) return `waiting for a node with the ${missing} role to register`;
  if (!nodes.some((n) => n.name === node.name)) return 'this node is not registered';
  return undefined;
}

/** Bumped whenever the planner's output changes for the same inputs, so nodes get the new plan after a Drover upgrade. */
const plannerRevision = 3;

/** What the plan depends on: any change gives a new id, and the node runs the new plan. */
export function planId(input: Omit<PlanInput, 'pki' | 'webhook'>): string {
  const etcd = input.nodes.filter((n) => n.roles.includes('etcd')).map((n) => [n.name, n.address, n.ports.etcdClient, n.ports.etcdPeer]);
  const apiServers = controlPlanes(input.nodes).map((n) => [n.name, n.address, n.ports.apiServer]);
  // A restore changes every node's plan: etcd nodes restore, the others restart against the restored etcd.
  const material = JSON.stringify([plannerRevision, input.cluster.id, input.binaries, input.node, etcd, apiServers, isSeed(input), ...(input.restore ? [input.restore.id] : []), ...(input.attempt ? [input.attempt] : [])]);
  return createHash('sha256').update(material).digest('hex').slice(0, 32);
}

/** Whether this node starts the cluster's etcd rather than joining it. */
function isSeed(input: Pick<PlanInput, 'node' | 'etcdSeed'>): boolean {
  return input.node.roles.includes('etcd') && input.etcdSeed === input.node.name;
}

const peerUrl = (n: NodeRegistration): string => `https://${hostOf(n.address)}:${n.ports.etcdPeer}`;

/**
 * This etcd member's flags. Only the seed starts a cluster (of itself alone); any other
 * member is added to the running one and started as `existing` with the membership etcd
 * answered (the node agent adds `--initial-cluster`). Never two clusters: one seed per
 * cluster, set once by the server.
 */
function etcdMembership(input: PlanInput, etcdNodes: NodeRegistration[]): { args: string[]; join?: EtcdJoin; restoreArgs: string[]; formerMembers: string[] } {
  const { node } = input;
  // Nodes without the etcd role, whose members the etcd nodes remove. Not part of the plan id (a worker registering would
  // restart every etcd node): a node leaving etcd changes the etcd list, which is.
  const formerMembers = input.nodes.filter((n) => !n.roles.includes('etcd')).map(peerUrl);
  const self = (initialCluster: NodeRegistration[], token: string): string[] => [
    `--name=${node.name}`, `--initial-advertise-peer-urls=${peerUrl(node)}`,
    ...(initialCluster.length > 0 ? [`--initial-cluster=${initialCluster.map((n) => `${n.name}=${peerUrl(n)}`).join(',')}`] : []), `--initial-cluster-token=${token}`,
  ];
  // A restore makes every etcd node a member of one new cluster at once: each names them all. Its own token (etcd's
  // disaster-recovery advice) gives it new member and cluster ids, so a member still running the old data (a node that
  // has not picked up the restore yet) is refused by the restored ones instead of mixing old raft state in. Kubernetes'
  // advice: revisions jump ahead and are marked compacted, so no client's watch resumes from a revision the snapshot reuses.
  const restoreArgs = [...self(etcdNodes, `${input.cluster.id}-${input.restore?.id ?? ''}`), '--bump-revision=1000000000', '--mark-compacted'];
  if (isSeed(input)) return { args: [...self([node], input.cluster.id), '--initial-cluster-state=new'], restoreArgs, formerMembers };
  const clientUrls = etcdNodes.filter((n) => n.name !== node.name).map((n) => `https://${hostOf(n.address)}:${n.ports.etcdClient}`);
  return { args: [...self([], input.cluster.id), '--initial-cluster-state=existing'], join: { name: node.name, peerUrl: peerUrl(node), clientUrls }, restoreArgs, formerMembers };
}

function controlPlanes(nodes: NodeRegistration[]): NodeRegistration[] {
  return nodes.filter((n) => n.roles.includes('controlplane')).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * kube-apiserver listens on one address, and the node's own clients (its health check, the
 * controllers, kube-api-auth, the tunnel's kubeconfig) dial 127.0.0.1: a node reached at
 * another address (a worker's kubelet refuses a loopback node IP) listens on all of them.
 */
function apiServerBindAddress(address: string): string {
  return address.startsWith('127.') ? address : '0.0.0.0';
}

/** A Node's Hostname is its node name, which no resolver knows: logs and exec reach the kubelet at its address. */
const kubeletAddressTypes = '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname';

export async function planNode(input: PlanInput): Promise<PlanAnswer> {
  const { node, nodes, binaries } = input;
  const wait = waitingFor(nodes, node);
  if (wait) return { kind: 'wait', reason: wait };
  const ca = input.pki.ca;
  let restore: PlannedRestore | undefined;
  let membershipPlan: Pick<NodePlan, 'etcdJoin' | 'etcdFormerMembers'> = {};
  const files: PlannedFile[] = [
    { path: `${pki}/ca.crt`, content: ca.certPem, mode: 0o644 },
  ];
  const processes: PlannedProcess[] = [];
  const pair = async (name: string, request: Parameters<typeof issueCertificate>[1]): Promise<{ cert: string; key: string }> => {
    const issued = await issueCertificate(ca, request);
    files.push({ path: `${pki}/${name}.crt`, content: issued.certPem, mode: 0o644 }, { path: `${pki}/${name}.key`, content: issued.keyPem, mode: 0o600 });
    return { cert: `${pki}/${name}.crt`, key: `${pki}/${name}.key` };
  };
  const kubeconfig = async (path: string, server: string, user: { commonName: string; organization?: string }): Promise<void> => {
    const issued = await issueCertificate(ca, { ...user, usage: 'client' });
    files.push({ path, content: kubeconfigYaml(server, ca.certPem, issued), mode: 0o600 });
  };
  const hosts = [...new Set([node.address, '127.0.0.1', 'localhost'])];
  const etcdNodes = nodes.filter((n) => n.roles.includes('etcd')).sort((a, b) => a.name.localeCompare(b.name));
  const localApi = `https://${hostOf('127.0.0.1')}:${node.ports.apiServer}`;
  const firstApi = controlPlanes(nodes)[0] as NodeRegistration;
  const apiServerUrl = node.roles.includes('controlplane') ? localApi : `https://${hostOf(firstApi.address)}:${firstApi.ports.apiServer}`;

  if (node.roles.includes('etcd')) {
    const etcd = await pair('etcd', { commonName: `etcd-${node.name}`, hosts, usage: 'peer' });
    const healthClient = await pair('etcd-healthcheck-client', { commonName: 'etcd-healthcheck-client', usage: 'client' });
    const membership = etcdMembership(input, etcdNodes);
    const member = membership.args;
    membershipPlan = { ...(membership.join ? { etcdJoin: membership.join } : {}), ...(membership.formerMembers.length > 0 ? { etcdFormerMembers: membership.formerMembers } : {}) };
    if (input.restore) restore = { ...input.restore, args: membership.restoreArgs };
    processes.push({
      name: 'etcd', binary: 'etcd',
      args: [
        '--data-dir=var/lib/etcd', ...member,
        `--listen-client-urls=https://${hostOf(node.address)}:${node.ports.etcdClient}${node.address === '127.0.0.1' ? '' : `,https://127.0.0.1:${node.ports.etcdClient}`}`,
        `--advertise-client-urls=https://${hostOf(node.address)}:${node.ports.etcdClient}`,
        `--listen-peer-urls=${peerUrl(node)}`,
        `--cert-file=${etcd.cert}`, `--key-file=${etcd.key}`, `--trusted-ca-file=${pki}/ca.crt`, '--client-cert-auth=true',
        `--peer-cert-file=${etcd.cert}`, `--peer-key-file=${etcd.key}`, `--peer-trusted-ca-file=${pki}/ca.crt`, '--peer-client-cert-auth=true',
        '--log-level=warn',
      ],
      // etcd answers /health only to clients with a certificate of the cluster CA.
      health: { kind: 'https', url: `https://127.0.0.1:${node.ports.etcdClient}/health`, caFile: `${pki}/ca.crt`, certFile: healthClient.cert, keyFile: healthClient.key },
    });
  }

  if (node.roles.includes('controlplane')) {
    const serving = await pair('apiserver', {
      commonName: 'kube-apiserver', usage: 'server',
      hosts: [...hosts, kubernetesServiceIp, 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    });
    const etcdClient = await pair('apiserver-etcd-client', { commonName: 'kube-apiserver-etcd-client', usage: 'client' });
    const kubeletClient = await pair('apiserver-kubelet-client', { commonName: 'kube-apiserver-kubelet-client', organization: 'system:masters', usage: 'client' });
    files.push({ path: `${pki}/service-account.key`, content: input.pki.serviceAccountKeyPem, mode: 0o600 });
    files.push({ path: `${pki}/service-account.pub`, content: publicKeyPem(input.pki.serviceAccountKeyPem), mode: 0o644 });
    files.push({ path: webhookConfigPath, content: input.webhook.config(`http://127.0.0.1:${node.ports.kubeApiAuth}/v1/authenticate`), mode: 0o644 });
    await kubeconfig(adminKubeconfigPath, localApi, { commonName: `drover-node-admin-${node.name}`, organization: 'system:masters' });
    await kubeconfig(`${k8s}/controller-manager.kubeconfig`, localApi, { commonName: 'system:kube-controller-manager' });
    await kubeconfig(`${k8s}/scheduler.kubeconfig`, localApi, { commonName: 'system:kube-scheduler' });
    const etcdServers = etcdNodes.map((n) => `https://${hostOf(n.address)}:${n.ports.etcdClient}`).join(',');
    processes.push({
      name: 'kube-apiserver', binary: 'kube-apiserver',
      args: [
        `--etcd-servers=${etcdServers}`, `--etcd-cafile=${pki}/ca.crt`, `--etcd-certfile=${etcdClient.cert}`, `--etcd-keyfile=${etcdClient.key}`,
        `--bind-address=${apiServerBindAddress(node.address)}`, `--advertise-address=${node.address}`, `--secure-port=${node.ports.apiServer}`,
        `--tls-cert-file=${serving.cert}`, `--tls-private-key-file=${serving.key}`, `--client-ca-file=${pki}/ca.crt`,
        `--kubelet-client-certificate=${kubeletClient.cert}`, `--kubelet-client-key=${kubeletClient.key}`, kubeletAddressTypes,
        `--service-cluster-ip-range=${serviceCidr}`,
        // A loopback address cannot be the `kubernetes` Service's endpoint; validation refuses it.
        ...(node.address.startsWith('127.') ? ['--endpoint-reconciler-type=none'] : []),
        '--authorization-mode=Node,RBAC', '--allow-privileged=true',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki}/service-account.pub`, `--service-account-signing-key-file=${pki}/service-account.key`,
        ...input.webhook.flags(webhookConfigPath),
        // Open watches would hold its shutdown past the node agent's 10 s stop grace (measured in a restore): drain them within 5 s.
        '--shutdown-watch-termination-grace-period=5s', '--v=1',
      ],
      health: { kind: 'https', url: `${localApi}/readyz`, caFile: `${pki}/ca.crt` },
    });
    processes.push({
      name: 'kube-api-auth', binary: 'drover',
      args: ['kube-api-auth', '--kubeconfig', adminKubeconfigPath, '--listen', `127.0.0.1:${node.ports.kubeApiAuth}`],
      health: { kind: 'running' },
    });
    processes.push({
      name: 'kube-controller-manager', binary: 'kube-controller-manager',
      args: [
        `--kubeconfig=${k8s}/controller-manager.kubeconfig`, '--leader-elect=true', '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki}/service-account.key`, `--root-ca-file=${pki}/ca.crt`,
        '--bind-address=127.0.0.1', `--secure-port=${node.ports.controllerManager}`, '--v=1',
      ],
      health: { kind: 'https', url: `https://127.0.0.1:${node.ports.controllerManager}/healthz`, insecure: true },
    });
    processes.push({
      name: 'kube-scheduler', binary: 'kube-scheduler',
      args: [`--kubeconfig=${k8s}/scheduler.kubeconfig`, '--leader-elect=true', '--bind-address=127.0.0.1', `--secure-port=${node.ports.scheduler}`, '--v=1'],
      health: { kind: 'https', url: `https://127.0.0.1:${node.ports.scheduler}/healthz`, insecure: true },
    });
  }

  if (node.roles.includes('worker')) {
    const kubelet = kubeletInvocation({
      kind: binaries.kubelet, nodeName: node.name, address: node.address,
      labels: Object.fromEntries(node.roles.map((r) => [`node-role.drover.dev/${r}`, 'true'])),
    });
    files.push(...kubelet.files);
    const identity = binaries.kubelet === 'kubelet'
      ? { commonName: `system:node:${node.name}`, organization: 'system:nodes' }
      : { commonName: `drover-test-kubelet-${node.name}`, organization: 'system:masters' };
    await kubeconfig(kubeletKubeconfigPath, apiServerUrl, identity);
    processes.push({ name: 'kubelet', binary: 'kubelet', args: kubelet.args, health: { kind: 'running' } });
  }

  const needed = new Set<BinaryName>(processes.flatMap((p) => (p.binary === 'drover' ? [] : [p.binary])));
  if (restore) needed.add('etcdutl');
  const plan: NodePlan = {
    clusterId: input.cluster.id, nodeName: node.name, id: planId(input), version: binaries.version,
    binaries: [...needed].map((name) => ({ name, sha256: binaries.sha256[name] })),
    files, processes, ...(restore ? { restore } : {}), ...membershipPlan,
    ...(node.roles.includes('controlplane') ? { tunnel: { apiServer: `${hostOf(node.address)}:${node.ports.apiServer}`, kubeconfig: adminKubeconfigPath } } : {}),
  };
  return { kind: 'plan', plan };
}

function kubeconfigYaml(server: string, caPem: string, user: KeyPair): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return stringify({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'local', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: 'node', user: { 'client-certificate-data': b64(user.certPem), 'client-key-data': b64(user.keyPem) } }],
    contexts: [{ name: 'local', context: { cluster: 'local', user: 'node' } }],
    'current-context': 'local',
  });
}
