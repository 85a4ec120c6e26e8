/** `drover kubeconfig CLUSTER [--file F] [--ttl SECONDS]`: a kubeconfig for one cluster through the proxy. */
import { writeFileSync, chmodSync } from 'node:fs';
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { DURATION_HINT, durationOption } from '../../shared/duration.ts';
import { namingFlags } from '../flag-errors.ts';

export function kubeconfigCommand(deps: CliDeps): Command {
  return new Command('kubeconfig')
    .description('print (or write) a kubeconfig for CLUSTER that goes through Drover with a new cluster-scoped token')
    .argument('<cluster>', 'cluster id or name')
    .option('--file <path>', 'write to this file (mode 0600) instead of stdout')
    .option('--ttl <duration>', `token lifetime: ${DURATION_HINT}; the server caps it`)
    .action(async (cluster: string, opts: { file?: string; ttl?: string }) => {
      let query = '';
      if (opts.ttl !== undefined) query = `?ttlSeconds=${durationOption('--ttl', opts.ttl)}`;
      const answer = await namingFlags({ ttlSeconds: '--ttl' }, withClient(deps, (client) =>
        client.request<{ kubeconfig: string; aceContexts?: string[] }>('GET', `/v1/clusters/${encodeURIComponent(cluster)}/kubeconfig${query}`)));
      if (opts.file) {
        writeFileSync(opts.file, answer.kubeconfig, { mode: 0o600 });
        chmodSync(opts.file, 0o600);
        deps.stderr.write(`wrote ${opts.file}\n`);
      } else {
        deps.stdout.write(answer.kubeconfig);
      }
      const ace = answer.aceContexts ?? [];
      if (ace.length > 0) {
        // stderr, so `drover kubeconfig C > file` still writes a clean kubeconfig.
        deps.stderr.write(`also contains direct (authorized cluster endpoint) contexts: ${ace.join(', ')}; switch with "kubectl config use-context ${ace[0] ?? ''}"\n`);
      }
    });
}
