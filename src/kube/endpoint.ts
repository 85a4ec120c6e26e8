/**
 * Where a Kubernetes API is and how to prove who we are to it. One shape for every
 * caller: the agent (in-cluster or a kubeconfig), the server through an agent's
 * tunnel (`dial`), kube-api-auth.
 */
import type { Duplex } from 'node:stream';
import { InvalidArgumentError } from '../errors/index.ts';

/** Opens a byte stream to host:port (for example through an agent's reverse tunnel). TLS runs on top. */
export type KubeDialer = (host: string, port: number, signal?: AbortSignal) => Promise<Duplex>;

export type TokenSource = string | (() => string | Promise<string>);

export interface KubeEndpoint {
  /** https://host:port[/prefix]; http:// only for loopback test servers. */
  server: string;
  /** PEM bundle to trust instead of the system roots. */
  caPem?: string;
  /** Accept any serving certificate. Only for throwaway test clusters. */
  insecureSkipTlsVerify?: boolean;
  /** Bearer token, or a function asked before every request (rotating service-account tokens). */
  token?: TokenSource;
  clientCert?: { certPem: string; keyPem: string };
  /** When given, every connection is opened through it and TLS runs end to end on top. */
  dial?: KubeDialer;
}

/**
 * A connected cluster's kube-apiserver as the proxy forwards to it: the clusters
 * feature builds one per live cluster (through the agent's tunnel), the proxy opens
 * TLS on top of `dial` trusting `caPem` only.
 */
export interface UpstreamEndpoint {
  /** kube-apiserver as the agent sees it, e.g. https://10.43.0.1:443. */
  url: URL;
  /** PEM bundle trusted for kube-apiserver's serving certificate (and nothing else). */
  caPem: string;
  /**
   * Opens a byte stream to the apiserver: through the tunnel, or a direct connection.
   * `longLived`: the connection will mostly wait (watches, followed logs), so the tunnel
   * keeps it in its session rather than on a connection of its own (tunnel/DialOptions).
   */
  dial: (signal?: AbortSignal, options?: { longLived?: boolean }) => Promise<Duplex>;
}

/** The parts of `server` a client needs, checked once. */
export interface ParsedServer {
  origin: string;
  protocol: 'https:' | 'http:';
  hostname: string;
  port: number;
  /** Path prefix without trailing slash ('' for none), as for Rancher-style /k8s/clusters/<id>. */
  prefix: string;
}

export function parseServer(server: unknown): ParsedServer {
  if (typeof server !== 'string' || server === '') throw new InvalidArgumentError('endpoint.server', 'an https:// URL');
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new InvalidArgumentError('endpoint.server', 'an https:// URL', server);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidArgumentError('endpoint.server', 'an https:// URL', server);
  if (url.search || url.hash || url.username || url.password) {
    throw new InvalidArgumentError('endpoint.server', 'a URL without query, fragment or credentials', server);
  }
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { origin: url.origin, protocol: url.protocol, hostname, port, prefix: url.pathname.replace(/\/+$/, '') };
}

/** Validates an endpoint eagerly, so misconfiguration shows at construction. */
export function validateEndpoint(endpoint: KubeEndpoint): ParsedServer {
  if (typeof endpoint !== 'object' || endpoint === null) throw new InvalidArgumentError('endpoint', 'an object');
  const parsed = parseServer(endpoint.server);
  if (endpoint.caPem !== undefined && (typeof endpoint.caPem !== 'string' || !endpoint.caPem.includes('BEGIN CERTIFICATE'))) {
    throw new InvalidArgumentError('endpoint.caPem', 'a PEM certificate bundle');
  }
  if (endpoint.token !== undefined && typeof endpoint.token !== 'string' && typeof endpoint.token !== 'function') {
    throw new InvalidArgumentError('endpoint.token', 'a string or a function returning one');
  }
  if (typeof endpoint.token === 'string' && (endpoint.token === '' || /[\r\n]/.test(endpoint.token))) {
    throw new InvalidArgumentError('endpoint.token', 'a non-empty single-line token');
  }
  if (endpoint.clientCert !== undefined) {
    const { certPem, keyPem } = endpoint.clientCert;
    if (typeof certPem !== 'string' || typeof keyPem !== 'string' || !certPem.includes('BEGIN') || !keyPem.includes('BEGIN')) {
      throw new InvalidArgumentError('endpoint.clientCert', 'PEM certPem and keyPem');
    }
  }
  if (endpoint.dial !== undefined && typeof endpoint.dial !== 'function') throw new InvalidArgumentError('endpoint.dial', 'a function');
  return parsed;
}

/** The Authorization header value for this request, or undefined. Never logged. */
export async function bearerHeader(token: TokenSource | undefined): Promise<string | undefined> {
  if (token === undefined) return undefined;
  const value = typeof token === 'string' ? token : await token();
  if (typeof value !== 'string' || value === '' || /[\r\n]/.test(value)) {
    throw new InvalidArgumentError('endpoint.token', 'the token source to return a non-empty single-line token');
  }
  return `Bearer ${value}`;
}
