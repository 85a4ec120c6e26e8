import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../store/index.ts';
import { silentLogger } from '../logging/index.ts';
import { beyondRetention, checkSchedule, newClusterSchedule, snapshotDue, SnapshotScheduler } from './snapshot-schedule.ts';
import type { EtcdSnapshot, EtcdSnapshots } from './snapshots.ts';

const at = (iso: string, scheduled: boolean, id = iso): EtcdSnapshot => ({ id, clusterId: 'c-1', node: 'n1', size: 1, sha256: '0', createdAt: iso, scheduled });
const t = (iso: string): number => Date.parse(iso);

describe('snapshot schedule', () => {
  const hourly = { everySeconds: 3600, retention: 2 };

  const created = t('2025-12-31T00:00:00Z');

  it('before its first scheduled snapshot, is due one interval after the cluster was created, whatever admins took', () => {
    const young = t('2026-01-01T00:00:00Z');
    assert.equal(snapshotDue(hourly, [], t('2026-01-01T00:59:59Z'), young), false, 'a new cluster is not snapshotted while it is being built');
    assert.equal(snapshotDue(hourly, [], t('2026-01-01T01:00:00Z'), young), true);
    assert.equal(snapshotDue(hourly, [at('2026-01-01T00:00:00Z', false)], t('2026-01-01T00:00:01Z'), created), true, 'a schedule set on an older cluster is due at once');
  });

  it('is due one interval after the newest scheduled snapshot, not a second before', () => {
    const list = [at('2026-01-01T00:00:00Z', true), at('2026-01-01T01:00:00Z', true)];
    assert.equal(snapshotDue(hourly, list, t('2026-01-01T01:59:59Z'), created), false);
    assert.equal(snapshotDue(hourly, list, t('2026-01-01T02:00:00Z'), created), true);
    assert.equal(snapshotDue(hourly, [...list].reverse(), t('2026-01-01T01:59:59Z'), created), false, 'the order of the list does not matter');
  });

  it('gives a new cluster the reference\'s RKE2 default (every 12 h, 5 kept) when none is asked for, and none when asked with 0', () => {
    assert.deepEqual(newClusterSchedule(), { everySeconds: 43200, retention: 5 });
    assert.equal(newClusterSchedule({ everySeconds: 0 }), undefined);
    assert.deepEqual(newClusterSchedule({ everySeconds: 3600, retention: 2 }), { everySeconds: 3600, retention: 2 });
    assert.throws(() => newClusterSchedule({ everySeconds: 5 }), /--snapshot-schedule/);
  });

  it('prunes the oldest scheduled snapshots beyond the retention, and never an admin\'s', () => {
    const list = [
      at('2026-01-01T00:00:00Z', false, 'admin-old'), at('2026-01-01T01:00:00Z', true, 's1'), at('2026-01-01T03:00:00Z', true, 's3'),
      at('2026-01-01T02:00:00Z', true, 's2'), at('2026-01-01T04:00:00Z', false, 'admin-new'),
    ];
    assert.deepEqual(beyondRetention(hourly, list).map((s) => s.id), ['s1']);
    assert.deepEqual(beyondRetention({ ...hourly, retention: 5 }, list), []);
    assert.deepEqual(beyondRetention({ ...hourly, retention: 1 }, list).map((s) => s.id), ['s1', 's2']);
    assert.deepEqual(beyondRetention({ ...hourly, retention: 1 }, list, 's1').map((s) => s.id), ['s2'], 'the last restore\'s snapshot is kept');
  });

  it('takes 0 as off, refuses intervals under 10 s and retentions outside 1-1000, naming the flag', () => {
    assert.equal(checkSchedule(0), undefined);
    assert.deepEqual(checkSchedule(21600), { everySeconds: 21600, retention: 5 });
    assert.deepEqual(checkSchedule(10, 1), { everySeconds: 10, retention: 1 });
    assert.throws(() => checkSchedule(9), /--snapshot-schedule.*at least 10s/);
    assert.throws(() => checkSchedule(1.5), /--snapshot-schedule/);
    assert.throws(() => checkSchedule(60, 0), /--snapshot-retention.*1 to 1000/);
    assert.throws(() => checkSchedule(60, 1001), /--snapshot-retention/);
  });
});

describe('SnapshotScheduler.pass', () => {
  let dir: string;
  let store: Store;
  const now = t('2026-01-01T12:00:00Z');

  /** An in-memory stand-in for the snapshot store that records what the scheduler did. */
  const fakeSnapshots = (list: EtcdSnapshot[]): { snapshots: EtcdSnapshots; taken: string[]; removed: string[] } => {
    const taken: string[] = [];
    const removed: string[] = [];
    const snapshots = {
      list: (clusterId: string) => Promise.resolve(list.filter((s) => s.clusterId === clusterId && !removed.includes(s.id))),
      create: (cluster: { id: string }, scheduled: boolean) => {
        taken.push(cluster.id);
        return Promise.resolve({ ...at(new Date(now).toISOString(), scheduled, `new-${cluster.id}`), clusterId: cluster.id });
      },
      remove: (_clusterId: string, id: string) => { removed.push(id); return Promise.resolve(); },
    } as unknown as EtcdSnapshots;
    return { snapshots, taken, removed };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snapshot-schedule-'));
    store = await openStore({ dataDir: dir });
    const row = { kubernetes_version: 'v1.36.3', created_at: '2026-01-01T00:00:00Z', restore: null, etcd_seed: null };
    await store.db.insertInto('provisioned_clusters').values([
      { ...row, cluster_id: 'c-1', snapshot_every_ms: 3_600_000, snapshot_retention: 2 },
      { ...row, cluster_id: 'c-2', snapshot_every_ms: 3_600_000, snapshot_retention: 2 },
      { ...row, cluster_id: 'c-3', snapshot_every_ms: null, snapshot_retention: null },
    ]).execute();
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('acts only on the clusters this replica owns that have a schedule: takes what is due, then prunes beyond the retention', async () => {
    const list = [
      { ...at('2026-01-01T09:00:00Z', true, 'c1-old'), clusterId: 'c-1' }, { ...at('2026-01-01T10:00:00Z', true, 'c1-mid'), clusterId: 'c-1' },
      { ...at('2026-01-01T08:00:00Z', false, 'c1-admin'), clusterId: 'c-1' },
      { ...at('2026-01-01T09:00:00Z', true, 'c2-old'), clusterId: 'c-2' }, { ...at('2026-01-01T10:00:00Z', true, 'c2-mid'), clusterId: 'c-2' },
    ];
    const fake = fakeSnapshots(list);
    const scheduler = new SnapshotScheduler({
      db: store.db, snapshots: fake.snapshots, owns: (id) => id !== 'c-2', clusterName: (id) => Promise.resolve(id), restoring: () => Promise.resolve(undefined), logger: silentLogger(), now: () => now,
    });
    await scheduler.pass();
    assert.deepEqual(fake.taken, ['c-1'], 'c-2 is another replica\'s, c-3 has no schedule');
    assert.deepEqual(fake.removed, ['c1-old'], 'the oldest scheduled one beyond 2; never the admin\'s, never another replica\'s cluster');
  });

  it('takes nothing before the interval has passed', async () => {
    const fake = fakeSnapshots([{ ...at('2026-01-01T11:30:00Z', true, 'recent'), clusterId: 'c-1' }]);
    await new SnapshotScheduler({ db: store.db, snapshots: fake.snapshots, owns: () => true, clusterName: (id) => Promise.resolve(id), restoring: () => Promise.resolve(undefined), logger: silentLogger(), now: () => now }).pass();
    assert.deepEqual(fake.taken, ['c-2'], 'c-1 took one 30 min ago; c-2 has none yet');
  });
});
