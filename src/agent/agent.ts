/**
 * `drover agent`: runs inside a downstream cluster (or beside it, with
 * --kubeconfig), dials out to the server and holds the tunnel.
 *
 * Trusts: the server only after its CA matches --ca-checksum (no system-store
 * fallback once a checksum is given). Refuses: any tunnel dial other than the one
 * kube-apiserver address it reported, so the server can never use the agent to
 * reach anything else in the cluster's network. Never sees plaintext API traffic
 * (TLS runs end to end through the tunnel) and never holds user identities.
 *
 * Stops by itself (`finished`) when retrying cannot help: the server answers 401
 * (registration token unknown, rotated out or expired: only an operator can fix
 * that, and the server's answer says how), or it says the cluster was deleted. A
 * server that refuses the agent's kube-apiserver report is retried with a growing
 * wait (an admin may accept the change), and the reason is logged as an error.
 */
import { hostname } from 'node:os';
import type { Logger } from '../logging/index.ts';
import { KubeClient, endpointFromKubeconfig, inClusterEndpoint, type KubeEndpoint } from '../kube/index.ts';
import { parseHostPort } from '../addresses/index.ts';
import { TunnelClient, fetchPinnedCa, type TunnelHandlers } from '../tunnel/index.ts';
import {
  agentHeaders, clusterInfoRoute, goodbyeRoute, parseGoodbye, routeKey, tunnelConnectPath, type ClusterInfo,
} from '../agent-protocol/index.ts';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';
import { clusterInfoFor, ensureAgentAccount } from './agent-credentials.ts';

/** How long a stopping agent lets open streams finish before it cuts them. */
const closeGraceMs = 5_000;

export interface AgentOptions {
  serverUrl: string;
  registrationToken: string;
  /** Hex SHA-256 of the server's /cacerts; when absent the system trust store verifies the server. */
  caChecksum?: string;
  /** Run outside the cluster with this kubeconfig; in a pod the service account is used. */
  kubeconfig?: string;
  mode: 'cluster' | 'node';
  nodeName?: string;
  /** The command's environment: in a pod, where KUBERNETES_SERVICE_HOST/PORT say how to reach kube-apiserver. */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** More routes the server may call on this agent's session (a provisioned node's etcd snapshot). */
  handlers?: TunnelHandlers;
  /** Reconnect backoff (defaults suit production: 1 s growing to 30 s, with jitter). */
  backoff?: { initialMs: number; maxMs: number };
}

/** Why the agent stopped by itself: `error` when an operator must act (exit non-zero). */
export interface AgentStop { error: boolean; message: string }

export class Agent {
  private readonly options: AgentOptions;
  private tunnel: TunnelClient | undefined;
  private client: KubeClient | undefined;
  private stopWith: ((stop: AgentStop) => void) | undefined;
  /** Resolves when the agent stopped by itself (never on close()). */
  readonly finished = new Promise<AgentStop>((resolve) => { this.stopWith = resolve; });

  constructor(options: AgentOptions) {
    if (!/^https:\/\//.test(options.serverUrl)) throw new InvalidArgumentError('--server', 'an https:// URL', options.serverUrl);
    if (!options.registrationToken) throw new InvalidArgumentError('--token', 'the cluster\'s registration token');
    if (options.mode !== 'cluster' && options.mode !== 'node') throw new InvalidArgumentError('--mode', '"cluster" or "node"', options.mode);
    const transport = options.env.DROVER_TUNNEL_TRANSPORT;
    if (transport !== undefined && transport !== 'auto' && transport !== 'websocket') throw new InvalidArgumentError('DROVER_TUNNEL_TRANSPORT', '"auto" or "websocket"', transport);
    const dataConnections = options.env.DROVER_TUNNEL_DATA_CONNECTIONS;
    if (dataConnections !== undefined && dataConnections !== 'on' && dataConnections !== 'off') throw new InvalidArgumentError('DROVER_TUNNEL_DATA_CONNECTIONS', '"on" or "off"', dataConnections);
    this.options = options;
  }

  /** Prepares credentials, then connects; resolves once the first tunnel is up. */
  async start(): Promise<void> {
    const { options } = this;
    const endpoint: KubeEndpoint = options.kubeconfig ? endpointFromKubeconfig(options.kubeconfig) : inClusterEndpoint({ env: options.env });
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
      // `websocket` skips the offer of HTTP/2 on the upgraded socket, for a proxy that
      // answers it slowly or oddly instead of refusing it (the fallback covers a refusal).
      ...(options.env.DROVER_TUNNEL_TRANSPORT === 'websocket' ? { transport: 'websocket' as const } : {}),
      // `off` keeps every dial on its HTTP/2 stream, for a proxy or firewall that limits
      // how many connections an agent may hold (one more per connection to kube-apiserver).
      ...(options.env.DROVER_TUNNEL_DATA_CONNECTIONS === 'off' ? { dataConnections: false } : {}),
      headers: () => ({
        [agentHeaders.token]: options.registrationToken,
        [agentHeaders.kind]: options.mode,
        ...(nodeName ? { [agentHeaders.node]: nodeName } : {}),
      }),
      ...(ca ? { ca } : {}),
      allow: (host, port) => host === api.host && port === api.port,
      handlers: {
        ...options.handlers,
        [routeKey(clusterInfoRoute)]: () => ({ body: info satisfies ClusterInfo }),
        [routeKey(goodbyeRoute)]: (request) => this.onGoodbye(request.body),
      },
      logger: options.logger,
      backoff: options.backoff ?? { initialMs: 1_000, maxMs: 30_000 },
    });
    this.tunnel = tunnel;
    const connected = new Promise<void>((resolve) => {
      const off = tunnel.on('connected', () => { off(); resolve(); });
    });
    tunnel.on('connected', () => options.logger.info({ server: options.serverUrl, mode: options.mode }, 'tunnel connected'));
    tunnel.on('disconnected', (reason, retryInMs) => {
      if (reason.type === 'refused' && reason.status === 401) {
        return this.stop({ error: true, message: `the server refused the registration token: ${reason.message || 'unauthorized'}` });
      }
      options.logger.warn({ reason, retryInMs }, 'tunnel disconnected');
    });
    tunnel.start();
    const stoppedFirst = await Promise.race([connected.then(() => undefined), this.finished]);
    if (stoppedFirst) throw new DroverError('DRV_ERR_UNAUTHENTICATED', stoppedFirst.message);
  }

  /** The server's last word on a session (see agentProtocol's goodbyeRoute). */
  private onGoodbye(body: Buffer): { status: number } {
    let goodbye;
    try {
      goodbye = parseGoodbye(JSON.parse(body.toString('utf8')));
    } catch {
      goodbye = undefined;
    }
    if (!goodbye) return { status: 400 };
    if (goodbye.reason === 'cluster-deleted') this.stop({ error: false, message: goodbye.message });
    else this.options.logger.error({ server: this.options.serverUrl }, `the server refused this agent: ${goodbye.message}`);
    return { status: 204 };
  }

  private stop(stop: AgentStop): void {
    if (stop.error) this.options.logger.error({ server: this.options.serverUrl }, `${stop.message}. The agent stops: retrying cannot help`);
    else this.options.logger.info({ server: this.options.serverUrl }, `${stop.message}. The agent stops`);
    // After the handler has answered the server, so the goodbye is acknowledged first;
    // at once, not gracefully: streams the server still holds open would never end.
    setImmediate(() => {
      this.tunnel?.destroy();
      void (this.client?.close() ?? Promise.resolve()).finally(() => this.stopWith?.(stop));
    });
  }

  /**
   * Lets the tunnel's open streams finish for up to `graceMs`, then drops the rest: a
   * watch never ends by itself, and a stopping pod must be gone well within its grace
   * period (30 s by default), so the cut watches re-watch through another agent.
   */
  async close(graceMs = closeGraceMs): Promise<void> {
    const tunnel = this.tunnel;
    if (tunnel) {
      const grace = setTimeout(() => {
        this.options.logger.info({ graceMs }, 'streams still open at the end of the stop grace (watches, exec): cutting them; their clients retry through another agent');
        tunnel.destroy();
      }, graceMs);
      await tunnel.close().finally(() => clearTimeout(grace));
    }
    await this.client?.close();
  }
}
