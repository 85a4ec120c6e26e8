/**
 * Which admitted sessions serve which cluster. Every session is kept: two agents
 * with the same registration token (a cluster-agent Deployment with 2 replicas)
 * both hold sessions, and neither replaces the other. Dialing prefers the newest
 * cluster-agent session (an agent that restarted has a fresh one, while its old one
 * may still be waiting for the keepalive to call it dead) and falls back to the
 * longest-connected node agent's session (the reference design's node-agent
 * fallback). Losing one session fails only the streams it carried. A node being
 * drained (a provisioned cluster's node about to restart its kube-apiserver for an
 * upgrade) is passed over while another node's session is open, so traffic moves off
 * it before its processes stop rather than failing until they are back.
 */
import type { AgentSession } from './agent-session.ts';

export class SessionRegistry {
  /** Per cluster, sessions in connection order. */
  private readonly byCluster = new Map<string, Set<AgentSession>>();
  /** Per cluster, the node whose sessions are passed over while another node's is open. */
  private readonly draining = new Map<string, string>();

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

  /** The session to dial through: the newest cluster agent's, else the oldest node agent's not being drained, else the drained one's. */
  pick(clusterId: string): AgentSession | undefined {
    // One pass, no arrays: this runs for every request through the proxy.
    const drained = this.draining.get(clusterId);
    let newestCluster: AgentSession | undefined;
    let oldestNode: AgentSession | undefined;
    let oldestDrained: AgentSession | undefined;
    for (const session of this.byCluster.get(clusterId) ?? []) {
      if (session.closed) continue;
      const { kind, nodeName } = session.info.identity;
      if (kind === 'cluster') newestCluster = session;
      else if (nodeName !== drained) oldestNode ??= session;
      else oldestDrained ??= session;
    }
    return newestCluster ?? oldestNode ?? oldestDrained;
  }

  /** Passes over `nodeName`'s sessions of `clusterId` from now on (undefined: none); one node per cluster at a time. */
  drain(clusterId: string, nodeName: string | undefined): void {
    if (nodeName === undefined) this.draining.delete(clusterId);
    else this.draining.set(clusterId, nodeName);
  }

  /** The open sessions of one cluster, in connection order. */
  of(clusterId: string): AgentSession[] {
    return [...(this.byCluster.get(clusterId) ?? [])].filter((s) => !s.closed);
  }

  all(): AgentSession[] {
    return [...this.byCluster.values()].flatMap((sessions) => [...sessions]);
  }
}
