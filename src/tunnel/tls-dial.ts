/**
 * TLS end to end through a tunnel stream: the server dials `address` in the cluster
 * and runs TLS over the returned stream, so the agent relays only ciphertext. The
 * caller supplies the trust (the cluster's CA); nothing here relaxes verification.
 */
import { isIP } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import type { ClusterDialer, SessionInfo } from './types.ts';

export interface TlsDialOptions {
  /** PEM the target's certificate must chain to. */
  ca: string;
  /** Name checked against the target's certificate (and sent as SNI when it is a DNS name). */
  servername: string;
  signal?: AbortSignal;
  /** ALPN protocols to offer, such as ['http/1.1']. */
  ALPNProtocols?: string[];
}

/** Resolves with a TLS socket (handshake done) to `address` inside `clusterId`, and the session that carries it. */
export async function dialTls(dialer: ClusterDialer, clusterId: string, address: string, options: TlsDialOptions): Promise<{ socket: TLSSocket; via: SessionInfo }> {
  const stream = await dialer.dial(clusterId, address, options.signal ? { signal: options.signal } : {});
  return new Promise((resolve, reject) => {
    // An IP address is checked against the certificate but never sent as SNI (RFC 6066).
    const name = isIP(options.servername) ? { host: options.servername } : { servername: options.servername };
    const socket = tls.connect({
      socket: stream, ca: options.ca, ...name, rejectUnauthorized: true,
      ...(options.ALPNProtocols ? { ALPNProtocols: options.ALPNProtocols } : {}),
    });
    const onError = (error: Error): void => { stream.destroy(); reject(error); };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      resolve({ socket, via: stream.via });
    });
  });
}
