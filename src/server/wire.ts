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
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { buildApi, createMetrics, type ApiContext, type Metrics } from '../api/index.ts';
import { UiSessions } from '../http/index.ts';
import {
  GroupRefresher, ProviderService, bootstrapAdmin, createIdentity, providersApi, redirectLoginApi, refreshIntervalMs, type Identity,
} from '../identity/index.ts';
import type { Logger } from '../logging/index.ts';
import { createSecretBox, describeDbUrl, loadEncryptionKey, openStore, type SecretBox, type Store } from '../store/index.ts';
import { publicHost, type ServerConfig } from './config.ts';
import { httpsServerFactory, type HttpRouting, type PrefixRoute, type RawHandler, type UpgradeHandler } from './http-server.ts';
import { loadOrCreateTls, type TlsMaterial } from './tls.ts';
import { assertCanListen, listenError } from './port-check.ts';
import { passwordNotice, startupSummary, summaryFields, type AdminBootstrap } from './startup-summary.ts';
import { createClustersFeature } from '../clusters/index.ts';
import { AceSettings, AceSync, aceApi, defaultWebhookUrl } from '../kube-api-auth/index.ts';
import { createProxyFeature } from '../proxy/index.ts';
import { KubeImpersonationAccounts } from '../impersonation/index.ts';
import { AccessService, createAccessFeature } from '../access/index.ts';

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
}

export interface Features {
  raw: PrefixRoute<RawHandler>[];
  upgrade: PrefixRoute<UpgradeHandler>[];
  apiPlugins: FastifyPluginAsyncTypebox[];
  /** Run on shutdown, before the store closes (stop controllers, close tunnels). */
  onClose: Array<() => Promise<void>>;
  /** Which clusters a caller may scope a token to (POST /v1/tokens); none without it. */
  usableCluster?: ApiContext['usableCluster'];
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
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Where the start-up summary (URL, CA checksum, the one-off bootstrap password) is shown. */
  announce: (text: string) => void;
  /** The whole summary as text (readable logs); otherwise it is a log line and only a generated password is announced. */
  readableSummary?: boolean;
  /** Extra features for tests; production features are listed in features(). */
  extraFeatures?: Partial<Features>;
}

/** The features Drover runs. Later issues add their proxy, tunnel and API plugins here. */
function features(core: ServerCore, env: NodeJS.ProcessEnv): Features {
  // Access first: the clusters API and the proxy ask it who may see which cluster.
  const access = new AccessService(core.store.db, core.logger.child({ component: 'access' }));
  const clusters = createClustersFeature({
    membership: access, db: core.store.db, secrets: core.secrets, identity: core.identity, logger: core.logger,
    publicUrl: core.config.publicUrl, caPem: core.tls.caPem,
    agentImage: core.config.agentImage,
    // The import manifest carries kube-api-auth while the cluster's authorized endpoint is on.
    kubeApiAuth: async (clusterId) => ((await aceSettings.get(clusterId)).mode === 'off' ? undefined : { listen: new URL(defaultWebhookUrl).host }),
    // Tests shorten the grace period; production keeps the default.
    ...(core.config.tuning.clusterGraceMs === undefined ? {} : { graceMs: core.config.tuning.clusterGraceMs }),
  });
  // Authorized cluster endpoint: token records of the users with access into every live cluster.
  const aceSync = new AceSync({
    db: core.store.db, access, logger: core.logger.child({ component: 'ace-sync' }),
    targets: async () => (await clusters.service.list()).flatMap((c) => {
      const live = clusters.controllers.live(c.id);
      return live ? [{ id: c.id, client: live.client }] : [];
    }),
    ...(core.config.tuning.aceSyncMs === undefined ? {} : { intervalMs: core.config.tuning.aceSyncMs }),
  }).start();
  // ACE settings; aceSettings.contexts(cluster) gives `drover kubeconfig` its extra contexts.
  const aceSettings = new AceSettings({ db: core.store.db, clusters: clusters.service, controllers: clusters.controllers });
  // The per-user impersonation accounts, below both features that use them: the proxy acts through them,
  // the RBAC reconciler creates and removes them as bindings change.
  const accounts = new KubeImpersonationAccounts({
    adminClient: (clusterId) => clusters.controllers.live(clusterId)?.client, logger: core.logger.child({ component: 'proxy' }),
  });
  // The authentication proxy at /k8s/clusters/.
  const proxy = createProxyFeature({
    identity: core.identity, accounts, clusters, membership: access, logger: core.logger,
    publicUrl: core.config.publicUrl, caPem: core.tls.caPem, env, db: core.store.db, aceContexts: (clusterId) => aceSettings.contexts(clusterId),
    responseHeaderTimeoutMs: core.config.proxyResponseHeaderTimeoutMs,
  });
  // Projects, members, and their reconciliation into every live cluster's RBAC.
  const accessFeature = createAccessFeature({ access, clusters, accounts, identity: core.identity, principals: core.providers, logger: core.logger,
    ...(core.config.tuning.rbacResyncMs === undefined ? {} : { resyncMs: core.config.tuning.rbacResyncMs }) });
  const ace = aceApi({ settings: aceSettings, authenticator: core.identity.authenticator, access });
  // External identity providers: their routes, and the background group refresh (DROVER_PROVIDER_REFRESH_SECONDS).
  const refresher = new GroupRefresher({
    store: core.store, source: core.providers, login: core.providers.external, logger: core.logger.child({ component: 'group-refresh' }),
    intervalMs: refreshIntervalMs(env),
  }).start();
  const providers = providersApi({ service: core.providers, authenticator: core.identity.authenticator });
  // Browser logins through GitHub and OIDC (UI, CLI device-style, admin test login).
  const redirectLogins = redirectLoginApi({ providers: core.providers, authenticator: core.identity.authenticator, publicUrl: core.config.publicUrl, logger: core.logger.child({ component: 'redirect-login' }) });
  return {
    raw: [proxy.raw, ...proxy.rootRaw], upgrade: [clusters.upgrade, proxy.upgrade],
    apiPlugins: [...clusters.apiPlugins, ...proxy.apiPlugins, ...accessFeature.apiPlugins, ace, providers, redirectLogins],
    usableCluster: async (user, idOrName) => {
      const cluster = await clusters.service.get(idOrName).catch(() => undefined);
      return cluster && await access.canAccessCluster(user, cluster.id) ? cluster.id : undefined;
    },
    onClose: [() => accessFeature.close(), () => proxy.close(), () => accounts.close(), () => aceSync.close(), () => clusters.close(), () => refresher.close(), () => core.providers.close()],
  };
}

function merge(a: Features, b: Partial<Features> | undefined): Features {
  return {
    raw: [...a.raw, ...(b?.raw ?? [])],
    upgrade: [...a.upgrade, ...(b?.upgrade ?? [])],
    apiPlugins: [...a.apiPlugins, ...(b?.apiPlugins ?? [])],
    onClose: [...a.onClose, ...(b?.onClose ?? [])],
    ...(a.usableCluster ? { usableCluster: a.usableCluster } : {}),
  };
}

async function openCore(config: ServerConfig, options: StartOptions, metrics: Metrics): Promise<{ core: ServerCore; admin: AdminBootstrap }> {
  const { logger, env } = options;
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
  const secrets = createSecretBox(loadEncryptionKey(config.dataDir, env));
  const identity = createIdentity({ store, logger, loginObserver: metrics.loginObserver });
  const boot = await bootstrapAdmin(identity.users, env);
  let admin: AdminBootstrap = { kind: 'existing' };
  if (boot?.generatedPassword !== undefined) {
    logger.warn({ username: 'admin' }, 'created the bootstrap admin with a random password, shown once on stderr');
    admin = { kind: 'generated', password: boot.generatedPassword };
  } else if (boot) {
    logger.info({ username: 'admin' }, 'created the bootstrap admin with DROVER_BOOTSTRAP_PASSWORD');
    admin = { kind: 'from-env' };
  }
  const providers = new ProviderService({ store, secrets, identity, logger: logger.child({ component: 'providers' }), publicUrl: config.publicUrl });
  return { core: { config, logger, store, secrets, identity, providers, metrics, tls: { certPem: tls.certPem, keyPem: tls.keyPem, caPem: tls.caPem } }, admin };
}

export async function startServer(config: ServerConfig, options: StartOptions): Promise<RunningServer> {
  // Before anything is created: a second server on a busy port leaves no data dir, database or admin behind.
  await assertCanListen(config.listenHost, config.listenPort);
  const metrics = createMetrics();
  const { core, admin } = await openCore(config, options, metrics);
  const wired = merge(features(core, options.env), options.extraFeatures);
  const routing: HttpRouting = { raw: wired.raw, upgrade: wired.upgrade };
  const app = await buildApi({
    identity: core.identity, metrics, caPem: core.tls.caPem, logger: options.logger, publicUrl: config.publicUrl,
    readiness: () => core.store.ping(), plugins: wired.apiPlugins, ...(wired.usableCluster ? { usableCluster: wired.usableCluster } : {}),
    passwordLogin: (provider, input) => core.providers.passwordLogin(provider, input), serverFactory: httpsServerFactory(core.tls, routing),
    // The UI's CSRF key comes from the encryption key, so every replica accepts every replica's sessions.
    uiSessionKey: UiSessions.keyFromEncryptionKey(loadEncryptionKey(config.dataDir, options.env)),
  });
  try {
    await app.listen({
      host: config.listenHost, port: config.listenPort, listenTextResolver: (address) => `https listener bound at ${address.replace(/^http:/, 'https:')}`,
    });
  } catch (error) {
    // Someone took the port after the probe: stop what was opened, say why.
    for (const stop of wired.onClose) await stop();
    await app.close();
    await core.store.close();
    throw listenError(config.listenHost, config.listenPort, error);
  }
  const port = (app.server.address() as AddressInfo).port;
  options.logger.info(summaryFields(config, port, core.tls.caPem, admin), 'drover server listening');
  if (options.readableSummary) options.announce(startupSummary(config, port, core.tls.caPem, admin));
  else if (admin.kind === 'generated') options.announce(passwordNotice(admin.password));
  const sweeper = setInterval(() => {
    core.identity.tokens.deleteExpired().catch((error: unknown) => options.logger.warn({ err: error }, 'could not delete expired tokens'));
  }, 3600_000);
  sweeper.unref();
  let closing: Promise<void> | undefined;
  return {
    core, app, port,
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        // Graceful first: idle connections close, in-flight requests finish. Long
        // streams (watches, exec) would hold that forever, so they are cut after 10 s.
        const force = setTimeout(() => app.server.closeAllConnections(), 10_000);
        force.unref();
        const httpClosed = app.close();
        // Upgraded connections (agent tunnels, exec) are not HTTP connections the
        // server can drain: the features close them, or the listener never finishes.
        for (const stop of wired.onClose) await stop();
        await httpClosed;
        clearTimeout(force);
        await core.store.close();
        options.logger.info({}, 'drover server stopped');
      })();
      return closing;
    },
  };
}
