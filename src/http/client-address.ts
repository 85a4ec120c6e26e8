/**
 * Where a request came from, for the audit trail. Usually the socket's peer. A request
 * another replica relayed arrives from that replica, which names the caller in
 * `X-Forwarded-For`; the receiving replica records it (`noteRelayedClient`) only after
 * it verified the connection is a replica's (the peer CA's client certificate), so a
 * client cannot choose the address its requests are audited under.
 */
import type { IncomingMessage } from 'node:http';

/** The header a relaying replica names the caller in; a client's own is dropped before it is set. */
export const relayedForHeader = 'x-forwarded-for';

const relayedClients = new WeakMap<IncomingMessage, string>();

/** A verified replica relayed `req` for the caller at `address`. */
export function noteRelayedClient(req: IncomingMessage, address: string): void {
  relayedClients.set(req, address);
}

/** The socket's peer as a plain address (IPv4 without its IPv6 mapping). */
export function peerAddress(req: IncomingMessage): string | undefined {
  const address = req.socket.remoteAddress;
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}

/** The caller's address first, then the relaying replica's, as kube-apiserver lists a forwarded request's `sourceIPs`. */
export function sourceAddresses(req: IncomingMessage): string[] {
  const peer = peerAddress(req);
  const relayed = relayedClients.get(req);
  return [...(relayed === undefined ? [] : [relayed]), ...(peer === undefined ? [] : [peer])];
}
