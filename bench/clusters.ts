/**
 * The clusters benches send requests to, made one way each:
 * - `directCluster`: kube-apiserver reached by a plain TCP dial (no agent, no tunnel),
 *   for benches that run the proxy's handlers in process;
 * - `registerBenchCluster`: a cluster registered on a real replica set, its agent
 *   connected to one replica, and a member's token, for benches of whole servers.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeClient } from '../src/kube/index.ts';
import type { ProxyCluster } from '../src/proxy/index.ts';
import { eventually, kubectl, type ControlPlaneState } from '../test/testenv/index.ts';
import type { ReplicaSet } from '../test/testenv/replicas.ts';
import type { ClusterView, Registration } from '../test/testenv/drover.ts';

export function directCluster(state: ControlPlaneState, admin: KubeClient): ProxyCluster {
  const apiserver = new URL(state.url);
  return {
    client: admin, adminToken: state.adminToken,
    upstream: {
      url: apiserver, caPem: state.caPem,
      dial: () => new Promise((resolve, reject) => {
        const s = net.connect(Number(apiserver.port), apiserver.hostname, () => resolve(s));
        s.once('error', reject);
      }),
    },
  };
}

/** Registers a cluster whose agent dials `agentServerUrl`, waits until kubectl gets through, and returns a small GET's path and the token to send. */
export async function registerBenchCluster(set: ReplicaSet, kubeconfigPath: string, agentServerUrl: string, prefix: string): Promise<{ path: string; token: string }> {
  const created = JSON.parse(await set.cli('clusters', 'create', `${prefix}-${randomBytes(3).toString('hex')}`, '-o', 'json')) as { cluster: ClusterView; registration: Registration };
  set.startAgent(created.registration, kubeconfigPath, agentServerUrl);
  await set.waitForState(created.cluster.name, 'active');
  const kubeconfig = join(set.dir, `${prefix}.kubeconfig`);
  await set.cli('kubeconfig', created.cluster.name, '--file', kubeconfig);
  const token = /token: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1] ?? '';
  await eventually('the proxy to answer', async () => ((await kubectl(['get', 'ns', 'default'], { kubeconfig })).code === 0 ? true : undefined), 60_000);
  return { path: `/k8s/clusters/${created.cluster.id}/api/v1/namespaces/default`, token };
}
