/**
 * The agent side of the reverse tunnel: one outbound WebSocket to
 * `<serverUrl>/v3/connect`, an HTTP/2 server on it (agent-endpoint.ts), keepalive
 * with dead-peer detection, and reconnects with exponential backoff and full jitter
 * until `close()`. The backoff starts over only after a connection that lasted
 * (`stableAfterMs`): a server that takes the agent and drops it at once (refusing it
 * after the handshake) sees the waits grow, not a reconnect every second.
 *
 * Trust: when `ca` is given it is the ONLY trust anchor (no fallback to the system
 * store, T15). Credentials come from `headers()` at every attempt, so a rotated
 * token is picked up without a restart. The agent dials only what `allow` accepts.
 */
import { WebSocket } from 'ws';
import type { IncomingMessage } from 'node:http';
import type { Http2Session } from 'node:http2';
import { InvalidArgumentError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { AgentEndpoint } from './agent-endpoint.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { linkWebSocket } from './ws-link.ts';
import { maxMessageBytes } from './ws-link.ts';
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
  clock?: Clock;
  random?: () => number;
}

export type DisconnectReason =
  | { type: 'refused'; status: number; message: string }
  | { type: 'error'; message: string }
  | { type: 'closed'; code: number }
  | { type: 'dead-peer'; silentMs: number }
  | { type: 'protocol-error'; message: string };

export interface TunnelClientEvents {
  connected: () => void;
  disconnected: (reason: DisconnectReason, retryInMs: number | undefined) => void;
}

export class TunnelClient {
  private readonly options: TunnelClientOptions;
  private readonly url: string;
  private readonly backoff: Backoff;
  private readonly endpoint: AgentEndpoint;
  private readonly clock: Clock;
  private readonly listeners: { [E in keyof TunnelClientEvents]: Set<TunnelClientEvents[E]> } = { connected: new Set(), disconnected: new Set() };
  private state: 'new' | 'running' | 'closed' = 'new';
  private ws: WebSocket | undefined;
  private h2: Http2Session | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private connectedNow = false;
  private connectedAt = 0;

  constructor(options: TunnelClientOptions) {
    const url = new URL(options.serverUrl);
    if (!['https:', 'wss:', 'http:', 'ws:'].includes(url.protocol)) throw new InvalidArgumentError('serverUrl', 'an https:// or wss:// URL', options.serverUrl);
    if (typeof options.allow !== 'function') throw new InvalidArgumentError('allow', 'a function (host, port) => boolean');
    if (typeof options.headers !== 'function') throw new InvalidArgumentError('headers', 'a function returning the connection headers');
    url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${options.connectPath ?? '/v3/connect'}`;
    this.url = url.toString();
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

  /** Graceful: stops reconnecting, lets open streams finish, closes the WebSocket. Idempotent. */
  async close(): Promise<void> {
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    const h2 = this.h2;
    const ws = this.ws;
    if (h2 && !h2.closed) await new Promise<void>((resolve) => h2.close(() => resolve()));
    ws?.close(1000, 'agent closing');
    this.endpoint.close();
  }

  /** Immediate: drops the connection and every stream now. Idempotent. */
  destroy(_error?: Error): void {
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    this.h2?.destroy();
    this.ws?.terminate();
    this.endpoint.close();
  }

  private connect(): void {
    if (this.state !== 'running') return;
    const ws = new WebSocket(this.url, {
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
    this.ws = ws;
    let reason: DisconnectReason | undefined;
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      reason = { type: 'refused', status: res.statusCode ?? 0, message: '' };
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => { if (chunks.length < 4) chunks.push(c); });
      res.on('end', () => { if (reason?.type === 'refused') reason.message = Buffer.concat(chunks).toString('utf8').trim().slice(0, 2000); ws.terminate(); });
      res.on('error', () => ws.terminate());
    });
    ws.on('error', (error) => { reason ??= { type: 'error', message: error.message }; });
    let opened = false;
    ws.on('open', () => { opened = true; this.onOpen(ws, (r) => { reason ??= r; }); });
    ws.on('close', (code) => {
      // Open, but the HTTP/2 handshake never completed: the server is not speaking our protocol.
      if (opened && !this.connectedNow) reason ??= { type: 'protocol-error', message: 'the server did not complete the HTTP/2 handshake on the tunnel' };
      this.onClose(ws, reason ?? { type: 'closed', code });
    });
  }

  private onOpen(ws: WebSocket, setReason: (r: DisconnectReason) => void): void {
    const link = linkWebSocket(ws, {
      keepaliveIntervalMs: this.options.keepaliveIntervalMs ?? 5_000,
      deadPeerTimeoutMs: this.options.deadPeerTimeoutMs ?? 20_000,
      clock: this.clock,
      onDead: (silentMs) => { setReason({ type: 'dead-peer', silentMs }); ws.terminate(); },
      onProtocolError: (message) => { setReason({ type: 'protocol-error', message }); ws.terminate(); },
    });
    const h2 = this.endpoint.serve(link.duplex);
    this.h2 = h2;
    h2.on('error', (error) => { setReason({ type: 'protocol-error', message: error.message }); ws.terminate(); });
    h2.on('close', () => { if (ws.readyState === ws.OPEN) ws.close(1000, 'session closed'); });
    h2.once('remoteSettings', () => {
      if (this.ws !== ws) return;
      this.connectedNow = true;
      this.connectedAt = this.clock.now();
      this.options.logger.info({ url: this.url }, 'tunnel connected');
      this.emit('connected');
    });
  }

  private onClose(ws: WebSocket, reason: DisconnectReason): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.h2?.destroy();
    this.h2 = undefined;
    if (this.connectedNow && this.clock.now() - this.connectedAt >= (this.options.stableAfterMs ?? 10_000)) this.backoff.reset();
    this.connectedNow = false;
    const retryInMs = this.state === 'running' ? this.backoff.next() : undefined;
    this.options.logger.info({ url: this.url, reason, retryInMs }, 'tunnel disconnected');
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
