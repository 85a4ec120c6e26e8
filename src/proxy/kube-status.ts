/**
 * Errors on `/k8s/clusters/...` are answered as Kubernetes `Status` objects, so
 * kubectl and client libraries print Drover's reason the way they print the
 * apiserver's own (`Error from server (Forbidden): ...`).
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { answerStatus, DroverError, publicMessage } from '../errors/index.ts';

const reasons: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict',
  413: 'RequestEntityTooLarge', 421: 'Misdirected', 422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError',
  502: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

export function kubeStatusBody(error: unknown): { status: number; body: string; retryAfter?: number } {
  const status = error instanceof DroverError ? answerStatus(error) : 500;
  const code = error instanceof DroverError ? error.code : 'DRV_ERR_INTERNAL';
  const body = JSON.stringify({
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: publicMessage(error), reason: reasons[status] ?? 'InternalError', code: status,
    details: { causes: [{ reason: code, message: publicMessage(error) }] },
  });
  const retryAfter = error instanceof DroverError ? error.retryAfterSeconds : undefined;
  return { status, body, ...(retryAfter === undefined ? {} : { retryAfter }) };
}

/** `headers`: more answer headers (a replica's marker for its peer). */
export function writeKubeStatus(res: ServerResponse, error: unknown, headers: Record<string, string> = {}): void {
  const { status, body, retryAfter } = kubeStatusBody(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
    ...headers,
  });
  res.end(body);
}

/**
 * The same answer on a raw socket (an upgrade request that never upgraded), then closes it:
 * the socket is not read, so a caller that half-closes would never be seen leaving; once
 * the answer is flushed the connection is closed from this side.
 */
export function writeKubeStatusToSocket(socket: Duplex, error: unknown, headers: Record<string, string> = {}): void {
  const { status, body, retryAfter } = kubeStatusBody(error);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json\r\n`
    + `content-length: ${Buffer.byteLength(body)}\r\nx-content-type-options: nosniff\r\n${retryAfter === undefined ? '' : `retry-after: ${retryAfter}\r\n`}`
    + Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
    + `connection: close\r\n\r\n${body}`,
  );
}
