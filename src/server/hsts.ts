/**
 * Strict-Transport-Security on every answer the listener sends: REST, UI, /cacerts,
 * /healthz, proxied answers, and the raw answers written to an upgrade's socket
 * (refused upgrades, the proxy's 101 or non-101 from kube-apiserver, the tunnel's
 * 101 or 401). The listener is the one place all of them pass, so the header is
 * added here rather than by each writer.
 *
 * One year, without `includeSubDomains`: Drover owns its own host name, not the
 * names below it (a cluster's ingress wildcard may live there on plain HTTP), and
 * no `preload`, which only the domain's owner may ask for.
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export const hstsValue = 'max-age=31536000';
const headerLine = `strict-transport-security: ${hstsValue}\r\n`;

export function addHsts(res: ServerResponse): void {
  res.setHeader('strict-transport-security', hstsValue);
}

/** The chunk with the header inserted after its status line, when it starts an HTTP/1.1 answer. */
export function withHstsLine(chunk: unknown): unknown {
  if (typeof chunk === 'string') {
    const eol = chunk.indexOf('\r\n');
    return chunk.startsWith('HTTP/1.1 ') && eol > 0 ? `${chunk.slice(0, eol + 2)}${headerLine}${chunk.slice(eol + 2)}` : chunk;
  }
  if (Buffer.isBuffer(chunk)) {
    const eol = chunk.indexOf('\r\n');
    return chunk.subarray(0, 9).toString('latin1') === 'HTTP/1.1 ' && eol > 0
      ? Buffer.concat([chunk.subarray(0, eol + 2), Buffer.from(headerLine, 'latin1'), chunk.subarray(eol + 2)])
      : chunk;
  }
  return chunk;
}

/**
 * Adds the header to the first thing written to an upgrade's socket, which is the
 * answer's head whoever writes it, then gets out of the way: later writes (tunnel
 * frames, exec streams) go to the socket's own methods untouched.
 */
export function addHstsToRawAnswer(socket: Duplex): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  const end = socket.end.bind(socket) as (...args: unknown[]) => Duplex;
  const restore = (): void => {
    delete (socket as { write?: unknown }).write;
    delete (socket as { end?: unknown }).end;
  };
  Object.assign(socket, {
    write: (chunk: unknown, ...rest: unknown[]) => {
      restore();
      return write(withHstsLine(chunk), ...rest);
    },
    end: (...args: unknown[]) => {
      restore();
      return typeof args[0] === 'function' || args[0] === undefined ? end(...args) : end(withHstsLine(args[0]), ...args.slice(1));
    },
  });
}
