/**
 * Who may serve a cluster, end to end: a real server process, real agent processes
 * and two real control planes (the cluster's own, and an impostor's). Two genuine
 * agents with one registration token both hold sessions; an agent that reports
 * another kube-apiserver is refused and writes nothing there, until an admin
 * accepts the change with `drover clusters update NAME --accept-new-apiserver`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { eventually, kubectl, kubectlOk, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { startDrover, type AgentProcess, type Drover, type RegisteredCluster } from '../testenv/drover.ts';

interface ConflictView { apiServer: string; caSha256: string; account?: string; differences: string[]; digest: string }

describe('the kube-apiserver a cluster is pinned to, and the agents that may serve it', () => {
  let genuine: PrivateControlPlane;
  let impostorCp: PrivateControlPlane;
  let drover: Drover;
  let cluster: RegisteredCluster;
  let kubeconfig: string;
  let token: string;
  const agents: AgentProcess[] = [];
  const ns = `pin-${randomBytes(3).toString('hex')}`;

  const serverLog = (msg: string): Array<Record<string, unknown>> => drover.server.output().split('\n').flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      return parsed.msg === msg && parsed.cluster === cluster.id ? [parsed] : [];
    } catch {
      return [];
    }
  });
  const startAgent = (kubeconfigPath: string): AgentProcess => {
    const agent = drover.startAgent(cluster.registration, kubeconfigPath);
    agents.push(agent);
    return agent;
  };
  /** A raw watch through the proxy; resolves once its head arrives. */
  const openWatch = (): Promise<IncomingMessage> => new Promise((resolve, reject) => {
    const req = httpsRequest(`${drover.server.url}/k8s/clusters/${cluster.id}/api/v1/namespaces/${ns}/configmaps?watch=1`, {
      ca: drover.server.caPem(), checkServerIdentity: () => undefined, headers: { authorization: `Bearer ${token}` },
    }, resolve);
    req.on('error', reject);
    req.end();
  });
  const kubectlThroughDrover = async (): Promise<string | undefined> => {
    const res = await kubectl(['get', 'namespace', ns, '-o', 'name'], { kubeconfig });
    return res.code === 0 ? res.stdout.trim() : undefined;
  };
  const refusals = (agent: AgentProcess): number => agent.output().match(/the server refused this agent/g)?.length ?? 0;

  before(async () => {
    [genuine, impostorCp] = await Promise.all([startPrivateControlPlane(), startPrivateControlPlane()]);
    drover = await startDrover();
    cluster = await drover.registerCluster(`pin-${randomBytes(3).toString('hex')}`, genuine.state);
    agents.push(cluster.agent);
    const admin = JSON.parse(await drover.cli('whoami', '-o', 'json')) as { id: string };
    await kubectlOk(['create', 'clusterrolebinding', `owner-${admin.id}`, '--clusterrole=cluster-admin', `--user=${admin.id}`], { kubeconfig: genuine.state.kubeconfigPath });
    await kubectlOk(['create', 'namespace', ns], { kubeconfig: genuine.state.kubeconfigPath });
    kubeconfig = join(drover.dir, 'pin.kubeconfig');
    await drover.cli('kubeconfig', cluster.name, '--file', kubeconfig);
    token = /token: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1] ?? '';
    assert.ok(token);
    assert.equal(await eventually('kubectl through Drover', kubectlThroughDrover), `namespace/${ns}`);
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await drover?.stop();
    await Promise.all([genuine?.stop(), impostorCp?.stop()]);
  });

  it('keeps two agents with one token side by side; losing one fails only its streams, and kubectl works again once an agent is back', async () => {
    const first = cluster.agent;
    // Opened while the first agent is alone, this watch rides on its session.
    const watch = await openWatch();
    assert.equal(watch.statusCode, 200);
    let received = '';
    let cut = false;
    watch.on('data', (c: Buffer) => { received += c.toString(); });
    watch.on('close', () => { cut = true; });
    const event = async (name: string): Promise<void> => {
      await kubectlOk(['-n', ns, 'create', 'configmap', name], { kubeconfig: genuine.state.kubeconfigPath });
      await eventually(`${name} on the watch`, () => Promise.resolve(received.includes(name) ? true : undefined));
    };
    const second = startAgent(genuine.state.kubeconfigPath);
    await eventually('both agents\' sessions up', () => Promise.resolve(serverLog('tunnel session up').length >= 2 ? true : undefined));
    // The second session replaced nothing: the first agent's watch still delivers.
    await event('with-two-agents');
    assert.deepEqual(serverLog('agent disconnected'), []);
    await second.stop('SIGKILL');
    await eventually('the second agent\'s session to end', () => Promise.resolve(serverLog('agent disconnected').length >= 1 ? true : undefined));
    await event('after-second-lost');
    assert.equal(cut, false);
    assert.equal((await drover.getCluster(cluster.name)).state, 'active');
    assert.equal(await kubectlThroughDrover(), `namespace/${ns}`);

    await first.stop('SIGKILL');
    await eventually('the watch to end with its agent', () => Promise.resolve(cut ? true : undefined), 30_000);
    await drover.waitForState(cluster.name, 'unavailable', 30_000);
    const backAt = Date.now();
    startAgent(genuine.state.kubeconfigPath);
    assert.equal(await eventually('kubectl through Drover again', kubectlThroughDrover, 30_000), `namespace/${ns}`);
    process.stderr.write(`# kubectl answered ${Date.now() - backAt} ms after the agent was started again\n`);
    assert.doesNotMatch(drover.server.output(), /the watch cache for .* is closed/);
  });

  it('refuses an agent that reports another kube-apiserver: nothing is written there, and the cluster says why', async () => {
    const genuineAddress = new URL(genuine.state.url).host;
    const impostorAddress = new URL(impostorCp.state.url).host;
    // The cluster's agents are away (as in the report this guards against): every one of them stops.
    await Promise.all(agents.map((a) => a.stop('SIGKILL')));
    await drover.waitForState(cluster.name, 'unavailable', 30_000);

    const impostor = startAgent(impostorCp.state.kubeconfigPath);
    await eventually('the impostor refused twice', () => Promise.resolve(refusals(impostor) >= 2 ? true : undefined), 60_000);
    assert.match(impostor.output(), /reports a kube-apiserver other than the one pinned for cluster .* --accept-new-apiserver/);
    const shown = await drover.getCluster(cluster.name) as Awaited<ReturnType<Drover['getCluster']>> & { apiServer?: string; apiServerConflict?: ConflictView };
    assert.equal(shown.state, 'unavailable');
    assert.match(shown.stateReason, /refused an agent that reports a different kube-apiserver/);
    assert.equal(shown.apiServer, genuineAddress);
    assert.equal(shown.apiServerConflict?.apiServer, impostorAddress);
    assert.equal(shown.apiServerConflict?.differences.length, 2, 'address and CA differ');
    assert.match(await drover.cli('clusters', 'get', cluster.name), /REFUSED at .*different kube-apiserver[\s\S]*--accept-new-apiserver/);

    // Nothing of Drover's reached the impostor's apiserver: no RBAC, no user ids, no records.
    const onImpostor = (...args: string[]) => kubectl(args, { kubeconfig: impostorCp.state.kubeconfigPath });
    assert.match((await onImpostor('get', 'namespace', 'cattle-impersonation-system')).stderr, /NotFound/);
    assert.match((await onImpostor('get', 'crd', 'clusterauthtokens.cluster.drover.dev')).stderr, /NotFound/);
    const bindings = (await onImpostor('get', 'clusterrolebindings,rolebindings', '-A', '-o', 'name')).stdout;
    assert.doesNotMatch(bindings, /globaladmin-|cattle-impersonation|drover/);
    // ... while the genuine cluster got them (so the checks above can see such objects).
    assert.match((await kubectl(['get', 'clusterrolebindings', '-o', 'name'], { kubeconfig: genuine.state.kubeconfigPath })).stdout, /globaladmin-/);

    // The genuine agent is still welcome while the impostor keeps trying.
    startAgent(genuine.state.kubeconfigPath);
    const back = await drover.waitForState(cluster.name, 'active', 60_000);
    assert.equal(back.kubernetesVersion, genuine.state.version);
    assert.equal(await eventually('kubectl through Drover', kubectlThroughDrover, 30_000), `namespace/${ns}`);
  });

  it('moves to another kube-apiserver only when an admin accepts exactly the reported one', async () => {
    const impostorAddress = new URL(impostorCp.state.url).host;
    const out = await drover.cli('clusters', 'update', cluster.name, '--accept-new-apiserver');
    assert.match(out, new RegExp(`Accepted kube-apiserver ${impostorAddress.replace(/[.]/g, '\\.')}`));
    // The agent that reported it reconnects (its waits grew while refused) and is admitted now.
    const moved = await eventually('the cluster active on the accepted kube-apiserver', async () => {
      const c = await drover.getCluster(cluster.name) as Awaited<ReturnType<Drover['getCluster']>> & { apiServer?: string; apiServerConflict?: ConflictView };
      return c.state === 'active' && c.apiServer === impostorAddress ? c : undefined;
    }, 90_000);
    assert.equal(moved.kubernetesVersion, impostorCp.state.version);
    // The agent of the old kube-apiserver is the one refused now.
    await eventually('the old apiserver\'s agent refused', async () => {
      const c = await drover.getCluster(cluster.name) as Awaited<ReturnType<Drover['getCluster']>> & { apiServerConflict?: ConflictView };
      return c.apiServerConflict?.apiServer === new URL(genuine.state.url).host ? true : undefined;
    }, 60_000);
  });
});
