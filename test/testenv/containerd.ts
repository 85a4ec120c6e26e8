/**
 * A containerd for one test, under the REAL kubelet of a provisioned worker: its own
 * root, state, socket and CNI network, with the settings docs/provisioning.md found
 * these machines need (Debian's containerd 1.6 and runc):
 *
 * - `restrict_oom_score_adj = true`: the CRI plugin gives a pod sandbox an
 *   oom_score_adj of -998, which these machines do not let a process set (runc then
 *   fails with "can't get final child's PID from pipe"); restricted, scores are
 *   clamped to containerd's own.
 * - cgroupfs (`SystemdCgroup = false`), as the kubelet's configuration says.
 * - a bridge + host-local CNI network of the test's own (bridge name and subnet),
 *   Debian's plugins in /usr/lib/cni;
 * - the locally built image (pod-image.ts) imported into the CRI namespace and used
 *   as the sandbox image too: there is no registry to pull pause from.
 *
 * And the node's address: the kubelet refuses a loopback node IP, so the worker gets
 * an address on an interface of its own (an empty bridge: these kernels have no
 * `dummy` link type). `stop()` removes what the pods left
 * (tasks, mounts, the bridge), the interface and the directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { podImage, writePodImage } from './pod-image.ts';
import { eventually } from './wait.ts';

const run = promisify(execFile);

export interface TestContainerd {
  /** For `drover agent --container-runtime-endpoint`. */
  endpoint: string;
  /** The worker's address (`drover agent --address`): on a dummy interface, not loopback. */
  address: string;
  image: string;
  dir: string;
  log: () => string;
  stop: () => Promise<void>;
}

/** Why containerd cannot run here (a missing program), or undefined. */
export async function containerdMissing(): Promise<string | undefined> {
  for (const program of ['containerd', 'ctr', 'runc', '/usr/lib/cni/bridge']) {
    if (!(await run('sh', ['-c', `command -v ${program}`]).then(() => true, () => false))) {
      return `${program} is not installed (scripts/setup.sh installs Debian's containerd, runc and containernetworking-plugins)`;
    }
  }
  return undefined;
}

export async function startContainerd(progress: (line: string) => void): Promise<TestContainerd> {
  const suffix = Math.random().toString(36).slice(2, 7);
  const octet = (): number => 1 + Math.floor(Math.random() * 250);
  // A short path: the socket's must fit in 108 bytes.
  const dir = mkdtempSync('/tmp/drv-ctd-');
  const socket = join(dir, 'containerd.sock');
  const bridge = `drvb${suffix}`;
  const link = `drvk${suffix}`;
  const address = `10.254.${octet()}.${octet()}`;
  const cniDir = join(dir, 'cni');
  mkdirSync(cniDir);
  writeFileSync(join(cniDir, '10-drover.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: `drover-${suffix}`,
    plugins: [{
      type: 'bridge', bridge, isGateway: true, ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: `10.253.${octet()}.0/24` }]], dataDir: join(dir, 'ipam') },
    }],
  }));
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  writeFileSync(join(dir, 'config.toml'), [
    'version = 2',
    `root = "${dir}/root"`, `state = "${dir}/state"`,
    '[grpc]', `  address = "${socket}"`,
    '[plugins."io.containerd.internal.v1.opt"]', `  path = "${dir}/opt"`,
    `[${cri}]`, `  sandbox_image = "${podImage}"`, '  restrict_oom_score_adj = true',
    '  stream_server_address = "127.0.0.1"', '  stream_server_port = "0"',
    `[${cri}.cni]`, '  bin_dir = "/usr/lib/cni"', `  conf_dir = "${cniDir}"`,
    `[${cri}.containerd.runtimes.runc]`, '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`, '  SystemdCgroup = false',
    '',
  ].join('\n'));
  const logFile = join(dir, 'containerd.log');
  const child: ChildProcess = spawn('containerd', ['--config', join(dir, 'config.toml')], { detached: true, stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')] });
  const log = (): string => readFileSync(logFile, 'utf8').slice(-4000);
  const ctr = (...args: string[]): Promise<{ stdout: string }> => run('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args]);
  const stop = async (): Promise<void> => {
    // Pods the kubelet did not remove: kill their tasks, so no container outlives the test.
    const tasks = await ctr('tasks', 'ls', '-q').then((r) => r.stdout.split('\n').filter(Boolean), () => []);
    for (const id of tasks) await ctr('tasks', 'kill', '-s', 'SIGKILL', id).catch(() => undefined);
    for (const id of tasks) await eventually(`task ${id} deleted`, () => ctr('tasks', 'delete', id).then(() => true), 10_000).catch(() => undefined);
    if (child.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    }
    await unmountUnder(dir);
    for (const name of [bridge, link]) await run('ip', ['link', 'del', name]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run('ip', ['link', 'add', link, 'type', 'bridge']);
    await run('ip', ['addr', 'add', `${address}/32`, 'dev', link]);
    await run('ip', ['link', 'set', link, 'up']);
    await eventually('containerd to answer on its socket', async () => {
      if (child.exitCode !== null) throw new Error(`containerd exited (${child.exitCode}): ${log()}`);
      return ctr('version').then(() => true, () => undefined);
    }, 60_000);
    const archive = await writePodImage(dir, progress);
    await ctr('images', 'import', archive);
    const images = (await ctr('images', 'ls', '-q')).stdout;
    if (!images.includes(podImage)) throw new Error(`ctr images import did not name the image ${podImage}: ${images}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint: `unix://${socket}`, address, image: podImage, dir, log, stop };
}

/**
 * Unmounts whatever is mounted under `dir`, deepest first: container root
 * filesystems under containerd's state, and the kubelet's volume mounts (tmpfs for
 * projected service-account tokens) under a node's data dir, which `rm -r` cannot remove.
 */
export async function unmountUnder(dir: string): Promise<void> {
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points) await run('umount', ['-l', point]).catch(() => undefined);
}
