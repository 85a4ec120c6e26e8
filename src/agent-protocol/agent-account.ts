/**
 * The agent's account in each cluster: its namespace, service account and
 * cluster-admin binding, labelled as Drover's. The server's import manifest creates
 * them and an agent started with --kubeconfig applies the same objects itself, so
 * they are defined here, once, for both (the agent then loads no server code:
 * README.md of src/tunnel, "What it costs").
 */

/** Label on every object Drover owns in a downstream cluster. */
export const managedByLabel = { 'app.kubernetes.io/managed-by': 'drover' } as const;

/** Where the agents and their credentials live in each cluster. */
export const agentNamespace = 'cattle-system';
export const agentServiceAccount = 'cattle';

/** Metadata of an object of the agents': in their namespace unless cluster-wide, labelled as Drover's. */
export function agentObjectMeta(name: string, namespaced = true): Record<string, unknown> {
  return { name, ...(namespaced ? { namespace: agentNamespace } : {}), labels: { ...managedByLabel } };
}

/** The agent's namespace, service account and cluster-admin binding. */
export function agentAccountObjects(): object[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: agentObjectMeta(agentNamespace, false) },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: agentObjectMeta(agentServiceAccount) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: agentObjectMeta('cattle-admin', false),
      rules: [
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        { nonResourceURLs: ['*'], verbs: ['*'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: agentObjectMeta('cattle-admin-binding', false),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cattle-admin' },
      subjects: [{ kind: 'ServiceAccount', name: agentServiceAccount, namespace: agentNamespace }],
    },
  ];
}
