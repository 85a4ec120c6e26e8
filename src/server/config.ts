/** `drover server` options, checked at startup: what is wrong is named with what was expected. */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { InvalidArgumentError } from '../shared/errors.ts';

export interface ServerConfig {
  dataDir: string;
  listenHost: string;
  listenPort: number;
  publicUrl: string;
  dbUrl?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsCaFile?: string;
  /** How long a proxied request waits for the cluster's response head (ms); 0: no bound. */
  proxyResponseHeaderTimeoutMs: number;
}

export interface ServerFlags {
  dataDir?: string;
  listen?: string;
  publicUrl?: string;
  db?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsCaFile?: string;
  proxyResponseHeaderTimeout?: string;
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `90s`, `2m`, `1m30s`, `500ms`, `0` (none) → milliseconds, as Go's and kubectl's durations read. */
export function parseDuration(option: string, value: string): number {
  const parts = value === '0' ? [] : [...value.matchAll(/(\d+)(ms|s|m|h)/g)];
  if (value !== '0' && (parts.length === 0 || parts.map((p) => p[0]).join('') !== value)) {
    throw new InvalidArgumentError(option, 'a duration such as 60s, 2m or 1m30s (0: no limit)', value);
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * (durationUnits[p[2] ?? ''] ?? 0), 0);
}

export function parseListen(value: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || !Number.isInteger(port) || port > 65535) throw new InvalidArgumentError('--listen', 'HOST:PORT', value);
  const host = (match[1] ?? '').replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export function serverConfigFromFlags(flags: ServerFlags): ServerConfig {
  const { host, port } = parseListen(flags.listen ?? '0.0.0.0:8443');
  let publicUrl = flags.publicUrl;
  if (publicUrl === undefined) {
    const wildcard = host === '0.0.0.0' || host === '::';
    const name = wildcard ? (hostname() || '127.0.0.1') : host;
    publicUrl = `https://${name.includes(':') ? `[${name}]` : name}:${port}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(publicUrl);
  } catch {
    throw new InvalidArgumentError('--public-url', 'an https:// URL', publicUrl);
  }
  if (parsed.protocol !== 'https:') throw new InvalidArgumentError('--public-url', 'an https:// URL (Drover serves HTTPS only)', publicUrl);
  return {
    dataDir: resolve(flags.dataDir ?? './drover-data'),
    listenHost: host,
    listenPort: port,
    publicUrl: parsed.toString().replace(/\/$/, ''),
    ...(flags.db ? { dbUrl: flags.db } : {}),
    ...(flags.tlsCertFile ? { tlsCertFile: flags.tlsCertFile } : {}),
    ...(flags.tlsKeyFile ? { tlsKeyFile: flags.tlsKeyFile } : {}),
    ...(flags.tlsCaFile ? { tlsCaFile: flags.tlsCaFile } : {}),
    proxyResponseHeaderTimeoutMs: parseDuration('--proxy-response-header-timeout', flags.proxyResponseHeaderTimeout ?? '60s'),
  };
}

/** The host name in the public URL, without IPv6 brackets. */
export function publicHost(publicUrl: string): string {
  return new URL(publicUrl).hostname.replace(/^\[|\]$/g, '');
}
