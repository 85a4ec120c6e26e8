/** `drover whoami [-o json]`: who the saved token belongs to. */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { printItems, withOutputFlags, type ItemView, type OutputFlags } from '../output.ts';
import type { Whoami } from '../../api-types/index.ts';

const whoamiView: ItemView<Whoami> = {
  columns: [
    { header: 'id', cell: (m) => m.id }, { header: 'username', cell: (m) => m.username },
    { header: 'display name', cell: (m) => m.displayName }, { header: 'role', cell: (m) => m.globalRole },
    { header: 'provider', cell: (m) => m.provider }, { header: 'token', cell: (m) => m.token.id },
  ],
  name: (m) => m.username,
};

export function whoamiCommand(deps: CliDeps): Command {
  return withOutputFlags(new Command('whoami'))
    .description('show the logged-in user')
    .action(async (opts: OutputFlags) => {
      const me = await withClient(deps, (client) => client.request<Whoami>('GET', '/v1/whoami'));
      printItems(deps, opts, me, [me], whoamiView);
    });
}
