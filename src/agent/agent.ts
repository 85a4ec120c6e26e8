/**
 * `drover agent`: runs inside a downstream cluster (or beside it, with
 * --kubeconfig), dials out to the server and holds the tunnel.
 *
 * Trusts: the server only after its CA matches --ca-checksum (no system-store
 * fallback once a checksum is given). Refuses: any tunnel dial other than the one
 * kube-apiserver address it reported, so the server can never use the agent to
 * reach anything else in the cluster's network. Never sees plaintext API traffic
 * (TLS runs end to end through the tunnel) and never holds user identities.
 */
import { hostname } from 'node:os';
import type { Logger } from '../shared/log.ts';
import { KubeClient, endpointFromKubeconfig, inClusterEndpoint, type KubeEndpoint } from '../kube/index.ts';
import { TunnelClient, fetchPinnedCa, parseHostPort } from '../tunnel/index.ts';
import { agentHeaders, clusterInfoRoute, routeKey, tunnelConnectPath, type ClusterInfo } from '../shared/agent-protocol.ts';
import { InvalidArgumentError } from '../shared/errors.ts';
import { clusterInfoFor, ensureAgentAccount } from './agent-credentials.ts';

export interface AgentOptions {
  serverUrl: string;
  registrationToken: string;
  /** Hex SHA-256 of the server's /cacerts; when absent the system trust store verifies the server. */
  caChecksum?: string;
  /** Run outside the cluster with this kubeconfig; in a pod the service account is used. */
  kubeconfig?: string;
  mode: 'cluster' | 'node';
  nodeName?: string;
  logger: Logger;
  /** Reconnect backoff (defaults suit production: 1 s growing to 30 s, with jitter). */
  backoff?: { initialMs: number; maxMs: number };
}

export class Agent {
  private readonly options: AgentOptions;
  private tunnel: TunnelClient | undefined;
  private client: KubeClient | undefined;

  constructor(options: AgentOptions) {
    if (!/^https:\/\//.test(options.serverUrl)) throw new InvalidArgumentError('--server', 'an https:// URL', options.serverUrl);
    if (!options.registrationToken) throw new InvalidArgumentError('--token', 'the cluster\'s registration token');
    if (options.mode !== 'cluster' && options.mode !== 'node') throw new InvalidArgumentError('--mode', '"cluster" or "node"', options.mode);
    this.options = options;
  }

  /** Prepares credentials, then connects; resolves once the first tunnel is up. */
  async start(): Promise<void> {
    const { options } = this;
    const endpoint: KubeEndpoint = options.kubeconfig ? endpointFromKubeconfig(options.kubeconfig) : inClusterEndpoint();
    this.client = new KubeClient({ endpoint, logger: options.logger });
    const account = await ensureAgentAccount(this.client);
    const info = clusterInfoFor(endpoint, account);
    const ca = options.caChecksum ? await fetchPinnedCa(options.serverUrl, options.caChecksum) : undefined;
    const api = parseHostPort(info.apiServer);
    if (!api) throw new InvalidArgumentError('kube-apiserver address', 'host:port', info.apiServer);
    const nodeName = options.mode === 'node' ? options.nodeName ?? hostname() : undefined;

    const tunnel = new TunnelClient({
      serverUrl: options.serverUrl,
      connectPath: tunnelConnectPath,
      headers: () => ({
        [agentHeaders.token]: options.registrationToken,
        [agentHeaders.kind]: options.mode,
        ...(nodeName ? { [agentHeaders.node]: nodeName } : {}),
      }),
      ...(ca ? { ca } : {}),
      allow: (host, port) => host === api.host && port === api.port,
      handlers: { [routeKey(clusterInfoRoute)]: () => ({ body: info satisfies ClusterInfo }) },
      logger: options.logger,
      backoff: options.backoff ?? { initialMs: 1_000, maxMs: 30_000 },
    });
    this.tunnel = tunnel;
    const connected = new Promise<void>((resolve) => {
      const off = tunnel.on('connected', () => { off(); resolve(); });
    });
    tunnel.on('connected', () => options.logger.info({ server: options.serverUrl, mode: options.mode }, 'tunnel connected'));
    tunnel.on('disconnected', (reason, retryInMs) => options.logger.warn({ reason, retryInMs }, 'tunnel disconnected'));
    tunnel.start();
    await connected;
  }

  async close(): Promise<void> {
    await this.tunnel?.close();
    await this.client?.close();
  }
}
