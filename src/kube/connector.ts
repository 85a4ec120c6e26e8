/**
 * How a KubeClient opens connections. Without a dialer, undici's own connector (TCP +
 * TLS, session reuse, connect timeout). With one, the dialer hands us a byte stream
 * (an agent's tunnel) and TLS runs on top of it, so the tunnel only ever carries
 * ciphertext and the apiserver's certificate is verified here, end to end. Either
 * way undici's pool keeps its keep-alive and pipelining rules.
 */
import { isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { buildConnector } from 'undici';
import type { KubeDialer, KubeEndpoint } from './endpoint.ts';

function tlsOptions(endpoint: KubeEndpoint): ConnectionOptions {
  return {
    ...(endpoint.caPem ? { ca: endpoint.caPem } : {}),
    ...(endpoint.clientCert ? { cert: endpoint.clientCert.certPem, key: endpoint.clientCert.keyPem } : {}),
    rejectUnauthorized: endpoint.insecureSkipTlsVerify !== true,
  };
}

/** TLS over whatever stream `dial` returns; fails the connect after `timeoutMs`. */
export function dialConnector(dial: KubeDialer, endpoint: KubeEndpoint, timeoutMs: number): buildConnector.connector {
  const base = tlsOptions(endpoint);
  return (opts, callback) => {
    const port = Number(opts.port) || 443;
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      callback(error, null);
    };
    const signal = AbortSignal.timeout(timeoutMs);
    dial(opts.hostname, port, signal).then((stream) => {
      if (settled) {
        stream.destroy();
        return;
      }
      const socket = tlsConnect({
        ...base,
        socket: stream,
        // checkServerIdentity verifies against host; SNI must not carry an IP address (RFC 6066).
        host: opts.hostname,
        ...(isIP(opts.hostname) ? {} : { servername: opts.servername ?? opts.hostname }),
        ALPNProtocols: ['http/1.1'],
      });
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`TLS handshake through the dialer timed out after ${timeoutMs} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' })), timeoutMs);
      const onError = (error: Error): void => {
        clearTimeout(timer);
        stream.destroy();
        fail(error);
      };
      socket.once('error', onError);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        if (settled) {
          socket.destroy();
          return;
        }
        settled = true;
        callback(null, socket);
      });
    }, (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))));
  };
}

/** The undici `connect` option for this endpoint. */
export function connectorFor(endpoint: KubeEndpoint, timeoutMs: number): buildConnector.connector {
  if (endpoint.dial) return dialConnector(endpoint.dial, endpoint, timeoutMs);
  return buildConnector({ ...tlsOptions(endpoint), timeout: timeoutMs });
}
