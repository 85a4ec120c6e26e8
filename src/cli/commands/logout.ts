/**
 * `drover logout`: revokes the saved token on the server, then forgets it (keeping the
 * server and CA). The token is forgotten here even when the server could not revoke
 * it, and stderr says so: a login the user asked to end must not linger in the file.
 */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { readConfig, withClient, writeConfig } from '../client/index.ts';
import { isDroverError } from '../../errors/index.ts';

export function logoutCommand(deps: CliDeps): Command {
  return new Command('logout')
    .description('revoke the saved token on the server and remove it from $DROVER_CONFIG')
    .action(async () => {
      let failure: string | undefined;
      await withClient(deps, async (client, config) => {
        try {
          await client.request('POST', '/v1/logout');
        } catch (error) {
          // 401: already revoked or expired, the server forgot it too.
          if (!(isDroverError(error) && error.status === 401)) {
            const reason = error instanceof Error ? error.message : String(error);
            failure = `drover: the server did not revoke the token (${reason}); it was forgotten here, but stays valid until it expires`
              + `${config.tokenId ? ` or an admin revokes it ("drover tokens revoke ${config.tokenId}")` : ''}\n`;
          }
        }
      });
      const config = readConfig(deps.configPath);
      if (config) {
        const { token: _token, tokenId: _tokenId, ...rest } = config;
        writeConfig(deps.configPath, rest);
      }
      if (failure !== undefined) deps.stderr.write(failure);
      deps.stdout.write('Logged out.\n');
    });
}
