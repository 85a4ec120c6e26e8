/**
 * What used to be tied to the replica that made it, used through the others: three real
 * replicas on one real PostgreSQL behind a real HAProxy (round robin, TLS passed
 * through), a real agent connected to replica 1 only, a real control plane and a test
 * node (labelled control-plane, so the cluster has a per-node authorized endpoint).
 * - an exec recorded by replica 1 is listed and replayed through replicas 2 and 3;
 * - a browser kubectl console opened through the load balancer answers every later call,
 *   whichever replica the load balancer picks (each call is a new connection);
 * - the merged kubeconfig has the node's context from replicas without a session.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, kubectl, kubectlOk, startPrivateControlPlane, startTestNode, type PrivateControlPlane, type TestNode } from '../testenv/index.ts';
import { startReplicaSet, type ReplicaSet } from '../testenv/replicas.ts';
import type { ClusterView, Registration } from '../testenv/drover.ts';
import { call, type ServerProcess } from './identity-support.ts';

const suffix = randomBytes(3).toString('hex');

describe('recordings, consoles and kubeconfigs through any replica', () => {
  let privateCp: PrivateControlPlane;
  let node: TestNode;
  let set: ReplicaSet;
  let cluster: ClusterView;
  let kubeconfig: string;
  /** The admin's session token, from the CLI's login through the load balancer. */
  let token: string;
  const replica = (i: number): ServerProcess => {
    const r = set.replicas[i];
    if (!r) throw new Error(`no replica ${i}`);
    return r;
  };
  /** The load balancer, as `call` takes a server. */
  const lb = (): ServerProcess => ({ ...replica(0), url: set.lb.url });
  const holders = (): Promise<string[]> => set.tunnelHolders(cluster.id);

  before(async () => {
    privateCp = await startPrivateControlPlane();
    [node, set] = await Promise.all([
      startTestNode(privateCp.state, { labels: { 'node-role.kubernetes.io/control-plane': '' } }),
      startReplicaSet(3),
    ]);
    const created = JSON.parse(await set.cli('clusters', 'create', `aff-${suffix}`, '-o', 'json')) as { cluster: ClusterView; registration: Registration };
    cluster = created.cluster;
    set.startAgent(created.registration, privateCp.state.kubeconfigPath, replica(0).url);
    await set.waitForState(cluster.name, 'active');
    await eventually('only replica 1 to hold the tunnel', async () => {
      const h = await holders();
      return h.length === 1 && h[0] === `127.0.0.1:${replica(0).port}` ? true : undefined;
    }, 30_000);
    token = (JSON.parse(readFileSync(set.configPath, 'utf8')) as { token: string }).token;
    kubeconfig = join(set.dir, 'admin.kubeconfig');
    await set.cli('kubeconfig', cluster.name, '--file', kubeconfig);
    await eventually('the admin to act in the cluster', async () =>
      ((await kubectl(['auth', 'can-i', 'create', 'pods', '-n', 'default'], { kubeconfig })).stdout.trim() === 'yes' ? true : undefined), 60_000);
  });
  after(async () => {
    await set?.stop();
    await node?.stop();
    await privateCp?.stop();
  });

  it('an exec recorded by the replica holding the tunnel is listed and replayed through the other two', async () => {
    const ns = `rec-${suffix}`;
    await kubectlOk(['create', 'namespace', ns], { kubeconfig });
    await kubectlOk(['apply', '-f', '-'], { kubeconfig, input: JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'shell', namespace: ns },
      spec: { nodeSelector: { 'kubernetes.io/hostname': node.name }, terminationGracePeriodSeconds: 2, containers: [{ name: 'main', image: 'none', command: ['sh', '-c', 'sleep 3600'] }] },
    }) });
    await kubectlOk(['wait', '-n', ns, '--for=condition=Ready', 'pod/shell', '--timeout=60s'], { kubeconfig });
    const marker = `recorded-${suffix}`;
    assert.equal(await kubectlOk(['exec', '-n', ns, 'shell', '--', 'echo', marker], { kubeconfig }), `${marker}\n`);
    for (const i of [1, 2]) {
      const recording = await eventually(`the recording listed by replica ${i + 1}`, async () => {
        const sessions = JSON.parse(await set.cliAt(i, 'audit', 'sessions', '-o', 'json')) as Array<{ drover: { auditID: string; namespace: string; pod: string } }>;
        return sessions.find((s) => s.drover.namespace === ns && s.drover.pod === 'shell');
      }, 30_000);
      const cast = await eventually(`its output through replica ${i + 1}`, async () => {
        const text = await set.cliAt(i, 'audit', 'sessions', 'get', recording.drover.auditID);
        return text.includes(marker) ? text : undefined;
      }, 30_000);
      assert.match(cast.split('\n')[0] ?? '', new RegExp(recording.drover.auditID));
    }
  });

  it('a browser kubectl console opened through the load balancer answers every later call, wherever it lands', async () => {
    const opened = await call(lb(), 'POST', `/v1/clusters/${cluster.id}/shell`, { token });
    assert.equal(opened.status, 201, opened.text);
    const id = (opened.json() as { id: string }).id;
    // Round robin over three replicas: six calls on new connections reach each one twice.
    for (let n = 0; n < 6; n += 1) {
      const ran = await call(lb(), 'POST', `/v1/clusters/${cluster.id}/shell/${id}/run`, { token, body: { command: 'kubectl get namespace default -o name' } });
      assert.equal(ran.status, 200, `call ${n + 1}: ${ran.text}`);
      assert.equal((ran.json() as { output: string }).output, 'namespace/default\n');
    }
    assert.match(id, /^r-[a-z2-7]{10}\./, 'the console id names the replica that holds it');
    // The relay header from a client is refused on every replica, wherever the console is.
    for (const i of [0, 1, 2]) {
      const forged = await call(replica(i), 'POST', `/v1/clusters/${cluster.id}/shell/${id}/run`, { token, headers: { 'x-drover-relayed-by': 'r-forged' }, body: { command: 'kubectl version' } });
      assert.equal(forged.status, 403, forged.text);
    }
    // Without the caller's credential the holder refuses it, whoever relayed it.
    for (const i of [0, 1, 2]) {
      const anonymous = await call(replica(i), 'POST', `/v1/clusters/${cluster.id}/shell/${id}/run`, { body: { command: 'kubectl version' } });
      assert.equal(anonymous.status, 401, anonymous.text);
    }
    const closed = await call(lb(), 'DELETE', `/v1/clusters/${cluster.id}/shell/${id}`, { token });
    assert.equal(closed.status, 204, closed.text);
    for (let n = 0; n < 3; n += 1) {
      const gone = await call(lb(), 'POST', `/v1/clusters/${cluster.id}/shell/${id}/run`, { token, body: { command: 'kubectl version' } });
      assert.equal(gone.status, 404, gone.text);
    }
  });

  it('the merged kubeconfig has the per-node authorized-endpoint context from replicas without a session', async () => {
    await set.cli('clusters', 'update', cluster.name, '--ace-nodes');
    for (const i of [1, 2]) {
      const contexts = await eventually(`the node context from replica ${i + 1}`, async () => {
        const answer = await call(replica(i), 'GET', '/v1/kubeconfig', { token });
        assert.equal(answer.status, 200, answer.text);
        const names = (answer.json() as { aceContexts: string[] }).aceContexts;
        return names.includes(`${cluster.name}-${node.name}`) ? names : undefined;
      }, 30_000);
      assert.ok(contexts.length >= 1);
      const single = await call(replica(i), 'GET', `/v1/clusters/${cluster.id}/ace`, { token });
      assert.equal(single.status, 200, single.text);
      const ace = single.json() as { contexts: Array<{ name: string; server: string }> };
      assert.match(ace.contexts.find((c) => c.name === `${cluster.name}-${node.name}`)?.server ?? '', /^https:\/\/\S+:\d+$/);
    }
  });
});
