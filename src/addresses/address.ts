/**
 * The one `host:port` parser: dial addresses (a CONNECT `:authority`, the agent's
 * allow-list, a reported kube-apiserver) and listen addresses (`--listen`), which
 * also take `:PORT` for every interface and port 0 for any free port.
 */
import { InvalidArgumentError } from '../errors/index.ts';

export interface HostPort { host: string; port: number }

const hostPattern = /^[A-Za-z0-9._-]+$|^[0-9A-Fa-f:.]+$/;

export interface HostPortOptions {
  /** The host `:PORT` stands for (a listen address); without it the host is required. */
  emptyHost?: string;
  /** Accept port 0 (listen on any free port); a dial address never has it. */
  portZero?: boolean;
}

/** Parses `host:port` or `[v6]:port`; returns undefined for anything else (no scheme, path, user info or spaces). */
export function parseHostPort(address: string, options: HostPortOptions = {}): HostPort | undefined {
  if (address.length > 300) return undefined;
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(address) ?? /^([^:[\]]*):(\d{1,5})$/.exec(address);
  if (!match) return undefined;
  const host = match[1] === '' && options.emptyHost !== undefined ? options.emptyHost : match[1] ?? '';
  const port = Number(match[2]);
  if (!hostPattern.test(host) || port < (options.portZero ? 0 : 1) || port > 65535) return undefined;
  return { host, port };
}

/**
 * A listen address: `HOST:PORT`, `[v6]:PORT`, or `:PORT` (all interfaces, when `anyHost`
 * is given); port 0 picks a free port. Throws naming the option.
 */
export function parseListenAddress(value: string, option: string, anyHost?: string): HostPort {
  const parsed = parseHostPort(value, { portZero: true, ...(anyHost === undefined ? {} : { emptyHost: anyHost }) });
  if (!parsed) throw new InvalidArgumentError(option, 'HOST:PORT', value);
  return parsed;
}

/** Formats a host and port as an HTTP/2 `:authority`, bracketing IPv6 hosts. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * An allow-list of exact `host:port` addresses (host compared case-insensitively),
 * for `TunnelClient`'s `allow` option: the agent dials only what is listed.
 */
export function allowAddresses(addresses: readonly string[]): (host: string, port: number) => boolean {
  const allowed = new Set(addresses.map((a) => {
    const parsed = parseHostPort(a);
    if (!parsed) throw new InvalidArgumentError('allow', 'host:port addresses', a);
    return formatHostPort(parsed.host.toLowerCase(), parsed.port);
  }));
  return (host, port) => allowed.has(formatHostPort(host.toLowerCase(), port));
}
