/**
 * The server's etcd snapshots of provisioned clusters: taken through a node agent's
 * tunnel session (etcd-snapshot.ts), checked (size, SHA-256), written to
 * `<server data dir>/snapshots/<cluster id>/<snapshot id>.db` (mode 0600, through a
 * temporary file), and listed from the store. Each is at most `maxSnapshotBytes`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync, type ReadStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  /** `<server data dir>/snapshots`. */
  dir: string;
  /** The cluster's current tunnel session (a control-plane node agent). */
  sessionFor: (clusterId: string) => AgentSessionView | undefined;
}

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
    await mkdir(join(this.options.dir, cluster.id), { recursive: true, mode: 0o700 });
    const file = this.file(cluster.id, snapshot.id);
    await writeFile(`${file}.partial`, response.body, { mode: 0o600 });
    await rename(`${file}.partial`, file);
    await this.options.db.insertInto('etcd_snapshots').values({
      id: snapshot.id, cluster_id: cluster.id, node: snapshot.node, size: snapshot.size, sha256: snapshot.sha256, created_at: snapshot.createdAt, scheduled: scheduled ? 1 : 0,
    }).execute();
    return snapshot;
  }

  async list(clusterId: string): Promise<EtcdSnapshot[]> {
    const rows = await this.options.db.selectFrom('etcd_snapshots').selectAll().where('cluster_id', '=', clusterId).orderBy('created_at').execute();
    return rows.map((r) => ({ id: r.id, clusterId: r.cluster_id, node: r.node, size: r.size, sha256: r.sha256, createdAt: r.created_at, scheduled: r.scheduled === 1 }));
  }

  /** One snapshot of the cluster whose file this server holds, or a 404 saying what is there. */
  async get(cluster: { id: string; name: string }, id: string): Promise<EtcdSnapshot> {
    const snapshot = (await this.list(cluster.id)).find((s) => s.id === id);
    if (!snapshot) throw new DroverError('DRV_ERR_NOT_FOUND', `cluster "${cluster.name}" has no snapshot ${id.slice(0, 40)}: "drover clusters snapshots list ${cluster.name}" shows its snapshots`);
    if (!existsSync(this.file(cluster.id, id))) {
      throw new DroverError('DRV_ERR_NOT_FOUND', `snapshot ${id} of cluster "${cluster.name}" is listed, but its file ${this.file(cluster.id, id)} is missing on this server`);
    }
    return snapshot;
  }

  /** The snapshot's bytes, for the node that restores it (the caller checked it may have them). */
  open(clusterId: string, id: string): { stream: ReadStream; size: number } {
    const path = this.file(clusterId, id);
    return { stream: createReadStream(path), size: statSync(path).size };
  }

  private file(clusterId: string, id: string): string {
    return join(this.options.dir, clusterId, `${id}.db`);
  }

  /** Deletes one snapshot, row first (a listed snapshot always has its file). */
  async remove(clusterId: string, id: string): Promise<void> {
    await this.options.db.deleteFrom('etcd_snapshots').where('cluster_id', '=', clusterId).where('id', '=', id).execute();
    await rm(this.file(clusterId, id), { force: true });
  }

  /** A deleted cluster's snapshots go with it. */
  async forget(clusterId: string): Promise<void> {
    await this.options.db.deleteFrom('etcd_snapshots').where('cluster_id', '=', clusterId).execute();
    await rm(join(this.options.dir, clusterId), { recursive: true, force: true });
  }
}
