/**
 * Which admitted sessions serve which cluster. Every session is kept: two agents
 * with the same registration token (a cluster-agent Deployment with 2 replicas)
 * both hold sessions, and neither replaces the other. Dialing prefers the newest
 * cluster-agent session (an agent that restarted has a fresh one, while its old one
 * may still be waiting for the keepalive to call it dead) and falls back to the
 * longest-connected node agent's session (the reference design's node-agent
 * fallback). Losing one session fails only the streams it carried.
 */
import type { AgentSession } from './agent-session.ts';

export class SessionRegistry {
  /** Per cluster, sessions in connection order. */
  private readonly byCluster = new Map<string, Set<AgentSession>>();

  add(session: AgentSession): void {
    const { clusterId } = session.info.identity;
    let sessions = this.byCluster.get(clusterId);
    if (!sessions) {
      sessions = new Set();
      this.byCluster.set(clusterId, sessions);
    }
    sessions.add(session);
  }

  /** Removes `session`; returns whether it was registered. */
  remove(session: AgentSession): boolean {
    const { clusterId } = session.info.identity;
    const sessions = this.byCluster.get(clusterId);
    if (!sessions?.delete(session)) return false;
    if (sessions.size === 0) this.byCluster.delete(clusterId);
    return true;
  }

  /** The session to dial through: the newest cluster agent's, else the oldest node agent's. */
  pick(clusterId: string): AgentSession | undefined {
    const open = [...(this.byCluster.get(clusterId) ?? [])].filter((s) => !s.closed);
    return open.findLast((s) => s.info.identity.kind === 'cluster') ?? open.find((s) => s.info.identity.kind === 'node');
  }

  /** The open sessions of one cluster, in connection order. */
  of(clusterId: string): AgentSession[] {
    return [...(this.byCluster.get(clusterId) ?? [])].filter((s) => !s.closed);
  }

  all(): AgentSession[] {
    return [...this.byCluster.values()].flatMap((sessions) => [...sessions]);
  }
}
