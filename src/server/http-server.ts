/**
 * One HTTPS listener for everything. Requests under a raw prefix (the proxy at
 * /k8s/clusters/) go straight to their handler before Fastify routes anything,
 * so the hot path pays no framework cost; `upgrade` requests go to the handler
 * registered for their path prefix (tunnel at /v3/connect, exec/port-forward
 * under /k8s/clusters/) or are refused with 404; everything else is Fastify's.
 */
import { createServer, type Server } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyServerFactory } from 'fastify';
import { addHsts, addHstsToRawAnswer } from './hsts.ts';

/** `next` hands the request to Fastify instead (a handler that serves only some of its prefix's requests). */
export type RawHandler = (req: IncomingMessage, res: ServerResponse, next?: () => void) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface PrefixRoute<H> { prefix: string; handler: H }

export interface HttpRouting {
  /** Checked in order, before Fastify. */
  raw: PrefixRoute<RawHandler>[];
  upgrade: PrefixRoute<UpgradeHandler>[];
  /** Where every request being answered (not upgrades) is tracked, for a graceful stop to wait for. */
  inFlight?: RequestsInFlight;
  /** How long a client may take to send a whole request, body included (default 2 min), and how often that is checked (default 30 s). */
  receiveTimeouts?: { requestMs: number; checkEveryMs: number };
}

/**
 * The requests being answered now. A graceful stop waits for those that end by themselves
 * before it closes the tunnels and pools they use; a watch or a followed log would hold the
 * stop for hours, and its client opens it again elsewhere, so it is not waited for.
 */
export class RequestsInFlight {
  private readonly open = new Set<IncomingMessage>();

  track(req: IncomingMessage, res: ServerResponse): void {
    this.open.add(req);
    res.once('close', () => this.open.delete(req));
  }

  /**
   * Resolves when every request left is one `lasts` says may go on for hours, or after
   * `timeoutMs`, with how many others were still being answered then.
   */
  async settled(lasts: (req: IncomingMessage) => boolean, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = [...this.open].filter((req) => !lasts(req)).length;
      if (left === 0 || Date.now() >= deadline) return left;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function match<H>(routes: PrefixRoute<H>[], url: string | undefined): H | undefined {
  if (url === undefined) return undefined;
  for (const route of routes) if (url.startsWith(route.prefix)) return route.handler;
  return undefined;
}

/**
 * Replicas' mutual TLS on the same listener (src/replicas/peer-tls.ts): every client is
 * asked for a certificate from the peer CA, and one that sends none is served as before
 * (`rejectUnauthorized: false`; whoever needs to know checks `socket.authorized`). A
 * replica dialing with SNI `serverName` gets the peer certificate instead of the public one.
 */
export interface PeerTls { caPem: string; certPem: string; keyPem: string; serverName: string }

function peerTlsOptions(peer: PeerTls | undefined): object {
  if (!peer) return {};
  const context: SecureContext = createSecureContext({ cert: peer.certPem, key: peer.keyPem, ca: peer.caPem, minVersion: 'TLSv1.2' });
  return {
    requestCert: true, rejectUnauthorized: false, ca: peer.caPem,
    SNICallback: (name: string, done: (error: Error | null, context?: SecureContext) => void) => done(null, name === peer.serverName ? context : undefined),
  };
}

/** A Fastify `serverFactory` that builds the shared https server around Fastify's handler. */
export function httpsServerFactory(tls: { certPem: string; keyPem: string; peer?: PeerTls }, routing: HttpRouting): FastifyServerFactory {
  return (fastifyHandler) => {
    const server: Server = createServer({
      ...peerTlsOptions(tls.peer),
      cert: tls.certPem,
      key: tls.keyPem,
      minVersion: 'TLSv1.2',
      // HTTP/1.1 only, said in ALPN: a client offering h2 (kubectl, browsers) settles on
      // HTTP/1.1, and the proxy's header scrubbing and upgrades have one protocol to get right.
      ALPNProtocols: ['http/1.1'],
      // A client must finish sending headers within a minute and the whole request within
      // two: otherwise anyone could hold a connection and its buffers for ever by never
      // finishing a body (an anonymous client held 20,000, and logins failed). This bounds
      // only the receiving of the request: watches, followed logs and exec (upgrades) are
      // received at once and then live for hours; a 3 MiB body, kube-apiserver's largest,
      // needs 25 KB/s.
      requestTimeout: routing.receiveTimeouts?.requestMs ?? 120_000,
      connectionsCheckingInterval: routing.receiveTimeouts?.checkEveryMs ?? 30_000,
      headersTimeout: Math.min(60_000, routing.receiveTimeouts?.requestMs ?? 60_000),
      keepAliveTimeout: 65_000,
    }, (req, res) => {
      routing.inFlight?.track(req, res);
      addHsts(res);
      const raw = match(routing.raw, req.url);
      if (raw) raw(req, res, () => fastifyHandler(req, res));
      else fastifyHandler(req, res);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      addHstsToRawAnswer(socket);
      const handler = match(routing.upgrade, req.url);
      if (handler) handler(req, socket, head);
      else socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"code":"DRV_ERR_NOT_FOUND","message":"no upgrade handler for this path"}');
    });
    // Node's own answer to a request it cannot parse, as Node gives it, plus the header every answer carries.
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      if (error.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      addHstsToRawAnswer(socket);
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\nconnection: close\r\n\r\n`);
    });
    return server;
  };
}
