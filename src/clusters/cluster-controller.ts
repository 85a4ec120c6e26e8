/**
 * One controller per connected cluster. It follows the cluster's tunnel sessions
 * and keeps its status true:
 *
 *   Pending ──agent connects, apiserver answers──▶ Active
 *   Active ──last tunnel gone for longer than the grace period──▶ Unavailable (why)
 *   Active ──apiserver unreachable through the agent──▶ Unavailable (why)
 *   Unavailable ──agent back, apiserver answers──▶ Active
 *
 * On every (re)connection it asks the agent how to reach kube-apiserver, stores
 * that (credential encrypted), and checks it through the tunnel before calling the
 * cluster Active. Nodes, capacity and warning events come from watches, not
 * polling. The cluster agent's tunnel is preferred; a node agent's tunnel keeps
 * the cluster reachable when the cluster agent is gone, and the status says which
 * one carries traffic.
 */
import type { Logger } from '../shared/log.ts';
import { KubeClient, WatchCache, resourcePath, resources, type Event, type Node } from '../kube/index.ts';
import { formatHostPort, type SessionEndReason, type SessionInfo, type TunnelServer } from '../tunnel/index.ts';
import { clusterInfoRoute, parseClusterInfo, routeKey, type ClusterInfo } from '../shared/agent-protocol.ts';
import type { UpstreamEndpoint } from '../proxy/upstream.ts';
import type { ClusterService, StatusUpdate } from './cluster-service.ts';
import { totalCapacity } from './capacity.ts';

export interface ClusterControllersOptions {
  service: ClusterService;
  tunnel: TunnelServer;
  logger: Logger;
  /** How long a cluster stays Active after its last tunnel drops (default 15 s). */
  graceMs?: number;
  /** Wait between attempts to reach kube-apiserver while a tunnel is up (default 10 s). */
  retryMs?: number;
}

/** Everything the server knows live about one connected cluster. */
export interface LiveCluster {
  client: KubeClient;
  upstream: UpstreamEndpoint;
  info: ClusterInfo;
}

export class ClusterControllers {
  private readonly options: Required<Omit<ClusterControllersOptions, 'service' | 'tunnel' | 'logger'>> & ClusterControllersOptions;
  private readonly controllers = new Map<string, ClusterController>();
  private readonly unsubscribe: Array<() => void> = [];

  constructor(options: ClusterControllersOptions) {
    this.options = { graceMs: 15_000, retryMs: 10_000, ...options };
  }

  start(): void {
    const { tunnel } = this.options;
    this.unsubscribe.push(
      tunnel.on('session-up', (info) => this.controllerFor(info.identity.clusterId).sessionUp(info)),
      tunnel.on('session-down', (info, reason) => this.controllers.get(info.identity.clusterId)?.sessionDown(info, reason)),
    );
    // After a restart no tunnel exists yet: a cluster still recorded Active whose
    // agent does not come back within the grace period is not Active any more.
    const started = new Date().toISOString();
    const check = setTimeout(() => void this.markSilentClusters(started), this.options.graceMs);
    check.unref();
    this.unsubscribe.push(() => clearTimeout(check));
  }

  private async markSilentClusters(since: string): Promise<void> {
    const { service, tunnel, logger } = this.options;
    try {
      for (const cluster of await service.list()) {
        if (cluster.state !== 'active' || tunnel.sessionFor(cluster.id)) continue;
        await service.updateStatus(cluster.id, {
          state: 'unavailable', tunnel: null,
          stateReason: `no agent has connected since the server started at ${since}`,
        });
      }
    } catch (error) {
      logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'could not check clusters after start');
    }
  }

  /** The live connection to a cluster, or undefined while it is not connected. */
  live(clusterId: string): LiveCluster | undefined {
    return this.controllers.get(clusterId)?.live;
  }

  /** Recent Warning events, newest first. */
  warnings(clusterId: string): Event[] {
    return this.controllers.get(clusterId)?.warnings() ?? [];
  }

  /** Stops following a deleted cluster. */
  async forget(clusterId: string): Promise<void> {
    const controller = this.controllers.get(clusterId);
    this.controllers.delete(clusterId);
    await controller?.close();
  }

  async close(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    const all = [...this.controllers.values()];
    this.controllers.clear();
    await Promise.all(all.map((c) => c.close()));
  }

  private controllerFor(clusterId: string): ClusterController {
    let controller = this.controllers.get(clusterId);
    if (!controller) {
      controller = new ClusterController(clusterId, this.options);
      this.controllers.set(clusterId, controller);
    }
    return controller;
  }
}

class ClusterController {
  live: LiveCluster | undefined;
  private nodes: WatchCache<Node> | undefined;
  private events: WatchCache<Event> | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private readonly logger: Logger;

  constructor(private readonly clusterId: string, private readonly options: ClusterControllersOptions & { graceMs: number; retryMs: number }) {
    this.logger = options.logger.child({ cluster: clusterId });
  }

  sessionUp(info: SessionInfo): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.logger.info({ kind: info.identity.kind, node: info.identity.nodeName }, 'agent connected');
    if (this.live) {
      void this.report({ tunnel: this.tunnelKind(), lastSeenAt: new Date().toISOString() });
      return;
    }
    this.connect();
  }

  sessionDown(info: SessionInfo, reason: SessionEndReason): void {
    this.logger.warn({ kind: info.identity.kind, node: info.identity.nodeName, reason: reason.type }, 'agent disconnected');
    const remaining = this.options.tunnel.sessionFor(this.clusterId);
    if (remaining) {
      void this.report({ tunnel: this.tunnelKind(), lastSeenAt: new Date().toISOString() });
      return;
    }
    void this.report({ tunnel: null, lastSeenAt: new Date().toISOString() });
    clearTimeout(this.graceTimer);
    // A restarting agent reconnects within seconds; do not flap the status for that.
    this.graceTimer = setTimeout(() => {
      if (this.options.tunnel.sessionFor(this.clusterId)) return;
      void this.disconnect(`cluster agent disconnected (${describe(reason)}) at ${new Date().toISOString()}`);
    }, this.options.graceMs);
    this.graceTimer.unref();
  }

  warnings(): Event[] {
    return (this.events?.list() ?? [])
      .sort((a, b) => (b.lastTimestamp ?? b.metadata.creationTimestamp ?? '').localeCompare(a.lastTimestamp ?? a.metadata.creationTimestamp ?? ''))
      .slice(0, 50);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.graceTimer);
    clearTimeout(this.retryTimer);
    await this.stopWatching();
  }

  private connect(): void {
    this.connecting ??= this.establish().finally(() => { this.connecting = undefined; });
  }

  /** Asks the agent for access, checks the apiserver through the tunnel, starts the watches. */
  private async establish(): Promise<void> {
    const { service, tunnel } = this.options;
    try {
      const session = tunnel.sessionFor(this.clusterId);
      if (!session) return;
      const response = await session.request(clusterInfoRoute.method, clusterInfoRoute.path);
      if (response.status !== 200) throw new Error(`the agent answered ${response.status} to ${routeKey(clusterInfoRoute)}`);
      const info = parseClusterInfo(response.json());
      await service.recordAccess(this.clusterId, info);
      const live = this.buildLive(info);
      const version = await live.client.get<{ gitVersion: string }>('/version');
      if (this.closed) return void (await live.client.close());
      await this.stopWatching();
      this.live = live;
      await this.startWatching(live.client);
      await this.report({
        state: 'active', stateReason: '', kubernetesVersion: version.gitVersion,
        tunnel: this.tunnelKind(), lastSeenAt: new Date().toISOString(),
      });
      this.logger.info({ version: version.gitVersion }, 'cluster active');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn({ error: message }, 'cannot reach the cluster through its agent; retrying');
      await this.report({ state: 'unavailable', stateReason: `kube-apiserver unreachable through the agent: ${message}` });
      this.retryTimer = setTimeout(() => { if (!this.live && !this.closed) this.connect(); }, this.options.retryMs);
      this.retryTimer.unref();
    }
  }

  private buildLive(info: ClusterInfo): LiveCluster {
    const { tunnel } = this.options;
    const clusterId = this.clusterId;
    const client = new KubeClient({
      endpoint: {
        server: `https://${info.apiServer}`, caPem: info.caPem, token: info.token,
        dial: (host, port, signal) => tunnel.dial(clusterId, formatHostPort(host, port), signal ? { signal } : {}),
      },
      logger: this.logger,
    });
    const upstream: UpstreamEndpoint = {
      url: new URL(`https://${info.apiServer}`),
      caPem: info.caPem,
      dial: (signal) => tunnel.dial(clusterId, info.apiServer, signal ? { signal } : {}),
    };
    return { client, upstream, info };
  }

  private async startWatching(client: KubeClient): Promise<void> {
    this.nodes = new WatchCache<Node>({ source: client, path: resourcePath(resources.nodes), logger: this.logger }).start();
    this.nodes.onEvent(() => this.reportNodes());
    this.events = new WatchCache<Event>({
      source: client, path: resourcePath(resources.events), fieldSelector: 'type=Warning', logger: this.logger,
    }).start();
    await this.nodes.waitForSync(AbortSignal.timeout(30_000)).catch(() => undefined);
    this.reportNodes();
  }

  private reportNodes(): void {
    const nodes = this.nodes?.list() ?? [];
    void this.report({ nodeCount: nodes.length, capacity: totalCapacity(nodes) });
  }

  private async stopWatching(): Promise<void> {
    const caches = [this.nodes, this.events];
    this.nodes = undefined;
    this.events = undefined;
    const live = this.live;
    this.live = undefined;
    await Promise.all(caches.flatMap((c) => (c ? [c.close()] : [])));
    await live?.client.close();
  }

  private async disconnect(reason: string): Promise<void> {
    await this.stopWatching();
    await this.report({ state: 'unavailable', stateReason: reason, tunnel: null });
    this.logger.warn({ reason }, 'cluster unavailable');
  }

  private tunnelKind(): 'cluster' | 'node' | null {
    return this.options.tunnel.sessionFor(this.clusterId)?.info.identity.kind ?? null;
  }

  private async report(update: StatusUpdate): Promise<void> {
    if (this.closed) return;
    await this.options.service.updateStatus(this.clusterId, update).catch((error: unknown) => {
      // A cluster deleted meanwhile has no row to update; anything else is worth a log line.
      this.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'could not record cluster status');
    });
  }
}

function describe(reason: SessionEndReason): string {
  switch (reason.type) {
    case 'dead-peer': return `no answer for ${Math.round(reason.silentMs / 1000)}s`;
    case 'protocol-error': return `protocol error: ${reason.message}`;
    case 'replaced': return 'replaced by a newer connection';
    case 'closed-by-agent': return 'closed by the agent';
    case 'server-closing': return 'server shutting down';
    default: {
      const unknown: never = reason;
      return String(unknown);
    }
  }
}
