/**
 * A cluster's health as the server sees it, end to end: a real server process, a
 * real agent process, a real kube-apiserver. The server's own watches through the
 * tunnel (nodes, warning events, RBAC, impersonation accounts) stay open for
 * minutes on a healthy cluster, and a kube-apiserver that stops answering (SIGSTOP)
 * makes the cluster Unavailable with a reason, and Active again once it answers.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { eventually, kubectlOk, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';

/** The server's JSON log lines since `from` (an offset into its output). */
function logLines(drover: Drover, from: number): Array<Record<string, unknown>> {
  return drover.server.output().slice(from).split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

describe('cluster health through the tunnel', () => {
  let privateCp: PrivateControlPlane;
  let drover: Drover;
  let cluster: RegisteredCluster;

  before(async () => {
    privateCp = await startPrivateControlPlane();
    drover = await startDrover();
    cluster = await drover.registerCluster(`health-${randomBytes(3).toString('hex')}`, privateCp.state);
  });
  after(async () => {
    // Never leave a frozen apiserver behind, whatever failed.
    try { process.kill(privateCp.state.pids.apiserver, 'SIGCONT'); } catch { /* already gone */ }
    if (process.env.DROVER_TEST_SERVER_LOG) (await import('node:fs')).writeFileSync(process.env.DROVER_TEST_SERVER_LOG, drover.server.output());
    await drover?.stop();
    await privateCp?.stop();
  });

  it('holds its internal watches through the tunnel for over a minute without a reconnect', async () => {
    // The node watch has listed: the cluster reports its node count.
    await eventually('the node count', async () => ((await drover.getCluster(cluster.name)).nodeCount !== undefined ? true : undefined));
    const from = drover.server.output().length;
    const started = Date.now();
    // An event while we wait proves the watches deliver (a warning event feeds the events watch).
    await kubectlOk(['create', 'namespace', `held-${randomBytes(3).toString('hex')}`], { kubeconfig: privateCp.state.kubeconfigPath });
    while (Date.now() - started < 70_000) await new Promise((r) => setTimeout(r, 5_000));
    const lost = logLines(drover, from).filter((l) => l.msg === 'watch cache lost its watch; retrying');
    assert.deepEqual(lost.map((l) => `${String(l.path)}: ${JSON.stringify(l.err)}`), [], 'a watch through the tunnel was cut and reconnected');
    assert.equal((await drover.getCluster(cluster.name)).state, 'active');
  });

  it('turns Unavailable with a reason within 20 s when kube-apiserver hangs, and Active again once it answers', async () => {
    const pid = privateCp.state.pids.apiserver;
    const frozenAt = Date.now();
    process.kill(pid, 'SIGSTOP');
    let down;
    try {
      down = await eventually('the cluster to turn unavailable', async () => {
        const c = await drover.getCluster(cluster.name);
        return c.state === 'unavailable' ? c : undefined;
      }, 60_000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const tookMs = Date.now() - frozenAt;
    process.stderr.write(`# hung kube-apiserver noticed after ${tookMs} ms\n`);
    assert.match(down.stateReason, /kube-apiserver does not answer through the agent \(GET \/version: no answer within \d+ ms\)/);
    assert.ok(tookMs < 20_000 + 2_000, `the cluster turned unavailable only after ${tookMs} ms`);
    const back = await drover.waitForState(cluster.name, 'active', 30_000);
    assert.equal(back.stateReason, '');
  });
});
