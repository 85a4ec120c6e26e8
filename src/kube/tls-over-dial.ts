/**
 * TLS to a kube-apiserver over a stream someone else dialled: an agent's tunnel
 * stream or a TCP connection. The one place that does it, for the KubeClient's
 * connections (connector.ts) and the proxy's (proxy/upstream.ts, proxy/upgrade.ts):
 * whoever carries the bytes (the tunnel, the agent) sees only ciphertext, and the
 * apiserver's certificate is verified here against the trust the caller gives.
 */
import { isIP, Socket } from 'node:net';
import { connect as tlsConnect, type SecureContext, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';

/** TLS session resumption between connections to one apiserver (a full handshake still verifies the certificate). */
export interface TlsSessionStore {
  session?: Buffer;
}

export interface TlsOverDialOptions {
  /** Opens the byte stream TLS runs over; `signal` gives up on the dial. */
  dial: (signal?: AbortSignal) => Promise<Duplex>;
  /** The apiserver's host name or IP address: checked against its certificate, and sent as SNI when it is a name (RFC 6066). */
  host: string;
  /** SNI and certificate name when it differs from `host`. */
  servername?: string | undefined;
  /**
   * The trust: a secure context made once per apiserver (its CA parsed once, not per
   * connection), or the CA bundle and client certificate for a one-off context.
   */
  secureContext?: SecureContext | undefined;
  caPem?: string | undefined;
  clientCert?: { certPem: string; keyPem: string } | undefined;
  /** Accept any serving certificate: only for throwaway test clusters (KubeEndpoint.insecureSkipTlsVerify). */
  insecureSkipVerify?: boolean | undefined;
  sessions?: TlsSessionStore | undefined;
  /** Gives up on the dial and the handshake; the rejection is the signal's reason when that is an Error. */
  signal?: AbortSignal | undefined;
}

/** Dials, then completes a TLS handshake (HTTP/1.1 by ALPN) that verifies the apiserver; resolves with the TLS socket. */
export async function tlsOverDial(options: TlsOverDialOptions): Promise<TLSSocket> {
  const { signal } = options;
  let stream: Duplex;
  try {
    stream = await options.dial(signal);
  } catch (error) {
    throw abortReason(signal) ?? error;
  }
  // Small API requests must not wait for the previous segment's ACK (Nagle).
  if (stream instanceof Socket) stream.setNoDelay(true);
  const host = options.host.replace(/^\[|\]$/g, '');
  const name = options.servername ?? host;
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      socket: stream,
      host,
      ...(isIP(name) ? {} : { servername: name }),
      ...(options.secureContext ? { secureContext: options.secureContext } : {}),
      ...(options.caPem ? { ca: options.caPem } : {}),
      ...(options.clientCert ? { cert: options.clientCert.certPem, key: options.clientCert.keyPem } : {}),
      rejectUnauthorized: options.insecureSkipVerify !== true,
      ALPNProtocols: ['http/1.1'],
      ...(options.sessions?.session ? { session: options.sessions.session } : {}),
    });
    const sessions = options.sessions;
    if (sessions) socket.on('session', (session: Buffer) => { sessions.session = session; });
    const fail = (error: Error): void => {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      stream.destroy();
      reject(error);
    };
    const onAbort = (): void => fail(abortReason(signal) ?? new Error('aborted'));
    socket.once('secureConnect', () => {
      socket.off('error', fail);
      signal?.removeEventListener('abort', onAbort);
      resolve(socket);
    });
    socket.once('error', fail);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal | undefined): Error | undefined {
  const reason: unknown = signal?.reason;
  return signal?.aborted && reason instanceof Error ? reason : undefined;
}
