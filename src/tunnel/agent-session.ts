/**
 * The server's end of one agent session: the HTTP/2 client that runs over the
 * agent's upgraded socket (or over its WebSocket, see protocols.ts). It opens
 * CONNECT streams (dial) and makes ordinary requests (request); it accepts nothing
 * from the agent but responses (push is disabled), so nothing the agent sends can
 * change whom the session serves (T9).
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { DroverError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { parseHostPort } from '../addresses/index.ts';
import { readBody } from './agent-endpoint.ts';
import type { DataDials } from './data-dials.ts';
import { dialTokenHeader, dialViaHeader } from './protocols.ts';
import { carriesBytes, watchPeer } from './liveness.ts';
import { maxFrameBytes } from './ws-link.ts';
import type {
  AgentRequestOptions, AgentResponse, Clock, DialOptions, SessionEndReason, SessionInfo, TunnelStream,
} from './types.ts';

export interface AgentSessionOptions {
  /** The byte stream the HTTP/2 session runs on: the upgraded TLS socket or a WebSocket's stream. */
  connection: Duplex;
  info: SessionInfo;
  logger: Logger;
  clock: Clock;
  keepaliveIntervalMs: number;
  deadPeerTimeoutMs: number;
  streamWindowBytes: number;
  sessionWindowBytes: number;
  /** Given, dials may travel on connections of their own (data-dials.ts); only beside a direct session. */
  dataDials?: DataDials;
  onEnd: (session: AgentSession, reason: SessionEndReason) => void;
}

/** What a cluster controller may do with one agent's session. */
export interface AgentSessionView {
  readonly info: SessionInfo;
  /** Aborted when the session ends (for work that must stop with it). */
  readonly signal: AbortSignal;
  request(method: string, path: string, options?: AgentRequestOptions): Promise<AgentResponse>;
  /** A stream through this very session (also before admission, to check what the agent reported). */
  dial(address: string, options?: DialOptions): Promise<TunnelStream>;
  /** Ends the session now (its streams fail), with the reason the server's logs and events show. */
  destroy(reason: SessionEndReason): void;
}

const { NGHTTP2_CANCEL, NGHTTP2_CONNECT_ERROR, NGHTTP2_NO_ERROR } = http2.constants;

/** How long a dial's connection may still deliver what its target sent after the agent reported the target's reset. */
const resetDrainMs = 10_000;
const defaultMaxBodyBytes = 4 * 1024 * 1024;

export class AgentSession implements AgentSessionView {
  readonly info: SessionInfo;
  private readonly h2: ClientHttp2Session;
  private readonly stopWatch: () => void;
  private ended = false;
  private endReason: SessionEndReason | undefined;
  private readonly ending = new AbortController();
  /** Dials' own connections: they live and die with the session, like its streams. */
  private readonly dataConnections = new Set<Socket>();

  constructor(private readonly options: AgentSessionOptions) {
    this.info = options.info;
    this.h2 = http2.connect('http://agent.tunnel', {
      createConnection: () => options.connection,
      settings: { enablePush: false, initialWindowSize: options.streamWindowBytes, maxConcurrentStreams: 0, maxFrameSize: maxFrameBytes },
      maxSessionMemory: 64,
    });
    this.h2.on('error', (error: Error) => this.destroy({ type: 'protocol-error', message: error.message }));
    this.h2.on('connect', () => this.h2.setLocalWindowSize(options.sessionWindowBytes));
    this.h2.on('close', () => this.destroy({ type: 'closed-by-agent' }));
    // GOAWAY: no new streams here, but those open may finish.
    this.h2.on('goaway', () => this.end({ type: 'closed-by-agent' }));
    this.stopWatch = watchPeer(this.h2, {
      connection: options.connection,
      keepaliveIntervalMs: options.keepaliveIntervalMs,
      deadPeerTimeoutMs: options.deadPeerTimeoutMs,
      clock: options.clock,
      onDead: (silentMs) => this.destroy({ type: 'dead-peer', silentMs }),
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  get signal(): AbortSignal {
    return this.ending.signal;
  }

  /** Resolves once the agent has answered the HTTP/2 handshake; rejects if the session ends or the time runs out. */
  ready(timeoutMs: number): Promise<void> {
    if (this.ended) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent did not complete the HTTP/2 handshake in ${timeoutMs} ms`)), timeoutMs);
      // 'remoteSettings', not 'connect': the agent must have answered with its own SETTINGS.
      this.h2.once('remoteSettings', () => { clearTimeout(timer); resolve(); });
      this.h2.once('close', () => { clearTimeout(timer); reject(this.closedError()); });
    });
  }

  /**
   * Opens a byte stream to `address` (host:port) inside the cluster through the agent.
   * `signal` bounds the dial only: once the agent has answered, aborting it does
   * nothing, so a connect timeout never cuts the stream it opened (a watch held on it).
   */
  dial(address: string, options: DialOptions = {}): Promise<TunnelStream> {
    if (this.ended) return Promise.reject(this.closedError());
    return this.openStream(address, options.signal, options.ownConnection !== false);
  }

  private openStream(address: string, signal: AbortSignal | undefined, ownConnection: boolean): Promise<TunnelStream> {
    if (!parseHostPort(address)) return Promise.reject(new DroverError('DRV_ERR_INVALID_ARGUMENT', `dial address ${JSON.stringify(address)} is not host:port`));
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const dataDials = ownConnection ? this.options.dataDials : undefined;
    const token = dataDials?.expect(this.info.identity);
    let stream: ClientHttp2Stream;
    try {
      // No `signal` option here: Node would keep it bound to the stream for its whole life.
      stream = this.h2.request({ ':method': 'CONNECT', ':authority': address, ...(token ? { [dialTokenHeader]: token } : {}) }, { endStream: false });
    } catch (error) {
      if (token) dataDials?.forget(token);
      // The session is going away (GOAWAY or destroyed) but has not reported it yet.
      return Promise.reject(new DroverError('DRV_ERR_SESSION_CLOSED', `tunnel session ${this.info.id} cannot open streams: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
    }
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => {
        cleanup();
        if (token) dataDials?.forget(token);
        reject(error);
      };
      const onAbort = (): void => {
        fail(signal?.reason instanceof Error ? signal.reason : new Error(`dial to ${address} aborted`));
        stream.on('error', () => undefined);
        stream.close(NGHTTP2_CANCEL);
      };
      const onError = (error: Error): void => fail(this.ended ? this.closedError()
        : new DroverError('DRV_ERR_BAD_GATEWAY', `tunnel stream to ${address} failed: ${error.message}`, { cause: error }));
      const onClose = (): void => fail(this.ended ? this.closedError() : new DroverError('DRV_ERR_BAD_GATEWAY', `tunnel stream to ${address} closed before the agent answered`));
      const onResponse = (headers: IncomingHttpHeaders): void => {
        cleanup();
        const status = Number(headers[':status']);
        const connection = token ? dataDials?.take(token) : undefined;
        if (status === 200 && headers[dialViaHeader] === 'connection') {
          stream.on('error', () => undefined);
          if (!connection) {
            stream.close(NGHTTP2_CANCEL);
            return reject(new DroverError('DRV_ERR_BAD_GATEWAY', `cluster ${this.info.identity.clusterId}: the agent said the dial to ${address} has its own connection, but none arrived`));
          }
          return void connection.then((socket) => this.adoptConnection(socket, stream, address, resolve, reject), (error: unknown) => reject(new DroverError(
            'DRV_ERR_BAD_GATEWAY', `tunnel connection to ${address} failed before it was used: ${error instanceof Error ? error.message : String(error)}`, { cause: error })));
        }
        void connection?.then((socket) => socket.destroy(), () => undefined);
        if (status === 200) {
          carriesBytes(stream);
          return resolve(Object.assign(stream, { via: this.info, carrier: 'stream' as const }));
        }
        void readBody(stream, 4096).catch(() => Buffer.alloc(0)).then((body) => reject(dialError(status, address, body.toString('utf8'), this.info)));
      };
      const cleanup = (): void => {
        signal?.removeEventListener('abort', onAbort);
        stream.off('error', onError);
        stream.off('close', onClose);
        stream.off('response', onResponse);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('error', onError);
      stream.on('close', onClose);
      stream.on('response', onResponse);
    });
  }

  /**
   * A dial's own connection, now carrying its bytes: kept with the session's streams.
   * The dial's stream stays open beside it, as its abort signal: a connection dropped
   * before both directions ended resets the stream (CANCEL), and the agent then resets
   * the target, which could not tell a FIN after an abort from a clean end.
   */
  private adoptConnection(socket: Socket, stream: ClientHttp2Stream, address: string, resolve: (stream: TunnelStream) => void, reject: (error: Error) => void): void {
    if (this.ended || socket.destroyed) {
      socket.destroy();
      stream.close(NGHTTP2_CANCEL);
      return reject(this.ended ? this.closedError() : new DroverError('DRV_ERR_BAD_GATEWAY', 'the tunnel connection closed before it was used'));
    }
    this.dataConnections.add(socket);
    socket.once('close', () => {
      this.dataConnections.delete(socket);
      if (!stream.closed) stream.close(socket.readableEnded && socket.writableFinished ? NGHTTP2_NO_ERROR : NGHTTP2_CANCEL);
    });
    // The agent resets the stream when the target reset its connection, and ends the
    // connection after what the target sent before: the reset (on the session) may come
    // first, and those bytes are read before the connection fails. An agent that never
    // ends it (an older one) gets `resetDrainMs`.
    stream.once('close', () => {
      if (stream.rstCode !== NGHTTP2_CONNECT_ERROR || socket.destroyed) return;
      const fail = (): void => { socket.destroy(new DroverError('DRV_ERR_BAD_GATEWAY', `tunnel connection to ${address}: the target reset its connection (NGHTTP2_CONNECT_ERROR)`)); };
      if (socket.readableEnded) return fail();
      const timer = setTimeout(fail, resetDrainMs);
      timer.unref();
      socket.once('end', () => { clearTimeout(timer); fail(); });
    });
    resolve(Object.assign(socket, { via: this.info, carrier: 'connection' as const }));
  }

  /** An ordinary HTTP/2 request to one of the agent's registered routes. */
  async request(method: string, path: string, options: AgentRequestOptions = {}): Promise<AgentResponse> {
    if (this.ended) throw this.closedError();
    if (!path.startsWith('/')) throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `agent request path must start with "/", got ${JSON.stringify(path)}`);
    let stream: ClientHttp2Stream;
    try {
      stream = this.h2.request(
        { ...options.headers, ':method': method, ':path': path },
        { endStream: options.body === undefined, ...(options.signal ? { signal: options.signal } : {}) },
      );
    } catch (error) {
      throw new DroverError('DRV_ERR_SESSION_CLOSED', `tunnel session ${this.info.id} cannot open streams: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (options.body !== undefined) stream.end(options.body);
    const headersPromise = new Promise<IncomingHttpHeaders>((resolve, reject) => {
      stream.once('response', resolve);
      stream.once('error', reject);
      stream.once('close', () => reject(this.ended ? this.closedError() : new DroverError('DRV_ERR_BAD_GATEWAY', 'agent closed the request stream')));
    });
    stream.on('error', () => undefined);
    // Read from the start: a response without a body ends (and its stream closes) with
    // its headers, before a reader attached afterwards would see the end.
    const bodyPromise = readBody(stream, options.maxBodyBytes ?? defaultMaxBodyBytes);
    bodyPromise.catch(() => undefined);
    try {
      const headers = await headersPromise;
      const body = await bodyPromise;
      const plain: Record<string, string> = {};
      for (const [k, v] of Object.entries(headers)) if (!k.startsWith(':') && v !== undefined) plain[k] = Array.isArray(v) ? v.join(', ') : String(v);
      return { status: Number(headers[':status']), headers: plain, body, json: () => JSON.parse(body.toString('utf8')) as unknown };
    } catch (error) {
      if (!stream.closed) stream.close(NGHTTP2_CANCEL);
      if (error instanceof DroverError || options.signal?.aborted) throw error;
      throw new DroverError('DRV_ERR_BAD_GATEWAY', `agent request ${method} ${path} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  /**
   * Graceful: no new streams; open ones finish, on the session and on their own
   * connections; then the connection closes (HTTP/2 ends it).
   */
  async close(reason: SessionEndReason = { type: 'server-closing' }): Promise<void> {
    if (this.ended) return;
    this.end(reason);
    await Promise.all([...this.dataConnections].map((socket) => new Promise((resolve) => socket.once('close', resolve))));
    await new Promise<void>((resolve) => this.h2.close(() => resolve()));
  }

  /** Immediate: resets every stream, closes the dials' own connections and drops the session's. Idempotent. */
  destroy(reason: SessionEndReason): void {
    this.end(reason);
    if (!this.h2.destroyed) this.h2.destroy();
    this.options.connection.destroy();
    for (const socket of this.dataConnections) socket.destroy();
  }

  private end(reason: SessionEndReason): void {
    if (this.ended) return;
    this.ended = true;
    this.endReason = reason;
    this.stopWatch();
    this.ending.abort(this.closedError());
    const level = reason.type === 'protocol-error' || reason.type === 'dead-peer' || reason.type === 'refused' ? 'warn' : 'info';
    this.options.logger[level]({ session: this.info.id, cluster: this.info.identity.clusterId, kind: this.info.identity.kind, reason }, 'tunnel session ended');
    this.options.onEnd(this, reason);
  }

  private closedError(): DroverError {
    const why = this.endReason ? ` (${this.endReason.type})` : '';
    return new DroverError('DRV_ERR_SESSION_CLOSED', `tunnel session ${this.info.id} for cluster ${this.info.identity.clusterId} is closed${why}; retry to use another session`);
  }
}

function dialError(status: number, address: string, text: string, info: SessionInfo): DroverError {
  const detail = text.slice(0, 200);
  if (status === 502) return new DroverError('DRV_ERR_BAD_GATEWAY', `cluster ${info.identity.clusterId}: ${detail || `agent could not connect ${address}`}`);
  return new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', `cluster ${info.identity.clusterId}: agent refused to dial ${address} (${status}${detail ? `: ${detail}` : ''})`);
}
