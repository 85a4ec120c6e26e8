/**
 * A pod on a provisioned worker that runs the REAL kubelet (test/kubelet-real, built
 * from Go modules) against a containerd the test starts (test/testenv/containerd.ts:
 * Debian's containerd 1.6 and runc, with the settings docs/provisioning.md found these
 * machines need). A 1-node cluster with every role is provisioned; its Node goes
 * Ready; a pod of a locally built image (imagePullPolicy Never: there is no registry)
 * is created through the Drover proxy and reaches Running; `kubectl logs` and
 * `kubectl exec` through the proxy reach it, which goes through the kubelet: its
 * webhook authentication and authorization accept the apiserver's client certificate,
 * and refuse a request with none.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl, kubectlOk } from '../testenv/index.ts';
import { eventually, startDrover, type Drover } from '../testenv/drover.ts';
import { realKubeletBinaries } from '../testenv/real-kubelet.ts';
import { containerdMissing, startContainerd, unmountUnder, type TestContainerd } from '../testenv/containerd.ts';
import { startNodeAgent, untilClusterActive, type NodeAgentProcess } from '../testenv/node-agents.ts';

/** The kubelet's answer to a request with no client certificate (its serving certificate is self-signed). */
function kubeletStatus(address: string, path: string): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    const req = https.request({ host: address, port: 10250, path, method: path.startsWith('/run') ? 'POST' : 'GET', rejectUnauthorized: false }, (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

const suffix = Math.random().toString(36).slice(2, 7);
const quiet = (): void => undefined;

describe('a pod on a provisioned worker with the real kubelet and containerd', () => {
  let drover: Drover | undefined;
  let containerd: TestContainerd | undefined;
  let node: NodeAgentProcess | undefined;
  let version = '';
  const name = `pod-${suffix}`;
  const dirs = mkdtempSync(join(tmpdir(), 'drover-podnode-'));
  const kubeconfig = join(dirs, 'kubeconfig');

  /** What the test shows when something does not come: the kubelet's, containerd's and the node agent's last lines. */
  const diagnostics = (): string => {
    const kubeletLog = join(dirs, 'n1', 'log', 'kubelet.log');
    let kubelet = '';
    try { kubelet = readFileSync(kubeletLog, 'utf8').slice(-4000); } catch { kubelet = `(no ${kubeletLog})`; }
    return `\n--- kubelet:\n${kubelet}\n--- containerd:\n${containerd?.log() ?? ''}\n--- node agent:\n${node?.output().slice(-2000) ?? ''}`;
  };

  before(async () => {
    // Not a skip: without the runtime this test proves nothing, and says why.
    const missing = await containerdMissing();
    if (missing) throw new Error(`cannot run pods on this machine: ${missing}`);
    const binaries = await realKubeletBinaries(quiet);
    version = readdirSync(binaries)[0] ?? '';
    containerd = await startContainerd(quiet);
    drover = await startDrover({ serverArgs: ['--kubernetes-binaries', binaries] });
  });
  after(async () => {
    if (drover) await kubectl(['delete', 'pod', 'hello', '--wait=true', '--timeout=30s'], { kubeconfig }).catch(() => undefined);
    await node?.stop('SIGTERM');
    node?.killProcesses();
    await drover?.stop();
    await containerd?.stop();
    await unmountUnder(dirs);
    rmSync(dirs, { recursive: true, force: true });
  });

  it('the Node goes Ready, a pod of a local image runs, and logs and exec reach it through the proxy', async () => {
    const d = drover as Drover;
    const c = containerd as TestContainerd;
    const created = JSON.parse(await d.cli('clusters', 'create', name, '--custom', '--kubernetes-version', version, '-o', 'json')) as { registration: { nodeCommand: string } };
    node = startNodeAgent(created.registration.nodeCommand, {
      dataDir: join(dirs, 'n1'), nodeName: 'n1', extraArgs: ['--address', c.address, '--container-runtime-endpoint', c.endpoint],
    });
    await untilClusterActive(node, name, () => d.getCluster(name), diagnostics);

    await d.cli('kubeconfig', name, '--file', kubeconfig);
    await kubectlOk(['config', 'use-context', name], { kubeconfig });
    const ready = await eventually('the real kubelet\'s Node Ready through the proxy', async () => {
      const r = await kubectl(['get', 'node', 'n1', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.nodeInfo.kubeletVersion} {.status.nodeInfo.containerRuntimeVersion}'], { kubeconfig });
      return r.code === 0 && r.stdout.startsWith('True ') ? r.stdout : undefined;
    }, 120_000).catch((error: unknown) => { throw new Error(`${String(error)}${diagnostics()}`); });
    assert.match(ready, new RegExp(`^True ${version} containerd://1\\.`), 'the real kubelet, on containerd');

    const pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hello', namespace: 'default' },
      spec: {
        automountServiceAccountToken: false,
        tolerations: [{ operator: 'Exists' }],
        containers: [{ name: 'hello', image: c.image, imagePullPolicy: 'Never', args: ['say', `hello from ${suffix}`] }],
      },
    };
    // The default ServiceAccount, which admission wants, comes from the controller manager shortly after start.
    await eventually('the pod created through the proxy', async () => {
      const r = await kubectl(['apply', '-f', '-'], { kubeconfig, input: JSON.stringify(pod) });
      return r.code === 0 ? r.stdout : undefined;
    }, 60_000);
    const running = await eventually('the pod Running', async () => {
      const r = await kubectl(['get', 'pod', 'hello', '-o', 'jsonpath={.status.phase} {.status.podIP}'], { kubeconfig });
      return r.code === 0 && r.stdout.startsWith('Running ') ? r.stdout : undefined;
    }, 120_000).catch(async (error: unknown) => {
      const described = await kubectl(['describe', 'pod', 'hello'], { kubeconfig });
      throw new Error(`${String(error)}\n--- kubectl describe pod:\n${described.stdout}${described.stderr}${diagnostics()}`);
    });
    assert.match(running, /^Running 10\.253\.\d+\.\d+$/, 'a pod IP from the test\'s bridge network');

    const logs = await eventually('the pod\'s log through the proxy (the kubelet serves it)', async () => {
      const r = await kubectl(['logs', 'hello'], { kubeconfig });
      return r.code === 0 && r.stdout.includes(`hello from ${suffix}`) ? r.stdout : undefined;
    }, 30_000).catch(async (error: unknown) => {
      const r = await kubectl(['logs', 'hello'], { kubeconfig });
      throw new Error(`${String(error)}: ${r.stderr}${diagnostics()}`);
    });
    assert.equal(logs.trim(), `hello from ${suffix}`);

    const exec = await kubectl(['exec', 'hello', '--', '/drover-pod', 'echo', `exec-${suffix}`], { kubeconfig });
    assert.equal(exec.code, 0, `kubectl exec through the proxy and the kubelet: ${exec.stderr}${diagnostics()}`);
    assert.equal(exec.stdout.trim(), `exec-${suffix}`);

    // The attacker's view: whoever reaches the kubelet's port with no client certificate gets nothing.
    for (const path of ['/pods', '/run/default/hello/hello?cmd=id', '/containerLogs/default/hello/hello']) {
      const status = await kubeletStatus(c.address, path);
      assert.equal(status, 401, `anonymous ${path} on the kubelet: ${status}`);
    }
  });
});
