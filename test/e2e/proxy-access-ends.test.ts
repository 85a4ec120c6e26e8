/**
 * Taking access away ends the streams already open through the proxy: a real server
 * process, a real agent, a real kube-apiserver with a test node for pods, and the
 * machine's kubectl with Drover kubeconfigs. Each cause (user disabled, user deleted,
 * token revoked, token expired, member removed, UI logout) ends watches, `logs -f`,
 * exec, attach, port-forward and a cookie-authenticated WebSocket, while the same
 * streams of another user keep running. How long each took is printed: the design
 * bound is 5 s (events at once, a 2 s periodic pass as the safety net); the test
 * waits generously, as the machine is shared.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import {
  freePort, kubectl, kubectlOk, startPrivateControlPlane, startTestNode, type ControlPlaneState, type PrivateControlPlane, type TestNode,
} from '../testenv/index.ts';
import { eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { call } from './identity-support.ts';

const suffix = (): string => randomBytes(3).toString('hex');
const password = 'a-password-long-enough';
/** Generous: a stream still open after this has outlived the access it was opened with. */
const endDeadlineMs = 30_000;

/** Something open through the proxy: it is live once `ready` resolves; `ended` resolves when it is over. */
interface OpenStream { what: string; ready: Promise<unknown>; ended: Promise<unknown>; output: () => string; stop: () => void }

describe('open proxied streams end when access is taken away', () => {
  let privateCp: PrivateControlPlane;
  let cp: ControlPlaneState;
  let drover: Drover;
  let node: TestNode;
  let cluster: RegisteredCluster;
  const ns = `ends-${suffix()}`;
  const admin = (): { kubeconfig: string } => ({ kubeconfig: cp.kubeconfigPath });
  let podPort: number;

  /** A user who is a cluster owner, logged in with the CLI, with a kubeconfig that works through the proxy. */
  const member = async (name: string): Promise<{ name: string; kubeconfig: string; token: string; id: string }> => {
    const id = (JSON.parse(await drover.cli('users', 'create', name, '--password', password, '-o', 'json')) as { id: string }).id;
    await drover.cli('members', 'add', '--cluster', cluster.name, '--user', name, '--role', 'cluster-owner');
    const login = await drover.as(name, ['login', drover.server.url, '--username', name, '--password-stdin', '--ca-file', join(drover.server.dataDir, 'ca.crt')], password);
    assert.equal(login.code, 0, login.stderr);
    const kubeconfig = join(drover.dir, `${name}.kubeconfig`);
    const made = await drover.as(name, ['kubeconfig', cluster.name, '--file', kubeconfig]);
    assert.equal(made.code, 0, made.stderr);
    // The reconciler writes the owner's RBAC downstream within seconds.
    await eventually(`${name} to exec in the cluster`, async () => ((await kubectl(['exec', '-n', ns, 'holder', '--', 'true'], { kubeconfig })).code === 0 ? true : undefined), 60_000);
    const token = /token: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1] ?? '';
    return { name, kubeconfig, token, id };
  };

  /** kubectl that stays open; live once `live` matches its output. */
  const kubectlStream = (what: string, kubeconfig: string, args: string[], live: RegExp, input?: string): OpenStream => {
    const child = spawn('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    // exec -i keeps stdin open, as a user at a shell would.
    if (input !== undefined) child.stdin.write(input);
    const ended = new Promise((resolve) => child.once('exit', resolve));
    const ready = eventually(`${what} to be live`, () => (live.test(out) ? true : undefined), 30_000);
    return { what, ready, ended, output: () => out, stop: () => child.kill('SIGKILL') };
  };

  /** The web UI's way in: a WebSocket exec authenticated by the session cookie, its CSRF token and our Origin. */
  const uiWebSocket = async (name: string): Promise<OpenStream & { sessionCookie: string; csrf: string }> => {
    const session = await call(drover.server, 'POST', '/v1/session', { body: { username: name, password }, headers: { origin: drover.server.url } });
    assert.equal(session.status, 200, session.text);
    const setCookie = [session.headers['set-cookie']].flat()[0] ?? '';
    const sessionCookie = setCookie.split(';')[0] ?? '';
    const csrf = (session.json() as { csrfToken: string }).csrfToken;
    const ws = new WebSocket(`wss://127.0.0.1:${drover.server.port}/k8s/clusters/${cluster.id}/api/v1/namespaces/${ns}/pods/holder/exec?command=cat&stdin=true&stdout=true`,
      ['v5.channel.k8s.io'], { ca: drover.server.caPem(), headers: { cookie: sessionCookie, origin: drover.server.url, 'x-drover-csrf': csrf } });
    let out = '';
    ws.on('message', (data: Buffer) => { out += data.subarray(1).toString(); });
    ws.on('error', () => undefined);
    const ended = new Promise((resolve) => ws.once('close', resolve));
    const ready = new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('ui-echo\n')]));
        resolve(eventually('the UI exec to echo', () => (out.includes('ui-echo') ? true : undefined), 30_000).then(() => undefined));
      });
      ws.once('unexpected-response', (_req, res: IncomingMessage) => reject(new Error(`the UI WebSocket got ${res.statusCode}`)));
    });
    return { what: 'UI WebSocket exec (cookie)', ready, ended, output: () => out, stop: () => ws.terminate(), sessionCookie, csrf };
  };

  /** A raw watch with a bearer token: ended cleanly (the body's last chunk) or cut. */
  const rawWatch = (token: string): OpenStream => {
    let out = '';
    let res: IncomingMessage | undefined;
    const ended = new Promise<string>((resolve) => {
      const req = httpsRequest(`${drover.server.url}/k8s/clusters/${cluster.id}/api/v1/namespaces/${ns}/configmaps?watch=1`, {
        ca: drover.server.caPem(), checkServerIdentity: () => undefined, headers: { authorization: `Bearer ${token}` },
      }, (r) => {
        res = r;
        r.on('data', (c: Buffer) => { out += c.toString(); });
        r.on('end', () => resolve('end'));
        r.on('close', () => resolve(r.complete ? 'end' : 'cut'));
      });
      req.on('error', () => resolve('cut'));
      req.end();
    });
    const ready = eventually('the raw watch to answer', () => (res ? (res.statusCode === 200 ? true : Promise.reject(new Error(`watch answered ${res.statusCode}`))) : undefined), 30_000);
    return { what: 'raw watch', ready, ended, output: () => out, stop: () => res?.destroy() };
  };

  const watch = (kubeconfig: string): OpenStream =>
    kubectlStream('kubectl get -w', kubeconfig, ['get', 'configmaps', '-n', ns, '--watch', '--request-timeout=0'], /kube-root-ca/);
  const exec = (kubeconfig: string): OpenStream =>
    kubectlStream('kubectl exec -i', kubeconfig, ['exec', '-i', '-n', ns, 'holder', '--', 'cat'], /exec-echo/, 'exec-echo\n');
  const portForward = (kubeconfig: string): OpenStream =>
    kubectlStream('kubectl port-forward', kubeconfig, ['port-forward', '-n', ns, 'pod/server', `:${podPort}`], /Forwarding from 127\.0\.0\.1/);
  /** The streams of every kind for one user. */
  const everyKind = (kubeconfig: string): OpenStream[] => [
    watch(kubeconfig),
    kubectlStream('kubectl logs -f', kubeconfig, ['logs', '-f', '-n', ns, 'ticker', '--tail=1'], /tick \d+\n.*tick \d+\n/s),
    exec(kubeconfig),
    kubectlStream('kubectl attach', kubeconfig, ['attach', '-n', ns, 'ticker'], /tick \d+\n.*tick \d+\n/s),
    portForward(kubeconfig),
  ];

  /** Waits until each stream ended; returns how long each took after `since`. */
  const allEnd = async (streams: OpenStream[], since: number): Promise<string[]> => Promise.all(streams.map(async (s) => {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([s.ended.then(() => 'ended'), new Promise((r) => { timer = setTimeout(() => r('open'), endDeadlineMs); })]);
    clearTimeout(timer);
    assert.equal(outcome, 'ended', `${s.what} still open ${endDeadlineMs} ms after access was taken away; output: ${s.output().slice(-400)}`);
    return `${s.what}: ${Date.now() - since} ms`;
  }));

  const stillOpen = async (streams: OpenStream[]): Promise<void> => {
    for (const s of streams) {
      const outcome = await Promise.race([s.ended.then(() => 'ended'), new Promise((r) => setTimeout(() => r('open'), 50))]);
      assert.equal(outcome, 'open', `${s.what} of a user who kept access ended too: ${s.output().slice(-400)}`);
    }
  };

  before(async () => {
    privateCp = await startPrivateControlPlane();
    cp = privateCp.state;
    [drover, node] = await Promise.all([startDrover(), startTestNode(cp)]);
    cluster = await drover.registerCluster(`ends-${suffix()}`, cp);
    await kubectlOk(['create', 'namespace', ns], admin());
    podPort = await freePort();
    const pod = (name: string, command: string[]): string => JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns },
      spec: { nodeSelector: { 'kubernetes.io/hostname': node.name }, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'none', command }] },
    });
    await kubectlOk(['apply', '-f', '-'], { ...admin(), input: pod('ticker', ['sh', '-c', 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.3; done']) });
    await kubectlOk(['apply', '-f', '-'], { ...admin(), input: pod('holder', ['sh', '-c', 'exec sleep 100000']) });
    await kubectlOk(['apply', '-f', '-'], { ...admin(), input: pod('server', ['sh', '-c', `exec python3 -m http.server ${podPort} --bind 127.0.0.1`]) });
    await kubectlOk(['wait', '-n', ns, '--for=condition=Ready', 'pod/ticker', 'pod/holder', 'pod/server', '--timeout=60s'], admin());
  });
  after(async () => {
    await drover?.stop();
    await node?.stop();
    await privateCp?.stop();
  });

  it('disabling a user ends their watch, logs -f, exec, attach, port-forward and UI WebSocket; another user\'s keep running', async () => {
    const [gone, kept] = await Promise.all([member(`dis-${suffix()}`), member(`keep-${suffix()}`)]);
    const ui = await uiWebSocket(gone.name);
    // The pod's process reads stdin until its stream closes: it ends only if the proxy released the upstream.
    const marker = `drover-access-ends-${suffix()}`;
    const podProcess = (): boolean => spawnSync('pgrep', ['-f', marker]).status === 0;
    const held = kubectlStream('kubectl exec (pod side)', gone.kubeconfig, ['exec', '-i', '-n', ns, 'holder', '--', 'sh', '-c', `cat >/dev/null; : ${marker}`], /^$/);
    held.ready = eventually('the exec\'s pod process to start', () => (podProcess() ? true : undefined), 30_000);
    const streams = [...everyKind(gone.kubeconfig), ui, held];
    const others = everyKind(kept.kubeconfig);
    try {
      await Promise.all([...streams, ...others].map((s) => s.ready));
      const since = Date.now();
      await drover.cli('users', 'disable', gone.name);
      const took = await allEnd(streams, since);
      process.stderr.write(`access ended (user disabled): ${took.join(', ')}\n`);
      await eventually('the exec\'s pod process to end (its upstream released)', () => (podProcess() ? undefined : true), endDeadlineMs);
      await stillOpen(others);
    } finally {
      for (const s of [...streams, ...others]) s.stop();
    }
  });

  const causes: Array<[string, (u: Awaited<ReturnType<typeof member>>) => Promise<unknown>]> = [
    ['the user is deleted', (u) => drover.cli('users', 'delete', u.name)],
    ['the kubeconfig token is revoked', (u) => drover.cli('tokens', 'revoke', u.token.split(':')[0] ?? '')],
    ['the member is removed from the cluster', (u) => drover.cli('members', 'remove', '--cluster', cluster.name, '--user', u.name)],
  ];
  for (const [cause, takeAway] of causes) {
    it(`ends a user's watch, exec and port-forward when ${cause}`, async () => {
      const u = await member(`c-${suffix()}`);
      const streams = [watch(u.kubeconfig), exec(u.kubeconfig), portForward(u.kubeconfig)];
      try {
        await Promise.all(streams.map((s) => s.ready));
        const since = Date.now();
        await takeAway(u);
        process.stderr.write(`access ended (${cause}): ${(await allEnd(streams, since)).join(', ')}\n`);
      } finally {
        for (const s of streams) s.stop();
      }
    });
  }

  it('ends a watch cleanly when its token expires while it is open, and refuses the token afterwards', async () => {
    const u = await member(`exp-${suffix()}`);
    const issued = await call(drover.server, 'POST', '/v1/tokens', { token: drover.tokenOf(u.name), body: { description: 'short', ttlSeconds: 8 } });
    assert.equal(issued.status, 201, issued.text);
    const { token: short, expiresAt } = issued.json() as { token: string; expiresAt: string };
    const watch = rawWatch(short);
    await watch.ready;
    let timer: NodeJS.Timeout | undefined;
    // The token lives 8 s: the watch must end soon after, not when the client gives up.
    const how = await Promise.race([watch.ended, new Promise((r) => { timer = setTimeout(() => r('still open'), endDeadlineMs); })]);
    clearTimeout(timer);
    process.stderr.write(`access ended (token expired): raw watch ${String(how)} ${Date.now() - Date.parse(expiresAt)} ms after the expiry\n`);
    assert.equal(how, 'end', 'the watch body should end with its last chunk, not be cut');
    const again = await call(drover.server, 'GET', `/k8s/clusters/${cluster.id}/api/v1/namespaces/${ns}/configmaps`, { token: short });
    assert.equal(again.status, 401);
  });

  it('ends the UI\'s cookie-authenticated WebSocket when the session logs out', async () => {
    const u = await member(`ui-${suffix()}`);
    const ui = await uiWebSocket(u.name);
    try {
      await ui.ready;
      const since = Date.now();
      const out = await call(drover.server, 'DELETE', '/v1/session', { headers: { cookie: ui.sessionCookie, origin: drover.server.url, 'x-drover-csrf': ui.csrf } });
      assert.ok(out.status < 300, out.text);
      process.stderr.write(`access ended (UI logout): ${(await allEnd([ui], since)).join(', ')}\n`);
    } finally {
      ui.stop();
    }
  });
});
