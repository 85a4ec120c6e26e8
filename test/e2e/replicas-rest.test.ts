/**
 * REST calls that need a cluster live, through replicas that do not hold its tunnel:
 * three real replicas on one real PostgreSQL (behind a real HAProxy), a real agent
 * connected to replica 1 only, and the calls sent to replica 3 directly. Then a second
 * agent on replica 2, and `drover clusters delete` through replica 3: both agents exit,
 * the one on the replica that served the delete because it was told, the other because
 * its replica heard of the delete through the change feed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, kubectl, kubectlOk, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { startReplicaSet, type ReplicaSet } from '../testenv/replicas.ts';
import { adminPassword, type AgentProcess, type ClusterView, type Registration } from '../testenv/drover.ts';
import { runCliForTest } from '../../src/testing/index.ts';
import { call, type ServerProcess } from './identity-support.ts';

const suffix = randomBytes(3).toString('hex');

describe('REST calls that need the cluster live, through a replica without its tunnel', () => {
  let privateCp: PrivateControlPlane;
  let set: ReplicaSet;
  let cluster: ClusterView;
  let registration: Registration;
  let token: string;
  const agents: AgentProcess[] = [];
  const replica = (i: number): ServerProcess => {
    const r = set.replicas[i];
    if (!r) throw new Error(`no replica ${i}`);
    return r;
  };
  /** The admin's CLI logged in to replica 3 itself (not the load balancer). */
  const config3 = (): string => join(set.dir, 'replica3-cli.json');
  const cli3 = async (...argv: string[]): Promise<string> => {
    const r = await runCliForTest(argv, { configPath: config3(), env: {} });
    if (r.code !== 0) throw new Error(`drover ${argv.join(' ')} (replica 3) failed: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const holders = (): Promise<string[]> => set.tunnelHolders(cluster.id);
  const address = (i: number): string => `127.0.0.1:${replica(i).port}`;

  before(async () => {
    privateCp = await startPrivateControlPlane();
    set = await startReplicaSet(3);
    const created = JSON.parse(await set.cli('clusters', 'create', `rest-${suffix}`, '-o', 'json')) as { cluster: ClusterView; registration: Registration };
    cluster = created.cluster;
    registration = created.registration;
    agents.push(set.startAgent(registration, privateCp.state.kubeconfigPath, replica(0).url));
    await set.waitForState(cluster.name, 'active');
    await eventually('only replica 1 to hold the tunnel', async () => {
      const h = await holders();
      return h.length === 1 && h[0] === address(0) ? true : undefined;
    }, 30_000);
    const login = await runCliForTest(['login', replica(2).url, '--username', 'admin', '--password', adminPassword, '--ca-file', join(replica(2).dataDir, 'ca.crt')], { configPath: config3(), env: {} });
    assert.equal(login.code, 0, login.stderr);
    token = (JSON.parse(readFileSync(config3(), 'utf8')) as { token: string }).token;
  });
  after(async () => {
    await set?.stop();
    await privateCp?.stop();
  });

  it('creates a namespace in a project and lists the explorer\'s namespaces through replica 3', async () => {
    await cli3('projects', 'create', cluster.name, 'web');
    const made = JSON.parse(await cli3('projects', 'create-namespace', cluster.name, 'web', `web-${suffix}`, '-o', 'json')) as { namespace: string; projectId: string };
    assert.equal(made.namespace, `web-${suffix}`);
    const annotation = await kubectlOk(['get', 'namespace', `web-${suffix}`, '-o', 'jsonpath={.metadata.annotations.field\\.cattle\\.io/projectId}'], { kubeconfig: privateCp.state.kubeconfigPath });
    assert.equal(annotation, `${cluster.id}:${made.projectId}`);
    const listed = await call(replica(2), 'GET', `/v1/clusters/${cluster.name}/namespaces`, { token });
    assert.equal(listed.status, 200, listed.text);
    assert.ok((listed.json() as Array<{ name: string; projectId?: string }>).some((n) => n.name === `web-${suffix}` && n.projectId === made.projectId), listed.text);
  });

  it('shows the cluster\'s Warning events (watched by the owner, replica 1) through replica 3', async () => {
    const reason = `DroverReplicas${Date.now()}`;
    await kubectlOk(['create', '-f', '-'], { kubeconfig: privateCp.state.kubeconfigPath, input: JSON.stringify({
      apiVersion: 'v1', kind: 'Event', type: 'Warning', reason, message: 'seen from another replica', count: 1,
      metadata: { name: reason.toLowerCase(), namespace: 'default' },
      involvedObject: { kind: 'Namespace', name: 'default' }, source: { component: 'replicas-test' },
      firstTimestamp: new Date().toISOString(), lastTimestamp: new Date().toISOString(),
    }) });
    const warning = await eventually('the warning through replica 3', async () => {
      const res = await call(replica(2), 'GET', `/v1/clusters/${cluster.id}/warnings`, { token });
      assert.equal(res.status, 200, res.text);
      return (res.json() as Array<{ reason: string; message: string }>).find((w) => w.reason === reason);
    }, 30_000);
    assert.equal(warning.message, 'seen from another replica');
  });

  it('a caller the holder refuses is refused through the relay too; the relay header from a client is refused', async () => {
    const anonymous = await call(replica(2), 'POST', `/v1/clusters/${cluster.id}/namespaces`, { body: { name: `no-${suffix}`, project: 'web' } });
    assert.equal(anonymous.status, 401, anonymous.text);
    const forged = await call(replica(2), 'GET', `/v1/clusters/${cluster.id}/namespaces`, { token, headers: { 'x-drover-relayed-by': 'r-forged' } });
    assert.equal(forged.status, 403, forged.text);
    assert.equal((await kubectl(['get', 'namespace', `no-${suffix}`], { kubeconfig: privateCp.state.kubeconfigPath })).code, 1);
  });

  it('drover clusters delete through replica 3 makes the agents on replicas 1 and 2 exit, and cleans the cluster', async () => {
    agents.push(set.startAgent(registration, privateCp.state.kubeconfigPath, replica(1).url));
    await eventually('replicas 1 and 2 to hold a session each', async () => ((await holders()).sort().join() === [address(0), address(1)].sort().join() ? true : undefined), 30_000);
    const out = await cli3('clusters', 'delete', cluster.name);
    assert.match(out, /removed Drover's objects/);
    for (const [i, agent] of agents.entries()) {
      await eventually(`agent ${i + 1} to exit`, () => (agent.child.exitCode === null && agent.child.signalCode === null ? undefined : true), 30_000);
      assert.match(agent.output(), /was deleted from the Drover server/, agent.output().slice(-2000));
    }
  });
});
