/**
 * Several real `drover server` processes on one real PostgreSQL, behind a real
 * HAProxy (TCP mode, TLS passed through): what an operator runs as replicas. The
 * first replica creates the CA, serving certificate and encryption key; the others
 * start from a copy of its data dir (the documented way to share them). Every
 * replica's public URL is the load balancer's, so kubeconfigs and agent commands
 * point there. The admin's CLI is logged in through the load balancer.
 */
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { join } from 'node:path';
import { spawnServer, type ServerProcess } from '../e2e/identity-support.ts';
import { runCliForTest, type CliResult } from '../../src/testing/index.ts';
import { createPostgresDatabase } from './postgres.ts';
import { startHaproxy, type LoadBalancer } from './haproxy.ts';
import { freePort } from './ports.ts';
import { adminPassword, spawnAgent, type AgentProcess, type ClusterView, type Registration } from './drover.ts';
import { eventually } from './wait.ts';

export interface ReplicaSet {
  replicas: ServerProcess[];
  lb: LoadBalancer;
  dir: string;
  dbUrl: string;
  configPath: string;
  /** `drover …` as the admin (through the load balancer); throws with stderr on failure. */
  cli: (...argv: string[]) => Promise<string>;
  run: (...argv: string[]) => Promise<CliResult>;
  /** `drover …` as the admin, logged in to replica `i` itself (not the load balancer); throws with stderr on failure. */
  cliAt: (i: number, ...argv: string[]) => Promise<string>;
  /** An agent dialing `serverUrl` (default: the load balancer). */
  startAgent: (registration: Registration, kubeconfig: string, serverUrl?: string) => AgentProcess;
  /** Starts replica `i` again (same data dir and port) after it stopped or was killed. */
  restart: (i: number) => Promise<ServerProcess>;
  waitForState: (name: string, state: string, timeoutMs?: number) => Promise<ClusterView>;
  /** The addresses of the replicas holding a tunnel for the cluster, as the database records them. */
  tunnelHolders: (clusterId: string) => Promise<string[]>;
  stop: () => Promise<void>;
}

export async function startReplicaSet(count: number, options: { env?: NodeJS.ProcessEnv; /** More `drover server` flags for every replica. */ serverArgs?: string[] } = {}): Promise<ReplicaSet> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-replicas-'));
  const dbUrl = await createPostgresDatabase('replicas');
  const lbPort = await freePort();
  const env = { DROVER_BOOTSTRAP_PASSWORD: adminPassword, DROVER_CLUSTER_GRACE_MS: '1500', ...options.env };
  const args = ['--public-url', `https://127.0.0.1:${lbPort}`, ...(options.serverArgs ?? [])];
  const dataDir = (i: number): string => join(dir, `replica-${i + 1}`);
  const replicas: ServerProcess[] = [await spawnServer({ dataDir: dataDir(0), db: dbUrl, env, args })];
  for (let i = 1; i < count; i += 1) {
    cpSync(dataDir(0), dataDir(i), { recursive: true });
    replicas.push(await spawnServer({ dataDir: dataDir(i), db: dbUrl, env, args }));
  }
  const lb = await startHaproxy(replicas.map((r) => r.port), lbPort);
  const configPath = join(dir, 'cli-config.json');
  const run = (...argv: string[]): Promise<CliResult> => runCliForTest(argv, { configPath, env: {} });
  const cli = async (...argv: string[]): Promise<string> => {
    const result = await run(...argv);
    if (result.code !== 0) throw new Error(`drover ${argv.join(' ')} failed: ${result.stderr.trim()}`);
    return result.stdout;
  };
  await cli('login', lb.url, '--username', 'admin', '--password', adminPassword, '--ca-file', join(dataDir(0), 'ca.crt'));
  const agents: AgentProcess[] = [];
  const cliAt = async (i: number, ...argv: string[]): Promise<string> => {
    const replica = replicas[i];
    if (!replica) throw new Error(`no replica ${i}`);
    const at = join(dir, `replica${i + 1}-cli.json`);
    if (!existsSync(at)) {
      const login = await runCliForTest(['login', replica.url, '--username', 'admin', '--password', adminPassword, '--ca-file', join(dataDir(i), 'ca.crt')], { configPath: at, env: {} });
      if (login.code !== 0) throw new Error(`drover login (replica ${i + 1}) failed: ${login.stderr.trim()}`);
    }
    const result = await runCliForTest(argv, { configPath: at, env: {} });
    if (result.code !== 0) throw new Error(`drover ${argv.join(' ')} (replica ${i + 1}) failed: ${result.stderr.trim()}`);
    return result.stdout;
  };
  const set: ReplicaSet = {
    replicas, lb, dir, dbUrl, configPath, cli, run, cliAt,
    startAgent: (registration, kubeconfig, serverUrl = lb.url) => {
      const agent = spawnAgent(serverUrl, registration, kubeconfig);
      agents.push(agent);
      return agent;
    },
    restart: async (i) => {
      const old = replicas[i];
      if (!old) throw new Error(`no replica ${i}`);
      replicas[i] = await spawnServer({ dataDir: dataDir(i), db: dbUrl, env, args, port: old.port });
      return replicas[i];
    },
    waitForState: (name, state, timeoutMs = 60_000) => eventually(`${name} to be ${state}`, async () => {
      const c = JSON.parse(await cli('clusters', 'get', name, '-o', 'json')) as ClusterView;
      return c.state === state ? c : undefined;
    }, timeoutMs),
    tunnelHolders: async (clusterId) => {
      const client = new pg.Client({ connectionString: dbUrl });
      await client.connect();
      try {
        return (await client.query<{ address: string }>('select r.address from cluster_tunnels t join replicas r on r.id = t.replica_id where t.cluster_id = $1 and t.sessions > 0', [clusterId])).rows.map((r) => r.address);
      } finally {
        await client.end();
      }
    },
    stop: async () => {
      await Promise.all(agents.map((a) => a.stop()));
      await Promise.all(replicas.map((r) => r.stop()));
      await lb.stop();
    },
  };
  return set;
}
