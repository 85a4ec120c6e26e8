/**
 * Nothing sent through the proxy may hold a tunnel connection without bound: a real
 * server process (its response-header timeout shortened to 3 s with
 * `--proxy-response-header-timeout`), a real agent, a real kube-apiserver.
 *
 *  - An upgrade that declares a body is refused with 400 at once, as an attacker would
 *    send it over a raw socket (Content-Length, chunked, duplicates); `Content-Length: 0`
 *    goes through.
 *  - With kube-apiserver frozen (SIGSTOP), a request, an upgrade and requests needing new
 *    connections get a 504 Status naming the cluster; a watch opened before is not cut
 *    by the timeout, nor by the cluster turning Unavailable, and delivers events again
 *    once the apiserver resumes.
 *  - A request waiting on a frozen apiserver when the agent dies gets a clear 502.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { kubectl, kubectlOk, startPrivateControlPlane, type ControlPlaneState, type PrivateControlPlane } from '../testenv/index.ts';
import { eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';

const suffix = (): string => randomBytes(3).toString('hex');
const statusOf = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);

describe('the proxy bounds every wait that holds a tunnel connection', () => {
  let privateCp: PrivateControlPlane;
  let cp: ControlPlaneState;
  let drover: Drover;
  let cluster: RegisteredCluster;
  let kubeconfig: string;
  let token: string;
  const ns = `waits-${suffix()}`;
  const freeze = (): void => { process.kill(cp.pids.apiserver, 'SIGSTOP'); };
  const thaw = (): void => { process.kill(cp.pids.apiserver, 'SIGCONT'); };

  /** Raw HTTP/1.1 over TLS, as an attacker writes it; resolves with everything received once the server closes, or after `waitMs`. */
  const raw = (text: string, waitMs = 20_000): Promise<{ answer: string; closed: boolean; ms: number }> => new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = tlsConnect({ host: '127.0.0.1', port: drover.server.port, ca: drover.server.caPem(), checkServerIdentity: () => undefined });
    let answer = '';
    const timer = setTimeout(() => { socket.destroy(); resolve({ answer, closed: false, ms: Date.now() - started }); }, waitMs);
    socket.on('data', (c: Buffer) => { answer += c.toString(); });
    socket.on('error', reject);
    socket.on('close', () => { clearTimeout(timer); resolve({ answer, closed: true, ms: Date.now() - started }); });
    socket.once('secureConnect', () => socket.write(text));
  });
  const upgradeHead = (extra: string[]): string => [
    `POST /k8s/clusters/${cluster.id}/api/v1/namespaces/${ns}/pods/no-such-pod/exec?command=sh&stdin=true HTTP/1.1`, 'Host: drover',
    `Authorization: Bearer ${token}`, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol: v5.channel.k8s.io', ...extra, '', '',
  ].join('\r\n');

  before(async () => {
    privateCp = await startPrivateControlPlane();
    cp = privateCp.state;
    drover = await startDrover({ serverArgs: ['--proxy-response-header-timeout', '3s'] });
    cluster = await drover.registerCluster(`waits-${suffix()}`, cp);
    const admin = JSON.parse(await drover.cli('whoami', '-o', 'json')) as { id: string };
    await kubectlOk(['create', 'clusterrolebinding', `owner-${admin.id}`, '--clusterrole=cluster-admin', `--user=${admin.id}`], { kubeconfig: cp.kubeconfigPath });
    await kubectlOk(['create', 'namespace', ns], { kubeconfig: cp.kubeconfigPath });
    kubeconfig = join(drover.dir, 'waits.kubeconfig');
    await drover.cli('kubeconfig', cluster.name, '--file', kubeconfig);
    token = /token: (\S+)/.exec((await import('node:fs')).readFileSync(kubeconfig, 'utf8'))?.[1] ?? '';
    await kubectlOk(['-n', ns, 'get', 'configmaps'], { kubeconfig });
  });
  after(async () => {
    thaw();
    await drover?.stop();
    await privateCp?.stop();
  });

  const bodies: Array<[string, string[], string]> = [
    ['a Content-Length body', ['Content-Length: 5'], 'hello'],
    ['a chunked body', ['Transfer-Encoding: chunked'], '5\r\nhello\r\n0\r\n\r\n'],
    ['Content-Length: 0 and a second Content-Length', ['Content-Length: 0', 'content-length: 5'], 'hello'],
    ['Content-Length: 0 and Transfer-Encoding', ['Content-Length: 0', 'Transfer-Encoding: chunked'], '0\r\n\r\n'],
    ['a large declared body sent slowly (none of it yet)', ['Content-Length: 1000000'], ''],
  ];
  for (const [what, headers, body] of bodies) {
    it(`refuses an upgrade with ${what} with 400 at once, before anything goes downstream`, async () => {
      const { answer, closed } = await raw(upgradeHead(headers).replace(/\r\n\r\n$/, `\r\n\r\n${body}`));
      assert.ok(closed, `the connection stayed open; got: ${answer.slice(0, 300)}`);
      // Node's own parser may refuse a malformed combination first (400 as well); either way nothing hangs.
      assert.equal(statusOf(answer), 400, answer.slice(0, 400));
      assert.doesNotMatch(answer, /no-such-pod/, 'kube-apiserver answered: the request went downstream');
    });
  }

  it('lets an upgrade with Content-Length: 0 through to kube-apiserver', async () => {
    const { answer } = await raw(upgradeHead(['Content-Length: 0']));
    assert.equal(statusOf(answer), 404, answer.slice(0, 400));
    assert.match(answer, /no-such-pod/);
  });

  it('answers 504 naming the cluster when kube-apiserver is frozen, without cutting an open watch', async () => {
    const watch = spawn('kubectl', ['--kubeconfig', kubeconfig, '-n', ns, 'get', 'configmaps', '--watch', '--request-timeout=0', '-o', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let watched = '';
    watch.stdout.on('data', (c: Buffer) => { watched += c.toString(); });
    watch.stderr.on('data', (c: Buffer) => { watched += c.toString(); });
    let watchExited = false;
    watch.once('exit', () => { watchExited = true; });
    try {
      await eventually('the watch to list', () => (watched.includes('kube-root-ca') ? true : undefined), 30_000);
      freeze();
      try {
        // A pooled request (the connection exists), then several at once (new connections: the TLS handshake hangs).
        const one = await kubectl(['-n', ns, 'get', 'configmaps'], { kubeconfig, timeoutMs: 60_000 });
        assert.notEqual(one.code, 0);
        assert.match(one.stderr, new RegExp(`cluster ${cluster.id} sent no response within 3 s`), one.stderr);
        const many = await Promise.all([1, 2, 3, 4].map(() => raw([
          `GET /k8s/clusters/${cluster.id}/api/v1/namespaces/${ns}/configmaps HTTP/1.1`, 'Host: drover', `Authorization: Bearer ${token}`, 'Connection: close', '', '',
        ].join('\r\n'), 30_000)));
        for (const { answer } of many) {
          assert.equal(statusOf(answer), 504, answer.slice(0, 400));
          const status = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { kind: string; reason: string; message: string };
          assert.equal(status.kind, 'Status');
          assert.equal(status.reason, 'Timeout');
          assert.match(status.message, new RegExp(`cluster ${cluster.id} .*check "drover clusters get`));
        }
        // An upgrade waiting for its 101: the same bound.
        const upgrade = await raw(upgradeHead([]), 30_000);
        assert.equal(statusOf(upgrade.answer), 504, upgrade.answer.slice(0, 400));
        assert.ok(upgrade.closed);
        // The watch was opened before: the timeout bounds only the wait for headers, never a body.
        assert.equal(watchExited, false, `the watch was cut: ${watched}`);
        // Two failed health probes make the cluster Unavailable; the watch outlives that too,
        // past one pass of the proxy's 15 s pool sweep (which once destroyed its connection).
        await drover.waitForState(cluster.name, 'unavailable', 60_000);
        await new Promise((r) => setTimeout(r, 16_000));
        assert.equal(watchExited, false, `the watch was cut while the cluster was Unavailable: ${watched}`);
      } finally {
        thaw();
      }
      await kubectlOk(['-n', ns, 'create', 'configmap', 'after-thaw'], { kubeconfig: cp.kubeconfigPath });
      await eventually('the old watch to deliver an event after the thaw', () => {
        if (watched.includes('configmap/after-thaw')) return true;
        throw new Error(`${watchExited ? 'kubectl exited' : 'kubectl still runs'}; it printed: ${watched}`);
      }, 30_000);
      assert.equal(watchExited, false);
      assert.match(await kubectlOk(['-n', ns, 'get', 'configmap', 'after-thaw', '-o', 'name'], { kubeconfig }), /after-thaw/);
    } finally {
      watch.kill('SIGKILL');
    }
  });

  it('answers a clear 502 to a request waiting on the cluster when its agent dies', async () => {
    freeze();
    try {
      const pending = raw([
        `GET /k8s/clusters/${cluster.id}/api/v1/namespaces/${ns}/configmaps HTTP/1.1`, 'Host: drover', `Authorization: Bearer ${token}`, 'Connection: close', '', '',
      ].join('\r\n'), 30_000);
      await new Promise((r) => setTimeout(r, 500));
      await cluster.agent.stop('SIGKILL');
      const { answer } = await pending;
      assert.ok([502, 504].includes(statusOf(answer)), answer.slice(0, 400));
      assert.match(answer, /"kind":"Status"/);
      assert.match(answer, new RegExp(`cluster ${cluster.id}`));
      process.stderr.write(`agent gone mid-request: ${answer.split('\r\n')[0] ?? ''} ${answer.slice(answer.indexOf('{'))}\n`);
    } finally {
      thaw();
    }
  });
});
