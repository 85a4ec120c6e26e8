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
import { writeKubeStatus, writeKubeStatusToSocket } from '../proxy/index.ts';
import { parseHostPort } from '../addresses/index.ts';
import { peerClientTls, replicaPeerOf, type PeerCredentials } from './peer-tls.ts';
import type { TunnelHolder } from './presence.ts';

/** Added by the relaying replica (its id, for the receiver's logs); refused from anyone else. */
export const relayHeader = 'x-drover-relayed-by';

type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface RelayOptions {
  selfId: string;
  peer: PeerCredentials;
  /** Whether this replica answers for the cluster itself (live, with a session of its own). */
  servesLocally(clusterId: string): boolean;
  /** Live replicas holding a session for the cluster, the owner first. */
  holdersOf(clusterId: string): TunnelHolder[];
  /** The cluster a request is for, or undefined (the local chain answers what is wrong with it). */
  clusterOf(req: IncomingMessage): Promise<string | undefined> | string | undefined;
  logger: Logger;
  /** How long connecting to a peer may take before the next one is tried (default 3 s). */
  connectTimeoutMs?: number;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) and ours: never passed across the relay as they came. */
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', relayHeader]);

function connectionListed(headers: IncomingHttpHeaders): Set<string> {
  const listed = headers.connection;
  return new Set((Array.isArray(listed) ? listed.join(',') : listed ?? '').split(',').map((v) => v.trim().toLowerCase()).filter(Boolean));
}

/** `raw` without hop-by-hop headers (and `drop`), as a flat name/value list. */
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

export class PeerRelay {
  private readonly agents = new Map<string, Agent>();
  private readonly connectTimeoutMs: number;

  constructor(private readonly options: RelayOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3_000;
  }

  /** Wraps the local proxy handler for requests. */
  request(local: RawHandler): RawHandler {
    return (req, res) => {
      void this.route(req, (targets) => {
        if (targets instanceof DroverError) return writeKubeStatus(res, targets);
        if (targets.length === 0) return local(req, res);
        this.relayRequest(req, res, targets, () => local(req, res));
      });
    };
  }

  /** Wraps the local proxy handler for upgrades (exec, attach, port-forward). */
  upgrade(local: UpgradeHandler): UpgradeHandler {
    return (req, socket, head) => {
      void this.route(req, (targets) => {
        if (targets instanceof DroverError) return writeKubeStatusToSocket(socket, targets);
        if (targets.length === 0) return local(req, socket, head);
        this.relayUpgrade(req, socket, head, targets, () => local(req, socket, head));
      });
    };
  }

  /** The peers to try, in order; none: answer here. */
  private async route(req: IncomingMessage, then: (targets: TunnelHolder[] | DroverError) => void): Promise<void> {
    const peer = replicaPeerOf(req.socket);
    if (req.headers[relayHeader] !== undefined && peer === undefined) {
      this.options.logger.info({ remote: req.socket.remoteAddress }, 'refused a relay header from a client that is not a replica');
      return then(new DroverError('DRV_ERR_FORBIDDEN', `the ${relayHeader} header is for Drover replicas only; send the request without it`));
    }
    // Already relayed once: answer here whatever happens, so a request never travels in circles.
    if (peer !== undefined) return then([]);
    let clusterId: string | undefined;
    try {
      clusterId = await this.options.clusterOf(req);
    } catch {
      clusterId = undefined;
    }
    if (clusterId === undefined || this.options.servesLocally(clusterId)) return then([]);
    then(this.options.holdersOf(clusterId).filter((h) => h.replicaId !== this.options.selfId));
  }

  private agentFor(address: string): Agent {
    let agent = this.agents.get(address);
    if (!agent) {
      agent = new Agent({ keepAlive: true, ...peerClientTls(this.options.peer) });
      this.agents.set(address, agent);
    }
    return agent;
  }

  private relayRequest(req: IncomingMessage, res: ServerResponse, targets: TunnelHolder[], fallback: () => void): void {
    const [target, ...rest] = targets;
    if (!target) return fallback();
    const hostPort = parseHostPort(target.address);
    if (!hostPort) return this.relayRequest(req, res, rest, fallback);
    const headers = [...endToEnd(req.rawHeaders, req.headers), relayHeader, this.options.selfId];
    let connected = false;
    const outgoing = httpsRequest({
      host: hostPort.host, port: hostPort.port, method: req.method, path: req.url, headers, agent: this.agentFor(target.address),
      timeout: this.connectTimeoutMs,
    });
    const failed = (error: Error): void => {
      if (!connected) {
        // Nothing of the request has been sent: the next replica holding a session may answer.
        this.options.logger.warn({ peer: target.replicaId, address: target.address, err: error.message }, 'could not reach a replica to relay to; trying the next');
        return this.relayRequest(req, res, rest, fallback);
      }
      if (!res.headersSent) writeKubeStatus(res, new DroverError('DRV_ERR_BAD_GATEWAY', `the replica relaying this request failed: ${error.message}; retry`));
      else res.destroy(error);
    };
    outgoing.on('error', failed);
    outgoing.on('timeout', () => { if (!connected) outgoing.destroy(new Error(`no connection within ${this.connectTimeoutMs} ms`)); });
    outgoing.on('socket', (socket: TLSSocket) => {
      const ready = (): void => {
        connected = true;
        // Once connected, the exchange may be idle for hours (a quiet watch).
        outgoing.setTimeout(0);
        req.pipe(outgoing);
      };
      if (!socket.connecting && !(socket as { pending?: boolean }).pending) ready();
      else socket.once('secureConnect', ready);
    });
    outgoing.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.rawHeaders, answer.headers, new Set(['strict-transport-security'])));
      // Every chunk as it comes (a watch's events, a log line); nothing is held back.
      res.flushHeaders();
      answer.pipe(res);
      answer.on('error', (error) => res.destroy(error));
    });
    // The caller left: the relayed exchange ends too, and the receiving replica ends its own.
    res.on('close', () => { if (!res.writableFinished) outgoing.destroy(); });
  }

  private relayUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, targets: TunnelHolder[], fallback: () => void): void {
    const [target, ...rest] = targets;
    if (!target) return fallback();
    const hostPort = parseHostPort(target.address);
    if (!hostPort) return this.relayUpgrade(req, socket, head, rest, fallback);
    const upstream = tlsConnect({ host: hostPort.host, port: hostPort.port, ALPNProtocols: ['http/1.1'], ...peerClientTls(this.options.peer) });
    const timer = setTimeout(() => upstream.destroy(new Error(`no connection within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
    let connected = false;
    upstream.once('error', (error: Error) => {
      clearTimeout(timer);
      if (connected) return socket.destroy();
      this.options.logger.warn({ peer: target.replicaId, address: target.address, err: error.message }, 'could not reach a replica to relay an upgrade to; trying the next');
      this.relayUpgrade(req, socket, head, rest, fallback);
    });
    upstream.once('secureConnect', () => {
      clearTimeout(timer);
      connected = true;
      const raw = [...endToEnd(req.rawHeaders, req.headers), 'Connection', 'Upgrade', 'Upgrade', String(req.headers.upgrade ?? ''), relayHeader, this.options.selfId];
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (let i = 0; i + 1 < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      // The peer's answer head already carries HSTS: an empty first write disarms the
      // listener's insertion of a second one (server/hsts.ts adds it to the first write only).
      socket.write(Buffer.alloc(0));
      upstream.pipe(socket);
      socket.pipe(upstream);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
    });
  }

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
