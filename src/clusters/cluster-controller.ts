/**
 * One controller per cluster. It admits the cluster's agent sessions, keeps one
 * Kubernetes client to the cluster, and keeps its status true:
 *
 *   Pending ──agent admitted, apiserver answers──▶ Active
 *   Active ──last admitted session gone for longer than the grace period──▶ Unavailable (why)
 *   Active ──health probe fails twice in a row (hung or unreachable apiserver)──▶ Unavailable (why)
 *   Unavailable ──an admitted session, probe passes──▶ Active
 *
 * Admission (before a session carries anything): the agent reports how to reach
 * kube-apiserver; the controller asks that apiserver, through that session only and
 * over TLS verified by the reported CA, for its version and who the reported
 * credential is. The first verified report pins address, CA and account; any later
 * report that differs is refused (the agent is told why, the report is kept for an
 * admin to accept), so a registration-token holder cannot re-point the cluster.
 *
 * One client per pinned identity: it dials through whichever admitted session is
 * current, so sessions coming and going (two agent replicas, restarts) never close
 * it, nor the watch caches built on it here, in the proxy and in the reconcilers.
 * It is replaced only when an admin accepts a new kube-apiserver, or the cluster is
 * deleted.
 *
 * Events, so features need not poll (as `TunnelServer` emits `session-up`/`session-down`):
 * `onLive` when a cluster this replica owns turns Active here (and at once for every such
 * cluster when the listener subscribes): the controller work (RBAC, ACE sync) follows it.
 * `onGone` when that stops, with why: `unavailable` (its client stays and comes back with
 * it, so open watches through it may outlive the hiccup), `moved` (another replica owns it
 * now), `replaced` (an admin accepted another kube-apiserver: the old client is closed) or
 * `deleted`; the last two reach every replica, owner or not.
 *
 * With replicas (src/replicas/), every replica holding a session probes through it
 * (its proxy needs `live`), but only the cluster's owner (`ClusterOwnership`) runs
 * the controller work: status reports, node and event watches. A cluster turns
 * Unavailable only when no live replica holds a session for it: a replica that
 * merely has none of its own (a second replica starting, or one the agent never
 * reached) leaves the status alone.
 */
import type { Logger } from '../logging/index.ts';
import { KubeClient, WatchCache, resourcePath, resources, type Event, type Node, type UpstreamEndpoint } from '../kube/index.ts';
import { formatHostPort } from '../addresses/index.ts';
import type { AgentSessionView, SessionEndReason, SessionInfo, TunnelServer } from '../tunnel/index.ts';
import { clusterInfoRoute, parseClusterInfo, routeKey, type ClusterInfo } from '../agent-protocol/index.ts';
import { DroverError } from '../errors/index.ts';
import type { ClusterService, StatusUpdate } from './cluster-service.ts';
import { caFingerprint, canonicalCaBundle, identityDifferences, inspectThroughSession, type ApiServerIdentity } from './apiserver-identity.ts';
import { sayGoodbye } from './goodbye.ts';
import { totalCapacity } from './capacity.ts';
import { controlPlaneNodes } from './control-planes.ts';

/**
 * Which replica runs a cluster's controller work. A single server owns every
 * cluster it holds a session for (`localOwnership`); replicas/ answers from the database.
 */
export interface ClusterOwnership {
  owns(clusterId: string): boolean;
  /** Whether any live replica, this one included, holds an agent session for the cluster. */
  anyTunnel(clusterId: string): boolean;
  /** Brings the answers up to date now (after a local session ended). */
  refresh(): Promise<void>;
  onOwnershipChange(listener: () => void): () => void;
}

export interface ClusterControllersOptions {
  service: ClusterService;
  tunnel: Pick<TunnelServer, 'on' | 'dial' | 'sessionFor' | 'sessionsOf'>;
  logger: Logger;
  /** How long a cluster stays Active after its last tunnel drops (default 15 s). */
  graceMs?: number;
  /** How often the health probe asks kube-apiserver for /version (default 5 s). */
  probeIntervalMs?: number;
  /** How long a probe may take (default 4 s); two failures in a row make the cluster Unavailable. */
  probeTimeoutMs?: number;
  /** How long checking a new session's report may take (default 10 s). */
  verifyTimeoutMs?: number;
  /** Who owns which cluster (default: this server, for every cluster it holds a session for). */
  ownership?: ClusterOwnership;
  /**
   * The CA of a cluster Drover provisioned, undefined for an imported one. Such a
   * cluster has one kube-apiserver per control-plane node, each reported by its own
   * node's agent at its own address: any of them that this CA verifies (and whose
   * credential is the pinned account) is the cluster's, not only the first.
   */
  provisionedCa?: (clusterId: string) => Promise<string | undefined>;
}

type Settings = Required<Omit<ClusterControllersOptions, 'service' | 'tunnel' | 'logger' | 'ownership' | 'provisionedCa'>> & ClusterControllersOptions & { ownership: ClusterOwnership };

/** One server alone: it owns what it holds a session for, and nobody else holds any. */
export function localOwnership(tunnel: Pick<TunnelServer, 'sessionFor'>): ClusterOwnership {
  const has = (clusterId: string): boolean => tunnel.sessionFor(clusterId) !== undefined;
  return { owns: has, anyTunnel: has, refresh: () => Promise.resolve(), onOwnershipChange: () => () => undefined };
}

/** Why a cluster stopped being live; see the design note above. */
export type GoneReason = 'unavailable' | 'moved' | 'replaced' | 'deleted';

/** What features subscribe to instead of polling `live()`. */
export interface ClusterLiveness {
  /** Calls `listener` for every cluster live now, then whenever one turns Active; returns the unsubscribe. */
  onLive(listener: (clusterId: string, live: LiveCluster) => void): () => void;
  /** Calls `listener` whenever a cluster stops being live, or its client goes (`replaced`, `deleted`); returns the unsubscribe. */
  onGone(listener: (clusterId: string, reason: GoneReason) => void): () => void;
}

/** How a controller tells ClusterControllers' listeners. */
interface Announce {
  live(clusterId: string, live: LiveCluster): void;
  gone(clusterId: string, reason: GoneReason): void;
}

/** Everything the server knows live about one Active cluster. */
export interface LiveCluster {
  client: KubeClient;
  upstream: UpstreamEndpoint;
  info: ClusterInfo;
}

export class ClusterControllers implements ClusterLiveness {
  private readonly options: Settings;
  private readonly controllers = new Map<string, ClusterController>();
  private readonly unsubscribe: Array<() => void> = [];
  private readonly liveListeners = new Set<(clusterId: string, live: LiveCluster) => void>();
  private readonly goneListeners = new Set<(clusterId: string, reason: GoneReason) => void>();
  /** A listener that throws is logged and skipped: one feature's bug must not stop a controller or the others. */
  private readonly announce: Announce = {
    live: (clusterId, live) => { for (const listener of this.liveListeners) this.call(clusterId, () => listener(clusterId, live)); },
    gone: (clusterId, reason) => { for (const listener of this.goneListeners) this.call(clusterId, () => listener(clusterId, reason)); },
  };
  /** Clusters recorded Active that no live replica held a session for at the last check. */
  private readonly silent = new Set<string>();
  private checks = 0;

  constructor(options: ClusterControllersOptions) {
    this.options = { graceMs: 15_000, probeIntervalMs: 5_000, probeTimeoutMs: 4_000, verifyTimeoutMs: 10_000, ...options, ownership: options.ownership ?? localOwnership(options.tunnel) };
  }

  start(): void {
    const { tunnel } = this.options;
    this.unsubscribe.push(
      tunnel.on('session-up', (info) => this.controllers.get(info.identity.clusterId)?.sessionUp(info)),
      tunnel.on('session-down', (info, reason) => this.controllers.get(info.identity.clusterId)?.sessionDown(info, reason)),
      this.options.ownership.onOwnershipChange(() => {
        for (const [clusterId, controller] of this.controllers) controller.ownershipChanged(this.options.ownership.owns(clusterId));
      }),
    );
    // After a restart no tunnel exists yet: a cluster still recorded Active whose agent
    // reaches no replica within the grace period is not Active any more. Checked again
    // every grace period, for a cluster whose owner died with its agent.
    const started = new Date().toISOString();
    const check = setInterval(() => {
      void this.markSilentClusters(started);
      void this.endRevokedSessions();
    }, this.options.graceMs);
    check.unref();
    this.unsubscribe.push(() => clearInterval(check));
  }

  /** The tunnel's admission hook: resolves when `session` may carry the cluster's traffic, rejects with why not. */
  admit(session: AgentSessionView): Promise<void> {
    return this.controllerFor(session.info.identity.clusterId).admit(session);
  }

  /**
   * Ends this replica's agent sessions whose registration token their cluster no longer
   * accepts: rotated out with its grace period over, or the cluster gone. A session outlives
   * the check made when it connected, so without this "revoked now" would leave an impostor
   * that connected with a leaked token serving the cluster. Runs every grace period on every
   * replica (each ends its own), and at once where the rotation was made.
   */
  async endRevokedSessions(clusterIds: readonly string[] = [...this.controllers.keys()]): Promise<void> {
    const { service, tunnel, logger } = this.options;
    const sessions = clusterIds.flatMap((id) => tunnel.sessionsOf(id)).filter((s) => s.info.identity.credential !== undefined);
    if (sessions.length === 0) return;
    try {
      const accepted = await service.acceptedCredentials([...new Set(sessions.map((s) => s.info.identity.clusterId))]);
      for (const session of sessions) {
        const { clusterId, credential = '' } = session.info.identity;
        if (accepted.get(clusterId)?.has(credential)) continue;
        logger.warn({ cluster: clusterId, session: session.info.id, kind: session.info.identity.kind }, 'ended an agent session whose registration token was rotated out');
        session.destroy({ type: 'refused', message: 'its registration token was replaced by a rotation: run the agent with the cluster\'s current token' });
      }
    } catch (error) {
      logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'could not check agent sessions against their clusters\' registration tokens; the next check tries again');
    }
  }

  private async markSilentClusters(started: string): Promise<void> {
    const { service, ownership, logger } = this.options;
    const first = this.checks === 0;
    this.checks += 1;
    try {
      for (const id of await service.activeIds()) {
        if (ownership.anyTunnel(id)) {
          this.silent.delete(id);
          continue;
        }
        // Silent at two checks in a row (a grace period); at the first check, the start counts as the first.
        if (!first && !this.silent.has(id)) {
          this.silent.add(id);
          continue;
        }
        this.silent.delete(id);
        await ownership.refresh();
        if (ownership.anyTunnel(id)) continue;
        await service.updateStatus(id, {
          state: 'unavailable', tunnel: null,
          stateReason: first ? `no agent has connected to any replica since this server started at ${started}` : `no replica has held an agent session for it for ${Math.round(this.options.graceMs / 1000)} s`,
        });
      }
    } catch (error) {
      logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'could not check clusters after start');
    }
  }

  onLive(listener: (clusterId: string, live: LiveCluster) => void): () => void {
    this.liveListeners.add(listener);
    for (const [clusterId, controller] of this.controllers) {
      const { announced } = controller;
      if (announced) this.call(clusterId, () => listener(clusterId, announced));
    }
    return () => { this.liveListeners.delete(listener); };
  }

  onGone(listener: (clusterId: string, reason: GoneReason) => void): () => void {
    this.goneListeners.add(listener);
    return () => { this.goneListeners.delete(listener); };
  }

  private call(clusterId: string, notify: () => void): void {
    try {
      notify();
    } catch (error) {
      this.options.logger.error({ cluster: clusterId, err: error }, 'a cluster live/gone listener failed');
    }
  }

  /** The live connection to a cluster through this replica's sessions, or undefined while there is none. */
  live(clusterId: string): LiveCluster | undefined {
    return this.controllers.get(clusterId)?.live;
  }

  /** Whether this replica answers for the cluster itself: live, with an agent session of its own now. */
  servesLocally(clusterId: string): boolean {
    return this.live(clusterId) !== undefined && this.options.tunnel.sessionFor(clusterId) !== undefined;
  }

  /** The live connection when this replica also owns the cluster: what controller work (RBAC, ACE sync) runs on. */
  owned(clusterId: string): LiveCluster | undefined {
    return this.options.ownership.owns(clusterId) ? this.live(clusterId) : undefined;
  }

  /** Recent Warning events, newest first. */
  warnings(clusterId: string): Event[] {
    return this.controllers.get(clusterId)?.warnings() ?? [];
  }

  /** After an admin accepted a new kube-apiserver: the old client goes, sessions reporting the old one are closed. */
  async apiServerAccepted(clusterId: string): Promise<void> {
    await this.controllers.get(clusterId)?.pinChanged();
  }

  /** Stops following a deleted cluster. */
  async forget(clusterId: string): Promise<void> {
    const controller = this.controllers.get(clusterId);
    this.controllers.delete(clusterId);
    await controller?.close();
    this.announce.gone(clusterId, 'deleted');
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
      controller = new ClusterController(clusterId, this.options, this.announce);
      this.controllers.set(clusterId, controller);
    }
    return controller;
  }
}

/** The client for one pinned identity, and the credential it sends. */
interface Access {
  key: string;
  client: KubeClient;
  upstream: UpstreamEndpoint;
  info: ClusterInfo;
  version: string;
}

class ClusterController {
  live: LiveCluster | undefined;
  private access: Access | undefined;
  private nodes: WatchCache<Node> | undefined;
  private events: WatchCache<Event> | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private probeFailures = 0;
  private closed = false;
  /** The kube-apiserver version the last probe saw, for the owner's report. */
  private version = '';
  /** What `onLive` listeners were last told: live here and owned here. */
  announced: LiveCluster | undefined;
  private readonly logger: Logger;
  /** A provisioned cluster's CA fingerprint: its control-plane nodes' addresses are not pinned (see `provisionedCa`). */
  private provisionedCa: string | undefined;
  /** The kube-apiserver each admitted session reported: a provisioned node's agent dials only its own. */
  private readonly apiServers = new Map<string, string>();

  constructor(private readonly clusterId: string, private readonly options: Settings, private readonly announce: Announce) {
    this.logger = options.logger.child({ cluster: clusterId });
  }

  async admit(session: AgentSessionView): Promise<void> {
    if (this.closed) throw new DroverError('DRV_ERR_NOT_FOUND', `cluster ${this.clusterId} is being deleted`);
    const { service } = this.options;
    let info: ClusterInfo;
    try {
      const response = await session.request(clusterInfoRoute.method, clusterInfoRoute.path, { signal: AbortSignal.timeout(this.options.verifyTimeoutMs) });
      if (response.status !== 200) throw new Error(`the agent answered ${response.status} to ${routeKey(clusterInfoRoute)}`);
      const reported = parseClusterInfo(response.json());
      const caPem = canonicalCaBundle(reported.caPem);
      if (caPem === undefined) throw new DroverError('DRV_ERR_BAD_GATEWAY', 'the agent sent invalid cluster info: caPem must be a PEM bundle of 1 to 64 certificates');
      info = { ...reported, caPem };
    } catch (error) {
      return this.unreachable(error);
    }
    const pin = await service.pin(this.clusterId);
    const provisioned = await this.options.provisionedCa?.(this.clusterId);
    this.provisionedCa = provisioned === undefined ? undefined : caFingerprint(provisioned);
    // A provisioned cluster's CA is the one Drover made, whatever any agent reported first; the address is each node's own.
    const expected: Partial<ApiServerIdentity> | undefined = this.provisionedCa ? { caSha256: this.provisionedCa, ...(pin ? { account: pin.account } : {}) } : pin;
    const reported: ApiServerIdentity = { apiServer: info.apiServer, caSha256: caFingerprint(info.caPem), account: '' };
    const early = expected ? identityDifferences({ ...expected, account: reported.account }, reported) : [];
    // A report off the pin is refused whatever its apiserver says; asking it anyway
    // (its own credential to its own apiserver) only names the account for the admin.
    const seen = await inspectThroughSession(session, info, this.logger, this.options.verifyTimeoutMs)
      .catch((error: unknown) => (early.length > 0 ? undefined : this.unreachable(error)));
    const identity: Partial<ApiServerIdentity> = { apiServer: reported.apiServer, caSha256: reported.caSha256, ...(seen ? { account: seen.account } : {}) };
    const differences = expected ? identityDifferences(expected, identity) : [];
    if (differences.length > 0 || !seen) return this.refuse(session, identity, info.caPem, differences);
    if (!pin?.account && !(await service.pinFirst(this.clusterId, { apiServer: info.apiServer, caPem: info.caPem, account: seen.account }, pin))) {
      throw new DroverError('DRV_ERR_CONFLICT', 'another agent of this cluster registered first; reconnect to be checked against it');
    }
    await service.recordCredential(this.clusterId, info.token);
    this.apiServers.set(session.info.id, info.apiServer);
    if (!pin) this.logger.info({ apiServer: info.apiServer, account: seen.account }, 'kube-apiserver identity pinned at first registration');
    await this.useAccess(info, seen.version);
  }

  /** The report could not be checked (agent or apiserver not answering): the agent retries by reconnecting. */
  private async unreachable(error: unknown): Promise<never> {
    const message = error instanceof Error ? error.message : String(error);
    this.logger.warn({ error: message }, 'cannot check the agent\'s report through its session; it will reconnect');
    if (!this.options.ownership.anyTunnel(this.clusterId)) {
      await this.report({ state: 'unavailable', stateReason: `kube-apiserver unreachable through the agent: ${message}` });
    }
    throw new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', `kube-apiserver could not be reached through this agent: ${message}`);
  }

  private async refuse(session: AgentSessionView, identity: Partial<ApiServerIdentity>, caPem: string, differences: string[]): Promise<never> {
    const { service } = this.options;
    const cluster = await service.get(this.clusterId);
    const what = differences.join('; ');
    const message = `this agent reports a kube-apiserver other than the one pinned for cluster "${cluster.name}" at its first registration: ${what}. `
      + `The server refuses its session. If the cluster's kube-apiserver really changed, an admin accepts it with "drover clusters update ${cluster.name} `
      + '--accept-new-apiserver"; if not, this agent runs with a registration token that is not its cluster\'s (rotate a leaked token with '
      + `"drover clusters update ${cluster.name} --rotate-token")`;
    await service.recordConflict(this.clusterId, { apiServer: identity.apiServer ?? '', caSha256: identity.caSha256 ?? '', account: identity.account ?? '', caPem, differences });
    this.logger.warn({ session: session.info.id, remote: session.info.remoteAddress, differences }, 'agent refused: it reports a different kube-apiserver');
    if (!this.options.ownership.anyTunnel(this.clusterId)) {
      await this.report({ state: 'unavailable', stateReason: `refused an agent that reports a different kube-apiserver (${what}); see "drover clusters get ${cluster.name}"` });
    }
    await sayGoodbye(session, { reason: 'apiserver-changed', message }, this.logger);
    throw new DroverError('DRV_ERR_CONFLICT', message);
  }

  /** The client for the pinned identity: made once, kept across sessions; the credential follows the latest verified one. */
  private async useAccess(info: ClusterInfo, version: string): Promise<void> {
    // One client for all of a provisioned cluster's kube-apiservers: sessions of other nodes reuse it (see dialApiServer).
    const key = this.provisionedCa ? `provisioned\n${this.provisionedCa}` : `${info.apiServer}\n${caFingerprint(info.caPem)}`;
    if (this.access?.key !== key) {
      await this.dropAccess();
      this.access = { key, ...this.buildClient(info), info, version };
    }
    this.access.info = info;
    this.access.version = version;
    if (this.live) this.live = { ...this.live, info };
  }

  private buildClient(info: ClusterInfo): Pick<Access, 'client' | 'upstream'> {
    const client = new KubeClient({
      endpoint: {
        server: `https://${info.apiServer}`, caPem: info.caPem, token: () => this.access?.info.token ?? info.token,
        // Long-lived: this client's connections mostly hold the watch caches' watches, a dozen
        // per cluster, which would each cost a socket on both ends on a connection of their own.
        dial: (host, port, signal) => this.dialApiServer(formatHostPort(host, port), signal, true),
      },
      logger: this.logger,
    });
    const upstream: UpstreamEndpoint = {
      url: new URL(`https://${info.apiServer}`),
      caPem: info.caPem,
      dial: (signal, options) => this.dialApiServer(info.apiServer, signal, options?.longLived === true),
    };
    return { client, upstream };
  }

  /**
   * Dials kube-apiserver through the preferred session. A provisioned cluster's session
   * dials its own node's kube-apiserver (its agent may dial nothing else), so losing a
   * node moves the traffic to another's; each serves a certificate of the cluster CA for
   * 127.0.0.1, the address every node's agent reports, so TLS verifies the same name.
   */
  private dialApiServer(address: string, signal: AbortSignal | undefined, longLived = false): ReturnType<TunnelServer['dial']> {
    const { tunnel } = this.options;
    const own = this.provisionedCa ? this.apiServers.get(tunnel.sessionFor(this.clusterId)?.info.id ?? '') : undefined;
    return tunnel.dial(this.clusterId, own ?? address, { ...(signal ? { signal } : {}), ...(longLived ? { ownConnection: false } : {}) });
  }

  sessionUp(info: SessionInfo): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.logger.info({ kind: info.identity.kind, node: info.identity.nodeName, session: info.id }, 'agent admitted');
    void this.reportIfOwner({ tunnel: this.tunnelKind(), lastSeenAt: new Date().toISOString() });
    if (!this.probing) this.scheduleProbe(0);
  }

  sessionDown(info: SessionInfo, reason: SessionEndReason): void {
    this.apiServers.delete(info.id);
    this.logger.warn({ kind: info.identity.kind, node: info.identity.nodeName, session: info.id, reason: reason.type }, 'agent disconnected');
    if (this.options.tunnel.sessionFor(this.clusterId)) {
      void this.reportIfOwner({ tunnel: this.tunnelKind(), lastSeenAt: new Date().toISOString() });
      return;
    }
    // No session here any more: the controller work stops here (the proxy relays to a replica that has one).
    this.ownershipChanged(false);
    const at = new Date().toISOString();
    clearTimeout(this.graceTimer);
    // A restarting agent reconnects within seconds; do not flap the status for that. Another
    // replica may hold a session (a second agent, or this one reconnected elsewhere): then it is not ours to mark.
    this.graceTimer = setTimeout(() => void this.markIfNoReplicaHasSession(`cluster agent disconnected (${describe(reason)}) at ${at}`), this.options.graceMs);
    this.graceTimer.unref();
  }

  private async markIfNoReplicaHasSession(reason: string): Promise<void> {
    const { tunnel, ownership } = this.options;
    if (tunnel.sessionFor(this.clusterId)) return;
    this.live = undefined;
    this.announceChange('unavailable');
    await ownership.refresh();
    if (tunnel.sessionFor(this.clusterId) || ownership.anyTunnel(this.clusterId)) return;
    await this.report({ state: 'unavailable', stateReason: reason, tunnel: null, lastSeenAt: new Date().toISOString() });
    this.logger.warn({ reason }, 'cluster unavailable');
  }

  /**
   * This replica became (or stopped being) the cluster's owner: the owner watches nodes and
   * events and reports the status it sees; anyone else keeps only what its proxy needs.
   */
  ownershipChanged(owned: boolean): void {
    if (this.closed) return;
    if (!owned) {
      void this.stopWatching();
      this.announceChange('moved');
      return;
    }
    if (this.live && this.access) void this.markActive(this.access, this.version);
    else if (!this.probing && this.options.tunnel.sessionFor(this.clusterId)) this.scheduleProbe(0);
  }

  private scheduleProbe(delayMs: number): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => void this.probe(), delayMs);
    this.probeTimer.unref();
  }

  /**
   * The health probe: GET /version through the current session, bounded by a short
   * timeout. It runs while an admitted session exists; a hung kube-apiserver (or a
   * dead path to it) fails it twice in a row (the second attempt at once), so the
   * cluster turns Unavailable within interval + 2 × timeout.
   */
  private async probe(): Promise<void> {
    const access = this.access;
    if (this.closed || !access || !this.options.tunnel.sessionFor(this.clusterId)) return;
    this.probing = true;
    try {
      const version = await withinTime(this.options.probeTimeoutMs, (signal) => access.client.request<{ gitVersion?: string }>({ method: 'GET', path: '/version', signal }));
      this.probeFailures = 0;
      this.version = version.gitVersion ?? access.version;
      if (!this.live && this.access === access) await this.markActive(access, this.version);
      this.scheduleProbe(this.options.probeIntervalMs);
    } catch (error) {
      this.probeFailures += 1;
      const message = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${this.options.probeTimeoutMs} ms` : error instanceof Error ? error.message : String(error);
      this.logger.warn({ error: message, failures: this.probeFailures }, 'kube-apiserver health probe failed');
      if (this.probeFailures === 2) await this.markUnavailable(`kube-apiserver does not answer through the agent (GET /version: ${message}) since ${new Date().toISOString()}`);
      this.scheduleProbe(this.probeFailures === 1 ? 0 : this.options.probeIntervalMs);
    } finally {
      this.probing = false;
    }
  }

  /** Live here; the owner also watches and records it Active. */
  private async markActive(access: Access, version: string): Promise<void> {
    const live = { client: access.client, upstream: access.upstream, info: access.info };
    this.live = live;
    if (!this.options.ownership.owns(this.clusterId)) return;
    if (!this.nodes) this.startWatching(access.client);
    await this.report({ state: 'active', stateReason: '', kubernetesVersion: version, tunnel: this.tunnelKind(), lastSeenAt: new Date().toISOString() });
    this.logger.info({ version }, 'cluster active');
    // After the status is recorded, so a listener that reads the cluster sees it Active.
    if (this.live === live) this.announceChange('unavailable');
  }

  /** Tells the listeners when "live here and owned here" starts or stops; `why` names a stop. */
  private announceChange(why: GoneReason): void {
    const now = this.live && this.options.ownership.owns(this.clusterId) ? this.live : undefined;
    if (now && !this.announced) {
      this.announced = now;
      this.announce.live(this.clusterId, now);
    } else if (!now && this.announced) {
      this.announced = undefined;
      this.announce.gone(this.clusterId, why);
    }
  }

  /** Not live here any more; the owner records why. The client and its watches stay (they resume when the cluster is back). */
  private async markUnavailable(reason: string): Promise<void> {
    this.live = undefined;
    this.announceChange('unavailable');
    if (!this.options.ownership.owns(this.clusterId)) return;
    await this.report({ state: 'unavailable', stateReason: reason });
    this.logger.warn({ reason }, 'cluster unavailable');
  }

  private startWatching(client: KubeClient): void {
    this.nodes = new WatchCache<Node>({ source: client, path: resourcePath(resources.nodes), logger: this.logger }).start();
    this.nodes.onEvent(() => this.reportNodes());
    this.events = new WatchCache<Event>({
      source: client, path: resourcePath(resources.events), fieldSelector: 'type=Warning', logger: this.logger,
    }).start();
    // A cluster without nodes sends no event: its count is reported once listed.
    this.nodes.waitForSync().then(() => this.reportNodes(), () => undefined);
  }

  private reportNodes(): void {
    const nodes = this.nodes?.list() ?? [];
    void this.report({ nodeCount: nodes.length, capacity: totalCapacity(nodes), controlPlanes: controlPlaneNodes(nodes) });
  }

  warnings(): Event[] {
    return (this.events?.list() ?? [])
      .sort((a, b) => (b.lastTimestamp ?? b.metadata.creationTimestamp ?? '').localeCompare(a.lastTimestamp ?? a.metadata.creationTimestamp ?? ''))
      .slice(0, 50);
  }

  private async stopWatching(): Promise<void> {
    const caches = [this.nodes, this.events];
    this.nodes = undefined;
    this.events = undefined;
    await Promise.all(caches.flatMap((c) => (c ? [c.close()] : [])));
  }

  /** Watches, client and live view go (an accepted new kube-apiserver, or deletion). */
  private async dropAccess(): Promise<void> {
    const access = this.access;
    this.access = undefined;
    this.live = undefined;
    await this.stopWatching();
    await access?.client.close();
  }

  async pinChanged(): Promise<void> {
    const hadAccess = this.access !== undefined;
    await this.dropAccess();
    this.announced = undefined;
    // Every replica hears it, owner or not: their proxies hold pools to the old kube-apiserver.
    if (hadAccess) this.announce.gone(this.clusterId, 'replaced');
    // Sessions admitted against the old pin report the old kube-apiserver: they reconnect and are checked again.
    for (const session of this.options.tunnel.sessionsOf(this.clusterId)) session.destroy({ type: 'refused', message: 'an admin accepted another kube-apiserver' });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.graceTimer);
    clearTimeout(this.probeTimer);
    await this.dropAccess();
  }

  private tunnelKind(): 'cluster' | 'node' | null {
    return this.options.tunnel.sessionFor(this.clusterId)?.info.identity.kind ?? null;
  }

  private async reportIfOwner(update: StatusUpdate): Promise<void> {
    if (this.options.ownership.owns(this.clusterId)) await this.report(update);
  }

  private async report(update: StatusUpdate): Promise<void> {
    if (this.closed) return;
    await this.options.service.updateStatus(this.clusterId, update).catch((error: unknown) => {
      // A cluster deleted meanwhile has no row to update; anything else is worth a log line.
      this.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'could not record cluster status');
    });
  }
}

/**
 * Runs `work` with a signal that fires after `ms`, and gives up at that moment even if
 * `work` has not noticed yet (undici reports an abort only once a pending connect to a
 * hung peer ends, which its own connect timeout bounds, not ours).
 */
async function withinTime<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const signal = AbortSignal.timeout(ms);
  const answer = work(signal);
  answer.catch(() => undefined);
  const timedOut = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
  return Promise.race([answer, timedOut]);
}

function describe(reason: SessionEndReason): string {
  switch (reason.type) {
    case 'dead-peer': return `no answer for ${Math.round(reason.silentMs / 1000)}s`;
    case 'protocol-error': return `protocol error: ${reason.message}`;
    case 'refused': return `refused: ${reason.message}`;
    case 'closed-by-agent': return 'closed by the agent';
    case 'server-closing': return 'server shutting down';
    default: {
      const unknown: never = reason;
      return String(unknown);
    }
  }
}

