/**
 * How a KubeClient opens connections. Without a dialer, undici's own connector (TCP +
 * TLS, session reuse, connect timeout). With one, the dialer hands us a byte stream
 * (an agent's tunnel) and TLS runs on top of it (tls-over-dial.ts), so the tunnel
 * only ever carries ciphertext and the apiserver's certificate is verified here, end
 * to end. Either way undici's pool keeps its keep-alive and pipelining rules.
 */
import type { ConnectionOptions } from 'node:tls';
import { buildConnector } from 'undici';
import type { KubeDialer, KubeEndpoint } from './endpoint.ts';
import { tlsOverDial, type TlsSessionStore } from './tls-over-dial.ts';

function tlsOptions(endpoint: KubeEndpoint): ConnectionOptions {
  return {
    ...(endpoint.caPem ? { ca: endpoint.caPem } : {}),
    ...(endpoint.clientCert ? { cert: endpoint.clientCert.certPem, key: endpoint.clientCert.keyPem } : {}),
    rejectUnauthorized: endpoint.insecureSkipTlsVerify !== true,
  };
}

/** TLS over whatever stream `dial` returns; fails the connect (dial and handshake) after `timeoutMs`. */
export function dialConnector(dial: KubeDialer, endpoint: KubeEndpoint, timeoutMs: number): buildConnector.connector {
  const sessions: TlsSessionStore = {};
  return (opts, callback) => {
    const port = Number(opts.port) || 443;
    // A timer, not AbortSignal.timeout: the signal must not outlive the connect.
    const attempt = new AbortController();
    const timer = setTimeout(() => attempt.abort(Object.assign(new Error(`connecting through the dialer (dial and TLS handshake) timed out after ${timeoutMs} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' })), timeoutMs);
    tlsOverDial({
      dial: (signal) => dial(opts.hostname, port, signal), host: opts.hostname, servername: opts.servername ?? undefined,
      caPem: endpoint.caPem, clientCert: endpoint.clientCert, insecureSkipVerify: endpoint.insecureSkipTlsVerify, sessions, signal: attempt.signal,
    }).then((socket) => {
      clearTimeout(timer);
      callback(null, socket);
    }, (error: unknown) => {
      clearTimeout(timer);
      callback(error instanceof Error ? error : new Error(String(error)), null);
    });
  };
}

/** The undici `connect` option for this endpoint. */
export function connectorFor(endpoint: KubeEndpoint, timeoutMs: number): buildConnector.connector {
  if (endpoint.dial) return dialConnector(endpoint.dial, endpoint, timeoutMs);
  return buildConnector({ ...tlsOptions(endpoint), timeout: timeoutMs });
}
