/** The custom engine as a ProvisioningDriver: machines the user registers with the node command. */
import type { ClusterService } from '../clusters/index.ts';
import type { DriverRegistration, ProvisioningDriver } from './driver.ts';
import type { ProvisioningService } from './provisioning-service.ts';
import { nodeCommand } from '../agent-protocol/index.ts';

export function customDriver(options: { service: ProvisioningService; clusters: Pick<ClusterService, 'get' | 'registrationToken'>; publicUrl: string; caChecksum: string }): ProvisioningDriver {
  const { service } = options;
  const registration = (token: string): DriverRegistration => {
    const join = { server: options.publicUrl, token, caChecksum: options.caChecksum };
    return { ...join, nodeCommand: nodeCommand(join) };
  };
  return {
    name: 'custom',
    create: async (spec) => {
      const { cluster, registrationToken } = await service.createCustom(spec);
      return { cluster, registration: registration(registrationToken) };
    },
    registration: async (clusterId) => registration(await options.clusters.registrationToken(clusterId)),
    versionOf: (clusterId) => service.versionOf(clusterId),
    nodes: (clusterId) => service.nodes(clusterId),
    aceContexts: async (clusterId) => {
      if ((await service.versionOf(clusterId)) === undefined) return [];
      const [cluster, caPem, nodes] = await Promise.all([options.clusters.get(clusterId), service.caPem(clusterId), service.nodes(clusterId)]);
      return nodes.flatMap((node) => (node.apiServerPort === undefined ? [] : [{
        name: `${cluster.name}-${node.name}`,
        server: `https://${node.address.includes(':') ? `[${node.address}]` : node.address}:${node.apiServerPort}`,
        caPem,
      }]));
    },
    deleted: async (clusterId, toldNodes) => {
      if ((await service.versionOf(clusterId)) === undefined) return '';
      const nodes = await service.nodes(clusterId);
      await service.forget(clusterId);
      const unreached = nodes.filter((n) => !toldNodes.includes(n.name)).map((n) => `${n.name} (${n.address})`);
      return `; ${nodes.length - unreached.length} node agent(s) told to stop their processes and remove their data dir`
        + (unreached.length > 0 ? `; NOT REACHED (no tunnel now): ${unreached.join(', ')}: stop their node agent and remove its --data-dir by hand` : '');
    },
  };
}
