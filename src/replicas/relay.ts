/**
 * The peer relay: a Kubernetes request, watch or upgrade that lands on a replica
 * without a session for its cluster goes, byte for byte and streaming, to a live
 * replica that has one (the owner first), over mutual TLS with the peer CA.
 *
 * The receiving replica runs the whole proxy chain itself on the caller's own
 * credential, as if the caller had reached it directly: the relaying replica
 * vouches for nothing. What the peer certificate proves is only "this request was
 * already relayed": a replica serves such a request itself, never relays it again,
 * so a loop is impossible. The relay marker header is refused (403) from anyone
 * who has not proved a peer certificate on that very connection.
 */
import { request as httpsRequest, Agent } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { DroverError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
// misdirectedHeader, on a 421 from a replica (its id): "a relayed request for a cluster I hold
// no live session for now". The presence rows say who held a session at the last heartbeat;
// the session may have ended since, or not be ready yet: the relaying replica tries elsewhere.
// The proxy drops it from every cluster's answer, so only a replica's own 421 carries it.
import { hasBody, misdirectedHeader, upgradeBodyError, writeKubeStatus, writeKubeStatusToSocket } from '../proxy/index.ts';
import { parseHostPort } from '../addresses/index.ts';
import { noteRelayedClient, peerAddress, relayedForHeader } from '../http/index.ts';
import { peerClientTls, replicaPeerOf, type PeerCredentials } from './peer-tls.ts';
import type { TunnelHolder } from './presence.ts';

/** Added by the relaying replica (its id, for the receiver's logs); refused from anyone else. */
export const relayHeader = 'x-drover-relayed-by';

/** Peer pools kept before those without connections are dropped. */
const maxIdlePools = 64;

/** How long a relaying replica waits after a 421 before it reads the holders and tries again. */
const misdirectedRetryMs = 200;

/** A request for a cluster nobody is known to hold reads the holders again at most this often. */
const refreshOnMissMs = 500;

type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface RelayOptions {
  selfId: string;
  peer: PeerCredentials;
  /** Whether this replica answers for the cluster itself (live, with a session of its own). */
  servesLocally(clusterId: string): boolean;
  /** Live replicas holding a session for the cluster, the owner first. */
  holdersOf(clusterId: string): TunnelHolder[];
  /** Whether another replica held a session for the cluster within the last `ms` (a failover may be under way). */
  heldWithin(clusterId: string, ms: number): boolean;
  /** Reads the holders again now. */
  refresh(): Promise<void>;
  /** Reads the holders again unless they were read less than `ms` ago; says whether it read. */
  refreshIfOlderThan(ms: number): Promise<boolean>;
  /** The cluster a request is for, or undefined (the local chain answers what is wrong with it). */
  clusterOf(req: IncomingMessage): Promise<string | undefined> | string | undefined;
  logger: Logger;
  /** How long connecting to a peer may take before the next one is tried (default 3 s). */
  connectTimeoutMs?: number;
  /**
   * How long a request for a cluster that had a session a moment ago waits for one to
   * appear again (its agent reconnecting after a replica stopped or died) before the
   * local chain answers 503 (default 10 s, the failover target).
   */
  failoverWaitMs?: number;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) and ours: never passed across the relay as they came. */
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', relayHeader]);

function connectionListed(headers: IncomingHttpHeaders): Set<string> {
  const listed = headers.connection;
  return new Set((Array.isArray(listed) ? listed.join(',') : listed ?? '').split(',').map((v) => v.trim().toLowerCase()).filter(Boolean));
}

/** `raw` without hop-by-hop headers (and `drop`), as a flat name/value list. */
/** A caller's own X-Forwarded-For: the relaying replica names the caller itself (src/http/client-address.ts). */
const notRelayed: ReadonlySet<string> = new Set([relayedForHeader]);

function endToEnd(raw: string[], headers: IncomingHttpHeaders, drop: ReadonlySet<string> = new Set()): string[] {
  const listed = connectionListed(headers);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    if (hopByHop.has(name) || listed.has(name) || drop.has(name)) continue;
    out.push(raw[i] ?? '', raw[i + 1] ?? '');
  }
  return out;
}

/** Where one request goes: here, or the peers to try in order. */
type Route = { to: 'local' } | { to: 'peers'; clusterId: string; deadline: number } | { to: 'refuse'; error: DroverError; headers?: Record<string, string> };
const here: Route = { to: 'local' };

/** Where the relay of one request stands: the peers not to try again, and until when to keep trying. */
interface Attempt { excluded: ReadonlySet<string>; deadline: number }

/** The same attempt, with `replicaId` not to be tried again. */
function excluding(attempt: Attempt, replicaId: string): Attempt {
  return { excluded: new Set([...attempt.excluded, replicaId]), deadline: attempt.deadline };
}

/** One pool per replica (id and address): a new process on an old address is another replica. */
function poolKey(target: TunnelHolder): string {
  return `${target.replicaId}@${target.address}`;
}

/** Answer headers the relaying replica does not repeat: its own listener adds HSTS. */
const answerDrop: ReadonlySet<string> = new Set(['strict-transport-security']);

/** Whether a peer's first bytes on an upgrade are its 421 (the head fits in its first TLS record). */
function isMisdirected(first: Buffer): boolean {
  const head = first.subarray(0, 1024).toString('latin1');
  return /^HTTP\/1\.1 421 /.test(head) && head.toLowerCase().includes(`\r\n${misdirectedHeader}:`);
}

export class PeerRelay {
  private readonly agents = new Map<string, Agent>();
  private readonly connectTimeoutMs: number;
  private readonly failoverWaitMs: number;

  constructor(private readonly options: RelayOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3_000;
    this.failoverWaitMs = options.failoverWaitMs ?? 10_000;
  }

  /** Wraps the local proxy handler for requests. */
  request(local: RawHandler): RawHandler {
    return (req, res) => {
      this.routed(req, (route) => {
        if (route.to === 'refuse') return writeKubeStatus(res, route.error, route.headers);
        if (route.to === 'local') return local(req, res);
        const serve = (attempt: Attempt): void => {
          void this.targets(route.clusterId, attempt, () => res.destroyed).then((targets) => {
            if (targets.length === 0) return local(req, res);
            this.relayRequest(req, res, targets, attempt, serve);
          });
        };
        serve({ excluded: new Set(), deadline: route.deadline });
      });
    };
  }

  /** Wraps the local proxy handler for upgrades (exec, attach, port-forward). */
  upgrade(local: UpgradeHandler): UpgradeHandler {
    return (req, socket, head) => {
      // Checked here, before relaying drops Transfer-Encoding as hop-by-hop and the receiving replica can no longer see it.
      const bodyError = upgradeBodyError(req.rawHeaders);
      if (bodyError) return writeKubeStatusToSocket(socket, bodyError);
      this.routed(req, (route) => {
        if (route.to === 'refuse') return writeKubeStatusToSocket(socket, route.error, route.headers);
        if (route.to === 'local') return local(req, socket, head);
        const serve = (attempt: Attempt): void => {
          void this.targets(route.clusterId, attempt, () => socket.destroyed).then((targets) => {
            if (targets.length === 0) return local(req, socket, head);
            this.relayUpgrade(req, socket, head, targets, attempt, serve);
          });
        };
        serve({ excluded: new Set(), deadline: route.deadline });
      });
    };
  }

  /**
   * Calls `then` with the request's route: in the same tick whenever the path names the
   * cluster (every `/k8s/clusters/<id>/…` request, so one served here pays no promise,
   * no timer and no second parse), after the token is read for a root path.
   */
  private routed(req: IncomingMessage, then: (route: Route) => void): void {
    const route = this.route(req);
    if (route instanceof Promise) void route.then(then);
    else then(route);
  }

  private route(req: IncomingMessage): Route | Promise<Route> {
    const peer = replicaPeerOf(req.socket);
    // From a verified replica: the caller it relayed for, for the audit trail.
    const relayedFor = req.headers[relayedForHeader];
    if (peer !== undefined && typeof relayedFor === 'string' && relayedFor !== '') noteRelayedClient(req, relayedFor);
    if (req.headers[relayHeader] !== undefined && peer === undefined) {
      this.options.logger.info({ remote: req.socket.remoteAddress }, 'refused a relay header from a client that is not a replica');
      return { to: 'refuse', error: new DroverError('DRV_ERR_FORBIDDEN', `the ${relayHeader} header is for Drover replicas only; send the request without it`) };
    }
    let clusterId: Promise<string | undefined> | string | undefined;
    try {
      clusterId = this.options.clusterOf(req);
    } catch {
      return here;
    }
    const decide = (id: string | undefined): Route => (peer === undefined ? this.routeTo(id) : this.routeRelayed(id));
    return clusterId instanceof Promise ? clusterId.then(decide, () => here) : decide(clusterId);
  }

  private routeTo(clusterId: string | undefined): Route {
    if (clusterId === undefined || this.options.servesLocally(clusterId)) return here;
    return { to: 'peers', clusterId, deadline: Date.now() + this.failoverWaitMs };
  }

  /**
   * Already relayed once: never relayed again, so a request never travels in circles. One
   * for a cluster this replica holds no live session for (it ended, or is not ready yet,
   * since the heartbeat the relaying replica read) goes back to it with a 421, before any
   * of the body is read here, for it to try elsewhere or wait.
   */
  private routeRelayed(clusterId: string | undefined): Route {
    if (clusterId === undefined || this.options.servesLocally(clusterId)) return here;
    return {
      to: 'refuse', headers: { [misdirectedHeader]: this.options.selfId },
      error: new DroverError('DRV_ERR_MISDIRECTED', `replica ${this.options.selfId} holds no live agent session for cluster ${clusterId} now; relay the request to another replica`),
    };
  }

  /**
   * The peers to try (none: answer here). While the cluster is between sessions (it had
   * one a moment ago, none is reachable now) the request waits, reading the holders again,
   * until a session appears here or on a peer, the deadline passes or the caller leaves.
   */
  private async targets(clusterId: string, { excluded, deadline }: Attempt, gone: () => boolean): Promise<TunnelHolder[]> {
    const { options } = this;
    let readAgain = false;
    for (;;) {
      if (options.servesLocally(clusterId) || gone()) return [];
      const holders = options.holdersOf(clusterId).filter((h) => h.replicaId !== options.selfId && !excluded.has(h.replicaId));
      if (holders.length > 0 || Date.now() >= deadline) return holders;
      if (!options.heldWithin(clusterId, this.failoverWaitMs)) {
        // No failover under way, but an agent may have connected to a peer since the holders were
        // last read (up to one beat ago, e.g. a cluster registered a moment ago): read them once
        // more before the local chain says "not connected", at most every 500 ms whatever the traffic.
        if (readAgain || !(await options.refreshIfOlderThan(refreshOnMissMs))) return holders;
        readAgain = true;
        continue;
      }
      await options.refresh();
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private agentFor(target: TunnelHolder): Agent {
    const key = poolKey(target);
    let agent = this.agents.get(key);
    if (!agent) {
      // Every restart of a peer is a new replica id: pools of replicas long gone, with no
      // connection left, do not pile up over months of rolling updates.
      if (this.agents.size >= maxIdlePools) this.dropEmptyPools();
      // Kept alive: a relayed request reuses a warm TLS connection to the peer, no handshake
      // per request (Nagle is off on agents' sockets by Node's default, `noDelay: true`).
      agent = new Agent({ keepAlive: true, ...peerClientTls(this.options.peer, target.replicaId) });
      this.agents.set(key, agent);
    }
    return agent;
  }

  private dropEmptyPools(): void {
    for (const [key, agent] of this.agents) {
      if (Object.keys(agent.sockets).length > 0 || Object.keys(agent.freeSockets).length > 0) continue;
      agent.destroy();
      this.agents.delete(key);
    }
  }

  /** A replica that could not be reached: its pool goes (it is dead, or another process took its address). */
  private forget(target: TunnelHolder): void {
    const key = poolKey(target);
    this.agents.get(key)?.destroy();
    this.agents.delete(key);
  }

  /**
   * After a 421 from the last peer to try: the holders again once they are read anew (a
   * session may be a moment from ready, or the agent on its way to another replica), as long
   * as the deadline allows; after it, without that peer, so the local chain answers at last.
   */
  private retryAfterMisdirected(target: TunnelHolder, attempt: Attempt, next: (attempt: Attempt) => void): void {
    const again = Date.now() >= attempt.deadline ? excluding(attempt, target.replicaId) : attempt;
    const retry = (): void => { next(again); };
    setTimeout(() => void this.options.refreshIfOlderThan(misdirectedRetryMs).then(retry, retry), misdirectedRetryMs);
  }

  /**
   * Relays to the first target. A failure before the answer's head, with none of the
   * caller's body read yet, moves on to the next target (or waits for one); a refused
   * connection, a pooled connection the peer closed while shutting down, or a peer's 421
   * is not the caller's problem. After that, the caller gets a 502 Status or a cut stream.
   */
  private relayRequest(req: IncomingMessage, res: ServerResponse, targets: TunnelHolder[], attempt: Attempt, next: (attempt: Attempt) => void): void {
    const [target, ...rest] = targets;
    if (!target) return next(attempt);
    const skip = (): void => {
      this.forget(target);
      const after = excluding(attempt, target.replicaId);
      if (rest.length > 0) this.relayRequest(req, res, rest, after, next);
      else next(after);
    };
    const hostPort = parseHostPort(target.address);
    if (!hostPort) return skip();
    const headers = [...endToEnd(req.rawHeaders, req.headers, notRelayed), relayHeader, this.options.selfId, relayedForHeader, peerAddress(req) ?? ''];
    let bodyRead = false;
    let answered = false;
    // Tried elsewhere after this peer's 421: nothing of this exchange reaches the caller any more.
    let handedOn = false;
    const outgoing = httpsRequest({
      host: hostPort.host, port: hostPort.port, method: req.method, path: req.url, headers, agent: this.agentFor(target),
      timeout: this.connectTimeoutMs,
    });
    outgoing.on('error', (error) => {
      if (handedOn) return;
      if (!answered && !bodyRead) {
        this.options.logger.warn({ peer: target.replicaId, address: target.address, err: error.message }, 'could not relay to a replica; trying another');
        return skip();
      }
      if (!res.headersSent) writeKubeStatus(res, new DroverError('DRV_ERR_BAD_GATEWAY', `the replica relaying this request failed: ${error.message}; retry`));
      else res.destroy(error);
    });
    outgoing.on('timeout', () => { if (!answered) outgoing.destroy(new Error(`no answer within ${this.connectTimeoutMs} ms`)); });
    outgoing.on('socket', (socket: TLSSocket) => {
      const ready = (): void => {
        // Connected: from here the exchange may be idle for hours (a quiet watch), and
        // how long kube-apiserver takes to answer is the receiving replica's to bound.
        outgoing.setTimeout(0);
        // No body (most requests: GET, watch, DELETE): the head goes out in one write at once.
        if (req.readableEnded || !hasBody(req)) {
          outgoing.end();
          return;
        }
        req.once('data', () => { bodyRead = true; });
        req.pipe(outgoing);
      };
      if (!socket.connecting && !(socket as { pending?: boolean }).pending) ready();
      else socket.once('secureConnect', ready);
    });
    outgoing.on('response', (answer) => {
      answered = true;
      if (answer.statusCode === 421 && answer.headers[misdirectedHeader] !== undefined) {
        answer.resume();
        handedOn = true;
        res.off('close', leave);
        if (!bodyRead) return rest.length > 0 ? this.relayRequest(req, res, rest, attempt, next) : this.retryAfterMisdirected(target, attempt, next);
        // The body went to a replica that did not use it, and this one kept no copy: the caller sends it again.
        return writeKubeStatus(res, new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', 'the cluster\'s agent moved to another Drover replica while this request was on its way; retry it', { retryAfterSeconds: 1 }));
      }
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.rawHeaders, answer.headers, answerDrop));
      // Every chunk as it comes (a watch's events, a log line); nothing is held back. A
      // streamed answer's head goes at once (a quiet watch may send its first event much
      // later); one of known length goes with its body, in one write.
      if (answer.headers['content-length'] === undefined) res.flushHeaders();
      answer.pipe(res);
      answer.on('error', (error) => res.destroy(error));
    });
    // The caller left: the relayed exchange ends too, and the receiving replica ends its own.
    const leave = (): void => { if (!res.writableFinished) outgoing.destroy(); };
    res.on('close', leave);
  }

  private relayUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, targets: TunnelHolder[], attempt: Attempt, next: (attempt: Attempt) => void): void {
    const [target, ...rest] = targets;
    if (!target) return next(attempt);
    const skip = (): void => {
      this.forget(target);
      const after = excluding(attempt, target.replicaId);
      if (rest.length > 0) this.relayUpgrade(req, socket, head, rest, after, next);
      else next(after);
    };
    const hostPort = parseHostPort(target.address);
    if (!hostPort) return skip();
    const upstream = tlsConnect({ host: hostPort.host, port: hostPort.port, ALPNProtocols: ['http/1.1'], ...peerClientTls(this.options.peer, target.replicaId) });
    // An exec's keystrokes go as typed, not held back by Nagle's algorithm.
    upstream.setNoDelay(true);
    const timer = setTimeout(() => upstream.destroy(new Error(`no connection within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
    let connected = false;
    upstream.once('error', (error: Error) => {
      clearTimeout(timer);
      if (connected) return socket.destroy();
      this.options.logger.warn({ peer: target.replicaId, address: target.address, err: error.message }, 'could not relay an upgrade to a replica; trying another');
      skip();
    });
    upstream.once('secureConnect', () => {
      clearTimeout(timer);
      connected = true;
      const raw = [...endToEnd(req.rawHeaders, req.headers, notRelayed), 'Connection', 'Upgrade', 'Upgrade', String(req.headers.upgrade ?? ''), relayHeader, this.options.selfId, relayedForHeader, peerAddress(req) ?? ''];
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (let i = 0; i + 1 < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      // The caller's bytes follow once the peer's answer shows it serves the upgrade: a client
      // sends nothing more before its 101, and a peer's 421 leaves the caller free to go elsewhere.
      let answered = false;
      upstream.once('data', (first: Buffer) => {
        answered = true;
        if (isMisdirected(first)) {
          upstream.removeAllListeners('error');
          upstream.on('error', () => undefined);
          upstream.destroy();
          return rest.length > 0 ? this.relayUpgrade(req, socket, head, rest, attempt, next) : this.retryAfterMisdirected(target, attempt, next);
        }
        if (socket.destroyed) return upstream.destroy();
        // The peer's answer head already carries HSTS: an empty first write disarms the
        // listener's insertion of a second one (server/hsts.ts adds it to the first write only).
        socket.write(Buffer.alloc(0));
        socket.write(first);
        upstream.pipe(socket);
        socket.pipe(upstream);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
        upstream.on('close', () => socket.destroy());
      });
      // The peer closed before answering at all: the caller's connection ends too.
      upstream.once('close', () => { if (!answered) socket.destroy(); });
    });
  }

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
