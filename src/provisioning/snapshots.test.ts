/**
 * etcd snapshots kept in the database, as replicas see them: two `EtcdSnapshots` with
 * data dirs of their own on one real database (replica A takes, replica B lists, serves
 * and prunes), on both engines. The node agent's side is a stand-in session answering
 * the snapshot route; what is under test is where the bytes live.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engines, sharedStore } from '../../test/testenv/stores.ts';
import type { AgentSessionView } from '../tunnel/index.ts';
import { EtcdSnapshots, snapshotChunkBytes } from './snapshots.ts';

const dirs: string[] = [];
const dataDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-snapshots-'));
  dirs.push(dir);
  return dir;
};
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** A node agent's session that answers the snapshot route with `bytes`. */
const sessionGiving = (bytes: Buffer): AgentSessionView => ({
  info: { identity: { nodeName: 'cp-1' } },
  request: () => Promise.resolve({ status: 200, headers: {}, body: bytes }),
} as unknown as AgentSessionView);

const drain = async (stream: AsyncIterable<Buffer>): Promise<Buffer[]> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
};

for (const engine of engines) {
  describe(`etcd snapshots shared by replicas (${engine})`, () => {
    const store = sharedStore(engine, 'snapshots');
    const cluster = { id: `c-${randomBytes(3).toString('hex')}`, name: 'prod' };

    it('a snapshot taken on replica A is listed, streamed and pruned by replica B after A\'s data dir is gone', async () => {
      const { db } = await store();
      const bytes = randomBytes(2 * snapshotChunkBytes + 12_345);
      const dirA = dataDir();
      const a = new EtcdSnapshots({ db, dir: join(dirA, 'snapshots'), sessionFor: () => sessionGiving(bytes) });
      const b = new EtcdSnapshots({ db, dir: join(dataDir(), 'snapshots'), sessionFor: () => undefined });
      const taken = await a.create(cluster, true);
      rmSync(dirA, { recursive: true, force: true });

      assert.deepEqual((await b.list(cluster.id)).map((s) => s.id), [taken.id]);
      assert.equal((await b.get(cluster, taken.id)).sha256, createHash('sha256').update(bytes).digest('hex'));
      const file = await b.open(cluster.id, taken.id);
      assert.equal(file.size, bytes.length);
      const chunks = await drain(file.stream);
      assert.ok(chunks.length >= 3 && chunks.every((c) => c.length <= snapshotChunkBytes), 'streamed a chunk at a time');
      assert.ok(Buffer.concat(chunks).equals(bytes));

      await b.remove(cluster.id, taken.id);
      assert.deepEqual(await b.list(cluster.id), []);
      await assert.rejects(b.open(cluster.id, taken.id), /not in the database/);
      const left = await db.selectFrom('etcd_snapshot_chunks').select('seq').where('snapshot_id', '=', taken.id).execute();
      assert.deepEqual(left, [], 'its bytes went with it');
    });

    it('a snapshot kept as a file before the database held them is refused elsewhere until its replica starts and moves it in', async () => {
      const { db } = await store();
      const bytes = randomBytes(snapshotChunkBytes + 1);
      const id = `s-old${randomBytes(3).toString('hex')}`;
      await db.insertInto('etcd_snapshots').values({
        id, cluster_id: cluster.id, node: 'cp-1', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), created_at: new Date().toISOString(), scheduled: 0,
      }).execute();
      const dirA = join(dataDir(), 'snapshots');
      mkdirSync(join(dirA, cluster.id), { recursive: true });
      writeFileSync(join(dirA, cluster.id, `${id}.db`), bytes);
      writeFileSync(join(dirA, cluster.id, 's-unlisted.db'), 'no row: left alone');
      const b = new EtcdSnapshots({ db, dir: join(dataDir(), 'snapshots'), sessionFor: () => undefined });
      await assert.rejects(b.get(cluster, id), /start that replica once/);

      const a = new EtcdSnapshots({ db, dir: dirA, sessionFor: () => undefined });
      assert.equal(await a.adoptFiles(), 1);
      assert.equal(existsSync(join(dirA, cluster.id, `${id}.db`)), false, 'the file is deleted once in the database');
      assert.equal(existsSync(join(dirA, cluster.id, 's-unlisted.db')), true);
      assert.ok(Buffer.concat(await drain((await b.open(cluster.id, id)).stream)).equals(bytes));
      assert.equal(await a.adoptFiles(), 0, 'nothing twice');
      // A replica started from a copy of the same data dir: its copy goes, nothing is written twice.
      const copy = join(dataDir(), 'snapshots');
      mkdirSync(join(copy, cluster.id), { recursive: true });
      writeFileSync(join(copy, cluster.id, `${id}.db`), bytes);
      assert.equal(await new EtcdSnapshots({ db, dir: copy, sessionFor: () => undefined }).adoptFiles(), 0);
      assert.equal(existsSync(join(copy, cluster.id, `${id}.db`)), false);
      assert.ok(Buffer.concat(await drain((await b.open(cluster.id, id)).stream)).equals(bytes));

      await b.forget(cluster.id);
      assert.deepEqual(await b.list(cluster.id), []);
      assert.deepEqual(await db.selectFrom('etcd_snapshot_chunks').select('seq').where('snapshot_id', '=', id).execute(), []);
    });
  });
}
