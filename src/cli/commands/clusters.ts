/** `drover clusters create|list|get|update|delete`: the cluster registry (admins). */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient, type DroverClient } from '../client/index.ts';
import { aceSettingFromFlags, withAceFlags, type AceFlags } from './kube-api-auth.ts';
import { InvalidArgumentError } from '../../errors/index.ts';
import { DURATION_HINT, durationOption } from '../../durations/index.ts';
import { namingFlags } from '../flag-errors.ts';
import { formatItems, printItems, printText, withOutputFlags, type ItemView, type OutputFlags } from '../output.ts';
import type { Cluster, CreatedCluster, Registration } from '../../api-types/index.ts';
import {
  createCustom, customRegistrationText, nodesOf, nodesText, scheduleFromFlags, scheduleText, setSchedule, snapshotsCommand, withScheduleFlags, type ScheduleFlags,
} from './provisioned-clusters.ts';
import { upgradeCommand } from './cluster-upgrade.ts';


const path = (name: string): string => `/v1/clusters/${encodeURIComponent(name)}`;

const clusterView: ItemView<Cluster> = {
  columns: [
    { header: 'id', cell: (c) => c.id }, { header: 'name', cell: (c) => c.name }, { header: 'state', cell: (c) => c.state },
    { header: 'version', cell: (c) => c.kubernetesVersion ?? '' }, { header: 'nodes', cell: (c) => c.nodeCount === undefined ? '' : String(c.nodeCount) },
    { header: 'tunnel', cell: (c) => c.tunnel ?? '' }, { header: 'last seen', cell: (c) => c.lastSeenAt ?? '' }, { header: 'reason', cell: (c) => c.stateReason },
  ],
  name: (c) => c.name,
};

/** The pinned kube-apiserver, and a refused report that differs from it, for `get` and `update`. */
function printApiServer(deps: CliDeps, c: Cluster): void {
  if (c.apiServer) deps.stdout.write(`kube-apiserver (pinned): ${c.apiServer}, CA sha256 ${c.apiServerCaSha256 ?? '?'}, agent account ${c.agentAccount ?? '(pinned at next registration)'}\n`);
  const conflict = c.apiServerConflict;
  if (!conflict) return;
  deps.stdout.write([
    `REFUSED at ${conflict.reportedAt}: an agent reported a different kube-apiserver: ${conflict.differences.join('; ')}.`,
    `  reported: ${conflict.apiServer}, CA sha256 ${conflict.caSha256}, account ${conflict.account ?? 'unknown'}`,
    `  If the cluster's kube-apiserver really changed: drover clusters update ${c.name} --accept-new-apiserver`,
    `  If not, its registration token is in the wrong hands: drover clusters update ${c.name} --rotate-token`,
    '',
  ].join('\n'));
}

function registrationText(r: Registration): string {
  return [
    'Run the agent in the cluster with either of:',
    `  ${r.kubectlCommand}`,
    `  ${r.agentCommand}`,
    `Import manifest: ${r.manifestUrl}`,
    'The token in these commands registers agents for this cluster: keep it secret.',
    '',
  ].join('\n');
}

function createCommand(deps: CliDeps): Command {
  return withScheduleFlags(withOutputFlags(new Command('create')))
    .description('register a cluster; prints the agent command and the import manifest URL')
    .argument('<name>', 'cluster name (a DNS label)')
    .option('--display-name <name>', 'display name')
    .option('--token-ttl <duration>', `registration token lifetime, at least 1m: ${DURATION_HINT} (default: no expiry)`)
    .option('--custom', 'Drover provisions Kubernetes on machines that run the node command it prints (docs/provisioning.md)')
    .option('--kubernetes-version <version>', 'with --custom: the Kubernetes version, one the server has binaries for')
    .action(async (name: string, opts: { displayName?: string; tokenTtl?: string; custom?: boolean; kubernetesVersion?: string } & ScheduleFlags & OutputFlags) => {
      const schedule = scheduleFromFlags(opts);
      if (opts.custom) {
        const custom = await withClient(deps, (client) => createCustom<Cluster>(client, name, opts.kubernetesVersion, schedule));
        printItems(deps, opts, custom, [custom.cluster], clusterView, () => deps.stdout.write(customRegistrationText(custom.registration)));
        return;
      }
      if (opts.kubernetesVersion) throw new InvalidArgumentError('--kubernetes-version', 'to go with --custom');
      if (schedule) throw new InvalidArgumentError('--snapshot-schedule', 'to go with --custom (Drover snapshots the etcd of clusters it provisions only)');
      const ttl = opts.tokenTtl === undefined ? undefined : durationOption('--token-ttl', opts.tokenTtl, { min: 60 });
      const result = await namingFlags({ tokenTtlSeconds: '--token-ttl', displayName: '--display-name' }, withClient(deps, (client) => client.request<CreatedCluster>('POST', '/v1/clusters', {
        name, ...(opts.displayName ? { displayName: opts.displayName } : {}), ...(ttl ? { tokenTtlSeconds: ttl } : {}),
      })));
      printItems(deps, opts, result, [result.cluster], clusterView, () => deps.stdout.write(registrationText(result.registration)));
    });
}

function updateCommand(deps: CliDeps): Command {
  return withScheduleFlags(withOutputFlags(withAceFlags(new Command('update'))))
    .description('change a cluster\'s display name, rotate its registration token, or set its snapshot schedule')
    .argument('<name>', 'cluster name or id')
    .option('--display-name <name>', 'new display name')
    .option('--rotate-token', 'issue a new registration token')
    .option('--grace <duration>', `with --rotate-token: how long the old token keeps working, agents connected with it included, ${DURATION_HINT} (default 0: revoked now, and those agents cut off)`)
    .option('--accept-new-apiserver', 'pin the kube-apiserver (address, CA, account) an agent reported instead of the pinned one, as "clusters get" shows it')
    .action(async (name: string, opts: { displayName?: string; rotateToken?: boolean; grace?: string; acceptNewApiserver?: boolean } & AceFlags & ScheduleFlags & OutputFlags) => {
      const ace = aceSettingFromFlags(opts);
      const schedule = scheduleFromFlags(opts);
      if (!opts.displayName && !opts.rotateToken && !opts.acceptNewApiserver && !ace && !schedule) {
        throw new InvalidArgumentError('update', 'at least one of --display-name, --rotate-token, --accept-new-apiserver, --snapshot-schedule or an --ace-* flag');
      }
      const grace = opts.grace === undefined ? 0 : durationOption('--grace', opts.grace);
      await namingFlags({ graceSeconds: '--grace', displayName: '--display-name' }, withClient(deps, async (client) => {
        const accepted = opts.acceptNewApiserver ? await acceptApiServer(client, name) : undefined;
        const renamed = opts.displayName ? await client.request<Cluster>('PATCH', path(name), { displayName: opts.displayName }) : undefined;
        const cluster = renamed ?? accepted;
        const registration = opts.rotateToken ? await client.request<Registration>('POST', `${path(name)}/rotate-token`, { graceSeconds: grace }) : undefined;
        const aceSetting = ace ? await client.request<object>('PATCH', `${path(name)}/ace`, ace) : undefined;
        const scheduled = schedule ? await setSchedule(client, name, schedule) : undefined;
        printText(deps, opts, { ...(cluster ? { cluster } : {}), ...(registration ? { registration } : {}), ...(aceSetting ? { ace: aceSetting } : {}), ...(scheduled ?? {}) }, [cluster?.name ?? name], [
          scheduled ? `${name}: ${scheduleText(scheduled.snapshotSchedule)}.\n` : '',
          ace ? `Authorized cluster endpoint: ${ace.mode === 'fqdn' ? ace.fqdn : ace.mode}. "drover kubeconfig ${name}" adds its contexts.\n` : '',
          accepted ? `Accepted kube-apiserver ${accepted.apiServer ?? ''} (CA sha256 ${accepted.apiServerCaSha256 ?? '?'}) for ${accepted.name}; the cluster turns Active once an agent reporting it connects.\n` : '',
          cluster ? formatItems(opts, [cluster], clusterView) : '',
          registration ? registrationText(registration) : '',
        ].join(''));
      }));
    });
}

/** Accepts exactly the report `clusters get` shows now (by its digest), so a newer one is never accepted unseen. */
async function acceptApiServer(client: DroverClient, name: string): Promise<Cluster> {
  const current = await client.request<Cluster>('GET', path(name));
  if (!current.apiServerConflict) {
    throw new InvalidArgumentError('--accept-new-apiserver', `a refused agent report to accept; no agent of ${current.name} has reported a different kube-apiserver`);
  }
  return client.request<Cluster>('POST', `${path(name)}/accept-apiserver`, { digest: current.apiServerConflict.digest });
}

export function clustersCommand(deps: CliDeps): Command {
  const clusters = new Command('clusters').description('register and manage downstream clusters');
  clusters.addCommand(createCommand(deps));
  clusters.addCommand(withOutputFlags(new Command('list'))
    .description('list clusters with their state')
    .action(async (opts: OutputFlags) => {
      const list = await withClient(deps, (client) => client.request<Cluster[]>('GET', '/v1/clusters'));
      printItems(deps, opts, list, list, clusterView);
    }));
  clusters.addCommand(withOutputFlags(new Command('get'))
    .description('show one cluster; with --registration, its agent command again (admins)')
    .argument('<name>', 'cluster name or id')
    .option('--registration', 'also print the agent command and import manifest URL')
    .action(async (name: string, opts: { registration?: boolean } & OutputFlags) => {
      await withClient(deps, async (client) => {
        const cluster = await client.request<Cluster>('GET', path(name));
        const registration = opts.registration ? await client.request<Registration>('GET', `${path(name)}/registration`) : undefined;
        const provisioned = await nodesOf(client, path(name));
        printItems(deps, opts, { ...cluster, ...(registration ? { registration } : {}), ...(provisioned ? { provisioning: provisioned } : {}) }, [cluster], clusterView, () => {
          printApiServer(deps, cluster);
          if (provisioned) deps.stdout.write(nodesText(provisioned));
          // A provisioned cluster's machines join with the node command, not the import manifest.
          if (registration) deps.stdout.write(provisioned?.registration ? customRegistrationText(provisioned.registration) : registrationText(registration));
        });
      });
    }));
  clusters.addCommand(updateCommand(deps));
  clusters.addCommand(snapshotsCommand(deps));
  clusters.addCommand(upgradeCommand(deps));
  clusters.addCommand(withOutputFlags(new Command('delete'))
    .description('remove what Drover created in the cluster (when reachable) and forget it')
    .argument('<name>', 'cluster name or id')
    .action(async (name: string, opts: OutputFlags) => {
      const result = await withClient(deps, (client) => client.request<{ cluster: Cluster; note: string }>('DELETE', path(name)));
      printText(deps, opts, result, [result.cluster.name], `Cluster ${result.cluster.name} (${result.cluster.id}) deleted: ${result.note}.\n`);
    }));
  return clusters;
}
