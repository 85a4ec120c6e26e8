/**
 * The agent side of the reverse tunnel: one outbound connection to
 * `<serverUrl>/v3/connect` carrying an HTTP/2 server (agent-endpoint.ts). The agent
 * offers HTTP/2 straight on the upgraded TLS socket first and falls back to HTTP/2
 * inside a WebSocket when something that does not speak the direct protocol refuses
 * it (protocols.ts). Keepalive with dead-peer detection (liveness.ts), and reconnects
 * with exponential backoff and full jitter until `close()`. The backoff starts over
 * only after a connection that lasted (`stableAfterMs`): a server that takes the agent
 * and drops it at once (refusing it after the handshake) sees the waits grow, not a
 * reconnect every second.
 *
 * Trust: when `ca` is given it is the ONLY trust anchor (no fallback to the system
 * store, T15), on both transports. Credentials come from `headers()` at every attempt,
 * so a rotated token is picked up without a restart. The agent dials only what
 * `allow` accepts.
 */
import type { IncomingMessage } from 'node:http';
import type { Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { InvalidArgumentError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { AgentEndpoint } from './agent-endpoint.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { OwnConnectionOdds } from './own-connection-odds.ts';
import { offerUpgrade } from './upgrade-offer.ts';
import { watchPeer } from './liveness.ts';
import { dataProtocol, dialTokenHeader, directProtocol, type TunnelTransport } from './protocols.ts';
import { maxMessageBytes, webSocketStream } from './ws-link.ts';
import { realClock, type Clock, type TunnelHandlers } from './types.ts';

export interface TunnelClientOptions {
  /** The server's base URL (https:// or wss://); the client connects to `<serverUrl>/v3/connect`. */
  serverUrl: string;
  /** Credentials for each connection attempt (registration token, cluster id, ...). */
  headers: () => Record<string, string>;
  /** PEM of the server CA to pin; when set, the system trust store is not used. */
  ca?: string;
  /** Whether the server may have the agent dial this address. */
  allow: (host: string, port: number) => boolean;
  handlers?: TunnelHandlers;
  logger: Logger;
  backoff: BackoffOptions;
  /** How long a connection must have lasted for the backoff to start over (default 10 s). */
  stableAfterMs?: number;
  keepaliveIntervalMs?: number;
  deadPeerTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  dialTimeoutMs?: number;
  streamWindowBytes?: number;
  connectPath?: string;
  /**
   * `auto` (default): offer HTTP/2 on the upgraded socket, fall back to the WebSocket
   * when refused by something that does not speak it; `websocket`: WebSocket only.
   */
  transport?: 'auto' | 'websocket';
  /**
   * Whether dials of a direct session may travel on connections of their own (default
   * true; data-dials.ts): one more TLS connection to the server per connection to
   * kube-apiserver, against HTTP/2 framing on both ends for every byte.
   */
  dataConnections?: boolean;
  clock?: Clock;
  random?: () => number;
}

export type DisconnectReason =
  | { type: 'refused'; status: number; message: string }
  | { type: 'error'; message: string }
  /** `code` is the WebSocket close code, on the WebSocket transport. */
  | { type: 'closed'; code?: number }
  | { type: 'dead-peer'; silentMs: number }
  | { type: 'protocol-error'; message: string };

export interface TunnelClientEvents {
  connected: () => void;
  disconnected: (reason: DisconnectReason, retryInMs: number | undefined) => void;
}

/** One connection attempt, from the offer to the end of the session it carried. */
interface Attempt {
  /** The first reason noted wins: what ended it, rather than the close that followed. */
  reason?: DisconnectReason;
  h2?: Http2Session;
  /** Drops whatever the attempt holds (a pending upgrade, the connection). */
  abort: () => void;
  ended: boolean;
}

export class TunnelClient {
  private readonly options: TunnelClientOptions;
  private readonly url: URL;
  private readonly wsUrl: string;
  private readonly backoff: Backoff;
  private readonly endpoint: AgentEndpoint;
  private readonly clock: Clock;
  private readonly listeners: { [E in keyof TunnelClientEvents]: Set<TunnelClientEvents[E]> } = { connected: new Set(), disconnected: new Set() };
  private state: 'new' | 'running' | 'closed' = 'new';
  private attempt: Attempt | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private connectedNow = false;
  private connectedAt = 0;

  constructor(options: TunnelClientOptions) {
    const url = new URL(options.serverUrl);
    if (!['https:', 'wss:', 'http:', 'ws:'].includes(url.protocol)) throw new InvalidArgumentError('serverUrl', 'an https:// or wss:// URL', options.serverUrl);
    if (typeof options.allow !== 'function') throw new InvalidArgumentError('allow', 'a function (host, port) => boolean');
    if (typeof options.headers !== 'function') throw new InvalidArgumentError('headers', 'a function returning the connection headers');
    if (options.transport !== undefined && options.transport !== 'auto' && options.transport !== 'websocket') throw new InvalidArgumentError('transport', '"auto" or "websocket"', options.transport);
    const secure = url.protocol === 'https:' || url.protocol === 'wss:';
    url.protocol = secure ? 'https:' : 'http:';
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${options.connectPath ?? '/v3/connect'}`;
    this.url = url;
    this.wsUrl = url.toString().replace(/^http/, 'ws');
    this.options = options;
    this.clock = options.clock ?? realClock;
    this.backoff = new Backoff(options.backoff, options.random);
    this.endpoint = new AgentEndpoint({
      allow: options.allow,
      handlers: options.handlers ?? {},
      logger: options.logger,
      dialTimeoutMs: options.dialTimeoutMs ?? 30_000,
      streamWindowBytes: options.streamWindowBytes ?? 1024 * 1024,
    });
  }

  on<E extends keyof TunnelClientEvents>(event: E, listener: TunnelClientEvents[E]): () => void {
    const set = this.listeners[event] as Set<TunnelClientEvents[E]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  get connected(): boolean {
    return this.connectedNow;
  }

  /** Starts connecting (and reconnecting until close). Idempotent. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.connect();
  }

  /** Graceful: stops reconnecting, lets open streams finish, then closes the connection. Idempotent. */
  async close(): Promise<void> {
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    const attempt = this.attempt;
    const h2 = attempt?.h2;
    if (h2 && !h2.closed) await new Promise<void>((resolve) => h2.close(() => resolve()));
    attempt?.abort();
  }

  /** Immediate: drops the connection and every stream now. Idempotent. */
  destroy(_error?: Error): void {
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    this.attempt?.abort();
  }

  private connect(): void {
    if (this.state !== 'running') return;
    const attempt: Attempt = { abort: () => undefined, ended: false };
    this.attempt = attempt;
    if (this.options.transport === 'websocket') return this.connectWebSocket(attempt);
    const offer = offerUpgrade(this.url, {
      protocol: directProtocol,
      headers: this.options.headers(),
      timeoutMs: this.options.handshakeTimeoutMs ?? 10_000,
      ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
    });
    attempt.abort = offer.abort;
    offer.outcome.then((outcome) => {
      // Closed or destroyed while the answer was on its way: nothing may be served.
      if (this.attempt !== attempt || this.state !== 'running') {
        if (outcome.type === 'upgraded') outcome.socket.destroy();
        return this.finish(attempt, { type: 'closed' });
      }
      if (outcome.type === 'upgraded') return this.run(attempt, outcome.socket, 'direct');
      if (outcome.understood) return this.finish(attempt, { type: 'refused', status: outcome.status, message: outcome.message });
      this.options.logger.info({ url: this.url.toString(), status: outcome.status },
        'the direct tunnel upgrade was refused by something that does not speak it (an older server, or a proxy that passes only WebSocket upgrades); using the WebSocket tunnel');
      this.connectWebSocket(attempt);
    }, (error: Error) => this.finish(attempt, { type: 'error', message: error.message }));
  }

  private connectWebSocket(attempt: Attempt): void {
    const ws = new WebSocket(this.wsUrl, {
      headers: this.options.headers(),
      maxPayload: maxMessageBytes,
      perMessageDeflate: false,
      // A zero mask: ws then sends each message as it is instead of copying and XOR-ing
      // every byte (see README.md, "What it costs"). Masking keeps a browser's script from
      // steering the bytes an intermediary sees; here the link is TLS and every stream
      // inside carries the apiserver's TLS ciphertext, which nobody can steer.
      generateMask: (mask: Buffer) => { mask.fill(0); },
      handshakeTimeout: this.options.handshakeTimeoutMs ?? 10_000,
      ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
    });
    attempt.abort = () => ws.terminate();
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      const refused = { type: 'refused' as const, status: res.statusCode ?? 0, message: '' };
      attempt.reason ??= refused;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => { if (chunks.length < 4) chunks.push(c); });
      res.on('end', () => { refused.message = Buffer.concat(chunks).toString('utf8').trim().slice(0, 2000); ws.terminate(); });
      res.on('error', () => ws.terminate());
    });
    ws.on('error', (error) => { attempt.reason ??= { type: 'error', message: error.message }; });
    ws.on('open', () => this.run(attempt, webSocketStream(ws), 'websocket'));
    ws.on('close', (code) => this.finish(attempt, { type: 'closed', code }));
  }

  /** Serves HTTP/2 on the attempt's connection until either side ends it. */
  private run(attempt: Attempt, connection: Duplex, transport: TunnelTransport): void {
    const odds = transport === 'direct' && this.options.dataConnections !== false ? new OwnConnectionOdds() : undefined;
    const h2 = this.endpoint.serve(connection, odds && ((token) => this.connectData(token, odds)));
    attempt.h2 = h2;
    attempt.abort = () => { h2.destroy(); connection.destroy(); };
    watchPeer(h2, {
      connection,
      keepaliveIntervalMs: this.options.keepaliveIntervalMs ?? 5_000,
      deadPeerTimeoutMs: this.options.deadPeerTimeoutMs ?? 20_000,
      clock: this.clock,
      onDead: (silentMs) => { attempt.reason ??= { type: 'dead-peer', silentMs }; attempt.abort(); },
    });
    // The session destroys itself after an error; its close ends the attempt.
    h2.on('error', (error: Error) => { attempt.reason ??= { type: 'protocol-error', message: error.message }; });
    h2.once('close', () => this.finish(attempt, { type: 'closed' }));
    h2.once('remoteSettings', () => {
      if (this.attempt !== attempt) return;
      this.connectedNow = true;
      this.connectedAt = this.clock.now();
      this.options.logger.info({ url: this.url.toString(), transport }, 'tunnel connected');
      this.emit('connected');
    });
  }

  /** A dial's own connection: an upgrade like the session's, naming the dial's token. */
  private async connectData(token: string, odds: OwnConnectionOdds): Promise<Socket> {
    if (!odds.worthTrying) throw new Error('this session no longer asks for connections of its own');
    const offer = offerUpgrade(this.url, {
      protocol: dataProtocol,
      headers: { ...this.options.headers(), [dialTokenHeader]: token },
      timeoutMs: this.options.handshakeTimeoutMs ?? 10_000,
      ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
    });
    const outcome = await offer.outcome.catch((error: unknown) => ({ type: 'refused' as const, status: 0, message: error instanceof Error ? error.message : String(error) }));
    if (outcome.type === 'refused') {
      if (odds.refusedByServer()) {
        this.options.logger.info({ url: this.url.toString(), refusals: odds.describe() }, 'dials stay on the tunnel session from now on: their own connections are refused (a load balancer without session affinity in front of several replicas, or a proxy that refuses them); the next session tries again');
      }
      throw new Error(`the server refused the dial's connection (${outcome.status}: ${outcome.message})`);
    }
    odds.reachedServer();
    return outcome.socket;
  }

  /** Ends the attempt once (with the first reason noted, else `otherwise`) and schedules the next. */
  private finish(attempt: Attempt, otherwise: DisconnectReason): void {
    if (this.attempt !== attempt || attempt.ended) return;
    attempt.ended = true;
    this.attempt = undefined;
    attempt.abort();
    // Connected, but the HTTP/2 handshake never completed: the server is not speaking our protocol.
    const unanswered = attempt.h2 && !this.connectedNow ? { type: 'protocol-error' as const, message: 'the server did not complete the HTTP/2 handshake on the tunnel' } : undefined;
    const reason = attempt.reason ?? unanswered ?? otherwise;
    if (this.connectedNow && this.clock.now() - this.connectedAt >= (this.options.stableAfterMs ?? 10_000)) this.backoff.reset();
    this.connectedNow = false;
    const retryInMs = this.state === 'running' ? this.backoff.next() : undefined;
    this.options.logger.info({ url: this.url.toString(), reason, retryInMs }, 'tunnel disconnected');
    this.emit('disconnected', reason, retryInMs);
    if (retryInMs !== undefined) this.retryTimer = setTimeout(() => this.connect(), retryInMs);
  }

  private emit<E extends keyof TunnelClientEvents>(event: E, ...args: Parameters<TunnelClientEvents[E]>): void {
    for (const listener of this.listeners[event]) {
      try {
        (listener as (...a: Parameters<TunnelClientEvents[E]>) => void)(...args);
      } catch (error) {
        this.options.logger.error({ event, err: error instanceof Error ? error.message : String(error) }, 'tunnel event listener threw');
      }
    }
  }
}
