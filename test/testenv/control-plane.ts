/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver and
 * kube-controller-manager, built from k8s.io/kubernetes by test/kube/build.sh.
 *
 * Why all three: Drover relies on namespaces that finish deleting, owner-reference
 * garbage collection, filled service-account token Secrets and aggregated roles,
 * and only the controller-manager provides those.
 *
 * Each control plane lives in its own directory: its state (etcd data, keys,
 * certificates), its logs, and `testenv.json`, which records the processes so that
 * another process (`npm run testenv -- down DIR`) can stop it. Processes run
 * detached in their own process groups, so a control plane outlives the command
 * that started it until it is stopped.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { kubeBinaries } from './binaries.ts';
import { freePorts } from './ports.ts';
import { waitFor } from './wait.ts';
import { adminKubeconfig, webhookKubeconfig } from './kubeconfig-files.ts';
import { kubeGet } from './kube-http.ts';
import { signalGroup, stopGroup } from './processes.ts';

export interface ControlPlaneOptions {
  /** Directory for state and logs; created if missing. */
  dir: string;
  /** URL kube-apiserver calls for TokenReview (`--authentication-token-webhook-config-file`). */
  tokenWebhook?: string;
  /** Reports progress lines (defaults to stderr). */
  progress?: (line: string) => void;
  /** Have kube-apiserver write its own audit log (every request at Metadata) to `<dir>/audit.log`. */
  auditLog?: boolean;
}

/** What `testenv.json` records: everything a test needs to reach the control plane. */
export interface ControlPlaneState {
  dir: string;
  version: string;
  /** https://127.0.0.1:<port> */
  url: string;
  /** PEM bundle that verifies kube-apiserver's serving certificate. */
  caPem: string;
  /** Static token of user `admin` in group `system:masters`. */
  adminToken: string;
  kubeconfigPath: string;
  etcdUrl: string;
  tokenWebhook?: string;
  /** kube-apiserver's audit log (`--audit-log-path`), when started with `auditLog`. */
  auditLogPath?: string;
  pids: { etcd: number; apiserver: number; controllerManager: number };
  startedAt: string;
  startupMs: number;
}

const stateFile = (dir: string): string => join(dir, 'testenv.json');
const readyTimeoutMs = 180_000;

/** Starts a control plane in `dir` and resolves once it serves requests. */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlaneState> {
  const dir = resolve(options.dir);
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (existsSync(stateFile(dir))) {
    throw new Error(`a control plane is already recorded in ${dir}; run 'npm run testenv -- down ${dir}' first`);
  }
  // Two control planes starting at once can race for the same free port: retry.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(dir, options.tokenWebhook, progress, options.auditLog === true);
    } catch (error) {
      await stopControlPlane(dir).catch(() => undefined);
      if (attempt >= 3 || !(error instanceof PortInUseError)) throw error;
      progress(`testenv: a port was taken while starting (${error.message}); retrying`);
    }
  }
}

class PortInUseError extends Error {}

async function startOnce(
  dir: string,
  tokenWebhook: string | undefined,
  progress: (line: string) => void,
  auditLog: boolean,
): Promise<ControlPlaneState> {
  const started = Date.now();
  const bins = await kubeBinaries(progress);
  const pki = join(dir, 'pki');
  await mkdir(pki, { recursive: true });

  const { etcd: etcdPort, etcdPeer: etcdPeerPort, api: apiPort } = await freePorts('127.0.0.1', ['etcd', 'etcdPeer', 'api']);
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const url = `https://127.0.0.1:${apiPort}`;
  const adminToken = randomBytes(24).toString('hex');

  const saKey = join(pki, 'sa.key');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const tokensCsv = join(pki, 'tokens.csv');
  await writeFile(tokensCsv, `${adminToken},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });

  progress(`testenv: starting etcd on ${etcdUrl}`);
  const etcd = launch(dir, 'etcd', bins.etcd, [
    '--name=default',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
    `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ]);
  const pids = { etcd: etcd.pid, apiserver: 0, controllerManager: 0 };
  await writeState(dir, { pids });
  await waitFor('etcd health', 30_000, etcd.exited, async () => {
    const res = await fetch(`${etcdUrl}/health`).catch(() => undefined);
    return res?.ok === true && ((await res.json()) as { health?: string }).health === 'true';
  }, () => logTail(dir, 'etcd'));

  const apiArgs = [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--cert-dir=${pki}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    // The apiserver would publish 127.0.0.1 as the `kubernetes` Service endpoint,
    // which validation refuses; nothing in the tests needs that endpoint.
    '--endpoint-reconciler-type=none',
    '--authorization-mode=RBAC',
    `--token-auth-file=${tokensCsv}`,
    `--service-account-issuer=${url}`,
    `--service-account-key-file=${saKey}`,
    `--service-account-signing-key-file=${saKey}`,
    '--allow-privileged=true',
    // On (kube-apiserver's default): /debug/pprof answers with a redirect, the one a
    // stock apiserver gives, which the proxy tests need to show redirects pass back.
    '--profiling=true',
    '--v=1',
  ];
  if (tokenWebhook) {
    const config = join(pki, 'authn-webhook.kubeconfig');
    await writeFile(config, webhookKubeconfig(tokenWebhook));
    apiArgs.push(
      `--authentication-token-webhook-config-file=${config}`,
      '--authentication-token-webhook-version=v1',
      // Revocation tests need every request to reach the webhook.
      '--authentication-token-webhook-cache-ttl=0s',
    );
  }
  const auditLogPath = auditLog ? join(dir, 'audit.log') : undefined;
  if (auditLogPath) {
    const policy = join(pki, 'audit-policy.yaml');
    await writeFile(policy, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n');
    apiArgs.push(`--audit-policy-file=${policy}`, `--audit-log-path=${auditLogPath}`, '--audit-log-format=json');
  }
  progress(`testenv: starting kube-apiserver on ${url}`);
  const apiserver = launch(dir, 'kube-apiserver', bins.kubeApiserver, apiArgs);
  pids.apiserver = apiserver.pid;
  await writeState(dir, { pids });

  const servingCert = join(pki, 'apiserver.crt');
  await waitFor('kube-apiserver /readyz', readyTimeoutMs, apiserver.exited, async () => {
    if (!existsSync(servingCert)) return false;
    const ca = await readFile(servingCert, 'utf8');
    const res = await kubeGet({ url, caPem: ca, token: adminToken }, '/readyz').catch(() => undefined);
    return res?.status === 200;
  }, async () => portConflict(await logTail(dir, 'kube-apiserver')));
  const caPem = await readFile(servingCert, 'utf8');
  const cluster = { url, caPem, token: adminToken };
  // /readyz can pass before the post-start hooks have created `default`.
  await waitFor('namespace default', 60_000, apiserver.exited, async () =>
    (await kubeGet(cluster, '/api/v1/namespaces/default')).status === 200);

  const kubeconfigPath = join(dir, 'admin.kubeconfig');
  await writeFile(kubeconfigPath, adminKubeconfig({ url, caPem, token: adminToken, name: 'testenv' }), { mode: 0o600 });

  progress('testenv: starting kube-controller-manager');
  const controllerManager = launch(dir, 'kube-controller-manager', bins.kubeControllerManager, [
    `--kubeconfig=${kubeconfigPath}`,
    '--leader-elect=false',
    '--use-service-account-credentials=false',
    `--service-account-private-key-file=${saKey}`,
    `--root-ca-file=${servingCert}`,
    '--controllers=serviceaccount-token-controller,serviceaccount-controller,namespace-controller,' +
      'garbage-collector-controller,clusterrole-aggregation-controller,root-ca-certificate-publisher-controller,' +
      'deployment-controller,replicaset-controller',
    '--bind-address=127.0.0.1',
    '--secure-port=0',
    '--v=1',
  ]);
  pids.controllerManager = controllerManager.pid;
  await writeState(dir, { pids });
  // The controller-manager is working once it has created the default account.
  await waitFor('kube-controller-manager (default ServiceAccount)', 60_000, controllerManager.exited, async () =>
    (await kubeGet(cluster, '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
  () => logTail(dir, 'kube-controller-manager'));

  const state: ControlPlaneState = {
    dir, version: bins.version, url, caPem, adminToken, kubeconfigPath, etcdUrl, pids,
    startedAt: new Date(started).toISOString(), startupMs: Date.now() - started,
    ...(tokenWebhook ? { tokenWebhook } : {}),
    ...(auditLogPath ? { auditLogPath } : {}),
  };
  await writeFile(stateFile(dir), JSON.stringify(state, null, 2), { mode: 0o600 });
  progress(`testenv: control plane ready in ${(state.startupMs / 1000).toFixed(1)}s; kubeconfig ${kubeconfigPath}`);
  return state;
}

function portConflict(tail: string): string {
  if (/address already in use/i.test(tail)) throw new PortInUseError('kube-apiserver: address already in use');
  return tail;
}

/** Reads the state of a running control plane. */
export async function readControlPlane(dir: string): Promise<ControlPlaneState> {
  const text = await readFile(stateFile(resolve(dir)), 'utf8').catch(() => {
    throw new Error(`no control plane is recorded in ${dir} (no testenv.json); start one with 'npm run testenv -- up ${dir}'`);
  });
  const state = JSON.parse(text) as Partial<ControlPlaneState>;
  if (!state.url || !state.caPem) throw new Error(`control plane in ${dir} did not finish starting; stop it and start again`);
  return state as ControlPlaneState;
}

/**
 * Stops the processes recorded in `dir` (controller-manager and apiserver before
 * etcd, each SIGTERM then SIGKILL) and removes the state, keeping the logs.
 */
export async function stopControlPlane(dir: string): Promise<void> {
  dir = resolve(dir);
  const text = await readFile(stateFile(dir), 'utf8').catch(() => undefined);
  if (text === undefined) return;
  const { pids } = JSON.parse(text) as Pick<ControlPlaneState, 'pids'>;
  for (const pid of [pids.controllerManager, pids.apiserver, pids.etcd]) {
    if (pid) await stopGroup(pid);
  }
  await Promise.all(['etcd', 'pki', 'admin.kubeconfig', 'testenv.json'].map((name) =>
    rm(join(dir, name), { recursive: true, force: true })));
}

/** Synchronously kills the process groups recorded in `dir`, for `process.on('exit')`. */
export function killControlPlaneSync(state: Pick<ControlPlaneState, 'pids'>): void {
  for (const pid of Object.values(state.pids)) signalGroup(pid, 'SIGKILL');
}

interface Launched { pid: number; exited: () => string | undefined }

function launch(dir: string, name: string, bin: string, args: string[]): Launched {
  const log = openSync(join(dir, `${name}.log`), 'a');
  const child = spawn(bin, args, { cwd: dir, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  let exit: string | undefined;
  child.on('exit', (code, signal) => { exit = `${name} exited (${signal ?? `code ${code}`}); see ${join(dir, `${name}.log`)}`; });
  child.on('error', (error) => { exit = `${name} could not start: ${error.message}`; });
  child.unref();
  if (child.pid === undefined) throw new Error(`${name} could not start from ${bin}`);
  return { pid: child.pid, exited: () => exit };
}

async function logTail(dir: string, name: string): Promise<string> {
  const file = join(dir, `${name}.log`);
  if (!(await stat(file).catch(() => undefined))) return '';
  return (await readFile(file, 'utf8')).split('\n').slice(-25).join('\n');
}

async function writeState(dir: string, partial: Partial<ControlPlaneState>): Promise<void> {
  await writeFile(stateFile(dir), JSON.stringify({ dir, ...partial }, null, 2), { mode: 0o600 });
}
