/** `drover whoami [-o json]`: who the saved token belongs to. */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { parseOutputFormat, printJson, printTable } from '../output.ts';

interface Whoami { id: string; username: string; displayName: string; provider: string; globalRole: string; token: { id: string; expiresAt?: string } }

export function whoamiCommand(deps: CliDeps): Command {
  return new Command('whoami')
    .description('show the logged-in user')
    .option('-o, --output <format>', 'json or table')
    .action(async (opts: { output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const me = await withClient(deps, (client) => client.request<Whoami>('GET', '/v1/whoami'));
      if (format === 'json') printJson(deps, me);
      else printTable(deps, ['id', 'username', 'display name', 'role', 'provider', 'token'], [[me.id, me.username, me.displayName, me.globalRole, me.provider, me.token.id]]);
    });
}
