/**
 * The two ways an agent's upgrade on `/v3/connect` can carry the tunnel's HTTP/2
 * session, both on the server's one HTTPS port:
 *   - `drover-tunnel-h2/1`: HTTP/2 straight on the upgraded TLS socket, so nghttp2
 *     reads and writes a native socket on both ends (preferred: measured cheaper, see
 *     README.md, "What it costs"). The number after the slash is the protocol version:
 *     a server that does not speak an agent's version answers 400 and names the ones
 *     it speaks, instead of switching and leaving the agent to time out.
 *   - `websocket`: HTTP/2 inside WebSocket binary messages, for proxies and load
 *     balancers that pass only WebSocket upgrades (AWS ALB, for one). The agent falls
 *     back to it when its offer of the direct protocol is refused by anything but a
 *     Drover server that understood it.
 * And one that carries no session: `drover-tunnel-data/1`, a connection the agent
 * opens for one dial of its direct session, named by the token the server sent with
 * that dial's CONNECT (data-dials.ts). The agent then answers the CONNECT with
 * `drover-dial-via: connection`, and the dial's bytes travel on the new connection;
 * without that answer (an older agent, or a refused upgrade) they travel on the
 * CONNECT's own stream.
 */

/** The Upgrade token of HTTP/2 straight on the upgraded socket, with its version. */
export const directProtocol = 'drover-tunnel-h2/1';

/** The family of `directProtocol`'s tokens, whatever the version (to tell a version mismatch from a foreign protocol). */
export const directProtocolFamily = 'drover-tunnel-h2/';

/**
 * Header the server puts on every answer to a tunnel upgrade it refuses: the protocols
 * it speaks. Its presence tells the agent that a Drover server saw and understood the
 * offer (so a 401 is final); its absence, that something in between answered.
 */
export const protocolsHeader = 'drover-tunnel-protocols';

/** The Upgrade token of a dial's own connection, with its version. */
export const dataProtocol = 'drover-tunnel-data/1';

/** CONNECT header (server to agent): the token that names a dial's own connection. */
export const dialTokenHeader = 'drover-dial-token';

/** CONNECT answer header (agent to server): `connection` when the dial's bytes travel on its own connection. */
export const dialViaHeader = 'drover-dial-via';

/** What this server speaks, as sent in `protocolsHeader`. */
export const serverProtocols = `${directProtocol}, ${dataProtocol}, websocket`;

export type TunnelTransport = 'direct' | 'websocket';
