/**
 * `drover server --workers 2` on PostgreSQL: two processes share one listener, each
 * a replica with its own peer port; whichever worker a connection lands on, the
 * request reaches the cluster (the worker without the tunnel relays to the other).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { eventually, kubectl, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { startReplicaSet, type ReplicaSet } from '../testenv/replicas.ts';
import type { ClusterView, Registration } from '../testenv/drover.ts';

interface ReplicaRow { id: string; address: string; live: boolean; owns: string[] }

describe('drover server --workers 2', () => {
  let cp: PrivateControlPlane;
  let set: ReplicaSet;
  let cluster: ClusterView;
  let token: string;

  before(async () => {
    cp = await startPrivateControlPlane();
    set = await startReplicaSet(1, { serverArgs: ['--workers', '2'] });
    // The listener answers once the first worker does; the second starts after it.
    await eventually('both workers to beat', async () => ((JSON.parse(await set.cli('replicas', 'list', '-o', 'json')) as ReplicaRow[]).filter((r) => r.live).length === 2 ? true : undefined), 60_000);
    const created = JSON.parse(await set.cli('clusters', 'create', `workers-${randomBytes(3).toString('hex')}`, '-o', 'json')) as { cluster: ClusterView; registration: Registration };
    cluster = created.cluster;
    set.startAgent(created.registration, cp.state.kubeconfigPath, set.replicas[0]?.url);
    await set.waitForState(cluster.name, 'active');
    const kubeconfig = join(set.dir, 'workers.kubeconfig');
    await set.cli('kubeconfig', cluster.name, '--file', kubeconfig);
    token = /token: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1] ?? '';
    await eventually('kubectl through the server', async () => ((await kubectl(['get', 'namespace', 'default'], { kubeconfig })).code === 0 ? true : undefined), 60_000);
  });
  after(async () => {
    await set?.stop();
    await cp?.stop();
  });

  it('runs two replicas on one listener, each advertising a port of its own', async () => {
    const rows = JSON.parse(await set.cli('replicas', 'list', '-o', 'json')) as ReplicaRow[];
    const live = rows.filter((r) => r.live);
    assert.equal(live.length, 2, JSON.stringify(rows));
    assert.equal(new Set(live.map((r) => r.address)).size, 2);
    assert.ok(live.every((r) => !r.address.endsWith(`:${set.replicas[0]?.port}`)), 'peers are reached on the workers\' own ports');
    assert.equal(live.filter((r) => r.owns.includes(cluster.id)).length, 1);
  });

  it('answers every request, whichever worker the connection lands on', async () => {
    const server = set.replicas[0];
    const get = (): Promise<number> => new Promise((resolve) => {
      const req = httpsRequest(`${server?.url ?? ''}/k8s/clusters/${cluster.id}/api/v1/namespaces/default`, {
        agent: false, ca: server?.caPem(), headers: { authorization: `Bearer ${token}` },
      }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
      req.on('error', () => resolve(0));
      req.end();
    });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i += 1) statuses.push(await get());
    assert.deepEqual(statuses, Array.from({ length: 20 }, () => 200));
  });
});
