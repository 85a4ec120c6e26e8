/**
 * The composition root: the one file that picks real implementations and hands
 * them to everything else. It is long because it wires the world; the logic
 * lives in the folders it calls.
 *
 * Seams for the features that come next (add them in `features()` below):
 *   (a) `raw`: a `(req, res)` handler for a path prefix, run before Fastify
 *       (the proxy at /k8s/clusters/);
 *   (b) `upgrade`: upgrade handlers by path prefix (tunnel at /v3/connect,
 *       exec/port-forward under /k8s/clusters/);
 *   (c) `apiPlugins`: Fastify route plugins (clusters API, access, providers).
 * One https server serves all three (see http-server.ts).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { buildApi, createMetrics, type ApiContext, type Metrics } from '../api/index.ts';
import { LiveRoutes, UiSessions } from '../http/index.ts';
import {
  GroupRefresher, ProviderService, RedirectLogins, bootstrapAdmin, createIdentity, providersApi, redirectLoginApi, type Identity,
} from '../identity/index.ts';
import type { Logger } from '../logging/index.ts';
import { createSecretBox, describeDbUrl, loadEncryptionKey, openStore, type SecretBox, type Store } from '../store/index.ts';
import { publicHost, type ServerConfig } from './config.ts';
import { httpsServerFactory, RequestsInFlight, type HttpRouting, type PrefixRoute, type RawHandler, type UpgradeHandler } from './http-server.ts';
import { loadOrCreateTls, type TlsMaterial } from './tls.ts';
import { assertCanListen, listenError } from './port-check.ts';
import { isWorker, listenForPeers, reportListening } from './workers.ts';
import { passwordNotice, startupSummary, summaryFields, type AdminBootstrap } from './startup-summary.ts';
import { createClustersFeature } from '../clusters/index.ts';
import { AceSettings, AceSync, aceApi, defaultWebhookUrl, kubeApiserverFlags, webhookConfig } from '../kube-api-auth/index.ts';
import { createProvisioningFeature } from '../provisioning/index.ts';
import { createProxyFeature, holdsConnection, kubeconfigTokenTtl, renderKubeconfig } from '../proxy/index.ts';
import { ShellSessions, locatePrograms, webShellApi } from '../web-shell/index.ts';
import { KubeImpersonationAccounts } from '../impersonation/index.ts';
import { AccessService, createAccessFeature } from '../access/index.ts';
import { createReplicasFeature, loadPeerCredentials, newReplicaId, peerServerName, sessionsByCluster, type PeerCredentials } from '../replicas/index.ts';
import { droverVersion } from '../version/index.ts';
import { DroverError } from '../errors/index.ts';
import { formatHostPort, parseHostPort } from '../addresses/index.ts';
import { LocalChangeFeed, LocalLease, PostgresChangeFeed, PostgresLease, type ChangeFeed, type Lease } from '../coordination/index.ts';
import { followChanges } from './replica-views.ts';
import { auditApi, createAuditTrail, SessionRecorder, type AuditTrail } from '../audit/index.ts';

/** What the features wired here can use. */
export interface ServerCore {
  config: ServerConfig;
  logger: Logger;
  store: Store;
  secrets: SecretBox;
  identity: Identity;
  /** External identity providers (LDAP, AD, GitHub, OIDC): settings, live instances, completeLogin. */
  providers: ProviderService;
  metrics: Metrics;
  /** Serving certificate and key, and the CA PEM /cacerts serves. */
  tls: TlsMaterial;
  /** The web UI's session settings, for the REST API and the proxy. */
  uiSessions: UiSessions;
  /** Every write that changes a replica's in-memory view is published here; other replicas' writes come in here. */
  changes: ChangeFeed;
  /** The audit trail (`--audit-*`); absent when no sink is configured. */
  audit?: AuditTrail;
  /** Exec and attach recordings (`--exec-recording`), in the database (`<data-dir>/recordings` holds an older server's, moved in at start). */
  recorder: SessionRecorder;
}

export interface Features {
  raw: PrefixRoute<RawHandler>[];
  upgrade: PrefixRoute<UpgradeHandler>[];
  apiPlugins: FastifyPluginAsyncTypebox[];
  /** Run on shutdown, before the store closes (stop controllers, close tunnels). */
  onClose: Array<() => Promise<void>>;
  /** Run once the listener is bound, with the address other replicas reach this process at. */
  onListen: Array<(advertised: string) => Promise<void>>;
  /** Which clusters a caller may scope a token to (POST /v1/tokens); none without it. */
  usableCluster?: ApiContext['usableCluster'];
  /** A kubeconfig token's lifetime under the kubeconfig settings (POST /v1/tokens with kind kubeconfig). */
  kubeconfigTokenTtl?: ApiContext['kubeconfigTokenTtl'];
  /** REST routes that need a cluster live, collected as the API registers them (src/http/live-routes.ts). */
  liveRoutes?: LiveRoutes;
}

export interface RunningServer {
  core: ServerCore;
  app: FastifyInstance;
  /** The port actually bound (useful with --listen HOST:0). */
  port: number;
  /** Graceful stop: stops accepting, finishes in-flight requests, closes the store. Idempotent. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  /** Where the start-up summary (URL, CA checksum, the one-off bootstrap password) is shown. */
  announce: (text: string) => void;
  /** The whole summary as text (readable logs); otherwise it is a log line and only a generated password is announced. */
  readableSummary?: boolean;
  /** Extra features for tests; production features are listed in features(). */
  extraFeatures?: Partial<Features>;
}

/** This process as a replica: its id and its peer certificate (src/replicas/). */
interface ReplicaIdentity { id: string; peer: PeerCredentials }

/** A loop that runs on one replica at a time (the holder is the replica id): the lease of `name` on PostgreSQL; always here on SQLite. */
function singletonLease(core: ServerCore, holderId: string, name: string): Lease {
  return core.store.kind === 'postgres'
    ? new PostgresLease({ db: core.store.db, name, holderId, logger: core.logger.child({ component: 'lease' }) }).start()
    : new LocalLease();
}

/** Expired tokens are deleted hourly, by one replica. */
function expiredTokenSweeper(core: ServerCore, holderId: string): () => Promise<void> {
  const lease = singletonLease(core, holderId, 'expired-tokens');
  const sweeper = setInterval(() => {
    if (!lease.held()) return;
    core.identity.tokens.deleteExpired().catch((error: unknown) => core.logger.warn({ err: error }, 'could not delete expired tokens'));
  }, 3600_000);
  sweeper.unref();
  return async () => {
    clearInterval(sweeper);
    await lease.close();
  };
}

/** The features Drover runs. Later issues add their proxy, tunnel and API plugins here. */
function features(core: ServerCore, replica: ReplicaIdentity): Features {
  // Access first: the clusters API and the proxy ask it who may see which cluster.
  const { changes } = core;
  const access = new AccessService(core.store.db, core.logger.child({ component: 'access' }), changes);
  // Replicas: presence (who holds which cluster's tunnel, who owns it) and the peer relay. The
  // closures read `clusters`, made just below; none runs before the listener is bound.
  const liveRoutes = new LiveRoutes();
  const replicas = createReplicasFeature({
    liveRoutes, id: replica.id, version: droverVersion, peer: replica.peer, db: core.store.db, authenticator: core.identity.authenticator, logger: core.logger,
    localSessions: () => sessionsByCluster(clusters.tunnel.sessions()),
    servesLocally: (clusterId) => clusters.controllers.servesLocally(clusterId),
    clusterIdOf: (idOrName) => clusters.service.get(idOrName).then((c) => c.id, () => undefined),
    ...(core.config.tuning.replicaHeartbeatMs === undefined ? {} : { heartbeatMs: core.config.tuning.replicaHeartbeatMs }),
  });
  const clusters = createClustersFeature({
    ownership: replicas.presence,
    changes,
    membership: access, db: core.store.db, secrets: core.secrets, identity: core.identity, logger: core.logger,
    publicUrl: core.config.publicUrl, caPem: core.tls.caPem,
    agentImage: core.config.agentImage,
    // A provisioned cluster's nodes go with it (`provisioning` is made below; this runs only on a delete).
    onDelete: (clusterId, toldNodes) => provisioning.clusterDeleted(clusterId, toldNodes),
    // A provisioned cluster's agents are its control-plane nodes: any kube-apiserver its CA verifies is admitted.
    provisionedCa: async (clusterId) => ((await provisioning.service.versionOf(clusterId)) === undefined ? undefined : provisioning.service.caPem(clusterId)),
    // The import manifest carries kube-api-auth while the cluster's authorized endpoint is on.
    kubeApiAuth: async (clusterId) => ((await aceSettings.get(clusterId)).mode === 'off' ? undefined : { listen: new URL(defaultWebhookUrl).host }),
    // Tests shorten the grace period; production keeps the default.
    ...(core.config.tuning.clusterGraceMs === undefined ? {} : { graceMs: core.config.tuning.clusterGraceMs }),
  });
  // Authorized cluster endpoint: token records of the users with access into every live cluster.
  const aceSync = new AceSync({
    tokens: core.identity.tokens, access, logger: core.logger.child({ component: 'ace-sync' }),
    clusters: clusters.controllers,
    ...(core.config.tuning.aceSyncMs === undefined ? {} : { intervalMs: core.config.tuning.aceSyncMs }),
  }).start();
  // ACE settings; aceSettings.contexts(cluster) gives `drover kubeconfig` its extra contexts.
  const aceSettings = new AceSettings({ db: core.store.db, clusters: clusters.service });
  // Clusters Drover builds on registered machines; their control planes get kube-api-auth's webhook, so node contexts exist at once.
  const provisioning = createProvisioningFeature({
    db: core.store.db, secrets: core.secrets, clusters: clusters.service, authenticator: core.identity.authenticator,
    publicUrl: core.config.publicUrl, caPem: core.tls.caPem, webhook: { config: webhookConfig, flags: kubeApiserverFlags },
    snapshotsDir: join(core.config.dataDir, 'snapshots'), sessionFor: (clusterId) => clusters.tunnel.sessionFor(clusterId),
    sessionsOf: (clusterId) => clusters.tunnel.sessionsOf(clusterId), drain: (clusterId, nodeName) => clusters.tunnel.drain(clusterId, nodeName),
    owns: (clusterId) => clusters.controllers.owned(clusterId) !== undefined, liveClient: (clusterId) => clusters.controllers.owned(clusterId)?.client,
    ownsTunnel: (clusterId) => replicas.presence.owns(clusterId), logger: core.logger,
    ...(core.config.kubernetesBinaries ? { binariesDir: core.config.kubernetesBinaries } : {}),
  });
  // The per-user impersonation accounts, below both features that use them: the proxy acts through them,
  // the RBAC reconciler creates and removes them as bindings change.
  const accounts = new KubeImpersonationAccounts({
    adminClient: (clusterId) => clusters.controllers.live(clusterId)?.client, logger: core.logger.child({ component: 'proxy' }),
  });
  // The authentication proxy at /k8s/clusters/.
  const proxy = createProxyFeature({
    identity: core.identity, uiSessions: core.uiSessions, accounts, clusters, membership: access, logger: core.logger,
    publicUrl: core.config.publicUrl, caPem: core.tls.caPem, kubeconfigDefaults: core.config.kubeconfigDefaults, db: core.store.db, aceContexts: async (clusterId) => [...await aceSettings.contexts(clusterId), ...await provisioning.aceContexts(clusterId)],
    responseHeaderTimeoutMs: core.config.proxyResponseHeaderTimeoutMs, changes, ...(core.audit ? { audit: core.audit } : {}),
    ...(core.config.audit.execRecording === 'off' ? {} : { recorder: core.recorder }),
  });
  // Projects, members, and their reconciliation into every live cluster's RBAC.
  const accessFeature = createAccessFeature({ access, clusters, accounts, identity: core.identity, principals: core.providers, logger: core.logger,
    ...(core.config.tuning.rbacResyncMs === undefined ? {} : { resyncMs: core.config.tuning.rbacResyncMs }) });
  const ace = aceApi({ settings: aceSettings, authenticator: core.identity.authenticator, access });
  // External identity providers: their routes, and the background group refresh (DROVER_PROVIDER_REFRESH_SECONDS).
  const refreshLease = singletonLease(core, replica.id, 'group-refresh');
  const refresher = new GroupRefresher({
    store: core.store, source: core.providers, login: core.providers.external, logger: core.logger.child({ component: 'group-refresh' }),
    intervalMs: core.config.providerRefreshMs, runHere: () => refreshLease.held(),
  }).start();
  const stopSweeper = expiredTokenSweeper(core, replica.id);
  const stopRecordingPrune = core.recorder.startPruning((error) => { core.logger.warn({ err: error }, 'could not prune old exec recordings, or move an older server\'s recording files into the database; check the database and the data dir'); });
  const providers = providersApi({ service: core.providers, authenticator: core.identity.authenticator });
  // Other replicas' writes: each event drops or re-reads the one view it names (PostgreSQL only).
  followChanges(changes, { identity: core.identity, access, kubeconfigSettings: proxy.settings, providers: core.providers, clusters });
  changes.start();
  // Browser logins through GitHub and OIDC (UI, CLI device-style, admin test login); their state is in the database, for every replica.
  const redirectLogins = redirectLoginApi({ providers: core.providers, authenticator: core.identity.authenticator, publicUrl: core.config.publicUrl, logger: core.logger.child({ component: 'redirect-login' }),
    logins: new RedirectLogins({ db: core.store.db, box: core.secrets }) });
  // The browser's kubectl console: the server's own kubectl and helm, against the proxy, as the user.
  const shells = new ShellSessions({
    tokens: core.identity.tokens, binaries: locatePrograms(core.config.programPath), logger: core.logger.child({ component: 'web-shell' }), replicaId: replica.id,
    kubeconfig: (clusterId, clusterName, token) => renderKubeconfig({ publicUrl: core.config.publicUrl, caPem: core.tls.caPem, clusterId, clusterName, credential: { type: 'token', token } }),
  });
  const shellApi = webShellApi({ authenticator: core.identity.authenticator, sessions: shells, clusters: clusters.service, membership: access });
  // A new or lost session is known to the other replicas at once, not at the next heartbeat.
  clusters.tunnel.on('session-up', () => replicas.presence.tunnelsChanged());
  clusters.tunnel.on('session-down', () => replicas.presence.tunnelsChanged());
  // Kubernetes requests for a cluster whose tunnel another replica holds are relayed there.
  const relayed = <H>(route: { prefix: string; handler: H }, wrap: (h: H) => H) => ({ prefix: route.prefix, handler: wrap(route.handler) });
  const relayRequest = (h: RawHandler): RawHandler => replicas.relay.request(h);
  return {
    raw: [...[proxy.raw, ...proxy.rootRaw].map((r) => relayed(r, relayRequest)),
      // REST calls that need the cluster live, from a replica without its session: relayed too; the rest go on to Fastify.
      { prefix: '/v1/clusters/', handler: (req, res, next) => replicas.restRelay(req, res, () => next?.()) }],
    upgrade: [clusters.upgrade, relayed(proxy.upgrade, (h: UpgradeHandler) => replicas.relay.upgrade(h))],
    apiPlugins: [...clusters.apiPlugins, ...proxy.apiPlugins, ...accessFeature.apiPlugins, ace, providers, redirectLogins, ...provisioning.apiPlugins, ...replicas.apiPlugins, shellApi,
      auditApi({ db: core.store.db, authenticator: core.identity.authenticator, clusters: clusters.service, recordings: core.recorder })],
    liveRoutes,
    usableCluster: async (user, idOrName) => {
      const cluster = await clusters.service.get(idOrName).catch(() => undefined);
      return cluster && await access.canAccessCluster(user, cluster.id) ? cluster.id : undefined;
    },
    kubeconfigTokenTtl: async (requested) => kubeconfigTokenTtl(await proxy.settings.current(), requested),
    onListen: [(advertised) => replicas.start(advertised)],
    // Replicas first: peers stop counting on this one before its tunnels close.
    onClose: [() => replicas.close(), () => shells.closeAll(), () => changes.close(), () => accessFeature.close(), () => proxy.close(), () => accounts.close(), () => aceSync.close(), () => provisioning.close(), () => clusters.close(), () => core.recorder.flushAll(), () => refresher.close(), () => refreshLease.close(), stopSweeper, () => { stopRecordingPrune(); return Promise.resolve(); },
      () => core.providers.close()],
  };
}

function merge(a: Features, b: Partial<Features> | undefined): Features {
  return {
    raw: [...a.raw, ...(b?.raw ?? [])],
    upgrade: [...a.upgrade, ...(b?.upgrade ?? [])],
    apiPlugins: [...a.apiPlugins, ...(b?.apiPlugins ?? [])],
    onClose: [...a.onClose, ...(b?.onClose ?? [])],
    onListen: [...a.onListen, ...(b?.onListen ?? [])],
    ...(a.usableCluster ? { usableCluster: a.usableCluster } : {}),
    ...(a.kubeconfigTokenTtl ? { kubeconfigTokenTtl: a.kubeconfigTokenTtl } : {}),
    ...(a.liveRoutes ? { liveRoutes: a.liveRoutes } : {}),
  };
}

/** The advertised address, with port 0 (`--listen HOST:0`) replaced by the port bound. */
function advertisedAddress(configured: string, port: number): string {
  const parsed = parseHostPort(configured, { portZero: true });
  return parsed && parsed.port === 0 ? formatHostPort(parsed.host, port) : configured;
}

async function openCore(config: ServerConfig, options: StartOptions, metrics: Metrics): Promise<{ core: ServerCore; admin: AdminBootstrap }> {
  const { logger } = options;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const tls = await loadOrCreateTls({
    dataDir: config.dataDir, publicHost: publicHost(config.publicUrl),
    ...(config.tlsCertFile ? { certFile: config.tlsCertFile } : {}),
    ...(config.tlsKeyFile ? { keyFile: config.tlsKeyFile } : {}),
    ...(config.tlsCaFile ? { caFile: config.tlsCaFile } : {}),
  });
  if (tls.created) logger.info({ dataDir: config.dataDir }, 'created the server CA and serving certificate');
  const store = await openStore({ dataDir: config.dataDir, ...(config.dbUrl ? { url: config.dbUrl } : {}) });
  logger.info({ db: describeDbUrl(config.dbUrl, config.dataDir), kind: store.kind }, 'store open');
  const encryptionKey = loadEncryptionKey(config.dataDir, config.encryptionKey);
  const secrets = createSecretBox(encryptionKey);
  // The UI's CSRF key comes from the encryption key, so every replica accepts every replica's sessions.
  const uiSessions = new UiSessions({ key: UiSessions.keyFromEncryptionKey(encryptionKey), publicUrl: config.publicUrl });
  // Replicas on one PostgreSQL tell each other what they changed; one process on SQLite has no one to tell.
  const changes: ChangeFeed = store.kind === 'postgres' && config.dbUrl
    ? new PostgresChangeFeed({ url: config.dbUrl, db: store.db, logger: logger.child({ component: 'change-feed' }), resyncMs: config.resyncMs })
    : new LocalChangeFeed();
  const identity = createIdentity({ store, logger, loginObserver: metrics.loginObserver, changes });
  const boot = await bootstrapAdmin(identity.users, config.bootstrapPassword);
  let admin: AdminBootstrap = { kind: 'existing' };
  if (boot?.generatedPassword !== undefined) {
    logger.warn({ username: 'admin' }, 'created the bootstrap admin with a random password, shown once on stderr');
    admin = { kind: 'generated', password: boot.generatedPassword };
  } else if (boot) {
    logger.info({ username: 'admin' }, 'created the bootstrap admin with DROVER_BOOTSTRAP_PASSWORD');
    admin = { kind: 'from-env' };
  }
  const providers = new ProviderService({ store, secrets, identity, logger: logger.child({ component: 'providers' }), publicUrl: config.publicUrl, changes });
  const audit = createAuditTrail({ config: config.audit, registry: metrics.registry, logger: logger.child({ component: 'audit' }), db: store.db, ...(store.file === undefined ? {} : { dbFile: store.file }) });
  const recorder = new SessionRecorder({ db: store.db, dir: join(config.dataDir, 'recordings'), mode: config.audit.execRecording, retentionMs: config.audit.execRecordingRetentionMs });
  return { core: { config, logger, store, secrets, identity, providers, metrics, tls: { certPem: tls.certPem, keyPem: tls.keyPem, caPem: tls.caPem }, uiSessions, changes, ...(audit ? { audit } : {}), recorder }, admin };
}

/** How long a graceful stop waits for requests being answered, and for the listener's connections to close. */
const drainMs = 10_000;

export async function startServer(config: ServerConfig, options: StartOptions): Promise<RunningServer> {
  // Before anything is created: a second server on a busy port leaves no data dir, database or admin behind.
  // (--workers: the primary checked it; the port is shared through it.)
  if (!isWorker()) await assertCanListen(config.listenHost, config.listenPort);
  const metrics = createMetrics();
  const { core, admin } = await openCore(config, options, metrics);
  const replicaId = newReplicaId();
  const peer = await loadPeerCredentials(core.store.db, core.secrets, replicaId);
  const wired = merge(features(core, { id: replicaId, peer }), options.extraFeatures);
  const inFlight = new RequestsInFlight();
  const routing: HttpRouting = { raw: wired.raw, upgrade: wired.upgrade, inFlight };
  let stopping = false;
  const app = await buildApi({
    identity: core.identity, metrics, caPem: core.tls.caPem, logger: options.logger, publicUrl: config.publicUrl,
    readiness: () => (stopping ? Promise.reject(new DroverError('DRV_ERR_SERVER_UNAVAILABLE', 'not ready: this server is shutting down; send requests to another replica')) : core.store.ping()), plugins: wired.apiPlugins, ...(core.audit ? { audit: core.audit } : {}), ...(wired.usableCluster ? { usableCluster: wired.usableCluster } : {}), ...(wired.kubeconfigTokenTtl ? { kubeconfigTokenTtl: wired.kubeconfigTokenTtl } : {}),
    passwordLogin: (provider, input) => core.providers.passwordLogin(provider, input), serverFactory: httpsServerFactory({ ...core.tls, peer: { ...peer, serverName: peerServerName } }, routing),
    uiSessions: core.uiSessions, ...(wired.liveRoutes ? { liveRoutes: wired.liveRoutes } : {}),
  });
  try {
    await app.listen({
      host: config.listenHost, port: config.listenPort, listenTextResolver: (address) => `https listener bound at ${address.replace(/^http:/, 'https:')}`,
    });
  } catch (error) {
    // Someone took the port after the probe: stop what was opened, say why.
    for (const stop of wired.onClose) await stop();
    await app.close();
    await core.audit?.close();
    await core.store.close();
    throw listenError(config.listenHost, config.listenPort, error);
  }
  const port = (app.server.address() as AddressInfo).port;
  // A worker of --workers shares its port with the others: peers reach it on a port of its own.
  const peers = isWorker() ? await listenForPeers(app.server, config.advertiseAddress) : undefined;
  const advertised = peers?.address ?? advertisedAddress(config.advertiseAddress, port);
  for (const started of wired.onListen) await started(advertised);
  reportListening();
  options.logger.info(summaryFields(config, port, core.tls.caPem, admin), 'drover server listening');
  if (options.readableSummary) options.announce(startupSummary(config, port, core.tls.caPem, admin));
  else if (admin.kind === 'generated') options.announce(passwordNotice(admin.password));
  let closing: Promise<void> | undefined;
  return {
    core, app, port,
    close() {
      closing ??= (async () => {
        // Not ready, still serving: load balancers that check /readyz (and Kubernetes
        // endpoints) stop sending new connections here before the listener closes.
        stopping = true;
        if (config.shutdownDelayMs > 0) {
          options.logger.info({ delaySeconds: config.shutdownDelayMs / 1000 }, 'shutting down: /readyz answers 503, still serving until the delay is over (--shutdown-delay)');
          await new Promise((r) => setTimeout(r, config.shutdownDelayMs));
        }
        // Graceful first: idle connections close, in-flight requests finish. Long
        // streams (watches, exec) would hold that forever, so they are cut after 10 s.
        const force = setTimeout(() => app.server.closeAllConnections(), drainMs);
        force.unref();
        const httpClosed = app.close();
        await peers?.close();
        // Requests being answered finish before the tunnels, relays and pools they use close;
        // watches and followed logs are cut with those (their clients open them again elsewhere).
        const left = await inFlight.settled((req) => holdsConnection(req.method ?? 'GET', req.url ?? ''), drainMs);
        if (left > 0) options.logger.warn({ requests: left, waitedSeconds: drainMs / 1000 }, 'shutting down with requests still being answered: they are cut');
        // Kept-alive connections that were busy when the listener closed are idle by now, and
        // nothing closes an idle one but its client: without this the stop waited for the 10 s cut.
        app.server.closeIdleConnections();
        // Upgraded connections (agent tunnels, exec) are not HTTP connections the
        // server can drain: the features close them, or the listener never finishes.
        for (const stop of wired.onClose) await stop();
        await httpClosed;
        clearTimeout(force);
        await core.audit?.close();
        await core.store.close();
        options.logger.info({}, 'drover server stopped');
      })();
      return closing;
    },
  };
}
