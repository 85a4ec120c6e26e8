import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { auditConfigFromFlags } from './options.ts';

describe('audit flags', () => {
  it('defaults: Metadata policy, 100 MB × 10 logs for 30 days, 7 days searchable, recordings best effort kept 30 days', () => {
    const config = auditConfigFromFlags({});
    assert.equal(config.log, undefined);
    assert.equal(config.logMaxBytes, 100 * 1024 * 1024);
    assert.equal(config.logMaxBackups, 10);
    assert.equal(config.logMaxAgeMs, 30 * 86_400_000);
    assert.equal(config.retentionMs, 7 * 86_400_000);
    assert.equal(config.execRecording, 'best-effort');
    assert.equal(config.execRecordingRetentionMs, 30 * 86_400_000);
  });

  it('takes 0 as "keep" for the retentions and "no limit" for the log bounds', () => {
    const config = auditConfigFromFlags({ auditRetention: '0', execRecordingRetention: '0', auditLogMaxsize: '0', auditLogMaxbackup: '0' });
    assert.equal(config.retentionMs, 0);
    assert.equal(config.execRecordingRetentionMs, 0);
    assert.equal(config.logMaxBytes, 0);
    assert.equal(config.logMaxBackups, 0);
  });

  for (const [flags, option] of [
    [{ execRecordingRetention: 'a month' }, '--exec-recording-retention'],
    [{ execRecordingRetention: '-1d' }, '--exec-recording-retention'],
    [{ auditRetention: '7 days' }, '--audit-retention'],
    [{ auditLogMaxsize: '1.5' }, '--audit-log-maxsize'],
    [{ auditLogMaxbackup: '-1' }, '--audit-log-maxbackup'],
    [{ execRecording: 'always' }, '--exec-recording'],
    [{ auditLog: '' }, '--audit-log'],
  ] as const) {
    it(`refuses ${JSON.stringify(flags)}, naming ${option}`, () => {
      assert.throws(() => auditConfigFromFlags(flags), (e: unknown) => e instanceof Error && e.message.startsWith(`${option}:`));
    });
  }
});
