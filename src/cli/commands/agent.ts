/** `drover agent`: the cluster and node agents (see src/agent/agent.ts). */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { Agent } from '../../agent/index.ts';
import { DroverError, InvalidArgumentError } from '../../errors/index.ts';
import { roleLogger } from './role-logger.ts';

export function agentCommand(deps: CliDeps): Command {
  return new Command('agent')
    .description('run the agent that connects a cluster to the Drover server (flags fall back to DROVER_* variables)')
    .option('--server <url>', 'Drover server URL ($DROVER_SERVER)')
    .option('--token <token>', 'the cluster\'s registration token ($DROVER_TOKEN; prefer the variable, a flag shows in ps)')
    .option('--ca-checksum <sha256>', 'hex SHA-256 of the server\'s /cacerts ($DROVER_CA_CHECKSUM)')
    .option('--kubeconfig <file>', 'run outside the cluster with this kubeconfig (default: the pod\'s service account)')
    .option('--mode <mode>', 'cluster (cattle-cluster-agent) or node (cattle-node-agent)', 'cluster')
    .action(async (opts: { server?: string; token?: string; caChecksum?: string; kubeconfig?: string; mode: string }) => {
      const server = opts.server ?? deps.env.DROVER_SERVER;
      const token = opts.token ?? deps.env.DROVER_TOKEN;
      if (!server) throw new InvalidArgumentError('--server', 'the Drover server URL (or DROVER_SERVER)');
      if (!token) throw new InvalidArgumentError('--token', 'the registration token (or DROVER_TOKEN)');
      if (opts.mode !== 'cluster' && opts.mode !== 'node') throw new InvalidArgumentError('--mode', '"cluster" or "node"', opts.mode);
      const caChecksum = opts.caChecksum ?? deps.env.DROVER_CA_CHECKSUM;
      const nodeName = deps.env.DROVER_NODE_NAME;
      const logger = roleLogger('agent', deps.env);
      const agent = new Agent({
        serverUrl: server, registrationToken: token, mode: opts.mode, env: deps.env, logger,
        ...(caChecksum ? { caChecksum } : {}), ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
        ...(nodeName ? { nodeName } : {}),
      });
      await agent.start();
      // Runs until signalled or until it stops by itself (token refused, cluster deleted);
      // the tunnel reconnects by itself meanwhile.
      const signalled = new Promise<undefined>((resolve) => {
        const stop = (): void => { void agent.close().then(() => resolve(undefined)); };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      const stopped = await Promise.race([signalled, agent.finished]);
      if (stopped?.error) throw new DroverError('DRV_ERR_UNAUTHENTICATED', stopped.message);
    });
}
