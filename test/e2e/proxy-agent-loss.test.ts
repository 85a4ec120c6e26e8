/**
 * When the agent dies under the proxy: a real server process, a real agent process
 * (killed with SIGKILL, as a crashed node would be), a real kube-apiserver. Nothing
 * through the proxy may hang: an open watch (raw, and real `kubectl get -w`) ends,
 * a request sent while the tunnel is gone gets a clear 502/503 Status, and once the
 * agent is back the same kubeconfig works again (no stale pool or cache).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { eventually, kubectl, kubectlOk, startPrivateControlPlane, type ControlPlaneState, type PrivateControlPlane } from '../testenv/index.ts';
import { startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';

const within = <T>(ms: number, what: string, p: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} still hanging after ${ms} ms`)), ms); }),
  ]);
};

describe('the proxy when the agent is killed', () => {
  let privateCp: PrivateControlPlane;
  let cp: ControlPlaneState;
  let drover: Drover;
  let cluster: RegisteredCluster;
  let kubeconfig: string;
  let token: string;
  const ns = `loss-${randomBytes(3).toString('hex')}`;

  /** A GET through the proxy over raw https; resolves with the response once its head arrives. */
  const open = (path: string): Promise<IncomingMessage> => new Promise((resolve, reject) => {
    const req = httpsRequest(`${drover.server.url}/k8s/clusters/${cluster.id}${path}`, {
      ca: drover.server.caPem(), checkServerIdentity: () => undefined, headers: { authorization: `Bearer ${token}` },
    }, resolve);
    req.on('error', reject);
    req.end();
  });
  /** How a streamed response ended: 'end' (clean), 'cut' (aborted/error), with what was received. */
  const ending = (res: IncomingMessage): Promise<{ how: 'end' | 'cut'; body: string }> => new Promise((resolve) => {
    let body = '';
    res.on('data', (c: Buffer) => { body += c.toString(); });
    res.on('end', () => resolve({ how: 'end', body }));
    res.on('error', () => resolve({ how: 'cut', body }));
    res.on('aborted', () => resolve({ how: 'cut', body }));
    res.on('close', () => resolve({ how: res.complete ? 'end' : 'cut', body }));
  });

  before(async () => {
    privateCp = await startPrivateControlPlane();
    cp = privateCp.state;
    drover = await startDrover();
    cluster = await drover.registerCluster(`loss-${randomBytes(3).toString('hex')}`, cp);
    const admin = JSON.parse(await drover.cli('whoami', '-o', 'json')) as { id: string };
    await kubectlOk(['create', 'clusterrolebinding', `owner-${admin.id}`, '--clusterrole=cluster-admin', `--user=${admin.id}`], { kubeconfig: cp.kubeconfigPath });
    await kubectlOk(['create', 'namespace', ns], { kubeconfig: cp.kubeconfigPath });
    kubeconfig = join(drover.dir, 'loss.kubeconfig');
    await drover.cli('kubeconfig', cluster.name, '--file', kubeconfig);
    token = /token: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1] ?? '';
    assert.ok(token);
    // The account exists before the kill, so only the tunnel is in question.
    await kubectlOk(['-n', ns, 'get', 'configmaps'], { kubeconfig });
  });
  after(async () => {
    await drover?.stop();
    await privateCp?.stop();
  });

  it('ends open watches, raw and kubectl get -w, and answers new requests with 502/503, when the agent dies', async () => {
    const watch = await open(`/api/v1/namespaces/${ns}/configmaps?watch=1`);
    assert.equal(watch.statusCode, 200);
    const watchEnded = ending(watch);
    let rawOut = '';
    watch.on('data', (c: Buffer) => { rawOut += c.toString(); });
    const kubectlWatch = spawn('kubectl', ['--kubeconfig', kubeconfig, '-n', ns, 'get', 'configmaps', '--watch', '--request-timeout=0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let kubectlOut = '';
    kubectlWatch.stdout.on('data', (c: Buffer) => { kubectlOut += c.toString(); });
    kubectlWatch.stderr.on('data', (c: Buffer) => { kubectlOut += c.toString(); });
    const kubectlExited = new Promise<number | null>((resolve) => kubectlWatch.once('exit', (code) => resolve(code)));
    // An event flows first through both watches, proving they are live through the tunnel.
    await kubectlOk(['-n', ns, 'create', 'configmap', 'before-kill'], { kubeconfig: cp.kubeconfigPath });
    const first = await within(15_000, 'the first watch event', new Promise<void>((resolve) => {
      const check = (): void => { if (kubectlOut.includes('before-kill') && rawOut.includes('before-kill')) resolve(); else setTimeout(check, 50); };
      check();
    }));
    assert.equal(first, undefined);

    await cluster.agent.stop('SIGKILL');
    const ended = await within(20_000, 'the raw watch', watchEnded);
    assert.match(ended.body, /before-kill/);
    await within(30_000, 'kubectl get --watch', kubectlExited);

    // A request sent while the tunnel is gone: a clear Status, quickly, never a hang.
    const answer = await within(20_000, 'a request with the agent gone', open('/api/v1/namespaces'));
    const body = (await ending(answer)).body;
    assert.ok([502, 503].includes(answer.statusCode ?? 0), `status ${answer.statusCode}: ${body}`);
    assert.match(body, /"kind":"Status"/);
  });

  it('works again with the same kubeconfig once the agent is back', async () => {
    cluster.agent = drover.startAgent(cluster.registration, cp.kubeconfigPath);
    // The cluster may still read Active from before (grace period): wait for the new tunnel itself.
    const out = await eventually('the proxy to reach the cluster through the new agent', async () => {
      const res = await kubectl(['get', 'namespace', ns, '-o', 'name'], { kubeconfig });
      return res.code === 0 ? res.stdout : undefined;
    }, 30_000);
    assert.equal(out.trim(), `namespace/${ns}`);
  });

  it('a stopped agent (SIGTERM) with a watch open cuts it after its 5 s grace and exits, instead of waiting for the watch to end', async () => {
    await eventually('the proxy to reach the cluster through the agent', async () => (await kubectl(['get', 'namespace', ns, '-o', 'name'], { kubeconfig })).code === 0 || undefined);
    const watch = await open(`/api/v1/namespaces/${ns}/configmaps?watch=1`);
    assert.equal(watch.statusCode, 200);
    const watchEnded = ending(watch);
    let rawOut = '';
    watch.on('data', (c: Buffer) => { rawOut += c.toString(); });
    await kubectlOk(['-n', ns, 'create', 'configmap', 'before-sigterm'], { kubeconfig: cp.kubeconfigPath });
    await eventually('the watch event through the agent', () => Promise.resolve(rawOut.includes('before-sigterm') || undefined));
    const exited = new Promise<number | null>((resolve) => cluster.agent.child.once('exit', (code) => resolve(code)));
    cluster.agent.child.kill('SIGTERM');
    // A watch never ends by itself: the agent cuts it once its grace is over (before, it waited for its own dead-peer timer).
    assert.equal(await within(60_000, 'the agent after SIGTERM', exited), 0, cluster.agent.output());
    assert.match(cluster.agent.output(), /streams still open at the end of the stop grace/);
    // Ended, not left hanging: the server sees the session go and ends what it carried.
    assert.match((await within(20_000, 'the watch after the agent stopped', watchEnded)).body, /before-sigterm/);
  });
});
