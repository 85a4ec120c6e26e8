/**
 * The credentials the agent hands the server: how to reach kube-apiserver from
 * inside the cluster, the CA that verifies it, and the token of the agent's own
 * `cattle` service account. The server stores that token encrypted and uses it for
 * Drover's own reconciliation; user requests never use it (they go through each
 * user's impersonation account).
 *
 * The account and its binding come from the import manifest in a real cluster; an
 * agent run with --kubeconfig applies the same objects itself. The token is a
 * service-account token Secret filled by the cluster's controller-manager, so it
 * survives agent restarts and can be revoked by deleting the Secret.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient, KubeEndpoint, Secret } from '../kube/index.ts';
import { KubeApiError, resourcePath, resources } from '../kube/index.ts';
import { agentAccountObjects, agentNamespace, agentServiceAccount, managedByLabel, type ClusterInfo } from '../agent-protocol/index.ts';
import { DroverError } from '../errors/index.ts';

const fieldManager = 'drover-agent';
export const agentTokenSecret = 'cattle-token';

interface KubeObjectLike { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }

const kindResources: Record<string, keyof typeof resources> = {
  Namespace: 'namespaces', ServiceAccount: 'serviceaccounts', ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings', Secret: 'secrets',
};

async function apply(client: KubeClient, object: KubeObjectLike): Promise<void> {
  const resource = kindResources[object.kind];
  if (!resource) throw new DroverError('DRV_ERR_INTERNAL', `the agent cannot apply kind ${object.kind}`);
  const path = resourcePath({ ...resources[resource], name: object.metadata.name, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}) });
  await client.patch(path, object, { type: 'apply', fieldManager, force: true });
}

/** Applies the agent's account and returns the filled service-account token. */
export async function ensureAgentAccount(client: KubeClient, options: { timeoutMs?: number } = {}): Promise<{ token: string; caPem: string | undefined }> {
  for (const object of agentAccountObjects()) await apply(client, object as KubeObjectLike);
  await apply(client, {
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token',
    metadata: {
      name: agentTokenSecret, namespace: agentNamespace, labels: { ...managedByLabel },
      annotations: { 'kubernetes.io/service-account.name': agentServiceAccount },
    },
  } as KubeObjectLike);
  const path = resourcePath({ ...resources.secrets, namespace: agentNamespace, name: agentTokenSecret });
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const secret = await client.get<Secret>(path).catch((error: unknown) => {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    });
    const token = secret?.data?.token;
    if (token) {
      const ca = secret.data?.['ca.crt'];
      return { token: Buffer.from(token, 'base64').toString(), caPem: ca ? Buffer.from(ca, 'base64').toString() : undefined };
    }
    if (Date.now() > deadline) {
      throw new DroverError('DRV_ERR_GATEWAY_TIMEOUT',
        `the token Secret ${agentNamespace}/${agentTokenSecret} was not filled in time; is kube-controller-manager running with a service-account private key?`);
    }
    await sleep(250);
  }
}

/** What the server needs: the apiserver address and CA the agent itself uses, and the account token. */
export function clusterInfoFor(endpoint: KubeEndpoint, account: { token: string; caPem: string | undefined }): ClusterInfo {
  const url = new URL(endpoint.server);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const caPem = endpoint.caPem ?? account.caPem;
  if (!caPem) {
    throw new DroverError('DRV_ERR_INVALID_ARGUMENT', 'no CA for kube-apiserver: the kubeconfig has none and the token Secret carries no ca.crt');
  }
  return { apiServer: `${url.hostname}:${port}`, caPem, token: account.token };
}
