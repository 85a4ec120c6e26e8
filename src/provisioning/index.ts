/**
 * provisioning/: clusters Drover builds on the user's machines ("custom"
 * clusters). The server plans (planner.ts), keeps each cluster's CA and signs
 * every node certificate (cluster-pki.ts), and serves the Kubernetes binaries
 * (binaries.ts); a node agent (node-agent.ts, run by `drover agent --mode node
 * --roles ...`) registers, fetches and checks the binaries, writes its plan's
 * files and starts and supervises the processes, reporting each step. See
 * README.md for the design note and docs/provisioning.md for the driver interface.
 */
import type { Kysely } from 'kysely';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Database, SecretBox } from '../store/index.ts';
import type { ClusterService } from '../clusters/index.ts';
import type { TokenAuthenticator } from '../identity/index.ts';
import { KubernetesBinaries } from './binaries.ts';
import { ProvisioningService } from './provisioning-service.ts';
import { provisioningApi } from './provisioning-api.ts';
import type { WebhookFiles } from './planner.ts';

export { KubernetesBinaries, binaryNames, testKubeletMarker, type BinaryName, type BinarySet } from './binaries.ts';
export { ProvisioningService, type ProvisionedNode } from './provisioning-service.ts';
export { NodeAgent, type NodeAgentOptions } from './node-agent.ts';
export { parseRoles, roleNames, type Role, type NodePlan, type NodeProgress } from './plan.ts';
export { kubeletInvocation, kubeletConfiguration } from './kubelet-config.ts';
export type { WebhookFiles } from './planner.ts';

export interface ProvisioningFeatureOptions {
  db: Kysely<Database>;
  secrets: SecretBox;
  clusters: ClusterService;
  /** `--kubernetes-binaries`; without it no custom cluster can be created. */
  binariesDir?: string;
  authenticator: TokenAuthenticator;
  publicUrl: string;
  caPem: string;
  webhook: WebhookFiles;
}

/** One kubeconfig context straight at a control-plane node's kube-apiserver. */
export interface NodeContext { name: string; server: string; caPem: string }

export interface ProvisioningFeature {
  service: ProvisioningService;
  apiPlugins: FastifyPluginAsyncTypebox[];
  /** Direct-access contexts of a provisioned cluster: one per control-plane node, on by default. */
  aceContexts(clusterId: string): Promise<NodeContext[]>;
  /**
   * A deleted cluster: its node agents that held a tunnel were told and uninstall
   * themselves; the others are named (never silently forgotten), then all is forgotten.
   */
  clusterDeleted(clusterId: string, toldNodes: string[]): Promise<string>;
}

export function createProvisioningFeature(options: ProvisioningFeatureOptions): ProvisioningFeature {
  const binaries = new KubernetesBinaries(options.binariesDir);
  const service = new ProvisioningService({ db: options.db, secrets: options.secrets, clusters: options.clusters, binaries, webhook: options.webhook });
  return {
    service,
    apiPlugins: provisioningApi({ service, clusters: options.clusters, binaries, authenticator: options.authenticator, publicUrl: options.publicUrl, caPem: options.caPem }),
    aceContexts: async (clusterId) => {
      if ((await service.versionOf(clusterId)) === undefined) return [];
      const [cluster, caPem, nodes] = await Promise.all([options.clusters.get(clusterId), service.caPem(clusterId), service.nodes(clusterId)]);
      return nodes.flatMap((node) => (node.apiServerPort === undefined ? [] : [{
        name: `${cluster.name}-${node.name}`,
        server: `https://${node.address.includes(':') ? `[${node.address}]` : node.address}:${node.apiServerPort}`,
        caPem,
      }]));
    },
    clusterDeleted: async (clusterId, toldNodes) => {
      if ((await service.versionOf(clusterId)) === undefined) return '';
      const nodes = await service.nodes(clusterId);
      await service.forget(clusterId);
      const unreached = nodes.filter((n) => !toldNodes.includes(n.name)).map((n) => `${n.name} (${n.address})`);
      const told = nodes.length - unreached.length;
      return `; ${told} node agent(s) told to stop their processes and remove their data dir`
        + (unreached.length > 0 ? `; NOT REACHED (no tunnel now): ${unreached.join(', ')}: stop their node agent and remove its --data-dir by hand` : '');
    },
  };
}
