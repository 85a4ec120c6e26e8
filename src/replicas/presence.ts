/**
 * Replica presence: this process's heartbeat row, the clusters it holds agent
 * sessions for, and what it last read of every other replica. One pass (`beat`)
 * writes and reads; it runs every `heartbeatMs` and at once (coalesced) when a
 * local session comes or goes, so a new tunnel is known to its peers within one
 * database round trip, not one interval.
 *
 * From what it read, every replica computes the same answer to "who owns cluster
 * X": among the live replicas holding a tunnel for X, the highest rendezvous score
 * of (cluster, replica). No lease, no extra write: a replica that stops beating
 * drops out of every other replica's view after `deadAfterMs`, and the owner moves.
 * Two replicas can disagree for at most one pass (each acts on its last read).
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
import type { Logger } from '../logging/index.ts';
import type { ClusterOwnership } from '../clusters/index.ts';

/** What peers know about one replica. */
export interface ReplicaRecord {
  id: string;
  address: string;
  version: string;
  startedAt: string;
  heartbeatAt: number;
}

/** A live replica holding agent sessions for one cluster. */
export interface TunnelHolder {
  replicaId: string;
  address: string;
  sessions: number;
}

export interface PresenceOptions {
  db: Kysely<Database>;
  /** This replica; its address is given to `start` (the port is known once listening). */
  self: Omit<ReplicaRecord, 'heartbeatAt' | 'address'>;
  /** Admitted local agent sessions per cluster, now. */
  localSessions(): Map<string, number>;
  logger: Logger;
  /** Default 2 s. */
  heartbeatMs?: number;
  /** A replica whose heartbeat is older is dead (default 3.5 heartbeats: three missed beats and some slack). */
  deadAfterMs?: number;
  now?: () => number;
}

/** Rows of replicas dead this long are deleted by whoever beats next. */
const forgetAfterMs = 3600_000;

/** Rendezvous (highest random weight) score: every replica ranks the holders of a cluster the same way. */
export function rendezvousScore(clusterId: string, replicaId: string): string {
  return createHash('sha256').update(`${clusterId}\u0000${replicaId}`).digest('hex');
}

/**
 * Rendezvous scores of the (cluster, replica) pairs seen in the last pass: a pass hashes
 * only pairs that are new since (a beat with 1,000 tunnel rows hashed 1,000 times; now
 * none while nothing changes). Pairs not seen in a pass are dropped, so it stays as
 * large as the tunnel table.
 */
export class RendezvousScores {
  private last = new Map<string, string>();
  private next = new Map<string, string>();

  constructor(private readonly hash: (clusterId: string, replicaId: string) => string = rendezvousScore) {}

  score(clusterId: string, replicaId: string): string {
    const key = `${clusterId}\u0000${replicaId}`;
    const known = this.next.get(key) ?? this.last.get(key) ?? this.hash(clusterId, replicaId);
    this.next.set(key, known);
    return known;
  }

  /** The pass is over: what it did not score is forgotten. */
  endPass(): void {
    this.last = this.next;
    this.next = new Map();
  }
}

/** Tunnel rows written per statement: 4 parameters each, far below SQLite's and PostgreSQL's limits. */
const upsertBatch = 500;

export class ReplicaPresence implements ClusterOwnership {
  readonly heartbeatMs: number;
  readonly deadAfterMs: number;
  private readonly now: () => number;
  private replicas: ReplicaRecord[] = [];
  private readonly scores = new RendezvousScores();
  /** When the holders were last read (this replica's clock). */
  private readAt = -Infinity;
  /** Per cluster, live holders best-ranked first (the first is the owner). */
  private holders = new Map<string, TunnelHolder[]>();
  /** When each cluster last had a live holder other than this replica (ms). */
  private readonly lastHeld = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private address = '';

  constructor(private readonly options: PresenceOptions) {
    this.heartbeatMs = options.heartbeatMs ?? 2_000;
    this.deadAfterMs = options.deadAfterMs ?? Math.round(this.heartbeatMs * 3.5);
    this.now = options.now ?? Date.now;
  }

  get id(): string {
    return this.options.self.id;
  }

  /** Writes the first heartbeat with the address peers reach this replica at, then keeps beating. */
  async start(address: string): Promise<this> {
    this.address = address;
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.heartbeatMs);
    this.timer.unref();
    return this;
  }

  /** A local session came or went: beat now (coalesced with a pass already running). */
  tunnelsChanged(): void {
    void this.beat();
  }

  /** Runs one pass; a call during a pass schedules exactly one more. */
  beat(): Promise<void> {
    if (this.closed || this.address === '') return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.pass()
      .catch((error: unknown) => this.options.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'replica heartbeat failed; retrying'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          void this.beat();
        }
      });
    return this.running;
  }

  private async pass(): Promise<void> {
    const { db, self } = this.options;
    const { address } = this;
    const now = this.now();
    const local = this.options.localSessions();
    await db.insertInto('replicas').values({ id: self.id, address, version: self.version, started_at: self.startedAt, heartbeat_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ address, version: self.version, heartbeat_at: now }))
      .execute();
    // One statement per `upsertBatch` clusters, not one per cluster: with hundreds of
    // clusters a statement each made a beat slower than the 7 s peers allow, and the
    // replica looked dead to them while it was only busy writing.
    const rows = [...local].map(([clusterId, sessions]) => ({ cluster_id: clusterId, replica_id: self.id, sessions, renewed_at: now }));
    for (let i = 0; i < rows.length; i += upsertBatch) {
      await db.insertInto('cluster_tunnels').values(rows.slice(i, i + upsertBatch))
        .onConflict((oc) => oc.columns(['cluster_id', 'replica_id']).doUpdateSet((eb) => ({ sessions: eb.ref('excluded.sessions'), renewed_at: now })))
        .execute();
    }
    await this.letGo(now, [...local.keys()]);
    // Such rows are news for as long as a dead replica's would be, then go (whoever wrote them).
    await db.deleteFrom('cluster_tunnels').where('sessions', '<=', 0).where('renewed_at', '<', now - this.deadAfterMs).execute();
    await this.forgetLongDead(now);
    await this.read(now);
  }

  private async forgetLongDead(now: number): Promise<void> {
    const { db } = this.options;
    const dead = await db.selectFrom('replicas').select('id').where('heartbeat_at', '<', now - forgetAfterMs).execute();
    if (dead.length === 0) return;
    const ids = dead.map((r) => r.id);
    await db.deleteFrom('cluster_tunnels').where('replica_id', 'in', ids).execute();
    await db.deleteFrom('replicas').where('id', 'in', ids).execute();
  }

  private async read(now: number): Promise<void> {
    const { db } = this.options;
    const rows = await db.selectFrom('replicas').selectAll().orderBy('id').execute();
    this.replicas = rows.map((r) => ({ id: r.id, address: r.address, version: r.version, startedAt: r.started_at, heartbeatAt: Number(r.heartbeat_at) }));
    const live = new Map(this.replicas.filter((r) => this.isLive(r, now)).map((r) => [r.id, r]));
    const tunnels = await db.selectFrom('cluster_tunnels').selectAll().where('renewed_at', '>=', now - this.deadAfterMs).execute();
    const holders = new Map<string, Array<TunnelHolder & { score: string }>>();
    const letGo = new Map<string, number>();
    for (const t of tunnels) {
      if (t.sessions <= 0) {
        if (t.replica_id !== this.id) letGo.set(t.cluster_id, Math.max(letGo.get(t.cluster_id) ?? 0, Number(t.renewed_at)));
        continue;
      }
      const replica = live.get(t.replica_id);
      if (!replica) continue;
      const list = holders.get(t.cluster_id) ?? [];
      list.push({ replicaId: t.replica_id, address: replica.address, sessions: t.sessions, score: this.scores.score(t.cluster_id, t.replica_id) });
      holders.set(t.cluster_id, list);
    }
    this.scores.endPass();
    this.readAt = now;
    const before = this.ownedKey();
    this.holders = new Map([...holders].map(([clusterId, list]) => [
      clusterId, list.sort((a, b) => b.score.localeCompare(a.score)).map(({ replicaId, address, sessions }) => ({ replicaId, address, sessions })),
    ]));
    for (const [clusterId, list] of this.holders) if (list.some((h) => h.replicaId !== this.id)) this.lastHeld.set(clusterId, now);
    for (const [clusterId, at] of letGo) if ((this.lastHeld.get(clusterId) ?? 0) < at) this.lastHeld.set(clusterId, at);
    if (this.ownedKey() !== before) for (const listener of this.listeners) listener();
  }

  private ownedKey(): string {
    return [...this.holders].filter(([, list]) => list[0]?.replicaId === this.id).map(([id]) => id).sort().join(',');
  }

  private isLive(replica: ReplicaRecord, now: number): boolean {
    return replica.heartbeatAt >= now - this.deadAfterMs;
  }

  /** Live replicas holding a tunnel for `clusterId`, the owner first (as of the last pass). */
  holdersOf(clusterId: string): TunnelHolder[] {
    return this.holders.get(clusterId) ?? [];
  }

  /**
   * Whether another live replica held a tunnel for the cluster within the last `ms`: its
   * agent may be reconnecting to another replica (a failover under way). A single server
   * never says so, so it answers at once when its own agent is gone.
   */
  heldWithin(clusterId: string, ms: number): boolean {
    return this.now() - (this.lastHeld.get(clusterId) ?? -Infinity) <= ms;
  }

  /** Replica `id` as a relay target, if it is live (as of the last pass); none otherwise. */
  liveReplica(id: string): TunnelHolder[] {
    const replica = this.replicas.find((r) => r.id === id);
    return replica && this.isLive(replica, this.now()) ? [{ replicaId: replica.id, address: replica.address, sessions: 0 }] : [];
  }

  /** The replica that runs `clusterId`'s controller work, if any live replica holds a tunnel for it. */
  ownerOf(clusterId: string): string | undefined {
    return this.holdersOf(clusterId)[0]?.replicaId;
  }

  owns(clusterId: string): boolean {
    return this.ownerOf(clusterId) === this.id;
  }

  /** A local session counts before the next pass has recorded it. */
  anyTunnel(clusterId: string): boolean {
    return this.holdersOf(clusterId).length > 0 || (this.options.localSessions().get(clusterId) ?? 0) > 0;
  }

  refresh(): Promise<void> {
    return this.beat();
  }

  /** Reads the holders again unless they were read less than `ms` ago; says whether it read. */
  async refreshIfOlderThan(ms: number): Promise<boolean> {
    if (this.now() - this.readAt < ms) return false;
    await this.beat();
    return true;
  }

  /** Every replica row as last read, live or not, with whether it is live. */
  list(): Array<ReplicaRecord & { live: boolean; owns: string[] }> {
    const now = this.now();
    return this.replicas.map((r) => ({
      ...r, live: this.isLive(r, now),
      owns: [...this.holders].filter(([, list]) => list[0]?.replicaId === r.id).map(([clusterId]) => clusterId).sort(),
    }));
  }

  /** Called when the set of clusters this replica owns changes. */
  onOwnershipChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Stops beating and lets go of its clusters, so peers stop counting on it at once and
   * know its agents are on their way to them (the "let go" rows, see `pass`); its own row goes.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
    const { db, self } = this.options;
    await this.letGo(this.now(), []);
    await db.deleteFrom('replicas').where('id', '=', self.id).execute();
  }

  /**
   * Turns this replica's rows of clusters it no longer holds (all but `kept`) into "let go"
   * rows: sessions 0, renewed_at `now`. Peers, and replicas starting now, read them as "a
   * session was here a moment ago" (heldWithin); `pass` deletes them once they are old.
   */
  private async letGo(now: number, kept: string[]): Promise<void> {
    let gone = this.options.db.updateTable('cluster_tunnels').set({ sessions: 0, renewed_at: now }).where('replica_id', '=', this.options.self.id).where('sessions', '>', 0);
    if (kept.length > 0) gone = gone.where('cluster_id', 'not in', kept);
    await gone.execute();
  }
}
