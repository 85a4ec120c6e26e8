import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresDatabase } from '../../test/testenv/postgres.ts';
import { openStore, type Store } from '../store/index.ts';
import { silentLogger } from '../logging/index.ts';
import { ReplicaPresence, RendezvousScores, rendezvousScore } from './presence.ts';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

async function store(engine: 'SQLite' | 'PostgreSQL'): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-replicas-'));
  dirs.push(dir);
  return openStore({ dataDir: dir, ...(engine === 'PostgreSQL' ? { url: await createPostgresDatabase('replicas') } : {}) });
}

function replica(db: Store, id: string, clock: { now: number }, sessions: Map<string, number>): ReplicaPresence {
  return new ReplicaPresence({
    db: db.db, self: { id, version: '0.1.0', startedAt: '2026-12-07T00:00:00Z' }, localSessions: () => sessions,
    logger: silentLogger(), heartbeatMs: 1000, now: () => clock.now,
  });
}

for (const engine of ['SQLite', 'PostgreSQL'] as const) {
  describe(`replica presence on ${engine}`, () => {
    it('every replica names the same owner among the live holders of a tunnel, and the owner moves when it stops beating', async () => {
      const db = await store(engine);
      const clock = { now: 1_000_000 };
      const tunnels = { a: new Map([['c-1', 1]]), b: new Map([['c-1', 2]]), c: new Map<string, number>() };
      const a = await replica(db, 'r-a', clock, tunnels.a).start('10.0.0.1:8443');
      const b = await replica(db, 'r-b', clock, tunnels.b).start('10.0.0.2:8443');
      const c = await replica(db, 'r-c', clock, tunnels.c).start('10.0.0.3:8443');
      try {
        await a.beat();
        const owner = a.ownerOf('c-1');
        assert.ok(owner === 'r-a' || owner === 'r-b');
        for (const p of [b, c]) assert.equal(p.ownerOf('c-1'), owner);
        assert.deepEqual(c.holdersOf('c-1').map((h) => h.replicaId).sort(), ['r-a', 'r-b']);
        assert.equal(c.holdersOf('c-1')[0]?.address, owner === 'r-a' ? '10.0.0.1:8443' : '10.0.0.2:8443');
        assert.equal(c.anyTunnel('c-1'), true);
        assert.equal(c.owns('c-1'), false);
        assert.equal([a, b].filter((p) => p.owns('c-1')).length, 1, 'exactly one replica owns the cluster');
        // The owner is killed (kill -9: no more beats, its rows stay): stopped here, its rows put back as they were.
        const [dead, survivor] = owner === 'r-a' ? [a, b] : [b, a];
        await dead.close();
        await db.db.insertInto('replicas').values({ id: dead.id, address: 'gone:1', version: '0.1.0', started_at: 'x', heartbeat_at: clock.now }).execute();
        await db.db.insertInto('cluster_tunnels').values({ cluster_id: 'c-1', replica_id: dead.id, sessions: 1, renewed_at: clock.now })
          .onConflict((oc) => oc.columns(['cluster_id', 'replica_id']).doUpdateSet({ sessions: 1, renewed_at: clock.now })).execute();
        await survivor.beat();
        assert.equal(survivor.ownerOf('c-1'), dead.id, 'a replica counts until its heartbeat is old');
        clock.now += survivor.deadAfterMs + 1;
        await survivor.beat();
        await c.beat();
        assert.equal(survivor.owns('c-1'), true);
        assert.equal(c.ownerOf('c-1'), survivor.id);
        assert.deepEqual(c.list().find((r) => r.id === dead.id)?.live, false);
      } finally {
        for (const p of [a, b, c]) await p.close();
        await db.close();
      }
    });

    it('a replica whose last session ended lets go of the cluster: nobody holds it, peers know it was held a moment ago, then forget', async () => {
      const db = await store(engine);
      const clock = { now: 2_000_000 };
      const sessions = new Map([['c-2', 1]]);
      const a = await replica(db, 'r-a', clock, sessions).start('10.0.0.1:8443');
      const watcher = await replica(db, 'r-w', clock, new Map()).start('10.0.0.9:8443');
      const changes: string[] = [];
      a.onOwnershipChange(() => changes.push(a.owns('c-2') ? 'owns' : 'lost'));
      try {
        await watcher.beat();
        assert.equal(watcher.ownerOf('c-2'), 'r-a');
        sessions.delete('c-2');
        await a.beat();
        await watcher.beat();
        assert.equal(watcher.anyTunnel('c-2'), false);
        assert.deepEqual(changes, ['lost']);
        assert.equal(watcher.heldWithin('c-2', 10_000), true, 'its agent may be on the way to another replica');
        assert.equal(a.heldWithin('c-2', 10_000), false, 'a replica\'s own session does not count: a lone server never waits for itself');
        assert.deepEqual((await db.db.selectFrom('cluster_tunnels').select(['cluster_id', 'sessions']).execute()).map((r) => [r.cluster_id, r.sessions]), [['c-2', 0]]);
        clock.now += a.deadAfterMs + 1;
        await a.beat();
        assert.deepEqual(await db.db.selectFrom('cluster_tunnels').selectAll().execute(), [], 'the "let go" row is old news, and gone');
      } finally {
        await a.close();
        await watcher.close();
        await db.close();
      }
    });

    it('writes, renews and drops the rows of a replica holding more clusters than one statement carries', async () => {
      const db = await store(engine);
      const clock = { now: 4_000_000 };
      const sessions = new Map(Array.from({ length: 1234 }, (_, i) => [`c-${i}`, 1 + (i % 3)] as [string, number]));
      const a = await replica(db, 'r-a', clock, sessions).start('10.0.0.1:8443');
      const b = await replica(db, 'r-b', clock, new Map()).start('10.0.0.2:8443');
      const rows = async (): Promise<Map<string, number>> => new Map((await db.db.selectFrom('cluster_tunnels').select(['cluster_id', 'sessions']).where('replica_id', '=', 'r-a').where('sessions', '>', 0).execute())
        .map((r) => [r.cluster_id, r.sessions]));
      try {
        assert.deepEqual(await rows(), sessions);
        // Sessions come and go on both sides of a batch boundary; the next beat writes exactly what is held.
        clock.now += 1000;
        for (const i of [0, 499, 500, 1233]) sessions.delete(`c-${i}`);
        for (const i of [1, 501, 1000]) sessions.set(`c-${i}`, 7);
        sessions.set('c-new', 1);
        await a.beat();
        assert.deepEqual(await rows(), sessions);
        const renewed = await db.db.selectFrom('cluster_tunnels').select('renewed_at').where('replica_id', '=', 'r-a').execute();
        assert.ok(renewed.every((r) => Number(r.renewed_at) === clock.now), 'every held row is renewed by the beat');
        await b.beat();
        assert.equal(b.ownerOf('c-1000'), 'r-a');
        assert.equal(b.holdersOf('c-1000')[0]?.sessions, 7);
        assert.equal(b.anyTunnel('c-500'), false);
      } finally {
        await a.close();
        await b.close();
        await db.close();
      }
    });

    it('a replica closing lets go of its clusters, so peers stop counting on it at once, and one starting then knows they are moving', async () => {
      const db = await store(engine);
      const clock = { now: 3_000_000 };
      const a = await replica(db, 'r-a', clock, new Map([['c-3', 1]])).start('10.0.0.1:8443');
      const b = await replica(db, 'r-b', clock, new Map()).start('10.0.0.2:8443');
      try {
        await a.close();
        await b.beat();
        assert.equal(b.anyTunnel('c-3'), false);
        assert.deepEqual(b.list().map((r) => r.id), ['r-b']);
        // A replica (re)started while the agent reconnects saw no holder, ever: the "let go" row tells it.
        clock.now += 1000;
        const fresh = await replica(db, 'r-fresh', clock, new Map()).start('10.0.0.3:8443');
        assert.equal(fresh.heldWithin('c-3', 10_000), true);
        await fresh.close();
      } finally {
        await b.close();
        await db.close();
      }
    });
  });
}

describe('rendezvous scores across heartbeats', () => {
  it('hashes a (cluster, replica) pair once while it stays, again only after it was gone for a pass', () => {
    let hashed = 0;
    const scores = new RendezvousScores((c, r) => {
      hashed += 1;
      return rendezvousScore(c, r);
    });
    const pass = (pairs: Array<[string, string]>): string[] => {
      const out = pairs.map(([c, r]) => scores.score(c, r));
      scores.endPass();
      return out;
    };
    const first = pass([['c-1', 'r-a'], ['c-1', 'r-b'], ['c-2', 'r-a']]);
    assert.equal(hashed, 3);
    assert.deepEqual(first, [rendezvousScore('c-1', 'r-a'), rendezvousScore('c-1', 'r-b'), rendezvousScore('c-2', 'r-a')]);
    assert.deepEqual(pass([['c-1', 'r-a'], ['c-1', 'r-b'], ['c-2', 'r-a']]), first);
    assert.equal(hashed, 3, 'an unchanged beat hashes nothing');
    pass([['c-1', 'r-a'], ['c-3', 'r-b']]);
    assert.equal(hashed, 4, 'only the new pair');
    pass([['c-1', 'r-b']]);
    assert.equal(hashed, 5, 'a pair missing from the last pass was forgotten');
  });
});
