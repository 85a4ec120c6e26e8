import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { beyondRetention, checkSchedule, snapshotDue } from './snapshot-schedule.ts';
import type { EtcdSnapshot } from './snapshots.ts';

const at = (iso: string, scheduled: boolean, id = iso): EtcdSnapshot => ({ id, clusterId: 'c-1', node: 'n1', size: 1, sha256: '0', createdAt: iso, scheduled });
const t = (iso: string): number => Date.parse(iso);

describe('snapshot schedule', () => {
  const hourly = { everySeconds: 3600, retention: 2 };

  it('is due at once when the schedule has taken no snapshot yet, whatever admins took', () => {
    assert.equal(snapshotDue(hourly, [], t('2026-01-01T00:00:00Z')), true);
    assert.equal(snapshotDue(hourly, [at('2026-01-01T00:00:00Z', false)], t('2026-01-01T00:00:01Z')), true);
  });

  it('is due one interval after the newest scheduled snapshot, not a second before', () => {
    const list = [at('2026-01-01T00:00:00Z', true), at('2026-01-01T01:00:00Z', true)];
    assert.equal(snapshotDue(hourly, list, t('2026-01-01T01:59:59Z')), false);
    assert.equal(snapshotDue(hourly, list, t('2026-01-01T02:00:00Z')), true);
    assert.equal(snapshotDue(hourly, [...list].reverse(), t('2026-01-01T01:59:59Z')), false, 'the order of the list does not matter');
  });

  it('prunes the oldest scheduled snapshots beyond the retention, and never an admin\'s', () => {
    const list = [
      at('2026-01-01T00:00:00Z', false, 'admin-old'), at('2026-01-01T01:00:00Z', true, 's1'), at('2026-01-01T03:00:00Z', true, 's3'),
      at('2026-01-01T02:00:00Z', true, 's2'), at('2026-01-01T04:00:00Z', false, 'admin-new'),
    ];
    assert.deepEqual(beyondRetention(hourly, list).map((s) => s.id), ['s1']);
    assert.deepEqual(beyondRetention({ ...hourly, retention: 5 }, list), []);
    assert.deepEqual(beyondRetention({ ...hourly, retention: 1 }, list).map((s) => s.id), ['s1', 's2']);
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
