/**
 * What the proxy lets go when a cluster stops being live (`ClusterControllers.onGone`),
 * so nothing leaks and nothing is cut early:
 * - the impersonation accounts' watch caches, on any reason: they are rebuilt on the
 *   next request once the cluster is back;
 * - the connection pool only when the cluster is deleted or its kube-apiserver replaced,
 *   never while it is only Unavailable (a hung apiserver, an agent reconnecting) or owned
 *   by another replica now:
 *   destroying the pool would cut every open watch and exec that outlives the hiccup.
 */
import type { ClusterLiveness } from '../clusters/index.ts';

export interface ClusterHeld {
  pools: { forget(clusterId: string): void };
  accounts: { forget(clusterId: string): Promise<void> };
}

export function dropWhenGone(clusters: Pick<ClusterLiveness, 'onGone'>, held: ClusterHeld): () => void {
  return clusters.onGone((clusterId, reason) => {
    void held.accounts.forget(clusterId);
    if (reason === 'deleted' || reason === 'replaced') held.pools.forget(clusterId);
  });
}
