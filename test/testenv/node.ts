/**
 * Test nodes: `drover-test-kubelet` (test/kubelet/) registered with a control
 * plane, so pods run and kubectl logs/exec/attach/cp/port-forward, `rollout
 * status` and `wait` work for real. Containers are local processes (the image is
 * ignored); see test/kubelet/README.md for what is and is not emulated.
 *
 * A node runs detached in its own process group with its log in
 * `<control plane dir>/test-nodes/<name>/kubelet.log`. `stop()` lets it stop its
 * pods, delete the pods bound to it and remove its Node; at process exit it is
 * killed outright, with every process group it recorded in its `pgids` file.
 * Tests sharing a control plane pin their pods to their own node with the
 * nodeSelector `kubernetes.io/hostname: <name>`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlPlaneState } from './control-plane.ts';
import { kubeGet } from './kube-http.ts';
import { waitFor } from './wait.ts';
import { runScript, signalGroup } from './processes.ts';

export interface TestNodeOptions {
  /** Node name and `kubernetes.io/hostname` label; default `test-node-<random>`. */
  name?: string;
  /** Extra node labels. */
  labels?: Record<string, string>;
  /** Taints as `key=value:Effect`; only pods that tolerate them are scheduled here. */
  taints?: string[];
  /** Progress lines (a build of the binary); default stderr. */
  progress?: (line: string) => void;
}

export interface TestNode {
  name: string;
  /** Work directory: `kubelet.log`, pod working directories and container logs. */
  dir: string;
  /** Stops the node and its pods and removes the Node; idempotent. */
  stop(): Promise<void>;
}

const buildScript = join(dirname(fileURLToPath(import.meta.url)), '..', 'kubelet', 'build.sh');
const readyTimeoutMs = 30_000;
const stopTimeoutMs = 30_000;

/** Starts a test node against `cp` and resolves once its Node is Ready. */
export async function startTestNode(cp: ControlPlaneState, options: TestNodeOptions = {}): Promise<TestNode> {
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const name = options.name ?? `test-node-${randomBytes(4).toString('hex')}`;
  const bin = await testKubeletBinary(progress);
  const dir = join(cp.dir, 'test-nodes', name);
  await mkdir(dir, { recursive: true });
  const args = ['--kubeconfig', cp.kubeconfigPath, '--node-name', name, '--listen', '127.0.0.1:0', '--work-dir', dir];
  for (const [key, value] of Object.entries(options.labels ?? {})) args.push('--label', `${key}=${value}`);
  for (const taint of options.taints ?? []) args.push('--taint', taint);

  const logFile = join(dir, 'kubelet.log');
  const log = openSync(logFile, 'a');
  const child = spawn(bin, args, { cwd: dir, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  let exited: string | undefined;
  child.on('exit', (code, signal) => { exited = `drover-test-kubelet exited (${signal ?? `code ${code}`}); see ${logFile}`; });
  child.on('error', (error) => { exited = `drover-test-kubelet could not start: ${error.message}`; });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`drover-test-kubelet could not start from ${bin}`);

  const killNow = (): void => killNodeSync(pid, dir);
  process.on('exit', killNow);
  const target = { url: cp.url, caPem: cp.caPem, token: cp.adminToken };
  try {
    await waitFor(`test node ${name} to be Ready`, readyTimeoutMs, () => exited, () => nodeReady(target, name),
      async () => (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n'));
  } catch (error) {
    process.off('exit', killNow);
    killNow();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    process.off('exit', killNow);
    if (!signalGroup(pid, 'SIGTERM')) return killGroupsIn(dir);
    const deadline = Date.now() + stopTimeoutMs;
    while (Date.now() < deadline && signalGroup(pid, 0)) await new Promise((r) => setTimeout(r, 100));
    killNodeSync(pid, dir);
  };
  return { name, dir, stop: () => (stopping ??= stop()) };
}

async function nodeReady(target: { url: string; caPem: string; token: string }, name: string): Promise<boolean> {
  const res = await kubeGet(target, `/api/v1/nodes/${name}`);
  if (res.status !== 200) return false;
  const node = JSON.parse(res.body) as { status?: { conditions?: { type: string; status: string }[] } };
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/** The cached binary, built by test/kubelet/build.sh when missing. */
async function testKubeletBinary(progress: (line: string) => void): Promise<string> {
  const cached = await runScript(buildScript, ['--print'], () => undefined);
  if (existsSync(cached)) return cached;
  progress('testenv: drover-test-kubelet missing; building it (test/kubelet/build.sh)');
  return runScript(buildScript, [], progress);
}

/** Kills the node's process group, then every pod process group it recorded. */
function killNodeSync(pid: number, dir: string): void {
  signalGroup(pid, 'SIGKILL');
  killGroupsIn(dir);
}

function killGroupsIn(dir: string): void {
  let text = '';
  try {
    text = readFileSync(join(dir, 'pgids'), 'utf8');
  } catch {
    return; // no pod process was ever started
  }
  for (const line of text.split('\n')) {
    const pgid = Number(line.trim());
    if (Number.isInteger(pgid) && pgid > 1) signalGroup(pgid, 'SIGKILL');
  }
}

