/**
 * Scheduled etcd snapshots of provisioned clusters: each cluster may have a
 * schedule (every N seconds) and a retention (how many scheduled snapshots are
 * kept). Every replica runs the loop, but only the cluster's owner replica acts
 * on a cluster (docs/ha.md: one owner per cluster; the owner holds a tunnel
 * session, which a snapshot is taken through). Snapshots an admin took are never
 * pruned; only scheduled ones count against the retention.
 *
 * The decisions (`snapshotDue`, `beyondRetention`) are pure, so they are tested
 * without a clock or a cluster.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
import type { Logger } from '../logging/index.ts';
import { InvalidArgumentError } from '../errors/index.ts';
import type { EtcdSnapshot, EtcdSnapshots } from './snapshots.ts';
import { SerialTicker } from './serial-ticker.ts';

export interface SnapshotSchedule {
  /** Seconds between scheduled snapshots. */
  everySeconds: number;
  /** How many scheduled snapshots are kept (older ones are deleted). */
  retention: number;
}

/** The shortest schedule: anything shorter would only load etcd and the server's disk. */
export const minScheduleSeconds = 10;
export const defaultRetention = 5;
const maxRetention = 1000;
/**
 * A new custom cluster's schedule when none is asked for: the reference's RKE2
 * default (scheduled snapshots on, at 00:00 and 12:00, 5 kept), as an interval.
 */
export const defaultSchedule: SnapshotSchedule = { everySeconds: 12 * 3600, retention: defaultRetention };

/** The schedule a new cluster gets: the default when none is asked for, none when asked with 0. */
export function newClusterSchedule(asked?: { everySeconds: number; retention?: number }): SnapshotSchedule | undefined {
  return asked === undefined ? defaultSchedule : checkSchedule(asked.everySeconds, asked.retention);
}

/** Checks a schedule from the API or the CLI; `everySeconds` 0 turns the schedule off (undefined). */
export function checkSchedule(everySeconds: number, retention = defaultRetention): SnapshotSchedule | undefined {
  if (!Number.isSafeInteger(everySeconds) || (everySeconds !== 0 && everySeconds < minScheduleSeconds)) {
    throw new InvalidArgumentError('--snapshot-schedule', `0 (off) or at least ${minScheduleSeconds}s`, String(everySeconds));
  }
  if (!Number.isSafeInteger(retention) || retention < 1 || retention > maxRetention) {
    throw new InvalidArgumentError('--snapshot-retention', `a whole number from 1 to ${maxRetention}`, String(retention));
  }
  return everySeconds === 0 ? undefined : { everySeconds, retention };
}

/**
 * Due one interval after the newest scheduled snapshot, or, before the first, one
 * interval after the cluster was created (`since`): a new cluster's first
 * scheduled snapshot comes 12 h in, as RKE2's, not while its nodes are still
 * being built. A schedule set on an older cluster is due at once.
 */
export function snapshotDue(schedule: SnapshotSchedule, snapshots: readonly EtcdSnapshot[], now: number, since: number): boolean {
  const last = snapshots.filter((s) => s.scheduled).reduce((max, s) => Math.max(max, Date.parse(s.createdAt)), since);
  return now - last >= schedule.everySeconds * 1000;
}

/**
 * The scheduled snapshots beyond the newest `retention`, oldest first; admins'
 * snapshots are never among them, nor `keep` (the last restore's: its nodes may
 * still be downloading it).
 */
export function beyondRetention(schedule: SnapshotSchedule, snapshots: readonly EtcdSnapshot[], keep?: string): EtcdSnapshot[] {
  const scheduled = snapshots.filter((s) => s.scheduled).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return scheduled.slice(0, Math.max(0, scheduled.length - schedule.retention)).filter((s) => s.id !== keep);
}

export interface SnapshotSchedulerOptions {
  db: Kysely<Database>;
  snapshots: EtcdSnapshots;
  /** Whether this replica runs the cluster's controller work (and so its schedule). */
  owns(clusterId: string): boolean;
  clusterName(clusterId: string): Promise<string>;
  /** The snapshot the cluster's last restore used, which is not pruned. */
  restoring(clusterId: string): Promise<string | undefined>;
  logger: Logger;
  /** How often schedules are looked at (default 5 s). */
  tickMs?: number;
  now?: () => number;
}

export class SnapshotScheduler extends SerialTicker {
  constructor(private readonly options: SnapshotSchedulerOptions) {
    super(options.tickMs ?? 5_000);
  }

  /** One look at every schedule: take what is due, prune what is beyond retention (the owner's clusters only). */
  async pass(): Promise<void> {
    const { db, snapshots, logger } = this.options;
    const rows = await db.selectFrom('provisioned_clusters').select(['cluster_id', 'created_at', 'snapshot_every_ms', 'snapshot_retention'])
      .where('snapshot_every_ms', 'is not', null).execute().catch((error: unknown) => {
        logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'could not read the snapshot schedules; retrying');
        return [];
      });
    for (const row of rows) {
      if (this.stopped || !this.options.owns(row.cluster_id)) continue;
      const schedule = { everySeconds: (row.snapshot_every_ms ?? 0) / 1000, retention: row.snapshot_retention ?? defaultRetention };
      try {
        const cluster = { id: row.cluster_id, name: await this.options.clusterName(row.cluster_id) };
        let list = await snapshots.list(cluster.id);
        if (snapshotDue(schedule, list, (this.options.now ?? Date.now)(), Date.parse(row.created_at))) {
          const taken = await snapshots.create(cluster, true);
          logger.info({ cluster: cluster.name, snapshot: taken.id, bytes: taken.size }, 'scheduled etcd snapshot taken');
          list = [...list, taken];
        }
        for (const old of beyondRetention(schedule, list, await this.options.restoring(cluster.id))) {
          await snapshots.remove(cluster.id, old.id);
          logger.info({ cluster: cluster.name, snapshot: old.id }, 'scheduled etcd snapshot pruned (beyond the retention)');
        }
      } catch (error) {
        logger.warn({ cluster: row.cluster_id, error: error instanceof Error ? error.message : String(error) }, 'scheduled etcd snapshot failed; trying again at the next pass');
      }
    }
  }
}
