/** `drover agent`: the cluster and node agents (see src/agent/agent.ts and, with --roles, src/provisioning/node-agent.ts). */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { Agent, type AgentStop } from '../../agent/index.ts';
import { DroverError, InvalidArgumentError } from '../../errors/index.ts';
import type { Logger } from '../../logging/index.ts';
import { roleLogger } from './role-logger.ts';

interface AgentFlags {
  server?: string; token?: string; caChecksum?: string; kubeconfig?: string; mode: string;
  roles?: string; dataDir?: string; nodeName?: string; address?: string; containerRuntimeEndpoint?: string;
}

export function agentCommand(deps: CliDeps): Command {
  return new Command('agent')
    .description('run the agent that connects a cluster to the Drover server (flags fall back to DROVER_* variables)')
    .option('--server <url>', 'Drover server URL ($DROVER_SERVER)')
    .option('--token <token>', 'the cluster\'s registration token ($DROVER_TOKEN; prefer the variable, a flag shows in ps)')
    .option('--ca-checksum <sha256>', 'hex SHA-256 of the server\'s /cacerts ($DROVER_CA_CHECKSUM)')
    .option('--kubeconfig <file>', 'run outside the cluster with this kubeconfig (default: the pod\'s service account)')
    .option('--mode <mode>', 'cluster (cattle-cluster-agent) or node (cattle-node-agent)', 'cluster')
    .option('--roles <roles>', 'node mode, provisioned cluster: what this machine runs, a subset of etcd,controlplane,worker')
    .option('--data-dir <dir>', 'with --roles: where this node keeps binaries, certificates, state and logs')
    .option('--node-name <name>', 'with --mode node: the node\'s name ($DROVER_NODE_NAME; default: the host name)')
    .option('--address <ip>', 'with --roles: the address other nodes and direct clients reach this node at', '127.0.0.1')
    .option('--container-runtime-endpoint <url>', 'with --roles worker: the container runtime\'s socket the kubelet uses (default unix:///run/containerd/containerd.sock)')
    .action(async (opts: AgentFlags) => {
      const server = opts.server ?? deps.env.DROVER_SERVER;
      const token = opts.token ?? deps.env.DROVER_TOKEN;
      if (!server) throw new InvalidArgumentError('--server', 'the Drover server URL (or DROVER_SERVER)');
      if (!token) throw new InvalidArgumentError('--token', 'the registration token (or DROVER_TOKEN)');
      if (opts.mode !== 'cluster' && opts.mode !== 'node') throw new InvalidArgumentError('--mode', '"cluster" or "node"', opts.mode);
      const caChecksum = opts.caChecksum ?? deps.env.DROVER_CA_CHECKSUM;
      const nodeName = opts.nodeName ?? deps.env.DROVER_NODE_NAME;
      const logger = roleLogger('agent', deps.env);
      const common = { serverUrl: server, registrationToken: token, logger, ...(caChecksum ? { caChecksum } : {}) };
      if (opts.roles !== undefined) {
        await runNodeAgent(opts, { ...common, nodeName: nodeName ?? hostname(), env: deps.env });
        return;
      }
      const agent = new Agent({ ...common, mode: opts.mode, env: deps.env, ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(nodeName ? { nodeName } : {}) });
      await agent.start();
      const stopped = await untilStopped(agent.finished, () => agent.close());
      if (stopped?.error) throw new DroverError('DRV_ERR_UNAUTHENTICATED', stopped.message);
    });
}

/**
 * A node of a provisioned cluster: the node agent builds its part of the cluster,
 * then (on control-plane nodes) the ordinary agent holds the tunnel with the
 * plan's admin kubeconfig. Told that its cluster was deleted, it uninstalls.
 */
async function runNodeAgent(opts: AgentFlags, common: { serverUrl: string; registrationToken: string; caChecksum?: string; logger: Logger; nodeName: string; env: NodeJS.ProcessEnv }): Promise<void> {
  if (opts.mode !== 'node') throw new InvalidArgumentError('--mode', '"node" with --roles', opts.mode);
  if (opts.kubeconfig) throw new InvalidArgumentError('--kubeconfig', 'nothing with --roles: the node agent builds the cluster and writes its own');
  if (!opts.dataDir) throw new InvalidArgumentError('--data-dir', 'a directory for this node (binaries, certificates, state, logs)');
  if (!common.caChecksum) throw new InvalidArgumentError('--ca-checksum', 'the server CA\'s SHA-256: a node agent trusts nothing else');
  const dataDir = resolve(opts.dataDir);
  // Loaded here, not at the top: provisioning/ (its server side included) is most of
  // a heap a cluster agent does not need, and every full GC of the agent marks it all.
  const { NodeAgent, parseRoles } = await import('../../provisioning/index.ts');
  const nodeAgent = new NodeAgent({
    serverUrl: common.serverUrl, token: common.registrationToken, caChecksum: common.caChecksum, dataDir, roles: parseRoles(opts.roles ?? ''),
    nodeName: common.nodeName, address: opts.address ?? '127.0.0.1', drover: droverItself(), logger: common.logger,
    containerRuntimeEndpoint: opts.containerRuntimeEndpoint,
  });
  const plan = await nodeAgent.start();
  const agent = plan.tunnel ? new Agent({ ...common, mode: 'node', kubeconfig: join(dataDir, plan.tunnel.kubeconfig), handlers: nodeAgent.handlers() }) : undefined;
  await agent?.start();
  const stopped = await untilStopped(agent?.finished ?? new Promise<AgentStop>(() => undefined), async () => {
    // A graceful tunnel close waits for open streams (watches never end): bounded, then the processes stop.
    await Promise.race([agent?.close(), new Promise((r) => setTimeout(r, 3_000).unref())]);
    await nodeAgent.close();
  });
  if (stopped && !stopped.error) await nodeAgent.uninstall();
  else if (stopped) {
    await nodeAgent.close();
    throw new DroverError('DRV_ERR_UNAUTHENTICATED', stopped.message);
  }
}

/** How a child runs this very program (kube-api-auth beside kube-apiserver), whatever the child's working directory. */
function droverItself(): { file: string; args: string[] } {
  const execArgv = process.execArgv.map((arg, i, all) => (all[i - 1] === '--import' && !/^(file:|\/)/.test(arg) ? import.meta.resolve(arg) : arg));
  return { file: process.execPath, args: [...execArgv, process.argv[1] ?? 'drover'] };
}

/** Runs until signalled (then `close`) or until the agent stops by itself; resolves with why it stopped by itself. */
async function untilStopped(finished: Promise<AgentStop>, close: () => Promise<void>): Promise<AgentStop | undefined> {
  const signalled = new Promise<undefined>((resolveSignal) => {
    const stop = (): void => { void close().then(() => resolveSignal(undefined)); };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return Promise.race([signalled, finished]);
}
