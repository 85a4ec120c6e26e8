import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { createPostgresDatabase } from '../../test/testenv/postgres.ts';
import { silentLogger } from '../logging/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { CHANGE_CHANNEL, LISTENER_APPLICATION_NAME, PostgresChangeFeed, PostgresLease, type ChangeEvent, type ChangeTable, type ResyncReason } from './index.ts';

const until = async <T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('the PostgreSQL change feed', () => {
  let url: string;
  let store: Store;
  const feeds: PostgresChangeFeed[] = [];
  /** A feed that records what it applies. */
  const feed = (): { feed: PostgresChangeFeed; got: ChangeEvent[]; resyncs: ResyncReason[] } => {
    const f = new PostgresChangeFeed({ url, db: store.db, logger: silentLogger(), resyncMs: 600_000, reconnectInitialMs: 50, coalesceMs: 300 });
    const got: ChangeEvent[] = [];
    const resyncs: ResyncReason[] = [];
    for (const table of ['users', 'tokens', 'bindings'] as ChangeTable[]) f.on(table, (key) => { got.push({ table, key }); });
    f.onResync((reason) => { resyncs.push(reason); });
    f.start();
    feeds.push(f);
    return { feed: f, got, resyncs };
  };
  before(async () => {
    url = await createPostgresDatabase('feed');
    store = await openStore({ url, dataDir: mkdtempSync(join(tmpdir(), 'feed-')) });
  });
  after(async () => {
    for (const f of feeds) await f.close();
    await store.close();
  });

  it('delivers a replica\'s events to the others, not back to itself, and each key of a burst once', async () => {
    const a = feed();
    const b = feed();
    await until('both listening (a first re-read each)', () => (a.resyncs.length > 0 && b.resyncs.length > 0 ? true : undefined));
    assert.deepEqual(a.resyncs, ['connected']);
    for (let i = 0; i < 5; i++) a.feed.publish({ table: 'bindings', key: 'c-1' });
    a.feed.publish({ table: 'tokens', key: 't-1' });
    await until('b to apply both keys', () => (b.got.length >= 2 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(b.got.filter((e) => e.table === 'bindings'), [{ table: 'bindings', key: 'c-1' }], 'a burst of the same key is applied once');
    assert.deepEqual(b.got.filter((e) => e.table === 'tokens'), [{ table: 'tokens', key: 't-1' }]);
    assert.deepEqual(a.got, [], 'the sender already applied its own change');
  });

  it('ignores notifications that are not Drover events (anyone who can NOTIFY the channel can only cause re-reads)', async () => {
    const b = feed();
    await until('listening', () => (b.resyncs.length > 0 ? true : undefined));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const payload of ['not json', '{"t":"users"}', '{"t":1,"k":"x","o":"y"}', '{"t":"users","k":"u-1","o":"someone"}']) {
        await client.query('select pg_notify($1, $2)', [CHANGE_CHANNEL, payload]);
      }
    } finally {
      await client.end();
    }
    await until('the well-formed one', () => (b.got.length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(b.got, [{ table: 'users', key: 'u-1' }]);
  });

  it('reconnects after its connection is killed, re-reads everything, and hears events again', async () => {
    const a = feed();
    const b = feed();
    await until('both listening', () => (a.resyncs.length > 0 && b.resyncs.length > 0 ? true : undefined));
    const before = b.resyncs.length;
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${LISTENER_APPLICATION_NAME} and datname = current_database()`.execute(store.db);
    await until('b to re-read after reconnecting', () => (b.resyncs.length > before ? true : undefined));
    assert.equal(b.resyncs.at(-1), 'connected');
    a.feed.publish({ table: 'users', key: 'u-after' });
    await until('b to hear an event after the reconnect', () => (b.got.some((e) => e.key === 'u-after') ? true : undefined));
  });
});

describe('leases', () => {
  let store: Store;
  const leases: PostgresLease[] = [];
  const lease = (holderId: string, name = 'loop', renewMs = 500): PostgresLease => {
    const l = new PostgresLease({ db: store.db, name, holderId, logger: silentLogger(), ttlMs: 3_000, renewMs }).start();
    leases.push(l);
    return l;
  };

  before(async () => {
    store = await openStore({ url: await createPostgresDatabase('lease'), dataDir: mkdtempSync(join(tmpdir(), 'lease-')) });
  });
  after(async () => {
    for (const l of leases) await l.close();
    await store.close();
  });

  it('has one holder at a time; a holder that stops renewing loses it to another after the lease expires', async () => {
    const a = lease('a');
    await until('a to hold the lease', () => (a.held() ? true : undefined));
    const b = lease('b');
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(b.held(), false, 'b never holds it while a renews');
      assert.equal(a.held(), true);
    }
    // c claims once and never renews (as a holder that died): d gets it only after it expired.
    const c = lease('c', 'dying', 3_600_000);
    await until('c to hold its lease', () => (c.held() ? true : undefined));
    const d = lease('d', 'dying');
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(d.held(), false, 'not before the lease expired');
    await until('d to take it over once it expired', () => (d.held() ? true : undefined));
    assert.equal(c.held(), false, 'c stopped believing it holds the lease before d could take it');
  });

  it('a holder that closes gives it back at once', async () => {
    const a = lease('a2', 'handover');
    await until('a2 to hold it', () => (a.held() ? true : undefined));
    const b = lease('b2', 'handover');
    await a.close();
    // Given back: the row is gone, or b2 (already trying) has claimed it in the meantime; never still a2's.
    const rows = (await sql<{ holder: string }>`select holder from leases where name = 'handover'`.execute(store.db)).rows;
    assert.ok(rows.every((r) => r.holder === 'b2'), `a2 still holds the lease: ${JSON.stringify(rows)}`);
    await until('b2 to take it at its next try', () => (b.held() ? true : undefined), 2_000);
  });
});
