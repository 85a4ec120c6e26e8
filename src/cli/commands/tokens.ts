/** `drover tokens list|create|revoke`: your tokens (admins: anyone's with --all or --user). */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { InvalidArgumentError } from '../../shared/errors.ts';
import { parseOutputFormat, printJson, printTable } from '../output.ts';

interface TokenView {
  id: string; userId: string; kind: string; description: string; clusterId?: string; createdAt: string; expiresAt?: string; lastUsedAt?: string; current?: boolean;
}

export function tokensCommand(deps: CliDeps): Command {
  const tokens = new Command('tokens').description('list, create and revoke tokens');
  tokens.addCommand(new Command('list')
    .description('list your tokens')
    .option('--all', 'every user\'s tokens (admins)')
    .option('--user <name>', 'this user\'s tokens (admins)')
    .option('-o, --output <format>', 'json or table')
    .action(async (opts: { all?: boolean; user?: string; output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const query = opts.all ? '?all=true' : opts.user ? `?userId=${encodeURIComponent(opts.user)}` : '';
      const list = await withClient(deps, (client) => client.request<TokenView[]>('GET', `/v1/tokens${query}`));
      if (format === 'json') printJson(deps, list);
      else {
        printTable(deps, ['id', 'user', 'kind', 'description', 'cluster', 'expires', 'last used', 'current'],
          list.map((t) => [t.id, t.userId, t.kind, t.description, t.clusterId ?? '', t.expiresAt ?? 'never', t.lastUsedAt ?? '', t.current ? '*' : '']));
      }
    }));
  tokens.addCommand(new Command('create')
    .description('create an API token for yourself; the token is shown only once')
    .option('--description <text>', 'what the token is for')
    .option('--ttl <seconds>', 'lifetime in seconds (at most the server maximum)')
    .option('--cluster <id>', 'scope the token to one cluster')
    .option('-o, --output <format>', 'json or table')
    .action(async (opts: { description?: string; ttl?: string; cluster?: string; output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const ttl = opts.ttl === undefined ? undefined : Number(opts.ttl);
      if (ttl !== undefined && (!Number.isInteger(ttl) || ttl <= 0)) throw new InvalidArgumentError('--ttl', 'a positive number of seconds', opts.ttl);
      const issued = await withClient(deps, (client) => client.request<{ token: string; tokenId: string; expiresAt?: string }>('POST', '/v1/tokens', {
        ...(opts.description ? { description: opts.description } : {}), ...(ttl ? { ttlSeconds: ttl } : {}), ...(opts.cluster ? { clusterId: opts.cluster } : {}),
      }));
      if (format === 'json') printJson(deps, issued);
      else deps.stdout.write(`${issued.token}\n`);
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
