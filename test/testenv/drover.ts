/**
 * A whole Drover for end-to-end tests: a real `drover server` process, the CLI
 * logged in as admin (in-process, with its own config file), and clusters
 * registered with real `drover agent` processes started from the command
 * `drover clusters create` printed, each against a real control plane.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { spawnServer, type ServerProcess } from '../e2e/identity-support.ts';
import { runCliForTest, type CliResult } from '../../src/testing/index.ts';
import type { ControlPlaneState } from './control-plane.ts';
import { eventually } from './wait.ts';

export { eventually };

const root = join(import.meta.dirname, '..', '..');
export const adminPassword = 'correct horse battery staple';

export interface Registration { token: string; caChecksum: string; agentCommand: string; manifestUrl: string }
export interface ClusterView {
  id: string; name: string; state: string; stateReason: string; kubernetesVersion?: string; tunnel?: string; lastSeenAt?: string;
  nodeCount?: number; capacity?: { cpu: string; memory: string; pods: string };
}

export interface AgentProcess { child: ChildProcess; output: () => string; stop: (signal?: NodeJS.Signals) => Promise<void> }

export interface RegisteredCluster {
  id: string;
  name: string;
  registration: Registration;
  controlPlane: ControlPlaneState;
  agent: AgentProcess;
}

export interface Drover {
  /** Replaceable: a test that restarts the server puts the new process here. */
  server: ServerProcess;
  dir: string;
  /** The admin's CLI config file (`DROVER_CONFIG`). */
  configPath: string;
  /** Runs `drover ...` in-process as the admin; never throws. */
  run: (...argv: string[]) => Promise<CliResult>;
  /** Runs `drover ...` as the admin and returns stdout; throws with stderr on failure. */
  cli: (...argv: string[]) => Promise<string>;
  /** The CLI config file of a named user of this test (`admin` is `configPath`); `drover login` as them writes it. */
  configOf: (name: string) => string;
  /** Runs `drover ...` in-process with `name`'s CLI config; never throws. */
  as: (name: string, argv: string[], stdin?: string) => Promise<CliResult>;
  /** The Drover token saved in `name`'s CLI config. */
  tokenOf: (name: string) => string;
  /** Writes `body` as YAML into the test's directory (settings for `-f FILE`) and returns the path. */
  yamlFile: (name: string, body: unknown) => string;
  /** Registers a cluster, starts its agent against `cp`, and waits until it is Active. */
  registerCluster: (name: string, cp: ControlPlaneState) => Promise<RegisteredCluster>;
  startAgent: (registration: Registration, kubeconfig: string, extra?: string[], env?: NodeJS.ProcessEnv) => AgentProcess;
  getCluster: (name: string) => Promise<ClusterView>;
  waitForState: (name: string, state: string, timeoutMs?: number) => Promise<ClusterView>;
  /** Stops every agent and the server. */
  stop: () => Promise<void>;
}


/** A real `drover agent` process for `registration`, dialing `serverUrl` (a server, or a load balancer in front of replicas). */
export function spawnAgent(serverUrl: string, registration: Registration, kubeconfig: string, extra: string[] = [], agentEnv: NodeJS.ProcessEnv = {}): AgentProcess {
  const child = spawn(process.execPath, [
    '--import', 'tsx', 'src/cli/main.ts', 'agent', '--server', serverUrl, '--ca-checksum', registration.caChecksum,
    '--kubeconfig', kubeconfig, ...extra,
  ], { cwd: root, env: { ...process.env, DROVER_TOKEN: registration.token, ...agentEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const s of [child.stdout, child.stderr]) s.on('data', (c: Buffer) => { output += c.toString(); });
  return {
    child,
    output: () => output,
    stop: async (signal = 'SIGKILL') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}

export async function startDrover(options: { env?: NodeJS.ProcessEnv; /** More `drover server` flags. */ serverArgs?: string[] } = {}): Promise<Drover> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-e2e-'));
  const configPath = join(dir, 'cli-config.json');
  const env = { DROVER_BOOTSTRAP_PASSWORD: adminPassword, DROVER_CLUSTER_GRACE_MS: '1500', ...options.env };
  const server = await spawnServer({ dataDir: join(dir, 'server'), env, ...(options.serverArgs ? { args: options.serverArgs } : {}) });
  const agents: AgentProcess[] = [];

  const run = (...argv: string[]): Promise<CliResult> => runCliForTest(argv, { configPath, env: {} });
  const cli = async (...argv: string[]): Promise<string> => {
    const result = await run(...argv);
    if (result.code !== 0) throw new Error(`drover ${argv.join(' ')} failed: ${result.stderr.trim()}`);
    return result.stdout;
  };
  await cli('login', server.url, '--username', 'admin', '--password', adminPassword, '--ca-file', join(dir, 'server', 'ca.crt'));

  const startAgent = (registration: Registration, kubeconfig: string, extra: string[] = [], agentEnv: NodeJS.ProcessEnv = {}): AgentProcess => {
    const agent = spawnAgent(server.url, registration, kubeconfig, extra, agentEnv);
    agents.push(agent);
    return agent;
  };

  const getCluster = async (name: string): Promise<ClusterView> => JSON.parse(await cli('clusters', 'get', name, '-o', 'json')) as ClusterView;
  const waitForState = (name: string, state: string, timeoutMs = 60_000): Promise<ClusterView> =>
    eventually(`${name} to be ${state}`, async () => {
      const c = await getCluster(name);
      return c.state === state ? c : undefined;
    }, timeoutMs);

  const configOf = (name: string): string => (name === 'admin' ? configPath : join(dir, `${name}-cli.json`));
  const yamlFile = (name: string, body: unknown): string => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, toYaml(body));
    return file;
  };

  const drover: Drover = {
    server, dir, configPath, run, cli, configOf, yamlFile, startAgent, getCluster, waitForState,
    as: (name, argv, stdin) => runCliForTest(argv, { configPath: configOf(name), ...(stdin === undefined ? {} : { stdin }) }),
    tokenOf: (name) => (JSON.parse(readFileSync(configOf(name), 'utf8')) as { token: string }).token,
    registerCluster: async (name, cp) => {
      // A server reconciles the RBAC it owns in every cluster it manages; on the
      // shared control plane it would fight other test files' servers.
      if (process.env.DROVER_TESTENV_DIR && cp.dir === resolve(process.env.DROVER_TESTENV_DIR)) {
        throw new Error('register a private control plane (startPrivateControlPlane), never the shared one');
      }
      const created = JSON.parse(await cli('clusters', 'create', name, '-o', 'json')) as { cluster: ClusterView; registration: Registration };
      const agent = startAgent(created.registration, cp.kubeconfigPath);
      await waitForState(name, 'active');
      return { id: created.cluster.id, name, registration: created.registration, controlPlane: cp, agent };
    },
    stop: async () => {
      await Promise.all(agents.map((a) => a.stop()));
      await drover.server.stop();
    },
  };
  return drover;
}
