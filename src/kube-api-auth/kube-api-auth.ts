/**
 * The `drover kube-api-auth` process: three watch-backed caches over the cluster
 * it runs in (ClusterAuthTokens, ClusterUserAttributes, the drover-ace ConfigMap
 * naming the cluster) and the webhook server that reads them. It only reads the
 * cluster, so it keeps answering with the Drover server gone; after its own
 * restart it lists again and refuses every token until that list is complete.
 */
import type { Logger } from 'pino';
import { KubeClient, WatchCache, resourcePath, resources, type KubeEndpoint } from '../kube/index.ts';
import type { ConfigMap } from '../kube/index.ts';
import { silentLogger } from '../logging/index.ts';
import { parseListenAddress, type HostPort } from '../addresses/index.ts';
import { aceConfigMapName, aceNamespace, clusterAuthTokens, clusterUserAttributes, type ClusterAuthToken, type ClusterUserAttribute } from './crds.ts';
import { TokenReviewAuthenticator } from './token-authenticator.ts';
import { WebhookServer } from './webhook-server.ts';

export interface KubeApiAuthOptions {
  endpoint: KubeEndpoint;
  /** `host:port`; default 127.0.0.1:6440. */
  listen?: string;
  logger?: Logger;
}

/** `--listen`: `HOST:PORT` or `[v6]:PORT`; the host is required (the webhook listens on loopback by default). */
export const parseListen = (listen: string): HostPort => parseListenAddress(listen, '--listen');

export class KubeApiAuth {
  private readonly client: KubeClient;
  private readonly tokens: WatchCache<ClusterAuthToken>;
  private readonly users: WatchCache<ClusterUserAttribute>;
  private readonly config: WatchCache<ConfigMap>;
  private readonly server: WebhookServer;
  private readonly listenAt: { host: string; port: number };
  private readonly logger: Logger;

  constructor(options: KubeApiAuthOptions) {
    this.logger = options.logger ?? silentLogger();
    this.listenAt = parseListen(options.listen ?? '127.0.0.1:6440');
    this.client = new KubeClient({ endpoint: options.endpoint, logger: this.logger });
    const backoff = { initialMs: 250, maxMs: 5_000 };
    this.tokens = new WatchCache<ClusterAuthToken>({ source: this.client, path: resourcePath(clusterAuthTokens), logger: this.logger, backoff });
    this.users = new WatchCache<ClusterUserAttribute>({ source: this.client, path: resourcePath(clusterUserAttributes), logger: this.logger, backoff });
    this.config = new WatchCache<ConfigMap>({
      source: this.client, path: resourcePath({ ...resources.configmaps, namespace: aceNamespace }),
      fieldSelector: `metadata.name=${aceConfigMapName}`, logger: this.logger, backoff,
    });
    const authenticator = new TokenReviewAuthenticator({
      records: {
        tokens: this.tokens, users: this.users,
        clusterId: () => this.config.get(aceNamespace, aceConfigMapName)?.data?.clusterId || undefined,
      },
    });
    this.server = new WebhookServer({
      authenticator, logger: this.logger,
      ready: () => this.tokens.hasSynced && this.users.hasSynced && this.config.hasSynced,
    });
  }

  /** Starts the caches and listens at once (refusing tokens until synced); returns the bound port. */
  async start(): Promise<number> {
    this.tokens.start();
    this.users.start();
    this.config.start();
    const port = await this.server.listen(this.listenAt.host, this.listenAt.port);
    this.logger.info({ listen: `${this.listenAt.host}:${port}` }, 'kube-api-auth listening');
    return port;
  }

  async close(): Promise<void> {
    await this.server.close();
    await Promise.all([this.tokens.close(), this.users.close(), this.config.close()]);
    await this.client.close();
  }
}
