/**
 * The reverse tunnel: agents dial out, the server dials in through them. See
 * README.md for the design note (what it trusts, what it refuses, where it fails
 * closed), its two transports (HTTP/2 on the upgraded socket, or inside a WebSocket)
 * and why the framing is HTTP/2.
 */
export { TunnelServer, type TunnelServerOptions, type TunnelServerEvents } from './tunnel-server.ts';
export { TunnelClient, type TunnelClientOptions, type TunnelClientEvents, type DisconnectReason } from './tunnel-client.ts';
export type { AgentSessionView } from './agent-session.ts';
export { fetchPinnedCa } from './ca-pin.ts';
export { Backoff, type BackoffOptions } from './backoff.ts';
export type {
  AgentIdentity, AgentRequestOptions, AgentResponse, ClusterDialer, Clock, DialOptions, SessionEndReason, SessionInfo,
  TunnelHandlers, TunnelReply, TunnelRequest, TunnelStream,
} from './types.ts';
