/**
 * Proves the test node (test/kubelet, drover-test-kubelet) gives the real
 * kube-apiserver and the real kubectl a working kubelet: pods are scheduled and
 * run, rollouts complete, and logs, exec, attach, cp and port-forward stream
 * through kube-apiserver to Kubernetes' own streaming server.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventually,
  freePort, kubectl, kubectlOk, sharedControlPlane, startTestNode, type ControlPlaneState, type TestNode,
} from '../testenv/index.ts';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

/** A long-running kubectl (logs -f, port-forward) whose output is watched as it arrives. */
interface Streaming {
  child: ChildProcessWithoutNullStreams;
  chunks: { at: number; text: string }[];
  output: () => string;
  stop: () => void;
}

function kubectlStreaming(args: string[], kubeconfig: string, env: NodeJS.ProcessEnv = {}): Streaming {
  const child = spawn('kubectl', args, { env: { ...process.env, ...env, KUBECONFIG: kubeconfig } });
  const chunks: { at: number; text: string }[] = [];
  child.stdout.on('data', (b: Buffer) => chunks.push({ at: Date.now(), text: b.toString() }));
  child.stderr.on('data', (b: Buffer) => chunks.push({ at: Date.now(), text: b.toString() }));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  child.on('exit', () => clearTimeout(timer));
  return { child, chunks, output: () => chunks.map((c) => c.text).join(''), stop: () => { child.kill('SIGTERM'); } };
}

function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolvePromise({ code, output: stdout + stderr });
    });
  });
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a test node (drover-test-kubelet) behind the real kube-apiserver', () => {
  let cp: ControlPlaneState;
  let node: TestNode;
  let kc: { kubeconfig: string };
  let ns: string;

  // Pinned to this file's node. A short grace period also keeps namespace
  // deletion quick: the namespace controller polls again after half of it.
  const podSpec = (): Record<string, unknown> => ({
    nodeSelector: { 'kubernetes.io/hostname': node.name }, terminationGracePeriodSeconds: 2,
  });

  /** A pod pinned to this file's node, as the JSON `kubectl apply` takes. */
  const pod = (name: string, container: Record<string, unknown>, spec: Record<string, unknown> = {}): string => JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns },
    spec: { ...podSpec(), containers: [{ name: 'main', image: 'none', ...container }], ...spec },
  });
  const runPod = async (name: string, container: Record<string, unknown>, spec: Record<string, unknown> = {}): Promise<void> => {
    await kubectlOk(['apply', '-f', '-'], { ...kc, input: pod(name, container, spec) });
    await kubectlOk(['wait', '-n', ns, '--for=condition=Ready', `pod/${name}`, '--timeout=30s'], kc);
  };

  before(async () => {
    cp = await sharedControlPlane();
    kc = { kubeconfig: cp.kubeconfigPath };
    node = await startTestNode(cp);
    ns = unique('node');
    await kubectlOk(['create', 'namespace', ns], kc);
  });

  after(async () => {
    if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false'], kc);
    await node?.stop();
  });

  it('registers a Ready Node that names its kubelet port, with a Lease', async () => {
    const json = JSON.parse(await kubectlOk(['get', 'node', node.name, '-o', 'json'], kc)) as {
      metadata: { labels: Record<string, string> };
      status: {
        conditions: { type: string; status: string }[]; addresses: { type: string; address: string }[];
        daemonEndpoints: { kubeletEndpoint: { Port: number } }; nodeInfo: { kubeletVersion: string };
        allocatable: Record<string, string>;
      };
    };
    assert.equal(json.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    assert.deepEqual(json.status.addresses, [{ type: 'InternalIP', address: '127.0.0.1' }]);
    assert.ok(json.status.daemonEndpoints.kubeletEndpoint.Port > 0);
    assert.equal(json.status.nodeInfo.kubeletVersion, cp.version);
    assert.equal(json.metadata.labels['kubernetes.io/hostname'], node.name);
    assert.equal(json.status.allocatable.pods, '110');
    const holder = await kubectlOk(['get', 'lease', '-n', 'kube-node-lease', node.name, '-o', 'jsonpath={.spec.holderIdentity}'], kc);
    assert.equal(holder, node.name);
  });

  it('schedules and runs a Deployment so that kubectl rollout status succeeds', async () => {
    await kubectlOk(['apply', '-f', '-'], { ...kc, input: JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: ns },
      spec: {
        replicas: 2, selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { ...podSpec(), containers: [{ name: 'web', image: 'none' }] },
        },
      },
    }) });
    const out = await kubectlOk(['rollout', 'status', '-n', ns, 'deployment/web', '--timeout=60s'], { ...kc, timeoutMs: 70_000 });
    assert.match(out, /successfully rolled out/);
    const nodes = await kubectlOk(['get', 'pods', '-n', ns, '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.nodeName}'], kc);
    assert.deepEqual(nodes.split(' '), [node.name, node.name]);
  });

  it('leaves a pod whose nodeSelector names another node unscheduled', async () => {
    await kubectlOk(['apply', '-f', '-'], { ...kc, input: JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'elsewhere', namespace: ns },
      spec: { nodeSelector: { 'kubernetes.io/hostname': unique('no-such-node') }, containers: [{ name: 'main', image: 'none' }] },
    }) });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await kubectlOk(['get', 'pod', '-n', ns, 'elsewhere', '-o', 'jsonpath={.spec.nodeName}'], kc), '');
  });

  it('reports a running pod Ready to kubectl wait, with container status and pod IP', async () => {
    await runPod('ready', {});
    const status = JSON.parse(await kubectlOk(['get', 'pod', '-n', ns, 'ready', '-o', 'jsonpath={.status}'], kc)) as {
      phase: string; podIP: string; containerStatuses: { ready: boolean; started: boolean; containerID: string; state: { running?: unknown } }[];
    };
    assert.equal(status.phase, 'Running');
    assert.equal(status.podIP, '127.0.0.1');
    assert.equal(status.containerStatuses[0]?.ready, true);
    assert.match(status.containerStatuses[0]?.containerID ?? '', /^drover-test:\/\/[0-9a-f]+$/);
    assert.ok(status.containerStatuses[0]?.state.running);
  });

  it('serves kubectl logs, and logs -f streams lines as they are written', async () => {
    await runPod('ticker', { command: ['sh', '-c', 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.3; done'] });
    await eventually('first log lines', async () =>
      /tick 1\n/.test(await kubectlOk(['logs', '-n', ns, 'ticker'], kc)) ? true : undefined);
    const tail = await kubectlOk(['logs', '-n', ns, 'ticker', '--tail=1', '--timestamps'], kc);
    assert.match(tail, /^\d{4}-\d\d-\d\dT\S+Z tick \d+\n$/);

    const follow = kubectlStreaming(['logs', '-f', '-n', ns, 'ticker', '--tail=1'], kc.kubeconfig);
    try {
      const lines = await eventually('several followed lines', () => {
        const seen = follow.output().split('\n').filter((l) => l.startsWith('tick '));
        return seen.length >= 4 ? seen : undefined;
      }, 20_000);
      const numbers = lines.map((l) => Number(l.slice(5)));
      for (let i = 1; i < numbers.length; i++) assert.equal(numbers[i], (numbers[i - 1] ?? 0) + 1);
      // Lines arrived one by one over time, not in one buffered burst at the end.
      const withTicks = follow.chunks.filter((c) => c.text.includes('tick '));
      assert.ok(withTicks.length >= 2, `expected separate arrivals, got ${withTicks.length}`);
      assert.ok((withTicks.at(-1)?.at ?? 0) - (withTicks[0]?.at ?? 0) >= 500);
    } finally {
      follow.stop();
    }
  });

  it('runs kubectl exec over WebSocket and over SPDY, with exit codes and the container environment', async () => {
    await runPod('shell', { env: [{ name: 'GREETING', value: 'hello from env' }, { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] });
    assert.equal(await kubectlOk(['exec', '-n', ns, 'shell', '--', 'echo', 'hi'], kc), 'hi\n');
    const spdy = { ...kc, env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' } };
    assert.equal(await kubectlOk(['exec', '-n', ns, 'shell', '--', 'echo', 'hi'], spdy), 'hi\n');
    assert.equal(await kubectlOk(['exec', '-n', ns, 'shell', '--', 'sh', '-c', 'echo "$GREETING/$POD"'], kc), 'hello from env/shell\n');
    for (const options of [kc, spdy]) {
      const failed = await kubectl(['exec', '-n', ns, 'shell', '--', 'sh', '-c', 'echo oops >&2; exit 3'], options);
      assert.equal(failed.code, 3);
      assert.match(failed.stderr, /oops/);
    }
  });

  it('passes stdin through kubectl exec -i', async () => {
    await runPod('stdin', {});
    const input = `line one\n${randomBytes(512).toString('base64')}\n`;
    assert.equal(await kubectlOk(['exec', '-i', '-n', ns, 'stdin', '--', 'cat'], { ...kc, input }), input);
    const spdy = { ...kc, input, env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' } };
    assert.equal(await kubectlOk(['exec', '-i', '-n', ns, 'stdin', '--', 'wc', '-c'], spdy), `${Buffer.byteLength(input)}\n`);
  });

  it('gives kubectl exec -it a terminal in the pod, over WebSocket and over SPDY', async (t) => {
    // kubectl only asks for a TTY when its own stdin is a terminal: `script` gives it one.
    if ((await runProcess('script', ['--version'], {})).code !== 0) return t.skip('util-linux script is not installed');
    await runPod('terminal', {});
    for (const websockets of ['true', 'false']) {
      const r = await runProcess('script', ['-qec', `kubectl exec -it -n ${ns} terminal -- tty`, '/dev/null'], {
        KUBECONFIG: kc.kubeconfig, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: websockets,
      });
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /\/dev\/pts\/\d+/);
    }
  });

  it('copies files into a pod and back out with kubectl cp', async () => {
    await runPod('files', {});
    const local = mkdtempSync(join(tmpdir(), 'kcp-'));
    const content = `payload ${randomBytes(2048).toString('hex')}\n`;
    writeFileSync(join(local, 'in.txt'), content);
    await kubectlOk(['cp', join(local, 'in.txt'), `${ns}/files:copied.txt`], kc);
    assert.equal(await kubectlOk(['exec', '-n', ns, 'files', '--', 'cat', 'copied.txt'], kc), content);
    await kubectlOk(['cp', `${ns}/files:copied.txt`, join(local, 'out.txt')], kc);
    assert.equal(readFileSync(join(local, 'out.txt'), 'utf8'), content);
  });

  it('forwards a local port to a server the pod runs, over WebSocket and over SPDY', async () => {
    const podPort = await freePort();
    await runPod('server', {
      command: ['sh', '-c', `echo forwarded-ok > index.html && exec python3 -m http.server ${podPort} --bind 127.0.0.1`],
    });
    // The pod is Ready once its process started; the server may need a moment to listen.
    await eventually('the pod server to listen', async () =>
      (await kubectl(['exec', '-n', ns, 'server', '--', 'python3', '-c',
        `import socket; socket.create_connection(("127.0.0.1", ${podPort}), 1)`], kc)).code === 0 ? true : undefined);
    for (const env of [{}, { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }]) {
      const localPort = await freePort();
      const forward = kubectlStreaming(['port-forward', '-n', ns, 'pod/server', `${localPort}:${podPort}`], kc.kubeconfig, env);
      try {
        await eventually('port-forward to listen', () => (/Forwarding from 127\.0\.0\.1/.test(forward.output()) ? true : undefined), 20_000);
        for (let i = 0; i < 2; i++) {
          const res = await fetch(`http://127.0.0.1:${localPort}/`);
          assert.equal(await res.text(), 'forwarded-ok\n');
        }
      } finally {
        forward.stop();
      }
    }
  });

  it('attaches kubectl to the container process stdin and stdout', async () => {
    await runPod('attached', {
      stdin: true, stdinOnce: true,
      command: ['sh', '-c', 'while read line; do echo "got $line"; done; echo bye'],
    }, { restartPolicy: 'Never' });
    const out = await kubectlOk(['attach', '-i', '-n', ns, 'attached', '-c', 'main'], { ...kc, input: 'one\ntwo\n', timeoutMs: 30_000 });
    assert.match(out, /got one\ngot two\nbye\n/);
    await eventually('the pod to succeed', async () =>
      (await kubectlOk(['get', 'pod', '-n', ns, 'attached', '-o', 'jsonpath={.status.phase}'], kc)) === 'Succeeded' ? true : undefined);
  });

  it('restarts a container that exits under restartPolicy Always, keeping the previous log', async () => {
    await kubectlOk(['apply', '-f', '-'], { ...kc, input: pod('crasher', { command: ['sh', '-c', 'echo "run at $(date +%s%N)"; exit 2'] }) });
    const restarts = await eventually('a restart', async () => {
      const n = Number(await kubectlOk(['get', 'pod', '-n', ns, 'crasher', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'], kc));
      return n >= 1 ? n : undefined;
    });
    assert.ok(restarts >= 1);
    const last = JSON.parse(await kubectlOk(['get', 'pod', '-n', ns, 'crasher', '-o', 'jsonpath={.status.containerStatuses[0].lastState}'], kc)) as {
      terminated?: { exitCode: number; reason: string };
    };
    assert.deepEqual({ code: last.terminated?.exitCode, reason: last.terminated?.reason }, { code: 2, reason: 'Error' });
    assert.match(await kubectlOk(['logs', '-n', ns, 'crasher', '--previous'], kc), /^run at \d+\n$/);
  });

  it('kills every process of a deleted pod, children included, and confirms the deletion', async () => {
    // `$$$$` because Kubernetes expands command lines: `$$` escapes one `$`.
    await runPod('doomed', { command: ['sh', '-c', 'sleep 3600 & echo $! > child.pid; echo $$$$ > main.pid; wait'] });
    const read = async (file: string): Promise<number> => eventually(file, async () => {
      const r = await kubectl(['exec', '-n', ns, 'doomed', '--', 'cat', file], kc);
      return r.code === 0 && r.stdout.trim() ? Number(r.stdout.trim()) : undefined;
    });
    const pids = [await read('main.pid'), await read('child.pid')];
    for (const pid of pids) assert.ok(pidAlive(pid), `process ${pid} should run before deletion`);
    await kubectlOk(['delete', 'pod', '-n', ns, 'doomed', '--timeout=30s'], kc);
    const gone = await kubectl(['get', 'pod', '-n', ns, 'doomed'], kc);
    assert.match(gone.stderr, /NotFound/);
    await eventually('the processes to end', () => (pids.some(pidAlive) ? undefined : true), 10_000);
  });

  it('confirms the deletion of running pods when their namespace is deleted', async () => {
    await kubectlOk(['delete', 'namespace', ns, '--timeout=60s'], { ...kc, timeoutMs: 70_000 });
    assert.match((await kubectl(['get', 'namespace', ns], kc)).stderr, /NotFound/);
  });
});
