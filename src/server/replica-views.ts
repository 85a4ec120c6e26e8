/**
 * Which in-memory view each change-feed event drops or re-reads (src/coordination/).
 * Every handler applies another replica's change here only: none of them publishes
 * again. The proxy's open streams need no line of their own: they are re-checked by
 * the token cache's and the access service's own announcements, which these calls
 * trigger (`OpenStreams` follows both).
 */
import type { AccessService } from '../access/index.ts';
import type { ClustersFeature } from '../clusters/index.ts';
import type { ChangeFeed } from '../coordination/index.ts';
import { DroverError } from '../errors/index.ts';
import type { Identity, ProviderService } from '../identity/index.ts';
import type { KubeconfigSettingsStore } from '../proxy/index.ts';

export interface ReplicaViews {
  identity: Pick<Identity, 'authenticator' | 'users'>;
  access: Pick<AccessService, 'reloadCluster' | 'reloadAll'>;
  kubeconfigSettings: Pick<KubeconfigSettingsStore, 'invalidate'>;
  providers: Pick<ProviderService, 'forget'>;
  clusters: Pick<ClustersFeature, 'service' | 'controllers' | 'dismissAgents'>;
}

export function followChanges(feed: ChangeFeed, views: ReplicaViews): void {
  const { authenticator, users } = views.identity;
  feed.on('tokens', (tokenId) => authenticator.dropToken(tokenId));
  // The user's cached tokens go; the admin set and the reconciler hear of the row as it is now.
  feed.on('users', async (userId) => {
    authenticator.dropUser(userId);
    await users.refresh(userId);
  });
  feed.on('bindings', (clusterId) => views.access.reloadCluster(clusterId));
  feed.on('role_templates', () => views.access.reloadAll());
  feed.on('settings', () => views.kubeconfigSettings.invalidate());
  feed.on('auth_providers', (name) => views.providers.forget(name));
  feed.on('clusters', async (clusterId) => {
    const { service, controllers } = views.clusters;
    const exists = await service.get(clusterId).then(() => true, (error: unknown) => {
      if (error instanceof DroverError && error.code === 'DRV_ERR_NOT_FOUND') return false;
      throw error;
    });
    // Deleted: its agents connected here exit (as those of the replica that deleted it did), and it is served
    // here no more (its bindings went with it). Otherwise an admin accepted another kube-apiserver.
    if (exists) await controllers.apiServerAccepted(clusterId);
    else {
      await views.clusters.dismissAgents(clusterId);
      await controllers.forget(clusterId);
      await views.access.reloadCluster(clusterId);
    }
  });
  feed.on('registration_tokens', (clusterId) => views.clusters.controllers.endRevokedSessions([clusterId]));
  feed.onResync(async (reason) => {
    // Events may have been lost while disconnected: every cached token is read again (the
    // periodic pass needs not: the cache re-reads every entry after 5 s anyway).
    if (reason === 'connected') authenticator.clear();
    views.kubeconfigSettings.invalidate();
    await views.access.reloadAll();
  });
}
