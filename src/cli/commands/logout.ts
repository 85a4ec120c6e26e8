/** `drover logout`: revokes the saved token on the server, then forgets it (keeping the server and CA). */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { readConfig, withClient, writeConfig } from '../client/index.ts';
import { isDroverError } from '../../shared/errors.ts';

export function logoutCommand(deps: CliDeps): Command {
  return new Command('logout')
    .description('revoke the saved token on the server and remove it from $DROVER_CONFIG')
    .action(async () => {
      await withClient(deps, async (client) => {
        try {
          await client.request('POST', '/v1/logout');
        } catch (error) {
          // Already revoked or expired: the server forgot it; forget it here too.
          if (!(isDroverError(error) && error.status === 401)) throw error;
        }
      });
      const config = readConfig(deps.configPath);
      if (config) {
        const { token: _token, tokenId: _tokenId, ...rest } = config;
        writeConfig(deps.configPath, rest);
      }
      deps.stdout.write('Logged out.\n');
    });
}
