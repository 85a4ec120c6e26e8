/**
 * The server's etcd snapshots of provisioned clusters: taken through a node agent's
 * tunnel session (etcd-snapshot.ts), checked (size, SHA-256), and kept in the database
 * (`etcd_snapshots` and its bytes in `etcd_snapshot_chunks`, 1 MiB a row), so every
 * replica lists, serves and prunes every snapshot, and one survives the loss of the
 * replica that took it (docs/ha.md). Each is at most `maxSnapshotBytes`; a download
 * reads one chunk at a time, never the whole snapshot.
 *
 * Snapshots taken before the database kept them are files under
 * `<data dir>/snapshots/<cluster id>/<snapshot id>.db`; `adoptFiles` moves those of
 * this replica's data dir into the database at start.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
import type { AgentSessionView } from '../tunnel/index.ts';
import { randomId } from '../tokens/index.ts';
import { DroverError } from '../errors/index.ts';
import { maxSnapshotBytes, snapshotRoute } from './etcd-snapshot.ts';

export interface EtcdSnapshot {
  id: string; clusterId: string; node: string; size: number; sha256: string; createdAt: string;
  /** Taken by the cluster's schedule (pruned by its retention), not by an admin. */
  scheduled: boolean;
}

export interface EtcdSnapshotsOptions {
  db: Kysely<Database>;
  /** `<server data dir>/snapshots`: where snapshots were kept before the database held them. */
  dir: string;
  /** The cluster's current tunnel session (a control-plane node agent). */
  sessionFor: (clusterId: string) => AgentSessionView | undefined;
}

/** Bytes per `etcd_snapshot_chunks` row: a download holds one in memory at a time. */
export const snapshotChunkBytes = 1024 * 1024;

export class EtcdSnapshots {
  constructor(private readonly options: EtcdSnapshotsOptions) {}

  async create(cluster: { id: string; name: string }, scheduled = false): Promise<EtcdSnapshot> {
    const session = this.options.sessionFor(cluster.id);
    if (!session) throw new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', `no node agent of cluster "${cluster.name}" is connected: a snapshot is taken through one`);
    const response = await session.request(snapshotRoute.method, snapshotRoute.path, { maxBodyBytes: maxSnapshotBytes, signal: AbortSignal.timeout(180_000) });
    if (response.status !== 200) {
      throw new DroverError('DRV_ERR_BAD_GATEWAY', `node ${session.info.identity.nodeName ?? '?'} could not take the snapshot (${response.status}): ${response.body.toString('utf8').slice(0, 500)}`);
    }
    const snapshot: EtcdSnapshot = {
      id: randomId('s-', 10), clusterId: cluster.id, node: session.info.identity.nodeName ?? '', size: response.body.length,
      sha256: createHash('sha256').update(response.body).digest('hex'), createdAt: new Date().toISOString(), scheduled,
    };
    // One transaction: a listed snapshot always has all its bytes.
    await this.options.db.transaction().execute(async (tx) => {
      for (let seq = 0; seq * snapshotChunkBytes < response.body.length; seq++) {
        const data = response.body.subarray(seq * snapshotChunkBytes, (seq + 1) * snapshotChunkBytes);
        await tx.insertInto('etcd_snapshot_chunks').values({ snapshot_id: snapshot.id, seq, data }).execute();
      }
      await tx.insertInto('etcd_snapshots').values({
        id: snapshot.id, cluster_id: cluster.id, node: snapshot.node, size: snapshot.size, sha256: snapshot.sha256, created_at: snapshot.createdAt, scheduled: scheduled ? 1 : 0,
      }).execute();
    });
    return snapshot;
  }

  async list(clusterId: string): Promise<EtcdSnapshot[]> {
    const rows = await this.options.db.selectFrom('etcd_snapshots').selectAll().where('cluster_id', '=', clusterId).orderBy('created_at').execute();
    return rows.map((r) => ({ id: r.id, clusterId: r.cluster_id, node: r.node, size: r.size, sha256: r.sha256, createdAt: r.created_at, scheduled: r.scheduled === 1 }));
  }

  /** One snapshot of the cluster whose bytes the database holds, or a 404 saying what is there. */
  async get(cluster: { id: string; name: string }, id: string): Promise<EtcdSnapshot> {
    const snapshot = (await this.list(cluster.id)).find((s) => s.id === id);
    if (!snapshot) throw new DroverError('DRV_ERR_NOT_FOUND', `cluster "${cluster.name}" has no snapshot ${id.slice(0, 40)}: "drover clusters snapshots list ${cluster.name}" shows its snapshots`);
    if (!(await this.hasBytes(id))) throw this.bytesMissing(id);
    return snapshot;
  }

  /** The snapshot's bytes, streamed a chunk at a time, for the node that restores it (the caller checked it may have them). */
  async open(clusterId: string, id: string): Promise<{ stream: Readable; size: number }> {
    const row = await this.options.db.selectFrom('etcd_snapshots').select('size').where('cluster_id', '=', clusterId).where('id', '=', id).executeTakeFirst();
    if (!row || !(await this.hasBytes(id))) throw this.bytesMissing(id);
    const { db } = this.options;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let seq = 0; ; seq++) {
        const chunk = await db.selectFrom('etcd_snapshot_chunks').select('data').where('snapshot_id', '=', id).where('seq', '=', seq).executeTakeFirst();
        if (!chunk) return;
        yield chunk.data;
      }
    }
    return { stream: Readable.from(chunks(), { objectMode: false }), size: row.size };
  }

  private async hasBytes(id: string): Promise<boolean> {
    return (await this.options.db.selectFrom('etcd_snapshot_chunks').select('seq').where('snapshot_id', '=', id).where('seq', '=', 0).executeTakeFirst()) !== undefined;
  }

  private bytesMissing(id: string): DroverError {
    return new DroverError('DRV_ERR_NOT_FOUND', `snapshot ${id.slice(0, 40)} is listed, but its bytes are not in the database: it was taken before the database kept snapshots, ` +
      'and the replica whose data dir holds it has not started since; start that replica once (it moves the file into the database) or take a new snapshot');
  }

  /**
   * Moves snapshots this replica kept as files (before the database held them) into the
   * database, then deletes the files; returns how many. Files with no row are left alone.
   * Replicas started from copies of one data dir hold the same files: whichever moves a
   * snapshot first wins, the others write nothing over it and delete their copy.
   */
  async adoptFiles(): Promise<number> {
    const clusters = await readdir(this.options.dir).catch(() => [] as string[]);
    let adopted = 0;
    for (const clusterId of clusters) {
      for (const name of await readdir(join(this.options.dir, clusterId)).catch(() => [] as string[])) {
        const id = name.endsWith('.db') ? name.slice(0, -3) : undefined;
        const known = id && await this.options.db.selectFrom('etcd_snapshots').select('id').where('cluster_id', '=', clusterId).where('id', '=', id).executeTakeFirst();
        if (!id || !known) continue;
        const path = join(this.options.dir, clusterId, name);
        if (!(await this.hasBytes(id))) {
          await this.options.db.transaction().execute(async (tx) => {
            let seq = 0;
            for await (const data of createReadStream(path, { highWaterMark: snapshotChunkBytes }) as AsyncIterable<Buffer>) {
              await tx.insertInto('etcd_snapshot_chunks').values({ snapshot_id: id, seq: seq++, data }).onConflict((c) => c.columns(['snapshot_id', 'seq']).doNothing()).execute();
            }
          });
          adopted++;
        }
        await rm(path, { force: true });
      }
    }
    return adopted;
  }

  /** Deletes one snapshot and its bytes. */
  async remove(clusterId: string, id: string): Promise<void> {
    await this.options.db.transaction().execute(async (tx) => {
      const gone = await tx.deleteFrom('etcd_snapshots').where('cluster_id', '=', clusterId).where('id', '=', id).executeTakeFirst();
      if (gone.numDeletedRows > 0n) await tx.deleteFrom('etcd_snapshot_chunks').where('snapshot_id', '=', id).execute();
    });
  }

  /** A deleted cluster's snapshots go with it (and any file left from before the database kept them). */
  async forget(clusterId: string): Promise<void> {
    await this.options.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('etcd_snapshot_chunks').where('snapshot_id', 'in', tx.selectFrom('etcd_snapshots').select('id').where('cluster_id', '=', clusterId)).execute();
      await tx.deleteFrom('etcd_snapshots').where('cluster_id', '=', clusterId).execute();
    });
    await rm(join(this.options.dir, clusterId), { recursive: true, force: true });
  }
}
