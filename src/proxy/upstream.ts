/**
 * Connections from the proxy to a cluster's kube-apiserver. A cluster is reached
 * by `dial()` (through the agent's tunnel, or a direct TCP connection), and TLS runs
 * end to end on top, trusting exactly the cluster's own CA: the tunnel and the
 * agent never see plaintext API traffic.
 *
 * One undici pool per cluster keeps connections alive between requests; it is
 * rebuilt when the cluster's address or CA changes. Watches and log streams hold a
 * connection for as long as they last, so the pool sets no body timeout: the client's
 * own cancellation (or kube-apiserver's timeouts) end them. Making a connection (the
 * dial and the TLS handshake) is bounded by `connectTimeoutMs`, as a kube-apiserver
 * that is stopped still completes TCP handshakes but never a TLS one.
 */
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { Pool } from 'undici';
import { DroverError } from '../errors/index.ts';
import type { Duplex } from 'node:stream';
import { tlsOverDial, type TlsSessionStore, type UpstreamEndpoint } from '../kube/index.ts';

export type { UpstreamEndpoint };

/** Why a connection failed; a DroverError (the tunnel's, or the pool's timeout given as the abort reason) is kept as it is. */
function connectFailure(endpoint: UpstreamEndpoint, error: unknown): DroverError {
  if (error instanceof DroverError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DroverError('DRV_ERR_BAD_GATEWAY', `TLS to kube-apiserver at ${endpoint.url.host} failed: ${message}`, { cause: error });
}

/**
 * TLS to the cluster's kube-apiserver over `endpoint.dial()` (kube/tls-over-dial.ts),
 * trusting only the cluster CA (`secureContext`, when given, is that CA parsed once per
 * pool); `signal` can give up on the dial and the handshake.
 */
export async function connectTls(
  endpoint: UpstreamEndpoint, signal?: AbortSignal, reuse?: { sessions: TlsSessionStore; secureContext: SecureContext }, use: ConnectionUse = 'requests',
): Promise<TLSSocket> {
  // A failed dial says itself what failed (the tunnel's own errors name the agent); only the handshake is "TLS … failed".
  let dialFailure: unknown;
  const dial = (dialSignal?: AbortSignal): Promise<Duplex> => endpoint.dial(dialSignal, { longLived: use === 'long-lived' }).catch((error: unknown) => {
    dialFailure = error;
    throw error;
  });
  try {
    return await tlsOverDial({
      dial, host: endpoint.url.hostname, signal,
      ...(reuse ? { secureContext: reuse.secureContext, sessions: reuse.sessions } : { caPem: endpoint.caPem }),
    });
  } catch (error) {
    if (error === dialFailure) throw error;
    throw connectFailure(endpoint, error);
  }
}

/**
 * What a connection is for: `long-lived` ones carry watches, followed logs and upgrades,
 * which hold a connection while mostly waiting, and are dialed to stay in the tunnel's
 * session (UpstreamEndpoint.dial); `requests` carry the rest, on the cheapest path.
 */
export type ConnectionUse = 'requests' | 'long-lived';

/** Keeps two pools per cluster (one per ConnectionUse), rebuilt when the cluster's endpoint changes. */
export class UpstreamPools {
  private readonly pools = new Map<string, { key: string; reuse: { sessions: TlsSessionStore; secureContext: SecureContext }; byUse: Map<ConnectionUse, Pool> }>();
  private readonly connectionsPerCluster: number | null;
  private readonly connectTimeoutMs: number;

  /**
   * No connection cap by default: every open watch holds a connection, so a cap of N
   * would make the N+1st request of a cluster wait until some watch ends (a hang).
   * `connectTimeoutMs` (0: none) bounds each new connection's dial and TLS handshake.
   */
  constructor(options: { connectionsPerCluster?: number; connectTimeoutMs?: number } = {}) {
    this.connectionsPerCluster = options.connectionsPerCluster ?? null;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 0;
  }

  /** The pool of `clusterId` for `use`, made or remade for this endpoint. */
  get(clusterId: string, endpoint: UpstreamEndpoint, use: ConnectionUse = 'requests'): Pool {
    const key = `${endpoint.url.origin}\n${endpoint.caPem}`;
    let entry = this.pools.get(clusterId);
    if (entry?.key !== key) {
      if (entry) for (const pool of entry.byUse.values()) void pool.close().catch(() => undefined);
      // One session store per endpoint: a new endpoint or CA starts with full handshakes.
      entry = { key, reuse: { sessions: {}, secureContext: createSecureContext({ ca: endpoint.caPem, minVersion: 'TLSv1.2' }) }, byUse: new Map() };
      this.pools.set(clusterId, entry);
    }
    const existing = entry.byUse.get(use);
    if (existing) return existing;
    const { reuse } = entry;
    const pool = new Pool(endpoint.url.origin, {
      connections: this.connectionsPerCluster,
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
      connect: (_options, callback) => {
        // Not AbortSignal.timeout: the tunnel ties the signal to the stream for its whole life.
        const attempt = new AbortController();
        const timer = this.connectTimeoutMs > 0 ? setTimeout(() => attempt.abort(new DroverError('DRV_ERR_GATEWAY_TIMEOUT',
          `TLS to kube-apiserver at ${endpoint.url.host} did not complete within ${this.connectTimeoutMs / 1000} s`)), this.connectTimeoutMs) : undefined;
        connectTls(endpoint, attempt.signal, reuse, use).then((socket) => {
          clearTimeout(timer);
          callback(null, socket);
        }, (error: Error) => {
          clearTimeout(timer);
          callback(error, null);
        });
      },
    });
    entry.byUse.set(use, pool);
    return pool;
  }

  /** Drops a cluster's pool (cluster deleted or tunnel gone); in-flight requests end with it. */
  forget(clusterId: string): void {
    const existing = this.pools.get(clusterId);
    this.pools.delete(clusterId);
    for (const pool of existing?.byUse.values() ?? []) void pool.destroy().catch(() => undefined);
  }

  /** Clusters with a pool (diagnostics and tests). */
  clusterIds(): string[] {
    return [...this.pools.keys()];
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()].flatMap((entry) => [...entry.byUse.values()]);
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => undefined)));
  }
}
