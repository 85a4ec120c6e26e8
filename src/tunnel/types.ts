/**
 * The tunnel's vocabulary, shared by the server side (tunnel-server.ts) and the
 * agent side (tunnel-client.ts). Consumers import these through index.ts.
 */
import type { Duplex } from 'node:stream';

/** Who an agent session serves, as decided by `authenticate` at upgrade time; never changed afterwards (T9). */
export interface AgentIdentity {
  clusterId: string;
  kind: 'cluster' | 'node';
  /** Required for node agents: one session per node. */
  nodeName?: string;
  /**
   * What the session authenticated with, as the owner records it (a digest of the registration
   * token, never the token): the owner ends sessions whose credential it no longer accepts. Not
   * part of who the agent is (data connections match on the rest).
   */
  credential?: string;
}

/** A session's identity plus when it connected, as reported in events and by `sessions()`. */
export interface SessionInfo {
  id: string;
  /** How the session is carried: HTTP/2 on the upgraded socket, or inside a WebSocket (protocols.ts). */
  transport: 'direct' | 'websocket';
  identity: AgentIdentity;
  connectedAt: number;
  remoteAddress: string | undefined;
}

/** Why a session ended. */
export type SessionEndReason =
  | { type: 'refused'; message: string }
  | { type: 'closed-by-agent' }
  | { type: 'dead-peer'; silentMs: number }
  | { type: 'protocol-error'; message: string }
  | { type: 'server-closing' };

/**
 * A byte stream dialled through an agent, with the session that answered the dial and
 * what carries its bytes: the dial's HTTP/2 stream in that session, or a connection of
 * its own that the agent opened for it (data-dials.ts).
 */
export type TunnelStream = Duplex & { readonly via: SessionInfo; readonly carrier: 'stream' | 'connection' };

/**
 * What the proxy and the cluster controller need from the tunnel: dial an address
 * (`host:port`) inside a cluster. Throws DroverError DRV_ERR_CLUSTER_UNAVAILABLE when
 * no agent session exists or the agent refuses the address, DRV_ERR_BAD_GATEWAY when
 * the agent could not connect it.
 */
export interface DialOptions {
  /** Gives up on the dial until the agent answers; never bounds the stream's life. */
  signal?: AbortSignal;
  /**
   * False keeps the dial's bytes on its stream in the session, never on a connection of
   * its own (data-dials.ts): for a connection that mostly waits (a watch), where one more
   * socket and TLS layer per connection cost more memory than its framing costs CPU.
   */
  ownConnection?: boolean;
}

export interface ClusterDialer {
  /** `signal` bounds the dial only (until the agent answers), never the stream's life. */
  dial(clusterId: string, address: string, options?: DialOptions): Promise<TunnelStream>;
}

/** An ordinary request the server makes to an agent over its session (registration, health). */
export interface AgentRequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string;
  signal?: AbortSignal;
  /** Largest response body accepted, in bytes (default 4 MiB); larger fails the request. */
  maxBodyBytes?: number;
}

export interface AgentResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The body parsed as JSON; throws if it is not JSON. */
  json(): unknown;
}

/** A request the agent's HTTP/2 endpoint received for one of its registered routes. */
export interface TunnelRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface TunnelReply {
  status?: number;
  headers?: Record<string, string>;
  /** A Buffer or string is sent as is; anything else is sent as JSON. */
  body?: unknown;
}

/** The agent's ordinary routes, keyed by `"METHOD /path"` (exact match, query ignored). */
export type TunnelHandlers = Record<string, (request: TunnelRequest) => Promise<TunnelReply> | TunnelReply>;

/** Time source, injectable for tests. */
export interface Clock {
  now(): number;
}

export const realClock: Clock = { now: () => Date.now() };
