/**
 * What `drover clusters delete` removes from a reachable cluster: every object
 * Drover labelled as its own (RBAC it rendered, impersonation accounts, the
 * authorized cluster endpoint's CRDs and with them their records), then the
 * agent's namespace, and last the agent's own cluster-admin role, since the
 * deletion runs with that credential. Objects Drover did not create are never
 * touched: everything is selected by Drover's label or by its fixed names.
 */
import type { KubeClient, KubeObject } from '../kube/index.ts';
import { KubeApiError, resourcePath, resources } from '../kube/index.ts';
import { agentNamespace, managedByLabel } from '../agent-protocol/index.ts';

const selector = Object.entries(managedByLabel).map(([k, v]) => `${k}=${v}`).join(',');
const agentBinding = 'cattle-admin-binding';
const agentRole = 'cattle-admin';

async function ignoreNotFound(work: Promise<unknown>): Promise<void> {
  try {
    await work;
  } catch (error) {
    if (!(error instanceof KubeApiError && error.status === 404)) throw error;
  }
}

/** Removes Drover's objects; resolves with how many it deleted. */
export async function removeDroverObjects(client: KubeClient): Promise<number> {
  let deleted = 0;
  const remove = async (path: string): Promise<void> => {
    await ignoreNotFound(client.delete(path, { propagationPolicy: 'Background' }));
    deleted++;
  };
  for (const kind of [resources.rolebindings, resources.clusterrolebindings, resources.roles, resources.clusterroles]) {
    const list = await client.list<KubeObject>(resourcePath(kind), { labelSelector: selector });
    for (const item of list.items) {
      if (item.metadata.name === agentBinding || item.metadata.name === agentRole) continue;
      await remove(resourcePath({ ...kind, name: item.metadata.name, ...(item.metadata.namespace ? { namespace: item.metadata.namespace } : {}) }));
    }
  }
  const crds = await client.list<KubeObject>(resourcePath(resources.customresourcedefinitions), { labelSelector: selector });
  for (const crd of crds.items) await remove(resourcePath({ ...resources.customresourcedefinitions, name: crd.metadata.name }));
  const namespaces = await client.list<KubeObject>(resourcePath(resources.namespaces), { labelSelector: selector });
  for (const ns of namespaces.items) {
    if (ns.metadata.name !== agentNamespace) await remove(resourcePath({ ...resources.namespaces, name: ns.metadata.name }));
  }
  await remove(resourcePath({ ...resources.namespaces, name: agentNamespace }));
  // Deleting either the agent's role or its binding ends this credential's rights,
  // so the binding is first made owned by the role: deleting the role last lets
  // the cluster's garbage collector remove the binding.
  const rolePath = resourcePath({ ...resources.clusterroles, name: agentRole });
  const role = await client.get<KubeObject>(rolePath).catch(() => undefined);
  if (role?.metadata.uid) {
    await ignoreNotFound(client.patch(resourcePath({ ...resources.clusterrolebindings, name: agentBinding }), {
      metadata: { ownerReferences: [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: agentRole, uid: role.metadata.uid }] },
    }, { type: 'merge' }));
  }
  await remove(rolePath);
  return deleted;
}
