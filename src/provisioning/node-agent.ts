/**
 * The node agent's provisioning half (`drover agent --mode node --roles ...`):
 * register with the server, wait for the plan, then carry it out step by step,
 * reporting each step: fetch the binaries (checksums from the plan), write the
 * files, start each process and wait for its health check before the next.
 * Afterwards it keeps the processes running (supervisor.ts) and asks for the plan
 * again every 10 s, re-running it when it changed. The tunnel is held by the
 * ordinary Agent (src/agent), which the CLI starts with the plan's admin
 * kubeconfig once kube-apiserver answers.
 *
 * Trusts: the server, once its CA matches --ca-checksum; binaries only when their
 * SHA-256 is the planned one. Refuses: a data dir that already belongs to a node of
 * another cluster (one data dir, one node), an address that is not an IP.
 * Everything it installs stays under the data dir, so `uninstall` is removing it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import http from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logging/index.ts';
import { fetchPinnedCa, type TunnelHandlers } from '../tunnel/index.ts';
import { routeKey } from '../agent-protocol/index.ts';
import { snapshotRoute, takeSnapshot } from './etcd-snapshot.ts';
import { etcdDataDir, restoreEtcd } from './etcd-restore.ts';
import { etcdTlsOptions, joinEtcd, removeMembers } from './etcd-membership.ts';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';
import { NodeClient } from './node-client.ts';
import { freePorts } from './free-ports.ts';
import { Supervisor } from './supervisor.ts';
import { inDataDir, localArgs } from './kubelet-local.ts';
import {
  planChangedRoute, portNames, type HealthCheck, type NodePlan, type NodePorts, type NodeProgress, type PlanAnswer, type PlannedProcess, type Role, type StepState,
} from './plan.ts';

export interface NodeAgentOptions {
  serverUrl: string;
  token: string;
  caChecksum: string;
  dataDir: string;
  roles: Role[];
  nodeName: string;
  address: string;
  /** How to run `drover` itself (kube-api-auth runs beside kube-apiserver). */
  drover: { file: string; args: string[] };
  logger: Logger;
  /** How often the plan is asked for again once carried out (default 10 s). */
  replanMs?: number;
  /** The container runtime's socket the real kubelet uses (default: the plan's, containerd's usual one). */
  containerRuntimeEndpoint?: string | undefined;
}

/** What the data dir remembers about its node (and the last restore it carried out, which it never repeats). */
interface NodeState { nodeId: string; name: string; clusterId?: string; ports: NodePorts; restored?: string }

const healthTimeoutMs = 180_000;
const retryFailedMs = 15_000;

export class NodeAgent {
  private readonly dataDir: string;
  private client: NodeClient | undefined;
  private supervisor: Supervisor | undefined;
  private readonly progress: NodeProgress = { steps: [] };
  private reporting: Promise<void> = Promise.resolve();
  private current: NodePlan | undefined;
  private closed = false;
  /** The plan whose binaries are being fetched while the previous plan's processes still run. */
  private fetchingFor: string | undefined;
  private replanTimer: NodeJS.Timeout | undefined;
  private state: NodeState | undefined;
  private checking: Promise<void> | undefined;
  private onPlanChanged: ((plan: NodePlan) => void) | undefined;

  constructor(private readonly options: NodeAgentOptions) {
    if (!options.dataDir) throw new InvalidArgumentError('--data-dir', 'a directory for this node\'s binaries, certificates, state and logs');
    this.dataDir = resolve(options.dataDir);
  }

  /** Registers, waits for the plan and carries it out; resolves with the plan once every process is healthy. */
  async start(onPlanChanged?: (plan: NodePlan) => void): Promise<NodePlan> {
    const { options } = this;
    this.onPlanChanged = onPlanChanged;
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
    const state = await this.loadState();
    const caPem = await fetchPinnedCa(options.serverUrl, options.caChecksum);
    this.client = new NodeClient({ serverUrl: options.serverUrl, caPem, token: options.token, nodeName: state.name, nodeId: state.nodeId });
    const registered = await this.client.json<{ clusterId: string; clusterName: string }>('POST', '/register', {
      name: state.name, nodeId: state.nodeId, roles: options.roles, address: options.address, ports: state.ports,
      ...(state.clusterId ? { clusterId: state.clusterId } : {}),
    });
    if (!registered) throw new DroverError('DRV_ERR_BAD_GATEWAY', 'the server answered the registration with no body');
    if (state.clusterId && state.clusterId !== registered.clusterId) {
      throw new InvalidArgumentError('--token', `a token of the cluster this data dir's node belongs to (${state.clusterId}); it is for cluster "${registered.clusterName}" `
        + `(${registered.clusterId}). Use another --data-dir for a node of another cluster`);
    }
    await this.saveState({ ...state, clusterId: registered.clusterId });
    this.state = { ...state, clusterId: registered.clusterId };
    options.logger.info({ cluster: registered.clusterName, node: state.name, roles: options.roles }, 'node registered');
    this.supervisor = new Supervisor({
      dataDir: this.dataDir,
      command: (p) => (p.binary === 'drover' ? { file: options.drover.file, args: [...options.drover.args, ...p.args] } : { file: this.binaryPath(p.binary), args: localArgs(p, { dataDir: this.dataDir, containerRuntimeEndpoint: options.containerRuntimeEndpoint }) }),
      onExit: (name, how, retryInMs) => {
        const what = `exited (${how}); restarting in ${Math.round(retryInMs / 1000)} s; see ${this.supervisor?.logFile(name) ?? 'its log'}`;
        // An old process that exits while the new plan's binaries are fetched is about to be replaced: not a step of the new plan.
        if (this.fetchingFor) options.logger.warn({ process: name, plan: this.fetchingFor }, `a process of the previous plan ${what}`);
        else this.step(name, 'failed', what);
      },
    });
    this.supervisor.killLeftovers();
    for (;;) {
      const plan = await this.waitForPlan();
      try {
        await this.carryOut(plan);
        this.scheduleReplan();
        return plan;
      } catch (error) {
        // The failed step is reported (the server shows it); the plan may be fixed meanwhile, so ask again.
        if (this.closed) throw error;
        options.logger.error({ error: error instanceof Error ? error.message : String(error), retryInMs: retryFailedMs }, 'the plan failed; retrying');
        await sleep(retryFailedMs);
      }
    }
  }

  /** Stops every process (the data dir stays). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.replanTimer);
    await this.supervisor?.stopAll();
    await this.reporting;
  }

  /** Stops every process and removes everything this node installed (the whole data dir). */
  async uninstall(): Promise<void> {
    await this.close();
    await rm(this.dataDir, { recursive: true, force: true });
    this.options.logger.info({ dataDir: this.dataDir }, 'node uninstalled: processes stopped, data dir removed');
  }

  /** The routes this node answers on its tunnel session: an etcd snapshot from its own member, and "your plan changed". */
  handlers(): TunnelHandlers {
    return {
      [routeKey(planChangedRoute)]: () => {
        void this.checkPlan();
        return Promise.resolve({ status: 202, body: 'checking the plan now' });
      },
      [routeKey(snapshotRoute)]: async () => {
        const health = this.current?.processes.find((p) => p.name === 'etcd')?.health;
        if (health?.kind !== 'https') return { status: 404, body: 'this node runs no etcd member: take the snapshot through a node with the etcd role' };
        try {
          return { headers: { 'content-type': 'application/octet-stream' }, body: await takeSnapshot(this.dataDir, health) };
        } catch (error) {
          return { status: 502, body: error instanceof Error ? error.message : String(error) };
        }
      },
    };
  }

  binaryPath(name: string, version = this.current?.version ?? 'none'): string {
    return join(this.dataDir, 'bin', version, name);
  }

  private async waitForPlan(): Promise<NodePlan> {
    for (;;) {
      const answer = await this.client?.json<PlanAnswer>('GET', '/plan');
      if (answer?.kind === 'plan') return answer.plan;
      this.step('plan', 'running', answer?.reason ?? 'the server sent no plan');
      if (this.closed) throw new DroverError('DRV_ERR_SESSION_CLOSED', 'the node agent stopped before it got a plan');
      await sleep(2_000);
    }
  }

  private async carryOut(plan: NodePlan): Promise<void> {
    const supervisor = this.supervisor as Supervisor;
    const restore = plan.restore && this.state?.restored !== plan.restore.id ? plan.restore : undefined;
    // A new plan, a new list of steps: plan, binaries, files, the restore if any, then one per process.
    this.progress.planId = plan.id;
    this.progress.total = 3 + (restore ? 1 : 0) + plan.processes.length;
    this.progress.steps = [];
    this.step('plan', 'done', `plan ${plan.id} for Kubernetes ${plan.version}`);
    // Fetched while the old processes still serve (an upgrade's new version is a new folder): they stop only for the files and the restart.
    this.fetchingFor = plan.id;
    await this.run('binaries', async () => {
      await mkdir(join(this.dataDir, 'bin', plan.version), { recursive: true });
      for (const binary of plan.binaries) {
        const file = this.binaryPath(binary.name, plan.version);
        if (existsSync(file) && (await sha256Of(file)) === binary.sha256) continue;
        await this.client?.download(`/binaries/${plan.version}/${binary.name}`, file, binary.sha256);
        await chmod(file, 0o755);
      }
      return `${plan.binaries.map((b) => b.name).join(', ')} checked against their planned SHA-256`;
    }).finally(() => { this.fetchingFor = undefined; });
    const stopping = Date.now();
    const stops = await supervisor.stopAll();
    const killed = stops.filter((p) => p.killed).map((p) => p.name);
    const each = stops.map((p) => `${p.name} ${(p.ms / 1000).toFixed(1)}`).join(', ');
    const stopped = `previous processes stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s${each ? ` (${each})` : ''}${killed.length > 0 ? `; ${killed.join(', ')} killed after the SIGTERM grace` : ''}`;
    this.current = plan;
    await this.run('files', async () => {
      for (const file of plan.files) {
        const path = this.inDataDir(file.path);
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        await writeFile(path, file.content, { mode: file.mode });
        await chmod(path, file.mode);
      }
      for (const dir of [etcdDataDir, 'var/lib/kubelet']) await mkdir(join(this.dataDir, dir), { recursive: true, mode: 0o700 });
      return `${stopped}; ${plan.files.length} files under ${join(this.dataDir, 'etc/kubernetes')}${await this.setAsideEtcdIfLeft(plan)}`;
    });
    // Every process is stopped by now: etcd's data can be swapped.
    const state = this.state;
    if (restore && state) {
      await this.run('etcd-restore', async () => {
        const done = await restoreEtcd({
          dataDir: this.dataDir, etcdutl: this.binaryPath('etcdutl'), restore,
          // A snapshot holds every Secret of the cluster: readable by the node's user only.
          download: async (path, file, sha256) => this.client?.download(path, file, sha256, 0o600),
        });
        this.state = { ...state, restored: restore.id };
        await this.saveState(this.state);
        return done;
      });
    }
    for (const process of plan.processes) {
      // Stopped meanwhile (close stops what runs): start nothing more, or it would outlive the agent.
      if (this.closed) throw new DroverError('DRV_ERR_SESSION_CLOSED', `the node agent stopped while carrying out plan ${plan.id}`);
      await this.run(process.name, async () => {
        supervisor.start(await this.withEtcdMembership(plan, process));
        await this.healthy(process.name, process.health);
        return `running (${process.health.kind === 'running' ? 'started' : `healthy at ${process.health.url}`})${await this.removeFormerMembers(plan, process)}`;
      });
    }
  }

  /**
   * A joining etcd member's first start: added to the running cluster first, and told
   * who its members are. Once its data dir holds a member, etcd ignores these flags.
   */
  private async withEtcdMembership(plan: NodePlan, process: PlannedProcess): Promise<PlannedProcess> {
    if (process.name !== 'etcd' || !plan.etcdJoin || existsSync(join(this.dataDir, etcdDataDir, 'member')) || process.health.kind !== 'https') return process;
    const log = (message: string): void => this.step('etcd', 'running', message);
    const flag = await joinEtcd(plan.etcdJoin, etcdTlsOptions(this.dataDir, process.health), { deadlineMs: Date.now() + healthTimeoutMs, stopped: () => this.closed, log });
    return { ...process, args: [...process.args, flag] };
  }

  /** Once its member is healthy, an etcd node removes the members of nodes that left the etcd role (their nodes run no etcd any more). */
  private async removeFormerMembers(plan: NodePlan, process: PlannedProcess): Promise<string> {
    if (process.name !== 'etcd' || process.health.kind !== 'https' || !plan.etcdFormerMembers) return '';
    try {
      const removed = await removeMembers(new URL(process.health.url).origin, plan.etcdFormerMembers, etcdTlsOptions(this.dataDir, process.health));
      return removed.length > 0 ? `; removed the etcd members of nodes that left the etcd role: ${removed.join(', ')}` : '';
    } catch (error) {
      // Not fatal: the next plan run tries again; meanwhile the quorum counts a member that does not run.
      return `; could not remove the etcd members of nodes that left the etcd role (${error instanceof Error ? error.message : String(error)})`;
    }
  }

  /**
   * A node that left the etcd role sets its member's data aside (its member is removed
   * by the others): should it take the role again, it joins as a new member.
   */
  private async setAsideEtcdIfLeft(plan: NodePlan): Promise<string> {
    if (plan.processes.some((p) => p.name === 'etcd') || !existsSync(join(this.dataDir, etcdDataDir, 'member'))) return '';
    const aside = `${etcdDataDir}.left-${Date.now()}`;
    await rename(join(this.dataDir, etcdDataDir), join(this.dataDir, aside));
    return `; this node left the etcd role: its member's data is set aside in ${aside}`;
  }

  /** Runs one step, reporting it running, then done or failed (and rethrowing). */
  private async run(step: string, work: () => Promise<string>): Promise<void> {
    // Stopped while a plan was being carried out: start nothing more (close() stopped what ran).
    if (this.closed) throw new DroverError('DRV_ERR_SESSION_CLOSED', `the node agent stopped before step ${step}`);
    this.step(step, 'running');
    try {
      this.step(step, 'done', await work());
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.step(step, 'failed', message);
      throw new DroverError('DRV_ERR_PROVISIONING_FAILED', `step ${step} failed: ${message}`);
    }
  }

  private async healthy(name: string, check: HealthCheck): Promise<void> {
    const supervisor = this.supervisor as Supervisor;
    const deadline = Date.now() + healthTimeoutMs;
    for (;;) {
      if (this.closed) throw new DroverError('DRV_ERR_SESSION_CLOSED', `the node agent stopped while waiting for ${name} to be healthy`);
      const exited = supervisor.exited(name);
      if (exited) throw new DroverError('DRV_ERR_PROVISIONING_FAILED', `${exited}; last lines: ${tail(supervisor.logFile(name))}`);
      if (check.kind === 'running') {
        // Give a process that dies at once (bad flag, port taken) the chance to show it.
        await sleep(1_000);
        const late = supervisor.exited(name);
        if (late) throw new DroverError('DRV_ERR_PROVISIONING_FAILED', `${late}; last lines: ${tail(supervisor.logFile(name))}`);
        return;
      }
      if (await this.probe(check)) return;
      if (Date.now() > deadline) {
        throw new DroverError('DRV_ERR_PROVISIONING_FAILED', `${name} did not pass its health check (${check.url}) within ${healthTimeoutMs / 1000} s; last lines: ${tail(supervisor.logFile(name))}`);
      }
      await sleep(500);
    }
  }

  private probe(check: Exclude<HealthCheck, { kind: 'running' }>): Promise<boolean> {
    return new Promise((done) => {
      const onResponse = (res: http.IncomingMessage): void => { res.resume(); done(res.statusCode === 200); };
      const req = check.kind === 'http'
        ? http.get(check.url, { timeout: 3_000 }, onResponse)
        : https.get(check.url, {
          timeout: 3_000, rejectUnauthorized: check.insecure !== true,
          ...(check.caFile ? { ca: readFileSync(this.inDataDir(check.caFile)) } : {}),
          ...(check.certFile ? { cert: readFileSync(this.inDataDir(check.certFile)) } : {}),
          ...(check.keyFile ? { key: readFileSync(this.inDataDir(check.keyFile)) } : {}),
        }, onResponse);
      req.on('timeout', () => req.destroy());
      req.on('error', () => done(false));
    });
  }

  private scheduleReplan(): void {
    if (this.closed) return;
    this.replanTimer = setTimeout(() => void this.checkPlan().then(() => this.scheduleReplan()), this.options.replanMs ?? 10_000);
    this.replanTimer.unref();
  }

  /** Asks for the plan and carries out a changed one; one check at a time (the timer's and the server's nudge share it). */
  private checkPlan(): Promise<void> {
    this.checking ??= (async () => {
      try {
        const answer = await this.client?.json<PlanAnswer>('GET', '/plan');
        if (answer?.kind === 'plan' && answer.plan.id !== this.current?.id && !this.closed) {
          this.options.logger.info({ plan: answer.plan.id }, 'the plan changed; carrying out the new one');
          await this.carryOut(answer.plan);
          this.onPlanChanged?.(answer.plan);
        }
      } catch (error) {
        this.options.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'could not check the plan; retrying');
      } finally {
        this.checking = undefined;
      }
    })();
    return this.checking;
  }

  /** Records a step and sends the whole progress (in order, one report at a time). */
  private step(step: string, state: StepState, message?: string): void {
    const entry = { step, state, at: new Date().toISOString(), ...(message ? { message } : {}) };
    const index = this.progress.steps.findIndex((s) => s.step === step);
    if (index >= 0) this.progress.steps[index] = entry;
    else this.progress.steps.push(entry);
    const log = state === 'failed' ? 'error' : 'info';
    this.options.logger[log]({ step, state, message }, 'provisioning step');
    const snapshot = structuredClone(this.progress);
    this.reporting = this.reporting.then(() => this.client?.json('POST', '/progress', snapshot)).then(() => undefined, (error: unknown) => {
      this.options.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'could not report progress');
    });
  }

  /** A plan path under the data dir; anything that would leave it is refused. */
  private inDataDir(path: string): string {
    return inDataDir(this.dataDir, path);
  }

  private stateFile(): string {
    return join(this.dataDir, 'node.json');
  }

  private async loadState(): Promise<NodeState> {
    if (existsSync(this.stateFile())) {
      const state = JSON.parse(readFileSync(this.stateFile(), 'utf8')) as NodeState;
      if (state.name !== this.options.nodeName) {
        throw new InvalidArgumentError('--node-name', `the name this data dir's node registered with ("${state.name}")`, this.options.nodeName);
      }
      return state;
    }
    const ports: NodePorts = await freePorts(this.options.address, portNames);
    const state: NodeState = { nodeId: randomBytes(16).toString('hex'), name: this.options.nodeName, ports };
    await this.saveState(state);
    return state;
  }

  private async saveState(state: NodeState): Promise<void> {
    await writeFile(this.stateFile(), JSON.stringify(state, null, 2), { mode: 0o600 });
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ').slice(-1500);
  } catch {
    return '(no log)';
  }
}
