/**
 * Clusters, agents and the tunnel end to end: a real server process, two real
 * control planes, and real `drover agent` processes started with the command
 * `drover clusters create` printed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { readFileSync } from 'node:fs';
import {
  kubectl, kubectlOk, startPrivateControlPlane, startTestNode, type ControlPlaneState, type PrivateControlPlane,
} from '../testenv/index.ts';
import { eventually, startDrover, type AgentProcess, type ClusterView, type Drover, type Registration } from '../testenv/drover.ts';
import { call, spawnServer } from './identity-support.ts';

describe('clusters, agents and the reverse tunnel', () => {
  let drover: Drover;
  let cpA: ControlPlaneState;
  let privateA: PrivateControlPlane;
  let cpB: PrivateControlPlane;
  const agents: AgentProcess[] = [];
  let alpha: Registration;
  let beta: Registration;

  const cli = (...argv: string[]) => drover.cli(...argv);
  const getCluster = (name: string) => drover.getCluster(name);
  const waitForState = (name: string, state: string, timeoutMs?: number) => drover.waitForState(name, state, timeoutMs);
  const startAgent = (reg: Registration, kubeconfig: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) => {
    const agent = drover.startAgent(reg, kubeconfig, extra, env);
    agents.push(agent);
    return agent;
  };

  before(async () => {
    // A Drover server reconciles the RBAC it owns in each cluster it manages, so it
    // never manages the shared control plane, where other files' servers run too.
    [privateA, cpB] = await Promise.all([startPrivateControlPlane(), startPrivateControlPlane()]);
    cpA = privateA.state;
    drover = await startDrover();
  });
  after(async () => {
    await drover?.stop();
    await Promise.all([privateA?.stop(), cpB?.stop()]);
  });

  it('registers two clusters whose agents bring them Active with the right versions', async () => {
    const createdA = JSON.parse(await cli('clusters', 'create', 'alpha', '-o', 'json')) as { cluster: ClusterView; registration: Registration };
    const createdB = JSON.parse(await cli('clusters', 'create', 'beta', '-o', 'json')) as { cluster: ClusterView; registration: Registration };
    assert.match(createdA.cluster.id, /^c-[a-z0-9]+$/);
    assert.equal(createdA.cluster.state, 'pending');
    assert.match(createdA.registration.agentCommand, new RegExp(`--token ${createdA.registration.token} --ca-checksum ${createdA.registration.caChecksum}`));
    alpha = createdA.registration;
    beta = createdB.registration;

    startAgent(alpha, cpA.kubeconfigPath);
    startAgent(beta, cpB.state.kubeconfigPath);
    const [a, b] = await Promise.all([waitForState('alpha', 'active'), waitForState('beta', 'active')]);
    assert.equal(a.kubernetesVersion, cpA.version);
    assert.equal(b.kubernetesVersion, cpB.state.version);
    assert.equal(a.tunnel, 'cluster');
    const listed = JSON.parse(await cli('clusters', 'list', '-o', 'json')) as ClusterView[];
    assert.deepEqual(listed.map((c) => [c.name, c.state]), [['alpha', 'active'], ['beta', 'active']]);
    // The agent created its own account in the cluster, as the import manifest would.
    const sa = await kubectl(['get', 'serviceaccount', 'cattle', '-n', 'cattle-system'], { kubeconfig: cpA.kubeconfigPath });
    assert.equal(sa.code, 0, sa.stderr);
  });

  it('reports nodes, capacity and recent warning events from watches', async () => {
    const node = await startTestNode(cpA, { name: `clusters-${Date.now().toString(36)}` });
    try {
      const withNode = await eventually('the node in the cluster status', async () => {
        const c = await getCluster('alpha');
        return (c.nodeCount ?? 0) >= 1 && Number(c.capacity?.cpu ?? 0) > 0 ? c : undefined;
      });
      assert.match(withNode.capacity?.memory ?? '', /Gi$/);
      const reason = `DroverTest${Date.now()}`;
      await kubectlOk(['create', '-f', '-'], { kubeconfig: cpA.kubeconfigPath, input: JSON.stringify({
        apiVersion: 'v1', kind: 'Event', type: 'Warning', reason, message: 'disk pressure on purpose', count: 1,
        metadata: { name: reason.toLowerCase(), namespace: 'default' },
        involvedObject: { kind: 'Node', name: node.name }, source: { component: 'clusters-test' },
        firstTimestamp: new Date().toISOString(), lastTimestamp: new Date().toISOString(),
      }) });
      const token = (JSON.parse(readFileSync(drover.configPath, 'utf8')) as { token: string }).token;
      const warning = await eventually('the warning event', async () => {
        const res = await call(drover.server, 'GET', '/v1/clusters/alpha/warnings', { token });
        return (res.json() as Array<{ reason: string; object: string; message: string }>).find((w) => w.reason === reason);
      });
      assert.equal(warning.object, `Node/${node.name}`);
      assert.equal(warning.message, 'disk pressure on purpose');
    } finally {
      await node.stop();
    }
  });

  it('serves the import manifest for a current token only, and the agent command again to admins', async () => {
    const manifest = await call(drover.server, 'GET', new URL(alpha.manifestUrl).pathname);
    assert.equal(manifest.status, 200);
    assert.match(manifest.text, /name: cattle-cluster-agent/);
    assert.match(manifest.text, new RegExp(`cluster-id: ${(await getCluster('alpha')).id}`));
    for (const bad of ['x'.repeat(54), 'short', '../../etc/passwd']) {
      const res = await call(drover.server, 'GET', `/v1/import/${encodeURIComponent(bad)}.yaml`);
      assert.equal(res.status, 404, bad);
    }
    const again = JSON.parse(await cli('clusters', 'get', 'alpha', '--registration', '-o', 'json')) as { registration: Registration };
    assert.equal(again.registration.token, alpha.token);
  });

  it('marks a cluster Unavailable when its agent dies, and Active again when it returns', async () => {
    const agent = agents[0];
    assert.ok(agent);
    await agent.stop();
    const down = await waitForState('alpha', 'unavailable', 30_000);
    assert.match(down.stateReason, /cluster agent disconnected/);
    startAgent(alpha, cpA.kubeconfigPath);
    await waitForState('alpha', 'active');
    // The other cluster never noticed.
    assert.equal((await getCluster('beta')).state, 'active');
  });

  it('keeps a cluster reachable through a node agent when the cluster agent is gone', async () => {
    const nodeAgent = startAgent(alpha, cpA.kubeconfigPath, ['--mode', 'node'], { DROVER_NODE_NAME: 'node-1' });
    await eventually('node agent connected', () => Promise.resolve(/tunnel connected/.test(nodeAgent.output()) ? true : undefined));
    const clusterAgent = agents.at(-2);
    assert.ok(clusterAgent);
    await clusterAgent.stop();
    const viaNode = await eventually('node tunnel in use', async () => {
      const c = await getCluster('alpha');
      return c.tunnel === 'node' ? c : undefined;
    }, 30_000);
    assert.equal(viaNode.state, 'active');
    await new Promise((r) => setTimeout(r, 2500)); // longer than the grace period
    assert.equal((await getCluster('alpha')).state, 'active');
    startAgent(alpha, cpA.kubeconfigPath);
    await eventually('cluster tunnel preferred again', async () => ((await getCluster('alpha')).tunnel === 'cluster' ? true : undefined), 30_000);
  });

  it('lets agents reconnect by themselves after a server restart', async () => {
    await drover.server.stop();
    const restartedAt = new Date().toISOString();
    drover.server = await spawnServer({ dataDir: drover.server.dataDir, port: drover.server.port, env: { DROVER_CLUSTER_GRACE_MS: '1500' } });
    // The state survives the restart; a fresh lastSeenAt proves the agents reconnected.
    for (const name of ['alpha', 'beta']) {
      await eventually(`${name} to reconnect`, async () => {
        const c = await getCluster(name);
        return c.state === 'active' && (c.lastSeenAt ?? '') > restartedAt ? c : undefined;
      });
    }
  });

  it('refuses a wrong token, a rotated-out token and another cluster\'s identity before upgrading', async () => {
    const attempt = (headers: Record<string, string>) => new Promise<number>((resolve) => {
      const ws = new WebSocket(`${drover.server.url.replace('https', 'wss')}/v3/connect`, { headers, ca: drover.server.caPem() });
      ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
      ws.on('open', () => { resolve(101); ws.terminate(); });
      ws.on('error', () => resolve(-1));
    });
    assert.equal(await attempt({}), 401);
    assert.equal(await attempt({ 'x-drover-registration-token': 'x'.repeat(54) }), 401);
    assert.equal(await attempt({ 'x-drover-registration-token': 'not a token' }), 401);
    assert.equal(await attempt({ 'x-drover-registration-token': alpha.token, 'x-drover-agent-kind': 'node' }), 400, 'a node agent must name its node');

    // Rotation without grace, as for a leaked token: the old token is refused at once, and the
    // session opened with it ends too (an impostor that connected with it would serve the cluster
    // otherwise); the agent, refused on reconnecting, stops and says to use the new token.
    const connected = agents[1];
    assert.ok(connected);
    const connectedExit = new Promise<number | null>((r) => connected.child.once('exit', r));
    const rotated = JSON.parse(await cli('clusters', 'update', 'beta', '--rotate-token', '-o', 'json')) as { registration: Registration };
    assert.notEqual(rotated.registration.token, beta.token);
    assert.equal(await attempt({ 'x-drover-registration-token': beta.token }), 401);
    assert.equal(await connectedExit, 1);
    for (const agent of [connected, startAgent(beta, cpB.state.kubeconfigPath)]) {
      if (agent !== connected) assert.equal(await new Promise<number | null>((r) => agent.child.once('exit', r)), 1);
      assert.match(agent.output(), /replaced by a rotation.*run the agent with the cluster's current token.*drover clusters get beta --registration/);
      assert.doesNotMatch(agent.output(), /--rotate-token/);
    }
    beta = rotated.registration;
    agents[1] = drover.startAgent(beta, cpB.state.kubeconfigPath);
    await waitForState('beta', 'active');
  });

  it('ends a session opened with the old token only when a rotation\'s grace period ends', async () => {
    const connected = agents[1];
    assert.ok(connected);
    const rotated = JSON.parse(await cli('clusters', 'update', 'beta', '--rotate-token', '--grace', '3s', '-o', 'json')) as { registration: Registration };
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(connected.child.exitCode, null, 'still connected during the grace period');
    assert.equal(await new Promise<number | null>((r) => connected.child.once('exit', r)), 1, 'cut once the grace period ended (the check runs every grace period of the cluster, 1.5 s here)');
    beta = rotated.registration;
    agents[1] = drover.startAgent(beta, cpB.state.kubeconfigPath);
    await waitForState('beta', 'active');
  });

  it('refuses to connect when the server CA does not match --ca-checksum', async () => {
    const agent = startAgent({ ...alpha, caChecksum: 'f'.repeat(64) }, cpA.kubeconfigPath);
    const code = await new Promise<number | null>((r) => agent.child.once('exit', r));
    assert.notEqual(code, 0);
    assert.match(agent.output(), /does not match --ca-checksum/);
  });

  it('deletes a cluster, removing what Drover created in it (CRDs too) and telling its hand-run agent to exit', async () => {
    const crd = 'clusterauthtokens.cluster.drover.dev';
    await eventually('the ACE CRD in beta', async () => ((await kubectl(['get', 'crd', crd], { kubeconfig: cpB.state.kubeconfigPath })).code === 0 ? true : undefined));
    const betaAgent = agents[1];
    assert.ok(betaAgent);
    const exited = new Promise<number | null>((r) => betaAgent.child.once('exit', r));
    const out = await cli('clusters', 'delete', 'beta');
    assert.match(out, /removed Drover's objects and CRDs/);
    assert.match(out, /told 1 connected agent\(s\) to exit/);
    assert.equal(await exited, 0);
    assert.match(betaAgent.output(), /cluster \\?"beta\\?" was deleted from the Drover server/);
    await eventually('the CRDs gone from beta', async () => {
      const r = await kubectl(['get', 'crd', crd], { kubeconfig: cpB.state.kubeconfigPath });
      return r.code !== 0 && /NotFound/.test(r.stderr) ? true : undefined;
    });
    await eventually('cattle-system gone from beta', async () => {
      const r = await kubectl(['get', 'namespace', 'cattle-system', '-o', 'jsonpath={.status.phase}'], { kubeconfig: cpB.state.kubeconfigPath });
      return r.code !== 0 || r.stdout === 'Terminating' ? true : undefined;
    });
    await eventually('the agent binding garbage-collected', async () => {
      const r = await kubectl(['get', 'clusterrolebinding', 'cattle-admin-binding'], { kubeconfig: cpB.state.kubeconfigPath });
      return r.code !== 0 && /NotFound/.test(r.stderr) ? true : undefined;
    });
    const gone = await drover.run('clusters', 'get', 'beta');
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /no cluster/);
  });
});
