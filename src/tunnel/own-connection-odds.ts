/**
 * Whether a session's dials still ask for connections of their own (agent side). Behind a
 * load balancer without affinity most of them land on another replica, which refuses them
 * (404: no dial of this agent waits there), and a proxy may refuse such upgrades outright:
 * each refused try costs a TLS handshake on both ends before the dial falls back to its
 * stream, far more than a connection of its own saves. After 3 refusals, once there is more
 * than one for every ten connections that reached the server, the session stops asking; a
 * new session (a reconnect) tries again.
 */
export class OwnConnectionOdds {
  private reached = 0;
  private refused = 0;

  get worthTrying(): boolean {
    return this.refused < 3 || this.refused * 10 <= this.reached;
  }

  reachedServer(): void {
    this.reached += 1;
  }

  /** Says whether this refusal is the one that made the session stop asking. */
  refusedByServer(): boolean {
    const before = this.worthTrying;
    this.refused += 1;
    return before && !this.worthTrying;
  }

  describe(): string {
    return `${this.refused} of ${this.reached + this.refused} dials' connections were refused`;
  }
}
