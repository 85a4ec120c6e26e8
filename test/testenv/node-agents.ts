/**
 * Node agents of provisioned clusters for end-to-end tests: real `drover agent
 * --mode node --roles ...` processes, each with its own data dir (and so its own
 * ports), run with the node command `drover clusters create --custom` printed.
 * `stop()` sends SIGTERM (the agent stops what it started); at process exit any
 * process group a node recorded in `run/pids.json` is killed, so a failed test
 * leaves no etcd or kube-apiserver behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signalGroup } from './processes.ts';
import { eventually } from './wait.ts';

const root = join(import.meta.dirname, '..', '..');

export interface NodeAgentProcess {
  child: ChildProcess;
  dataDir: string;
  output: () => string;
  /** SIGTERM (processes stopped, data dir kept) or SIGKILL (the agent alone dies). */
  stop: (signal?: NodeJS.Signals) => Promise<void>;
  /** Kills every process group the node recorded (what a SIGKILLed agent left running). */
  killProcesses: () => void;
}

/**
 * Starts a node agent from the printed node command: its flags are kept but
 * `--data-dir` (the test's own), with `--node-name` and the token moved to the
 * environment so it does not show in `ps`.
 */
export function startNodeAgent(nodeCommand: string, options: { dataDir: string; nodeName: string; roles?: string; /** More node flags (`--address`, `--container-runtime-endpoint`). */ extraArgs?: string[] }): NodeAgentProcess {
  const words = nodeCommand.split(/\s+/).slice(2);
  const flag = (name: string): string => words[words.indexOf(name) + 1] ?? '';
  const args = [
    '--import', 'tsx', 'src/cli/main.ts', 'agent', '--mode', 'node', '--roles', options.roles ?? flag('--roles'),
    '--server', flag('--server'), '--ca-checksum', flag('--ca-checksum'), '--data-dir', options.dataDir, '--node-name', options.nodeName,
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, DROVER_TOKEN: flag('--token') }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const s of [child.stdout, child.stderr]) s.on('data', (c: Buffer) => { output += c.toString(); });
  const killProcesses = (): void => {
    const file = join(options.dataDir, 'run', 'pids.json');
    if (!existsSync(file)) return;
    for (const pid of Object.values(JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>)) signalGroup(pid, 'SIGKILL');
  };
  process.on('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    killProcesses();
  });
  return {
    child, dataDir: options.dataDir, output: () => output, killProcesses,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}

/** A test's cleanup: each node agent stops what it started (SIGTERM), then whatever a killed one left behind is killed. */
export async function stopNodeAgents(nodes: NodeAgentProcess[]): Promise<void> {
  for (const node of nodes) {
    await node.stop('SIGTERM');
    node.killProcesses();
  }
}

/**
 * Waits up to 5 minutes for a provisioned cluster to be active while its node agent
 * runs: an agent that exits fails the wait at once, with its output; a timeout names
 * the cluster's last state reason, then `more()` (the test's own diagnostics).
 */
export async function untilClusterActive(node: NodeAgentProcess, name: string, cluster: () => Promise<{ state: string; stateReason?: string }>, more: () => string = () => ''): Promise<void> {
  let last = '';
  await eventually(`${name} to be active`, async () => {
    if (node.child.exitCode !== null) throw new Error(`the node agent exited: ${node.output().slice(-3000)}`);
    const current = await cluster();
    last = current.stateReason ?? '';
    return current.state === 'active' ? true : undefined;
  }, 300_000).catch((error: unknown) => { throw new Error(`${String(error)}; last reason: ${last}${more()}`); });
}
