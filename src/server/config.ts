/**
 * `drover server` options: flags and the environment are read here, in one place, and
 * every mistake is reported together before anything is created (no data dir, no
 * database, no admin for a start that cannot succeed). docs/configuration.md lists them.
 */
import { availableParallelism, networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';
import { formatHostPort, parseHostPort, parseListenAddress, type HostPort } from '../addresses/index.ts';
import { envInteger } from '../env/index.ts';
import { durationOption } from '../durations/index.ts';
import { logFormatOption, logLevelOption, type LogFormat, type LogLevel } from '../logging/index.ts';
import { parseKey } from '../store/index.ts';
import { checkKubeconfigSettings, type KubeconfigSettings } from '../proxy/index.ts';
import { droverVersion } from '../version/index.ts';
import { auditConfigFromFlags, defaultPolicy, type AuditConfig, type AuditFlags } from '../audit/index.ts';

/** Loopback only by default: nothing is reachable from the network until the operator says so. */
export const DEFAULT_LISTEN = '127.0.0.1:8443';

export interface ServerConfig {
  dataDir: string;
  listenHost: string;
  listenPort: number;
  publicUrl: string;
  /** How the public URL was chosen, for the start-up summary. */
  publicUrlSource: 'flag' | 'listen address' | 'first network address';
  dbUrl?: string;
  /** `HOST:PORT` other replicas reach this one's listener at (port 0: the port bound, filled in at start). */
  advertiseAddress: string;
  /** Processes sharing the listener on this host, each a replica (`--workers`; default one per core on PostgreSQL, 1 on SQLite; 1: this process alone). */
  workers: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsCaFile?: string;
  /** How long a proxied request waits for the cluster's response head (ms); 0: no bound. */
  proxyResponseHeaderTimeoutMs: number;
  /** `--shutdown-delay`: after SIGTERM, how long /readyz says 503 while everything is still served (ms). */
  shutdownDelayMs: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** The image the import manifest runs (cluster agent, node agent, kube-api-auth). */
  agentImage: string;
  /** `DROVER_BOOTSTRAP_PASSWORD`: the first start's admin password; otherwise one is generated and shown once. */
  bootstrapPassword?: string;
  /** `PATH`: where the web UI's kubectl console finds `kubectl` and `helm` (src/web-shell/). */
  programPath: string;
  /** `DROVER_ENCRYPTION_KEY`; otherwise `<data-dir>/encryption.key`. */
  encryptionKey?: Buffer;
  /** `DROVER_PROVIDER_REFRESH_SECONDS`: how often external users' groups are re-read (ms). */
  providerRefreshMs: number;
  /** `DROVER_KUBECONFIG_*`: the kubeconfig token settings until an admin saves some. */
  kubeconfigDefaults: KubeconfigSettings;
  /** `--kubernetes-binaries`: what node agents of provisioned clusters fetch (src/provisioning/). */
  kubernetesBinaries?: string;
  /** Timing knobs from the environment; tests shorten them, production keeps the defaults. */
  tuning: { clusterGraceMs?: number; aceSyncMs?: number; rbacResyncMs?: number; replicaHeartbeatMs?: number };
  /** On PostgreSQL: how often every in-memory view is re-read even without change events (ms; `DROVER_RESYNC_MS`). */
  resyncMs: number;
  /** The audit trail's policy and sinks (docs/audit.md). */
  audit: AuditConfig;
}

export interface ServerFlags extends AuditFlags {
  dataDir?: string;
  listen?: string;
  publicUrl?: string;
  db?: string;
  advertiseAddress?: string;
  workers?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsCaFile?: string;
  proxyResponseHeaderTimeout?: string;
  shutdownDelay?: string;
  logLevel?: string;
  logFormat?: string;
  agentImage?: string;
  kubernetesBinaries?: string;
}

/** `--listen`: `HOST:PORT`, `[v6]:PORT`, or `:PORT` for every interface. */
export const parseListen = (value: string): HostPort => parseListenAddress(value, '--listen', '0.0.0.0');

const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::';

/** The first non-loopback IPv4 address: what another machine (or a browser here) can reach. */
function firstNetworkAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) if (info.family === 'IPv4' && !info.internal) return info.address;
  }
  return undefined;
}

/**
 * Without --public-url: the listen address itself, so the printed URL is the one that
 * answers; on a wildcard listen, the machine's first network address (a hostname may not
 * resolve anywhere else).
 */
function defaultPublicUrl(host: string, port: number): { url: string; source: ServerConfig['publicUrlSource'] } {
  const name = isWildcard(host) ? firstNetworkAddress() ?? '127.0.0.1' : host;
  return { url: `https://${name.includes(':') ? `[${name}]` : name}:${port}`, source: isWildcard(host) ? 'first network address' : 'listen address' };
}

/**
 * `--advertise-address`: a host other machines can reach (never a wildcard) and a real port.
 * Default: the listen address, with a wildcard host replaced as for the public URL.
 */
function advertiseAddressOption(value: string | undefined, listen: HostPort): string {
  if (value === undefined) return formatHostPort(isWildcard(listen.host) ? firstNetworkAddress() ?? '127.0.0.1' : listen.host, listen.port);
  const parsed = parseHostPort(value);
  if (!parsed || isWildcard(parsed.host)) throw new InvalidArgumentError('--advertise-address', 'HOST:PORT that other replicas can reach (not 0.0.0.0 or ::)', value);
  return formatHostPort(parsed.host, parsed.port);
}

const maxWorkers = 64;

/**
 * `--workers N`: 1 to 64 processes; more than one needs PostgreSQL (each worker is a replica,
 * and SQLite serves one process). Default: one per core on PostgreSQL (the issue's
 * contract: one host uses every core), 1 on SQLite.
 */
function workersOption(value: string | undefined, dbUrl: string | undefined, cores: number): number {
  const postgres = dbUrl?.startsWith('postgres') === true;
  if (value === undefined) return postgres ? Math.min(Math.max(1, cores), maxWorkers) : 1;
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > maxWorkers) throw new InvalidArgumentError('--workers', `a whole number from 1 to ${maxWorkers}`, value);
  if (n > 1 && !postgres) {
    throw new InvalidArgumentError('--workers', '1 with SQLite (one process owns the database file); for more, use --db postgres://…', value);
  }
  return n;
}

function checkPublicUrl(publicUrl: string): string {
  let parsed: URL;
  try {
    parsed = new URL(publicUrl);
  } catch {
    throw new InvalidArgumentError('--public-url', 'an https:// URL', publicUrl);
  }
  if (parsed.protocol !== 'https:') throw new InvalidArgumentError('--public-url', 'an https:// URL (Drover serves HTTPS only)', publicUrl);
  return parsed.toString().replace(/\/$/, '');
}

/** What deploy/build-image.sh tags when neither --agent-image nor DROVER_AGENT_IMAGE names another image. */
export const defaultAgentImage = `drover/drover:${droverVersion}`;

/**
 * An image reference as registries accept it: [host[:port]/]path[:tag][@sha256:digest].
 * Checked at start so a typo shows now, not as ImagePullBackOff in every imported cluster.
 */
const imageReference = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::\w[\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

function agentImageOption(option: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!imageReference.test(value)) throw new InvalidArgumentError(option, 'an image reference such as registry.example/drover/drover:0.1.0', value);
  return value;
}

/** The kubeconfig token defaults, checked with the rules an admin's change meets. */
function kubeconfigDefaults(env: NodeJS.ProcessEnv): KubeconfigSettings {
  // Bounds are checked below with the admin's rules; here only that it is a number at all.
  const seconds = (name: string): number | undefined => envInteger(env, name, { min: 0, unit: 'seconds' });
  const maxTtlSeconds = seconds('DROVER_KUBECONFIG_TOKEN_MAX_TTL_SECONDS') ?? 90 * 24 * 3600;
  const defaultTtlSeconds = seconds('DROVER_KUBECONFIG_TOKEN_TTL_SECONDS') ?? Math.min(30 * 24 * 3600, maxTtlSeconds);
  const generate = env.DROVER_KUBECONFIG_GENERATE_TOKEN ?? 'true';
  if (generate !== 'true' && generate !== 'false') throw new InvalidArgumentError('DROVER_KUBECONFIG_GENERATE_TOKEN', '"true" or "false"', generate);
  return checkKubeconfigSettings({ defaultTtlSeconds, maxTtlSeconds, generateToken: generate === 'true' }, {
    defaultTtl: 'DROVER_KUBECONFIG_TOKEN_TTL_SECONDS', maxTtl: 'DROVER_KUBECONFIG_TOKEN_MAX_TTL_SECONDS', generate: 'DROVER_KUBECONFIG_GENERATE_TOKEN',
  });
}

/** Runs every check, collecting the failures, so one start reports all of them. */
function collect<T>(errors: string[], check: () => T): T | undefined {
  try {
    return check();
  } catch (error) {
    errors.push(error instanceof Error ? error.message : String(error));
    return undefined;
  }
}

export function serverConfigFromFlags(flags: ServerFlags, env: NodeJS.ProcessEnv = {}): ServerConfig {
  const errors: string[] = [];
  const listen = collect(errors, () => parseListen(flags.listen ?? DEFAULT_LISTEN));
  const chosen = flags.publicUrl === undefined ? (listen && defaultPublicUrl(listen.host, listen.port)) : { url: flags.publicUrl, source: 'flag' as const };
  const publicUrl = chosen && collect(errors, () => checkPublicUrl(chosen.url));
  const advertiseAddress = listen && collect(errors, () => advertiseAddressOption(flags.advertiseAddress, listen));
  const workers = collect(errors, () => workersOption(flags.workers, flags.db, availableParallelism())) ?? 1;
  const logLevel = collect(errors, () => logLevelOption('--log-level', flags.logLevel) ?? logLevelOption('DROVER_LOG_LEVEL', env.DROVER_LOG_LEVEL)) ?? 'info';
  const logFormat = collect(errors, () => logFormatOption('--log-format', flags.logFormat) ?? logFormatOption('DROVER_LOG_FORMAT', env.DROVER_LOG_FORMAT)) ?? 'auto';
  const agentImage = collect(errors, () => agentImageOption('--agent-image', flags.agentImage) ?? agentImageOption('DROVER_AGENT_IMAGE', env.DROVER_AGENT_IMAGE)) ?? defaultAgentImage;
  const ms = (name: string): number | undefined => collect(errors, () => envInteger(env, name, { min: 1, unit: 'milliseconds' }));
  const proxyResponseHeaderTimeoutMs = 1000 * (collect(errors, () => durationOption('--proxy-response-header-timeout', flags.proxyResponseHeaderTimeout ?? '60s')) ?? 0);
  const shutdownDelayMs = 1000 * (collect(errors, () => durationOption('--shutdown-delay', flags.shutdownDelay ?? '0s')) ?? 0);
  const audit = collect(errors, () => auditConfigFromFlags(flags));
  const tuning = { clusterGraceMs: ms('DROVER_CLUSTER_GRACE_MS'), aceSyncMs: ms('DROVER_ACE_SYNC_MS'), rbacResyncMs: ms('DROVER_RBAC_RESYNC_MS'), replicaHeartbeatMs: ms('DROVER_REPLICA_HEARTBEAT_MS') };
  const resyncMs = ms('DROVER_RESYNC_MS') ?? 30_000;
  const refreshSeconds = collect(errors, () => envInteger(env, 'DROVER_PROVIDER_REFRESH_SECONDS', { min: 1, unit: 'seconds' }));
  const kubeconfig = collect(errors, () => kubeconfigDefaults(env));
  const encryptionKey = collect(errors, () => (env.DROVER_ENCRYPTION_KEY ? parseKey(env.DROVER_ENCRYPTION_KEY, 'DROVER_ENCRYPTION_KEY') : undefined));
  const bootstrapPassword = env.DROVER_BOOTSTRAP_PASSWORD;
  if (errors.length > 0 || !listen || !chosen || !publicUrl || !kubeconfig || !advertiseAddress) {
    throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `cannot start the server: ${errors.join('; ')}`);
  }
  return {
    dataDir: resolve(flags.dataDir ?? './drover-data'),
    listenHost: listen.host,
    listenPort: listen.port,
    publicUrl,
    publicUrlSource: chosen.source,
    ...(flags.db ? { dbUrl: flags.db } : {}),
    advertiseAddress,
    workers,
    ...(flags.tlsCertFile ? { tlsCertFile: flags.tlsCertFile } : {}),
    ...(flags.tlsKeyFile ? { tlsKeyFile: flags.tlsKeyFile } : {}),
    ...(flags.tlsCaFile ? { tlsCaFile: flags.tlsCaFile } : {}),
    ...(flags.kubernetesBinaries ? { kubernetesBinaries: resolve(flags.kubernetesBinaries) } : {}),
    proxyResponseHeaderTimeoutMs,
    shutdownDelayMs,
    logLevel, logFormat, agentImage,
    ...(bootstrapPassword ? { bootstrapPassword } : {}),
    ...(encryptionKey ? { encryptionKey } : {}),
    providerRefreshMs: 1000 * (refreshSeconds ?? 120),
    kubeconfigDefaults: kubeconfig,
    audit: audit ?? { policy: defaultPolicy, logMaxBytes: 0, logMaxBackups: 0, logMaxAgeMs: 0, retentionMs: 0, execRecording: 'off', execRecordingRetentionMs: 0 },
    tuning: Object.fromEntries(Object.entries(tuning).filter(([, v]) => v !== undefined)),
    resyncMs,
    programPath: env.PATH ?? '',
  };
}

/** The host name in the public URL, without IPv6 brackets. */
export function publicHost(publicUrl: string): string {
  return new URL(publicUrl).hostname.replace(/^\[|\]$/g, '');
}
