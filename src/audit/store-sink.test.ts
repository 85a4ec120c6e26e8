import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { openStore } from '../store/index.ts';
import { storeSink, searchAuditEvents } from './store-sink.ts';
import { microTime, type AuditEvent } from './event.ts';

const base = Date.parse('2026-12-07T00:00:00Z');
const event = (n: number, over: Partial<AuditEvent> = {}): AuditEvent => ({
  kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: `id-${n}`, stage: 'ResponseComplete', requestURI: '/api/v1/pods',
  verb: n % 2 === 0 ? 'list' : 'create', user: { username: `u-${n % 3}`, extra: { username: [`name-${n % 3}`] } }, responseStatus: { metadata: {}, code: 200 },
  requestReceivedTimestamp: microTime(base + n * 60_000), stageTimestamp: microTime(base + n * 60_000),
  annotations: { 'drover.dev/cluster-id': n < 5 ? 'c-one' : 'c-two' }, ...over,
});

describe('the store sink and search', async () => {
  const store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'drover-audit-store-')) });
  after(() => store.close());

  it('writes completed events in batches and finds them by user, cluster, verb and time, newest first', async () => {
    const sink = storeSink({ db: store.db, retentionMs: 365 * 86_400_000, maxBuffered: 100, batchWaitMs: 5, onDrop: () => assert.fail('dropped'), onError: (e) => { throw e; }, now: () => base });
    for (let n = 0; n < 10; n++) sink.write(JSON.stringify(event(n)), event(n));
    sink.write(JSON.stringify(event(99, { stage: 'ResponseStarted' })), event(99, { stage: 'ResponseStarted' }));
    await sink.drain();
    const all = await searchAuditEvents(store.db, { limit: 100 });
    assert.deepEqual(all.map((e) => e.auditID), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0].map((n) => `id-${n}`), 'ResponseStarted is not stored');
    assert.deepEqual((await searchAuditEvents(store.db, { limit: 100, user: 'name-1' })).map((e) => e.auditID), ['id-7', 'id-4', 'id-1']);
    assert.deepEqual((await searchAuditEvents(store.db, { limit: 100, user: 'u-1', clusterId: 'c-one', verb: 'create' })).map((e) => e.auditID), ['id-1']);
    assert.deepEqual((await searchAuditEvents(store.db, { limit: 100, sinceMs: base + 8 * 60_000 })).map((e) => e.auditID), ['id-9', 'id-8']);
    assert.equal((await searchAuditEvents(store.db, { limit: 3 })).length, 3);
    await sink.close();
  });

  it('deletes what is older than the retention', async () => {
    let remaining: AuditEvent[] = [];
    // A sink prunes when it starts (and every hour).
    const sink = storeSink({ db: store.db, retentionMs: 2 * 60_000, maxBuffered: 100, onDrop: () => undefined, onError: (e) => { throw e; }, now: () => base + 9 * 60_000 });
    for (const deadline = Date.now() + 10_000; remaining.length !== 3 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
      remaining = await searchAuditEvents(store.db, { limit: 100 });
    }
    await sink.close();
    assert.deepEqual(remaining.map((e) => e.auditID), ['id-9', 'id-8', 'id-7']);
  });
});
