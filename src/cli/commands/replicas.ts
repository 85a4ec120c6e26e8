/** `drover replicas list`: the server replicas sharing the database, what each owns, and whether it is alive (admins). */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { printItems, withOutputFlags, type ItemView, type OutputFlags } from '../output.ts';
import type { ReplicaList, ReplicaView } from '../../replicas/index.ts';

const replicaView: ItemView<ReplicaView> = {
  columns: [
    { header: 'id', cell: (r) => `${r.id}${r.self ? ' (answered)' : ''}` }, { header: 'address', cell: (r) => r.address },
    { header: 'version', cell: (r) => r.version }, { header: 'state', cell: (r) => (r.live ? 'live' : 'dead') },
    { header: 'last heartbeat', cell: (r) => r.lastHeartbeat }, { header: 'owns', cell: (r) => r.owns.join(',') },
    { header: 'started', cell: (r) => r.startedAt, wide: true },
  ],
  name: (r) => r.id,
};

export function replicasCommand(deps: CliDeps): Command {
  const replicas = new Command('replicas').description('the server replicas sharing one database (admins)');
  replicas.addCommand(withOutputFlags(new Command('list'))
    .description('list replicas: address, version, last heartbeat and the clusters each owns')
    .action(async (opts: OutputFlags) => {
      const list = await withClient(deps, (client) => client.request<ReplicaList>('GET', '/v1/replicas'));
      printItems(deps, opts, list.items, list.items, replicaView);
    }));
  return replicas;
}
