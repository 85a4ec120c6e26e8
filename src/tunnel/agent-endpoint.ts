/**
 * The agent's end of a session: an HTTP/2 server on the tunnel's byte stream. It
 * answers two kinds of request and nothing else:
 *   - CONNECT host:port (RFC 7540 §8.3): checked against the allow-list, dialled with
 *     net.connect, answered 200 and piped both ways (TLS to the target runs end to
 *     end inside; the agent never sees plaintext API traffic). 403 when the address
 *     is not allowed, 400 when it is malformed, 502 when the dial fails. When the
 *     CONNECT names a token and the session can open connections of its own, the
 *     bytes travel on a new connection to the server instead (data-dials.ts), and the
 *     answer says so; if that connection cannot be had, on the stream as before.
 *   - the owner's ordinary routes ("GET /v1/cluster-info"); 404 for any other.
 */
import http2, { type ServerHttp2Session, type ServerHttp2Stream, type IncomingHttpHeaders, type Settings } from 'node:http2';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logging/index.ts';
import { parseHostPort } from '../addresses/index.ts';
import { carriesBytes } from './liveness.ts';
import { dialTokenHeader, dialViaHeader } from './protocols.ts';
import type { TunnelHandlers, TunnelReply } from './types.ts';
import { maxFrameBytes } from './ws-link.ts';

export interface AgentEndpointOptions {
  allow: (host: string, port: number) => boolean;
  handlers: TunnelHandlers;
  logger: Logger;
  dialTimeoutMs: number;
  streamWindowBytes: number;
}

const maxRequestBodyBytes = 1024 * 1024;
/** Open streams (dials) per agent session; an idle stream costs a few hundred bytes. */
const maxConcurrentStreams = 16_384;
const { NGHTTP2_CONNECT_ERROR, NGHTTP2_CANCEL } = http2.constants;

/** Opens the connection a dial's token names (the `drover-tunnel-data/1` upgrade); rejects when refused. */
export type DataConnector = (token: string) => Promise<net.Socket>;

/** The HTTP/2 server side of each of an agent's sessions (one at a time in practice). */
export class AgentEndpoint {
  private readonly settings: Settings;

  constructor(private readonly options: AgentEndpointOptions) {
    // Every open watch through the proxy holds one stream for as long as it lasts: at
    // the old cap of 1,000 the 1,001st request of a cluster waited for a watch to end.
    this.settings = { initialWindowSize: options.streamWindowBytes, maxConcurrentStreams: maxConcurrentStreams, enablePush: false, maxFrameSize: maxFrameBytes };
  }

  /**
   * Starts an HTTP/2 server session on `duplex` (the upgraded TLS socket, or a
   * WebSocket's stream). Not through an `http2.Server`: its connection handler refuses
   * a TLS socket whose ALPN did not say h2, which an upgraded socket never does.
   */
  serve(duplex: Duplex, connectData?: DataConnector): ServerHttp2Session {
    const session = http2.performServerHandshake(duplex, { settings: this.settings, maxSessionMemory: 64 });
    // The dials' own connections end with the session, as its streams do.
    const dataConnections = new Set<net.Socket>();
    const connector = connectData && ((token: string) => connectData(token).then((connection) => {
      if (session.closed || session.destroyed) {
        connection.destroy();
        throw new Error('the tunnel session ended');
      }
      dataConnections.add(connection);
      connection.once('close', () => dataConnections.delete(connection));
      return connection;
    }));
    session.once('close', () => { for (const connection of dataConnections) connection.destroy(); });
    session.on('stream', (stream, headers) => this.onStream(stream, headers, connector));
    return session;
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, connectData: DataConnector | undefined): void {
    stream.on('error', (error) => this.options.logger.debug({ err: error.message }, 'tunnel stream error'));
    const token = headers[dialTokenHeader];
    if (headers[':method'] === 'CONNECT') this.onConnect(stream, String(headers[':authority'] ?? ''), typeof token === 'string' ? connectData?.bind(null, token) : undefined);
    else void this.onRequest(stream, headers);
  }

  /** `ownConnection`, when given, opens the connection this dial's bytes may travel on instead of `stream`. */
  private onConnect(stream: ServerHttp2Stream, authority: string, ownConnection: (() => Promise<net.Socket>) | undefined): void {
    const target = parseHostPort(authority);
    if (!target) return refuse(stream, 400, 'malformed CONNECT address');
    if (!this.options.allow(target.host, target.port)) {
      this.options.logger.warn({ address: authority }, 'tunnel dial refused: address not on the allow-list');
      return refuse(stream, 403, `address ${authority} is not on the agent's allow-list`);
    }
    // noDelay: API requests are small writes that must not wait for an ACK (Nagle).
    const socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    socket.setTimeout(this.options.dialTimeoutMs, () => socket.destroy(new Error(`dial timed out after ${this.options.dialTimeoutMs} ms`)));
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      socket.setTimeout(0);
      if (stream.destroyed) return void socket.destroy();
      if (!ownConnection) return relayOverStream(stream, socket);
      ownConnection().then((connection) => relayOverConnection(stream, socket, connection), (error: Error) => {
        this.options.logger.debug({ address: authority, err: error.message }, 'tunnel dial carried on its stream: its own connection was refused');
        relayOverStream(stream, socket);
      });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (connected) return;
      this.options.logger.info({ address: authority, code: error.code }, 'tunnel dial failed');
      refuse(stream, 502, `agent could not connect ${authority}: ${error.code ?? error.message}`, error.code);
    });
    // A dial the server gave up (or a session that died) before it was answered closes the target.
    stream.once('close', () => { if (!stream.headersSent) reset(socket); });
  }

  private async onRequest(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    const method = String(headers[':method'] ?? '');
    const path = String(headers[':path'] ?? '').split('?')[0] ?? '';
    const handler = this.options.handlers[`${method} ${path}`];
    if (!handler) return refuse(stream, 404, `no route ${method} ${path} on the agent`);
    try {
      const body = await readBody(stream, maxRequestBodyBytes);
      const plain: Record<string, string> = {};
      for (const [k, v] of Object.entries(headers)) if (!k.startsWith(':') && v !== undefined) plain[k] = Array.isArray(v) ? v.join(', ') : v;
      const reply = await handler({ method, path, headers: plain, body });
      sendReply(stream, reply);
    } catch (error) {
      this.options.logger.warn({ method, path, err: error instanceof Error ? error.message : String(error) }, 'tunnel route failed');
      refuse(stream, 500, 'agent route failed');
    }
  }
}

/** The dial's bytes travel on its HTTP/2 stream. */
function relayOverStream(stream: ServerHttp2Stream, socket: net.Socket): void {
  if (socket.destroyed) return refuse(stream, 502, 'the target closed its connection before the dial was answered');
  try {
    stream.respond({ ':status': 200 });
  } catch {
    return void socket.destroy();
  }
  carriesBytes(stream);
  socket.pipe(stream);
  stream.pipe(socket);
  socket.on('error', () => { if (!stream.closed) stream.close(NGHTTP2_CONNECT_ERROR); });
  // A reset from the server side (or a dead session) resets the target connection too;
  // a clean close has already ended both directions through the pipes.
  stream.on('close', () => {
    if (stream.rstCode !== undefined && stream.rstCode !== 0) reset(socket);
  });
  stream.on('aborted', () => reset(socket));
}

/**
 * The dial's bytes travel on `connection`, its own; the stream stays open beside it to
 * carry aborts, both ways: the server resets it (CANCEL) when it drops the connection
 * before both directions ended, and the agent resets the target; a target that resets
 * makes the agent end the connection after the bytes it sent and reset the stream
 * (CONNECT_ERROR), and the server fails the connection with that error once those bytes
 * are in. Neither end mistakes an abort for a clean end, which a FIN on the connection
 * could not say (it may also arrive before the stream's reset).
 */
function relayOverConnection(stream: ServerHttp2Stream, socket: net.Socket, connection: net.Socket): void {
  if (socket.destroyed || stream.destroyed) {
    connection.destroy();
    if (!socket.destroyed) socket.destroy();
    return refuse(stream, 502, 'the target closed its connection before the dial was answered');
  }
  try {
    stream.respond({ ':status': 200, [dialViaHeader]: 'connection' });
  } catch {
    connection.destroy();
    return void socket.destroy();
  }
  connection.allowHalfOpen = true;
  connection.pipe(socket);
  socket.pipe(connection);
  let connectionEnded = false;
  connection.once('end', () => { connectionEnded = true; });
  connection.on('error', () => undefined);
  connection.once('close', () => {
    if (!connectionEnded) reset(socket);
    if (!stream.closed) stream.close();
  });
  // A target that resets: what it sent before still goes, then the connection's FIN, so the
  // server has every byte when it hears of the reset on the stream (which may arrive first:
  // two connections); it fails the connection once the FIN is in.
  socket.on('error', () => {
    connection.end();
    if (!stream.closed) stream.close(NGHTTP2_CONNECT_ERROR);
  });
  stream.on('close', () => {
    if (stream.rstCode === NGHTTP2_CANCEL) reset(socket);
  });
}

/** Resets (RST) rather than closes (FIN), so the target cannot mistake an abort for a clean end. */
function reset(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.readyState === 'opening') socket.destroy();
  else socket.resetAndDestroy();
}

function refuse(stream: ServerHttp2Stream, status: number, message: string, code?: string): void {
  try {
    if (stream.destroyed || stream.headersSent) {
      if (!stream.closed) stream.close(NGHTTP2_CANCEL);
      return;
    }
    stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8', ...(code ? { 'drover-dial-error': code } : {}) });
    stream.end(message);
  } catch {
    // The session went away while we answered; nothing is left to tell.
    stream.destroy();
  }
}

function sendReply(stream: ServerHttp2Stream, reply: TunnelReply): void {
  if (stream.destroyed || stream.headersSent) return;
  const isRaw = Buffer.isBuffer(reply.body) || typeof reply.body === 'string';
  const body = reply.body === undefined ? Buffer.alloc(0) : isRaw ? reply.body as Buffer | string : JSON.stringify(reply.body);
  const type = isRaw || reply.body === undefined ? {} : { 'content-type': 'application/json' };
  stream.respond({ ':status': reply.status ?? 200, ...type, ...reply.headers });
  stream.end(body);
}

/** Reads a stream to its end, failing once it exceeds `limit` bytes. */
export function readBody(stream: NodeJS.ReadableStream & { destroy(error?: Error): unknown }, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stream.destroy(new Error(`body larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
    stream.once('close', () => reject(new Error('stream closed before its end')));
  });
}
