/**
 * Dials that travel on a connection of their own (a "data connection", protocols.ts):
 * the server names each CONNECT it sends with a one-time token, the agent opens a new
 * upgrade on `/v3/connect` presenting its usual credentials and that token, and the
 * server hands the upgraded socket to the dial that is waiting for it. TLS to
 * kube-apiserver then runs straight on that socket, which Node stacks natively (no
 * HTTP/2 framing and no JavaScript stream in between: README.md, "Data connections").
 *
 * What an upgrade must show to be handed over: a token that is waiting (192 random
 * bits, never reused, gone once its dial has its answer) and credentials that
 * authenticate as exactly the identity of the session that sent it. Anything else is
 * refused, and the dial goes on over its HTTP/2 stream as before.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { AgentIdentity } from './types.ts';

interface Waiting {
  identity: AgentIdentity;
  /** Set by `deliver`: the socket once the 101 has left, or the write's failure. */
  connection?: Promise<Socket>;
}

export class DataDials {
  private readonly waiting = new Map<string, Waiting>();

  /** A fresh token for one dial of the session serving `identity`; `forget` it once the dial has its answer. */
  expect(identity: AgentIdentity): string {
    const token = randomBytes(24).toString('base64url');
    this.waiting.set(token, { identity });
    return token;
  }

  /**
   * Takes the upgrade presented with `token` by an agent authenticated as `identity`.
   * False (nothing kept) when no dial waits for that token, one already took a
   * connection, or the identity differs from the session's. `switched` writes the 101
   * and resolves once it has left (HTTP/1.1 bytes must not mix with the TLS that follows).
   */
  deliver(token: string, identity: AgentIdentity, switched: () => Promise<Socket>): boolean {
    const entry = this.waiting.get(token);
    if (!entry || entry.connection || !sameIdentity(entry.identity, identity)) return false;
    entry.connection = switched();
    entry.connection.catch(() => undefined);
    return true;
  }

  /** The connection delivered for `token`, if any; the dial owns it from then on. */
  take(token: string): Promise<Socket> | undefined {
    const entry = this.waiting.get(token);
    this.waiting.delete(token);
    return entry?.connection;
  }

  /** Drops `token`; a connection delivered for it and never taken is closed. */
  forget(token: string): void {
    const connection = this.take(token);
    void connection?.then((socket) => socket.destroy(), () => undefined);
  }

  /** How many dials wait for a connection (for tests and leak checks). */
  get size(): number {
    return this.waiting.size;
  }
}

function sameIdentity(a: AgentIdentity, b: AgentIdentity): boolean {
  return a.clusterId === b.clusterId && a.kind === b.kind && a.nodeName === b.nodeName;
}
