/**
 * Which sessions serve which cluster. One slot per cluster+kind+node: a new session
 * for a slot replaces the old one. Dialing prefers the cluster agent's session and
 * falls back to the longest-connected node agent's session (the reference design's
 * node-agent fallback).
 */
import type { AgentSession } from './agent-session.ts';
import type { AgentIdentity } from './types.ts';

export function slotKey(identity: AgentIdentity): string {
  return `${identity.clusterId}\u0000${identity.kind}\u0000${identity.nodeName ?? ''}`;
}

export class SessionRegistry {
  private readonly byCluster = new Map<string, Map<string, AgentSession>>();

  /** Adds `session`, returning the session it replaces, if any. */
  put(session: AgentSession): AgentSession | undefined {
    const { clusterId } = session.info.identity;
    let slots = this.byCluster.get(clusterId);
    if (!slots) {
      slots = new Map();
      this.byCluster.set(clusterId, slots);
    }
    const key = slotKey(session.info.identity);
    const previous = slots.get(key);
    slots.delete(key); // re-insert so insertion order stays connection order
    slots.set(key, session);
    return previous === session ? undefined : previous;
  }

  /** Removes `session` if it still holds its slot; returns whether it did. */
  remove(session: AgentSession): boolean {
    const slots = this.byCluster.get(session.info.identity.clusterId);
    const key = slotKey(session.info.identity);
    if (slots?.get(key) !== session) return false;
    slots.delete(key);
    if (slots.size === 0) this.byCluster.delete(session.info.identity.clusterId);
    return true;
  }

  /** The session to dial through: the cluster agent's, else the oldest node agent's. */
  pick(clusterId: string): AgentSession | undefined {
    const open = [...(this.byCluster.get(clusterId)?.values() ?? [])].filter((s) => !s.closed);
    return open.find((s) => s.info.identity.kind === 'cluster') ?? open.find((s) => s.info.identity.kind === 'node');
  }

  all(): AgentSession[] {
    return [...this.byCluster.values()].flatMap((slots) => [...slots.values()]);
  }
}
