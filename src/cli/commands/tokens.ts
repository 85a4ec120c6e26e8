/** `drover tokens list|create|revoke`: your tokens (admins: anyone's with --all or --user). */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { DURATION_HINT, durationOption } from '../../durations/index.ts';
import { namingFlags } from '../flag-errors.ts';
import { printItems, printText, withOutputFlags, type ItemView, type OutputFlags } from '../output.ts';
import type { IssuedToken, Token } from '../../api-types/index.ts';


const tokenView: ItemView<Token> = {
  columns: [
    { header: 'id', cell: (t) => t.id }, { header: 'user', cell: (t) => t.userId }, { header: 'kind', cell: (t) => t.kind },
    { header: 'description', cell: (t) => t.description }, { header: 'cluster', cell: (t) => t.clusterId ?? '' },
    { header: 'expires', cell: (t) => t.expiresAt ?? 'never' }, { header: 'last used', cell: (t) => t.lastUsedAt ?? '' },
    { header: 'current', cell: (t) => t.current ? '*' : '' },
  ],
  name: (t) => t.id,
};

export function tokensCommand(deps: CliDeps): Command {
  const tokens = new Command('tokens').description('list, create and revoke tokens');
  tokens.addCommand(withOutputFlags(new Command('list'))
    .description('list your tokens')
    .option('--all', 'every user\'s tokens (admins)')
    .option('--user <name>', 'this user\'s tokens (admins)')
    .action(async (opts: { all?: boolean; user?: string } & OutputFlags) => {
      const query = opts.all ? '?all=true' : opts.user ? `?userId=${encodeURIComponent(opts.user)}` : '';
      const list = await withClient(deps, (client) => client.request<Token[]>('GET', `/v1/tokens${query}`));
      printItems(deps, opts, list, list, tokenView);
    }));
  tokens.addCommand(withOutputFlags(new Command('create'))
    .description('create an API token for yourself; the token is shown only once')
    .option('--description <text>', 'what the token is for')
    .option('--ttl <duration>', `lifetime: ${DURATION_HINT}; at most the server maximum`)
    .option('--cluster <name>', 'scope the token to one cluster (name or id; it must be one you can use)')
    .action(async (opts: { description?: string; ttl?: string; cluster?: string } & OutputFlags) => {
      const ttl = opts.ttl === undefined ? undefined : durationOption('--ttl', opts.ttl, { min: 1 });
      // The server resolves --cluster (name or id) and refuses a cluster the caller cannot use.
      const issued = await namingFlags({ ttlSeconds: '--ttl', clusterId: '--cluster', description: '--description' }, withClient(deps, (client) =>
        client.request<IssuedToken>('POST', '/v1/tokens', {
          ...(opts.description ? { description: opts.description } : {}), ...(ttl ? { ttlSeconds: ttl } : {}), ...(opts.cluster === undefined ? {} : { clusterId: opts.cluster }),
        })));
      printText(deps, opts, issued, [issued.tokenId], `${issued.token}\n`);
    }));
  tokens.addCommand(new Command('revoke')
    .description('revoke a token; it stops working at once')
    .argument('<id>', 'token id (token-…)')
    .action(async (id: string) => {
      await withClient(deps, (client) => client.request('DELETE', `/v1/tokens/${encodeURIComponent(id)}`));
      deps.stdout.write(`Token ${id} revoked.\n`);
    }));
  return tokens;
}
