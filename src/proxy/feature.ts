/** Puts the proxy together from what the server has: identity, the clusters feature, membership. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Identity } from '../identity/index.ts';
import type { UiSessions } from '../http/index.ts';
import type { Logger } from '../logging/index.ts';
import type { ClustersFeature } from '../clusters/index.ts';
import { clusterPathPrefix, rootKubePrefixes } from './cluster-path.ts';
import { createProxyHandlers, recheckAccess, type ClusterMembership, type ProxyClusters, type ProxyDeps } from './chain.ts';
import { followAccessChanges, OpenStreams } from './open-streams.ts';
import type { KubeImpersonationAccounts } from '../impersonation/index.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
import { KubeconfigSettingsStore, type KubeconfigSettings } from './kubeconfig-settings.ts';
import { settingsApi } from './settings-api.ts';
import { proxyApi, type ProxyApiOptions } from './proxy-api.ts';
import { UpstreamPools } from './upstream.ts';
import type { ChangePublisher } from '../coordination/index.ts';
import { dropWhenGone } from './cluster-gone.ts';

export interface ProxyFeatureOptions {
  identity: Identity;
  /** The web UI's session settings (the same as the REST API's), so the UI's cookie reaches the proxy. */
  uiSessions: UiSessions;
  /** The per-user impersonation accounts (built and closed by the server, shared with the RBAC reconciler). */
  accounts: KubeImpersonationAccounts;
  clusters: Pick<ClustersFeature, 'service' | 'controllers'>;
  /** Who may use which cluster; `onChange` names the cluster whose members changed (undefined: every cluster). */
  membership: ClusterMembership & { onChange(listener: (clusterId: string | undefined) => void): () => void };
  logger: Logger;
  publicUrl: string;
  caPem: string;
  /** The kubeconfig token settings until an admin saves some (`DROVER_KUBECONFIG_*`, read by the server's config). */
  kubeconfigDefaults: KubeconfigSettings;
  /** Where the kubeconfig settings an admin saves are kept. */
  db: Kysely<Database>;
  /** Authorized cluster endpoint contexts for generated kubeconfigs (kube-api-auth's AceSettings). */
  aceContexts?: ProxyApiOptions['aceContexts'];
  /** How long a proxied request waits for the cluster's response head (ms; `--proxy-response-header-timeout`); 0: no bound. */
  responseHeaderTimeoutMs?: number;
  /** How often open streams are checked again without an event (ms; default 2 s). */
  streamRecheckMs?: number;
  /** Where settings changes are published for other replicas (the change feed). */
  changes?: ChangePublisher;
  /** The audit trail proxied requests are recorded in; absent: not recorded. */
  audit?: ProxyDeps['audit'];
  /** Records exec and attach sessions; absent: not recorded. */
  recorder?: ProxyDeps['recorder'];
}

export interface ProxyFeature {
  /** Proxied requests and upgrades open now; `accessChanged` is where another replica's changes come in (issue #19). */
  streams: OpenStreams;
  /** Kubeconfig token settings (`/v1/settings/kubeconfig`). */
  settings: KubeconfigSettingsStore;
  raw: { prefix: string; handler: (req: IncomingMessage, res: ServerResponse) => void };
  /** `/api`, `/apis`, `/version`, `/openapi/` at the root, for `kubectl get --raw` with a cluster's kubeconfig. */
  rootRaw: Array<{ prefix: string; handler: (req: IncomingMessage, res: ServerResponse) => void }>;
  upgrade: { prefix: string; handler: (req: IncomingMessage, socket: Duplex, head: Buffer) => void };
  apiPlugins: FastifyPluginAsyncTypebox[];
  close(): Promise<void>;
}

export function createProxyFeature(options: ProxyFeatureOptions): ProxyFeature {
  const logger = options.logger.child({ component: 'proxy' });
  const { service, controllers } = options.clusters;
  const adminClient = (clusterId: string) => controllers.live(clusterId)?.client;
  const { accounts } = options;
  const responseHeaderTimeoutMs = options.responseHeaderTimeoutMs ?? 60_000;
  const pools = new UpstreamPools({ connectTimeoutMs: responseHeaderTimeoutMs });
  const clusters: ProxyClusters = {
    live: (clusterId) => {
      const live = controllers.live(clusterId);
      return live && { upstream: live.upstream, client: live.client, adminToken: live.info.token };
    },
    describe: (clusterId) => service.get(clusterId),
  };
  const { authenticator } = options.identity;
  // Open streams are checked again, with the chain's own rules, whenever access may have been taken away.
  const streams = new OpenStreams({
    recheck: recheckAccess({ authenticator, membership: options.membership }), logger,
    ...(options.streamRecheckMs === undefined ? {} : { intervalMs: options.streamRecheckMs }),
  });
  const unfollow = followAccessChanges(streams, { tokens: authenticator, membership: options.membership });
  const handlers = createProxyHandlers({
    authenticator, uiSessions: options.uiSessions, membership: options.membership, clusters, accounts, pools, streams, responseHeaderTimeoutMs, logger,
    ...(options.audit ? { audit: options.audit } : {}), ...(options.recorder ? { recorder: options.recorder } : {}),
  });
  const settings = new KubeconfigSettingsStore({
    db: options.db, defaults: options.kubeconfigDefaults, ...(options.changes ? { changes: options.changes } : {}),
  });
  // No leaks: what the proxy holds for a cluster goes when the cluster does (see cluster-gone.ts).
  const offGone = dropWhenGone(controllers, { pools, accounts });
  return {
    streams,
    settings,
    raw: { prefix: clusterPathPrefix, handler: handlers.request },
    rootRaw: rootKubePrefixes.map((prefix) => ({ prefix, handler: handlers.request })),
    upgrade: { prefix: clusterPathPrefix, handler: handlers.upgrade },
    apiPlugins: [proxyApi({
      authenticator: options.identity.authenticator, clusters: service, tokens: options.identity.tokens, users: options.identity.users,
      membership: options.membership, adminClient, settings, publicUrl: options.publicUrl, caPem: options.caPem,
      ...(options.aceContexts ? { aceContexts: options.aceContexts } : {}),
    }), settingsApi({ settings, authenticator: options.identity.authenticator })],
    close: async () => {
      offGone();
      unfollow();
      streams.close();
      await pools.close();
    },
  };
}
