/**
 * The server side of the reverse tunnel. `handleUpgrade` authenticates an agent's
 * `/v3/connect` upgrade BEFORE completing it (a refusal is a plain HTTP error, never
 * a 101), runs HTTP/2 on the upgraded socket itself or inside the WebSocket, as
 * the agent asked (protocols.ts), binds the session to the identity `authenticate`
 * returned, and registers it once the agent has answered the HTTP/2 handshake and
 * the owner's `admit` has accepted it. `dial` reaches an address inside a cluster through the newest cluster
 * agent's session, or a node agent's when no cluster agent is connected.
 *
 * Events: 'session-up' when a session is admitted, 'session-down' when an admitted
 * session ends. Several sessions of one cluster (even of one kind) live side by
 * side; none replaces another. A session that never completed its handshake or was
 * refused produces no event.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { DroverError, InvalidArgumentError, isDroverError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { AgentSession, type AgentSessionView } from './agent-session.ts';
import { SessionRegistry } from './session-registry.ts';
import { DataDials } from './data-dials.ts';
import {
  dataProtocol, dialTokenHeader, directProtocol, directProtocolFamily, protocolsHeader, serverProtocols, type TunnelTransport,
} from './protocols.ts';
import { maxMessageBytes, webSocketStream } from './ws-link.ts';
import {
  realClock, type AgentIdentity, type ClusterDialer, type Clock, type DialOptions, type SessionEndReason, type SessionInfo, type TunnelStream,
} from './types.ts';

export interface TunnelServerOptions {
  /** Maps the upgrade request to an identity, or throws DroverError (401/403) to refuse it. */
  authenticate: (req: IncomingMessage) => Promise<AgentIdentity>;
  logger: Logger;
  /** How often to ping each agent (default 5 s). */
  keepaliveIntervalMs?: number;
  /** Silence after which a session is declared dead (default 20 s, so noticed within 25 s). */
  deadPeerTimeoutMs?: number;
  /** Time allowed for the agent's HTTP/2 handshake after the upgrade (default 10 s). */
  handshakeTimeoutMs?: number;
  /** HTTP/2 flow-control window per stream (default 1 MiB): bounds what one slow reader can buffer. */
  streamWindowBytes?: number;
  /**
   * Decides, after the handshake, whether a session may carry dials (for example by
   * checking what the agent reports about its cluster through `session`). It may take
   * its time (the session waits, unused); a rejection closes the session with reason
   * `refused` and the error's message. Default: every session is admitted at once.
   */
  admit?: (session: AgentSessionView) => Promise<void>;
  /**
   * Sessions of one cluster waiting for their handshake or admission at once (default 64);
   * an upgrade past it gets 429 and its agent retries later. Bounds what a holder of a
   * leaked registration token can make the server hold (about 95 KB a waiting session).
   */
  maxPendingPerCluster?: number;
  clock?: Clock;
}

export interface TunnelServerEvents {
  'session-up': (info: SessionInfo) => void;
  'session-down': (info: SessionInfo, reason: SessionEndReason) => void;
}

export class TunnelServer implements ClusterDialer {
  private readonly authenticate: TunnelServerOptions['authenticate'];
  private readonly admit: NonNullable<TunnelServerOptions['admit']>;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly keepaliveIntervalMs: number;
  private readonly deadPeerTimeoutMs: number;
  private readonly handshakeTimeoutMs: number;
  private readonly streamWindowBytes: number;
  private readonly maxPendingPerCluster: number;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes, perMessageDeflate: false });
  private readonly registry = new SessionRegistry();
  private readonly pending = new Set<AgentSession>();
  private readonly dataDials = new DataDials();
  private readonly listeners: { [E in keyof TunnelServerEvents]: Set<TunnelServerEvents[E]> } = { 'session-up': new Set(), 'session-down': new Set() };
  private state: 'open' | 'closing' | 'destroyed' = 'open';

  constructor(options: TunnelServerOptions) {
    if (typeof options.authenticate !== 'function') throw new InvalidArgumentError('authenticate', 'a function');
    this.authenticate = options.authenticate;
    this.admit = options.admit ?? (() => Promise.resolve());
    this.logger = options.logger;
    this.clock = options.clock ?? realClock;
    this.keepaliveIntervalMs = positive('keepaliveIntervalMs', options.keepaliveIntervalMs ?? 5_000);
    this.deadPeerTimeoutMs = positive('deadPeerTimeoutMs', options.deadPeerTimeoutMs ?? 20_000);
    this.handshakeTimeoutMs = positive('handshakeTimeoutMs', options.handshakeTimeoutMs ?? 10_000);
    this.streamWindowBytes = positive('streamWindowBytes', options.streamWindowBytes ?? 1024 * 1024);
    this.maxPendingPerCluster = positive('maxPendingPerCluster', options.maxPendingPerCluster ?? 64);
  }

  /** Subscribes to session events; returns the unsubscribe function. */
  on<E extends keyof TunnelServerEvents>(event: E, listener: TunnelServerEvents[E]): () => void {
    const set = this.listeners[event] as Set<TunnelServerEvents[E]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** For the https server's 'upgrade' event on the tunnel path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (error) => this.logger.debug({ err: error.message }, 'tunnel upgrade socket error'));
    if (this.state !== 'open') return refuseUpgrade(socket, 503, 'server is shutting down');
    const offered = (req.headers.upgrade ?? '').trim().toLowerCase();
    if (offered === dataProtocol) return this.handleDataConnection(req, socket, head);
    const transport: TunnelTransport | undefined = offered === directProtocol ? 'direct' : offered === 'websocket' ? 'websocket' : undefined;
    if (!transport) {
      const what = offered.startsWith(directProtocolFamily) ? `tunnel protocol ${offered}, which this server does not speak` : `Upgrade ${JSON.stringify(offered)}`;
      return refuseUpgrade(socket, 400, `${what}; this server speaks ${serverProtocols}: run an agent of the server's version`);
    }
    this.authenticate(req).then((identity) => {
      checkIdentity(identity);
      if (this.state !== 'open') return refuseUpgrade(socket, 503, 'server is shutting down');
      if (socket.destroyed) return;
      if (this.pendingOf(identity.clusterId) >= this.maxPendingPerCluster) {
        this.logger.warn({ cluster: identity.clusterId, remote: req.socket.remoteAddress }, 'refused an agent session: too many of this cluster\'s sessions are waiting for admission');
        return refuseUpgrade(socket, 429, `${this.maxPendingPerCluster} sessions of this cluster are already waiting for admission; try again later`);
      }
      if (transport === 'websocket') return this.wss.handleUpgrade(req, socket, head, (ws) => this.adopt(webSocketStream(ws), 'websocket', identity, req));
      // HTTP/2 may take the socket over only once the 101 has left: a write still queued
      // in the TLS layer when nghttp2 starts writing aborts the process (Node 24).
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${directProtocol}\r\n\r\n`, (error) => {
        if (error || socket.destroyed) return void socket.destroy();
        // As ws does for its upgrades: no idle timeout of the HTTP server survives on a session.
        if (socket instanceof Socket) socket.setTimeout(0);
        // Whatever the agent sent after its request (nothing, from ours) is HTTP/2's.
        if (head.length > 0) socket.unshift(head);
        this.adopt(socket, 'direct', identity, req);
      });
    }, (error: unknown) => this.refuseUnauthenticated(req, socket, error)).catch((error: unknown) => this.failUpgrade(socket, error));
  }

  /**
   * A dial's own connection (data-dials.ts): authenticated like a session, then handed
   * to the dial its token names, only if that dial's session has the same identity.
   */
  private handleDataConnection(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const token = req.headers[dialTokenHeader];
    if (typeof token !== 'string' || token.length === 0) return refuseUpgrade(socket, 400, `a ${dataProtocol} upgrade needs a ${dialTokenHeader} header`);
    this.authenticate(req).then((identity) => {
      checkIdentity(identity);
      if (this.state !== 'open') return refuseUpgrade(socket, 503, 'server is shutting down');
      if (socket.destroyed || !(socket instanceof Socket)) return void socket.destroy();
      const switched = (): Promise<Socket> => new Promise((resolve, reject) => {
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${dataProtocol}\r\n\r\n`, (error) => {
          if (error || socket.destroyed) {
            socket.destroy();
            return reject(error ?? new Error('the data connection closed before its 101 left'));
          }
          socket.setTimeout(0);
          socket.setNoDelay(true);
          // TLS to kube-apiserver may end its direction while the other still flows.
          socket.allowHalfOpen = true;
          if (head.length > 0) socket.unshift(head);
          resolve(socket);
        });
      });
      // Not told apart on purpose: a guess learns nothing about which tokens exist.
      if (!this.dataDials.deliver(token, identity, switched)) refuseUpgrade(socket, 404, 'no dial of this agent waits for this connection');
    }, (error: unknown) => this.refuseUnauthenticated(req, socket, error)).catch((error: unknown) => this.failUpgrade(socket, error));
  }

  private refuseUnauthenticated(req: IncomingMessage, socket: Duplex, error: unknown): void {
    const status = isDroverError(error) && error.status < 500 ? error.status : 500;
    const level = status === 500 ? 'error' : 'info';
    this.logger[level]({ remote: req.socket.remoteAddress, status, err: error instanceof Error ? error.message : String(error) }, 'tunnel upgrade refused');
    refuseUpgrade(socket, status, status === 500 ? 'tunnel authentication failed' : publicText(error));
  }

  private failUpgrade(socket: Duplex, error: unknown): void {
    this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'tunnel upgrade failed');
    refuseUpgrade(socket, 500, 'tunnel upgrade failed');
  }

  /** Dials `address` (host:port) in `clusterId` through the preferred agent session. */
  dial(clusterId: string, address: string, options: DialOptions = {}): Promise<TunnelStream> {
    if (this.state !== 'open') return Promise.reject(closedError());
    const session = this.registry.pick(clusterId);
    if (!session) return Promise.reject(new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', `cluster ${clusterId} has no connected agent; check that its agent is running and can reach the server`));
    return session.dial(address, options);
  }

  /** The session `dial` would use for `clusterId`, for ordinary requests (registration, health). */
  sessionFor(clusterId: string): AgentSessionView | undefined {
    return this.state === 'open' ? this.registry.pick(clusterId) : undefined;
  }

  /**
   * Moves `clusterId`'s new streams off `nodeName`'s sessions while another node's is open
   * (undefined: ends the drain). Streams already open stay where they are.
   */
  drain(clusterId: string, nodeName: string | undefined): void {
    this.registry.drain(clusterId, nodeName);
  }

  /** Every admitted, open session of `clusterId`, in connection order. */
  sessionsOf(clusterId: string): AgentSessionView[] {
    return this.state === 'open' ? this.registry.of(clusterId) : [];
  }

  /** Every registered session. */
  sessions(): SessionInfo[] {
    return this.registry.all().filter((s) => !s.closed).map((s) => s.info);
  }

  /** Graceful: refuses new agents, lets open streams finish, then closes every session. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'open') this.state = 'closing';
    const all = [...this.registry.all(), ...this.pending];
    await Promise.all(all.map((s) => s.close({ type: 'server-closing' })));
    this.wss.close();
  }

  /** Immediate: drops every session now. Idempotent. */
  destroy(_error?: Error): void {
    this.state = 'destroyed';
    for (const s of [...this.registry.all(), ...this.pending]) s.destroy({ type: 'server-closing' });
    this.wss.close();
  }

  private adopt(connection: Duplex, transport: TunnelTransport, identity: AgentIdentity, req: IncomingMessage): void {
    const info: SessionInfo = {
      id: randomBytes(6).toString('hex'),
      transport,
      identity: { ...identity },
      connectedAt: this.clock.now(),
      remoteAddress: req.socket.remoteAddress,
    };
    Object.freeze(info.identity);
    const session = new AgentSession({
      connection, info, logger: this.logger, clock: this.clock,
      keepaliveIntervalMs: this.keepaliveIntervalMs, deadPeerTimeoutMs: this.deadPeerTimeoutMs,
      streamWindowBytes: this.streamWindowBytes, sessionWindowBytes: 32 * 1024 * 1024,
      // Dials get connections of their own only beside a direct session: an agent that had to
      // fall back to the WebSocket sits behind something that would refuse them too.
      ...(transport === 'direct' ? { dataDials: this.dataDials } : {}),
      onEnd: (s, reason) => {
        this.pending.delete(s);
        if (this.registry.remove(s)) this.emit('session-down', s.info, reason);
      },
    });
    this.pending.add(session);
    void this.register(session);
  }

  private pendingOf(clusterId: string): number {
    let count = 0;
    for (const session of this.pending) if (session.info.identity.clusterId === clusterId) count += 1;
    return count;
  }

  /** Handshake, then the owner's admission, then the registry and 'session-up'. */
  private async register(session: AgentSession): Promise<void> {
    const { id, identity } = session.info;
    try {
      await session.ready(this.handshakeTimeoutMs);
    } catch (error) {
      this.logger.info({ session: id, cluster: identity.clusterId, err: error instanceof Error ? error.message : String(error) }, 'tunnel handshake failed');
      return session.destroy({ type: 'protocol-error', message: 'handshake failed' });
    }
    try {
      await this.admit(session);
    } catch (error) {
      // The owner has told the agent why (if it could); the session is of no use.
      return session.destroy({ type: 'refused', message: error instanceof Error ? error.message : String(error) });
    }
    this.pending.delete(session);
    if (session.closed) return;
    if (this.state !== 'open') return void session.close();
    this.registry.add(session);
    this.logger.info({ session: id, cluster: identity.clusterId, kind: identity.kind, node: identity.nodeName, transport: session.info.transport }, 'tunnel session up');
    this.emit('session-up', session.info);
  }

  private emit<E extends keyof TunnelServerEvents>(event: E, ...args: Parameters<TunnelServerEvents[E]>): void {
    for (const listener of this.listeners[event]) {
      try {
        (listener as (...a: Parameters<TunnelServerEvents[E]>) => void)(...args);
      } catch (error) {
        this.logger.error({ event, err: error instanceof Error ? error.message : String(error) }, 'tunnel event listener threw');
      }
    }
  }
}

function positive(option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(option, 'a positive number', value);
  return value;
}

function checkIdentity(identity: AgentIdentity): void {
  const ok = typeof identity.clusterId === 'string' && identity.clusterId.length > 0
    && (identity.kind === 'cluster' || (identity.kind === 'node' && typeof identity.nodeName === 'string' && identity.nodeName.length > 0));
  if (!ok) throw new DroverError('DRV_ERR_INTERNAL', 'authenticate returned an incomplete agent identity');
}

function publicText(error: unknown): string {
  return isDroverError(error) && error.expose ? error.message : 'tunnel authentication failed';
}

function closedError(): DroverError {
  return new DroverError('DRV_ERR_SESSION_CLOSED', 'the tunnel server is closed');
}

const reasons: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' };

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = `${message}\n`;
  socket.end(`HTTP/1.1 ${status} ${reasons[status] ?? 'Error'}\r\nConnection: close\r\n${protocolsHeader}: ${serverProtocols}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
