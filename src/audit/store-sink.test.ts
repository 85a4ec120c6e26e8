import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { openSqliteConnection, openStore } from '../store/index.ts';
import { storeSink, searchAuditEvents } from './store-sink.ts';
import { microTime, type AuditEvent } from './event.ts';
import { until } from '../testing/index.ts';

const base = Date.parse('2026-12-07T00:00:00Z');
const event = (n: number, over: Partial<AuditEvent> = {}): AuditEvent => ({
  kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: `id-${n}`, stage: 'ResponseComplete', requestURI: '/api/v1/pods',
  verb: n % 2 === 0 ? 'list' : 'create', user: { username: `u-${n % 3}`, extra: { username: [`name-${n % 3}`] } }, responseStatus: { metadata: {}, code: 200 },
  requestReceivedTimestamp: microTime(base + n * 60_000), stageTimestamp: microTime(base + n * 60_000),
  annotations: { 'drover.dev/cluster-id': n < 5 ? 'c-one' : 'c-two' }, ...over,
});
const write = (sink: { write(line: string, e: AuditEvent): void }, n: number): void => { sink.write(JSON.stringify(event(n)), event(n)); };

// The same sink two ways: through the store's own connection (PostgreSQL's way), and through a writer thread with its own connection (a SQLite file).
for (const writer of ['the store\'s connection', 'a writer thread'] as const) {
  describe(`the store sink and search, through ${writer}`, async () => {
    const store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'drover-audit-store-')) });
    after(() => store.close());
    const file = writer === 'a writer thread' ? { file: store.file ?? assert.fail('a SQLite store has a file') } : {};

    it('writes completed events in batches and finds them by user, cluster, verb and time, newest first', async () => {
      const sink = storeSink({ db: store.db, ...file, retentionMs: 365 * 86_400_000, maxBuffered: 100, batchWaitMs: 5, onDrop: () => assert.fail('dropped'), onError: (e) => { throw e; }, now: () => base });
      for (let n = 0; n < 10; n++) write(sink, n);
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
      const sink = storeSink({ db: store.db, ...file, retentionMs: 2 * 60_000, maxBuffered: 100, onDrop: () => undefined, onError: (e) => { throw e; }, now: () => base + 9 * 60_000 });
      for (const deadline = Date.now() + 10_000; remaining.length !== 3 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
        remaining = await searchAuditEvents(store.db, { limit: 100 });
      }
      await sink.close();
      assert.deepEqual(remaining.map((e) => e.auditID), ['id-9', 'id-8', 'id-7']);
    });
  });
}

describe('the writer thread when the database will not take the rows (attacker\'s and operator\'s view)', async () => {
  const store = await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'drover-audit-thread-')) });
  const file = store.file ?? assert.fail('a SQLite store has a file');
  after(() => store.close());
  const errors: string[] = [];
  let dropped = 0;
  const sink = storeSink({
    db: store.db, file, retentionMs: 365 * 86_400_000, maxBuffered: 100, batchWaitMs: 5, thread: { busyTimeoutMs: 200 },
    onDrop: (n) => { dropped += n; }, onError: (e) => { errors.push((e as Error).message); }, now: () => base,
  });
  after(() => sink.close());

  it('a database locked by another process: the batch is dropped and counted, the error says so, and the main thread never waits', async () => {
    await sink.drain();
    const other = await openSqliteConnection(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      for (let n = 100; n < 103; n++) write(sink, n);
      await until('the locked batch to be dropped', () => dropped === 3);
      assert.match(errors.at(-1) ?? '', /writing audit events to .*drover\.db failed: database is locked; check the disk/);
      // Searching reads beside the held lock (WAL): the server stays usable.
      assert.deepEqual(await searchAuditEvents(store.db, { limit: 10 }), []);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    write(sink, 104);
    await sink.drain();
    assert.deepEqual((await searchAuditEvents(store.db, { limit: 10 })).map((e) => e.auditID), ['id-104'], 'the next batch goes in once the lock is gone');
  });

  it('a thread that cannot open the database: its batch and those of the next seconds are dropped and counted, with the reason, without a thread started at each', async () => {
    let lost = 0;
    const messages: string[] = [];
    const missing = join(mkdtempSync(join(tmpdir(), 'drover-audit-missing-')), 'no-such-dir', 'drover.db');
    const broken = storeSink({
      db: store.db, file: missing, retentionMs: 365 * 86_400_000, maxBuffered: 100, batchWaitMs: 5,
      onDrop: (n) => { lost += n; }, onError: (e) => { messages.push((e as Error).message); }, now: () => base,
    });
    write(broken, 300);
    await until('the batch to be counted as dropped', () => lost === 1);
    const reason = /writer thread for .*no-such-dir.* stopped \(it failed: Cannot open database because the directory does not exist\); the batches it held and those of the next 5 s are lost/;
    assert.match(messages.at(-1) ?? '', reason);
    // The next batch is dropped at once, for the same reason (one log line), rather than start a thread at every batch.
    write(broken, 301);
    await until('the next batch to be counted as dropped', () => lost === 2);
    assert.match(messages.at(-1) ?? '', reason);
    await broken.close();
  });

  it('a thread that dies mid-batch: its batch is dropped and counted, the error says so, and the next batch starts a new thread', async () => {
    // The real thread, but one that exits while it holds the batch with id-200 in it.
    const script = join(mkdtempSync(join(tmpdir(), 'drover-audit-dying-')), 'dying-thread.mjs');
    writeFileSync(script, [
      "import { parentPort } from 'node:worker_threads';",
      "parentPort.on('message', (m) => { if (m.op === 'insert' && m.rows.some((r) => r.audit_id === 'id-200')) process.exit(1); });",
      `await import(${JSON.stringify(new URL('./store-writer-thread.ts', import.meta.url).href)});`,
    ].join('\n'));
    let lost = 0;
    const messages: string[] = [];
    const dying = storeSink({
      db: store.db, file, retentionMs: 365 * 86_400_000, maxBuffered: 100, batchWaitMs: 5, thread: { script: pathToFileURL(script), restartDelayMs: 0 },
      onDrop: (n) => { lost += n; }, onError: (e) => { messages.push((e as Error).message); }, now: () => base,
    });
    write(dying, 200);
    write(dying, 201);
    await until('the batch the thread died with to be counted as dropped', () => lost === 2);
    assert.match(messages.at(-1) ?? '', /writer thread for .*drover\.db stopped \(it exited with code 1\); the batches it held and those of the next 0 s are lost, then a new thread starts/);
    write(dying, 202);
    await dying.drain();
    assert.equal(lost, 2);
    assert.deepEqual((await searchAuditEvents(store.db, { limit: 10 })).map((e) => e.auditID), ['id-202', 'id-104']);
    await dying.close();
  });
});
