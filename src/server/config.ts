/**
 * `drover server` options: flags and the environment are read here, in one place, and
 * every mistake is reported together before anything is created (no data dir, no
 * database, no admin for a start that cannot succeed). docs/configuration.md lists them.
 */
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';
import { parseListenAddress, type HostPort } from '../addresses/index.ts';
import { envInteger } from '../env/index.ts';
import { durationOption } from '../durations/index.ts';
import { logFormatOption, logLevelOption, type LogFormat, type LogLevel } from '../logging/index.ts';
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
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsCaFile?: string;
  /** How long a proxied request waits for the cluster's response head (ms); 0: no bound. */
  proxyResponseHeaderTimeoutMs: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** The image the import manifest runs (cluster agent, node agent, kube-api-auth). */
  agentImage: string;
  /** Timing knobs from the environment; tests shorten them, production keeps the defaults. */
  tuning: { clusterGraceMs?: number; aceSyncMs?: number; rbacResyncMs?: number };
  /** The audit trail's policy and sinks (docs/audit.md). */
  audit: AuditConfig;
}

export interface ServerFlags extends AuditFlags {
  dataDir?: string;
  listen?: string;
  publicUrl?: string;
  db?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsCaFile?: string;
  proxyResponseHeaderTimeout?: string;
  logLevel?: string;
  logFormat?: string;
  agentImage?: string;
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
  const logLevel = collect(errors, () => logLevelOption('--log-level', flags.logLevel) ?? logLevelOption('DROVER_LOG_LEVEL', env.DROVER_LOG_LEVEL)) ?? 'info';
  const logFormat = collect(errors, () => logFormatOption('--log-format', flags.logFormat) ?? logFormatOption('DROVER_LOG_FORMAT', env.DROVER_LOG_FORMAT)) ?? 'auto';
  const agentImage = collect(errors, () => agentImageOption('--agent-image', flags.agentImage) ?? agentImageOption('DROVER_AGENT_IMAGE', env.DROVER_AGENT_IMAGE)) ?? defaultAgentImage;
  const ms = (name: string): number | undefined => collect(errors, () => envInteger(env, name, { min: 1, unit: 'milliseconds' }));
  const proxyResponseHeaderTimeoutMs = 1000 * (collect(errors, () => durationOption('--proxy-response-header-timeout', flags.proxyResponseHeaderTimeout ?? '60s')) ?? 0);
  const audit = collect(errors, () => auditConfigFromFlags(flags));
  const tuning = { clusterGraceMs: ms('DROVER_CLUSTER_GRACE_MS'), aceSyncMs: ms('DROVER_ACE_SYNC_MS'), rbacResyncMs: ms('DROVER_RBAC_RESYNC_MS') };
  if (errors.length > 0 || !listen || !chosen || !publicUrl) {
    throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `cannot start the server: ${errors.join('; ')}`);
  }
  return {
    dataDir: resolve(flags.dataDir ?? './drover-data'),
    listenHost: listen.host,
    listenPort: listen.port,
    publicUrl,
    publicUrlSource: chosen.source,
    ...(flags.db ? { dbUrl: flags.db } : {}),
    ...(flags.tlsCertFile ? { tlsCertFile: flags.tlsCertFile } : {}),
    ...(flags.tlsKeyFile ? { tlsKeyFile: flags.tlsKeyFile } : {}),
    ...(flags.tlsCaFile ? { tlsCaFile: flags.tlsCaFile } : {}),
    proxyResponseHeaderTimeoutMs,
    logLevel, logFormat, agentImage,
    audit: audit ?? { policy: defaultPolicy, logMaxBytes: 0, logMaxBackups: 0, logMaxAgeMs: 0, retentionMs: 0, execRecording: 'off' },
    tuning: Object.fromEntries(Object.entries(tuning).filter(([, v]) => v !== undefined)),
  };
}

/** The host name in the public URL, without IPv6 brackets. */
export function publicHost(publicUrl: string): string {
  return new URL(publicUrl).hostname.replace(/^\[|\]$/g, '');
}
