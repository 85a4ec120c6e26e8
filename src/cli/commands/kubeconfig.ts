/**
 * `drover kubeconfig CLUSTER [--file F] [--ttl DURATION]`: a kubeconfig for one cluster
 * through the proxy; `drover kubeconfig --all`: one kubeconfig with a context per
 * cluster the user can use (and their ACE contexts), like `tsh kube login --all`.
 */
import { writeFileSync, chmodSync } from 'node:fs';
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { DURATION_HINT, durationOption } from '../../durations/index.ts';
import { InvalidArgumentError } from '../../errors/index.ts';
import { namingFlags } from '../flag-errors.ts';
import type { Kubeconfig, MergedKubeconfig } from '../../api-types/index.ts';

function deliver(deps: CliDeps, answer: Pick<Kubeconfig, 'kubeconfig'>, file: string | undefined): void {
  if (file) {
    writeFileSync(file, answer.kubeconfig, { mode: 0o600 });
    chmodSync(file, 0o600);
    deps.stderr.write(`wrote ${file}\n`);
  } else {
    deps.stdout.write(answer.kubeconfig);
  }
}

export function kubeconfigCommand(deps: CliDeps): Command {
  return new Command('kubeconfig')
    .description('print (or write) a kubeconfig that goes through Drover with new cluster-scoped tokens: for CLUSTER, or with --all for every cluster you can use')
    .argument('[cluster]', 'cluster id or name')
    .option('--all', 'one kubeconfig with a context per cluster you can use (plus ACE contexts); the first Active cluster is current')
    .option('--file <path>', 'write to this file (mode 0600) instead of stdout')
    .option('--ttl <duration>', `token lifetime: ${DURATION_HINT}; the server caps it`)
    .action(async (cluster: string | undefined, opts: { all?: boolean; file?: string; ttl?: string }) => {
      if ((cluster === undefined) === (opts.all !== true)) throw new InvalidArgumentError('kubeconfig', 'either a CLUSTER or --all', cluster);
      const query = opts.ttl === undefined ? '' : `?ttlSeconds=${durationOption('--ttl', opts.ttl)}`;
      const get = <T>(path: string): Promise<T> => namingFlags({ ttlSeconds: '--ttl' }, withClient(deps, (client) => client.request<T>('GET', path)));
      // Notes go to stderr, so `drover kubeconfig … > file` still writes a clean kubeconfig.
      if (cluster === undefined) {
        const merged = await get<MergedKubeconfig>(`/v1/kubeconfig${query}`);
        deliver(deps, merged, opts.file);
        deps.stderr.write(`contexts: ${merged.contexts.join(', ')}; current: ${merged.currentContext} (switch with "kubectl config use-context NAME")\n`);
        return;
      }
      const answer = await get<Kubeconfig>(`/v1/clusters/${encodeURIComponent(cluster)}/kubeconfig${query}`);
      deliver(deps, answer, opts.file);
      const ace = answer.aceContexts;
      if (ace.length > 0) {
        deps.stderr.write(`also contains direct (authorized cluster endpoint) contexts: ${ace.join(', ')}; switch with "kubectl config use-context ${ace[0] ?? ''}"\n`);
      }
    });
}
