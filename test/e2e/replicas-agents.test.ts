/**
 * Two `drover agent` processes with one registration token (a cluster-agent
 * Deployment with 2 replicas), each connected to a different server replica on one
 * PostgreSQL: both hold sessions, requests through either replica reach the cluster,
 * and killing one agent ends only the streams it carried.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { eventually, kubectl, kubectlOk, startPrivateControlPlane, type ControlPlaneState, type PrivateControlPlane } from '../testenv/index.ts';
import { startReplicaSet, type ReplicaSet } from '../testenv/replicas.ts';
import type { AgentProcess, ClusterView, Registration } from '../testenv/drover.ts';

describe('two agents of one cluster on two server replicas', () => {
  let privateCp: PrivateControlPlane;
  let cp: ControlPlaneState;
  let set: ReplicaSet;
  let cluster: ClusterView;
  let agents: AgentProcess[];
  let kubeconfigs: string[];
  let token: string;
  const ns = `two-${randomBytes(3).toString('hex')}`;

  const tunnelRows = async (): Promise<Array<{ replica_id: string; sessions: number }>> => {
    const client = new pg.Client({ connectionString: set.dbUrl });
    await client.connect();
    try {
      return (await client.query<{ replica_id: string; sessions: number }>('select replica_id, sessions from cluster_tunnels where cluster_id = $1 order by replica_id', [cluster.id])).rows;
    } finally {
      await client.end();
    }
  };
  /** A watch through replica `i` over raw https; resolves once its head arrives. */
  const watch = (i: number): Promise<IncomingMessage> => new Promise((resolve, reject) => {
    const replica = set.replicas[i];
    const req = httpsRequest(`${replica?.url ?? ''}/k8s/clusters/${cluster.id}/api/v1/namespaces/${ns}/configmaps?watch=1`, {
      ca: replica?.caPem(), headers: { authorization: `Bearer ${token}` },
    }, resolve);
    req.on('error', reject);
    req.end();
  });

  before(async () => {
    privateCp = await startPrivateControlPlane();
    cp = privateCp.state;
    set = await startReplicaSet(2);
    const created = JSON.parse(await set.cli('clusters', 'create', `two-${randomBytes(3).toString('hex')}`, '-o', 'json')) as { cluster: ClusterView; registration: Registration };
    cluster = created.cluster;
    // One agent on each replica, with the same registration token.
    agents = set.replicas.map((r) => set.startAgent(created.registration, cp.kubeconfigPath, r.url));
    await set.waitForState(cluster.name, 'active');
    await kubectlOk(['create', 'namespace', ns], { kubeconfig: cp.kubeconfigPath });
    const lbKubeconfig = join(set.dir, 'lb.kubeconfig');
    await set.cli('kubeconfig', cluster.name, '--file', lbKubeconfig);
    token = /token: (\S+)/.exec(readFileSync(lbKubeconfig, 'utf8'))?.[1] ?? '';
    // The same kubeconfig pointed at each replica directly (the certificate covers 127.0.0.1).
    kubeconfigs = set.replicas.map((r, i) => {
      const file = join(set.dir, `replica-${i + 1}.kubeconfig`);
      writeFileSync(file, readFileSync(lbKubeconfig, 'utf8').replaceAll(set.lb.url, r.url));
      return file;
    });
  });
  after(async () => {
    await set?.stop();
    await privateCp?.stop();
  });

  it('keeps both sessions, one on each replica, neither replacing the other', async () => {
    const rows = await eventually('both replicas to record a session', async () => {
      const r = await tunnelRows();
      return r.length === 2 ? r : undefined;
    });
    assert.deepEqual(rows.map((r) => r.sessions), [1, 1]);
    for (const agent of agents) assert.equal(agent.child.exitCode, null, agent.output());
  });

  it('answers through either replica (the owner reconciled the admin\'s access)', async () => {
    for (const kubeconfig of kubeconfigs) {
      const out = await eventually('kubectl through this replica', async () => {
        const res = await kubectl(['get', 'namespace', ns, '-o', 'name'], { kubeconfig });
        return res.code === 0 ? res.stdout : undefined;
      }, 60_000);
      assert.equal(out.trim(), `namespace/${ns}`);
    }
  });

  it('ends only the streams the killed agent carried; the other replica\'s watch and new requests go on', async () => {
    const [viaOne, viaTwo] = [await watch(0), await watch(1)];
    assert.equal(viaOne.statusCode, 200);
    assert.equal(viaTwo.statusCode, 200);
    let one = '';
    let two = '';
    let oneEnded = false;
    viaOne.on('data', (c: Buffer) => { one += c.toString(); });
    viaTwo.on('data', (c: Buffer) => { two += c.toString(); });
    viaOne.on('close', () => { oneEnded = true; });
    await kubectlOk(['-n', ns, 'create', 'configmap', 'before-kill'], { kubeconfig: cp.kubeconfigPath });
    await eventually('both watches to see the first event', () => (one.includes('before-kill') && two.includes('before-kill') ? true : undefined), 20_000);

    await agents[0]?.stop('SIGKILL');
    await eventually('the watch the killed agent carried to end', () => (oneEnded ? true : undefined), 30_000);
    await kubectlOk(['-n', ns, 'create', 'configmap', 'after-kill'], { kubeconfig: cp.kubeconfigPath });
    await eventually('the other agent\'s watch to see an event after the kill', () => (two.includes('after-kill') ? true : undefined), 20_000);
    assert.equal(viaTwo.complete, false, 'the other watch is still open');
    viaTwo.destroy();

    // Replica 1 has no session now: it relays to replica 2, with the same kubeconfig.
    const out = await eventually('kubectl through the replica that lost its agent', async () => {
      const res = await kubectl(['-n', ns, 'get', 'configmap', 'after-kill', '-o', 'name'], { kubeconfig: kubeconfigs[0] ?? '' });
      return res.code === 0 ? res.stdout : undefined;
    }, 30_000);
    assert.equal(out.trim(), 'configmap/after-kill');
    // Well past the grace period (1.5 s): a replica without a session marks nothing.
    await new Promise((r) => setTimeout(r, 5_000));
    assert.equal((JSON.parse(await set.cli('clusters', 'get', cluster.name, '-o', 'json')) as ClusterView).state, 'active');
  });

  it('a replica starting while another serves the cluster marks nothing Unavailable', async () => {
    // Replica 1 (no session since its agent was killed) starts again: it has no tunnel of its own.
    await set.replicas[0]?.stop();
    await set.restart(0);
    // Several grace periods (1.5 s each) and checks of silent clusters on the new process.
    await new Promise((r) => setTimeout(r, 6_000));
    const view = JSON.parse(await set.cli('clusters', 'get', cluster.name, '-o', 'json')) as ClusterView;
    assert.equal(view.state, 'active', view.stateReason);
  });
});
