/**
 * `drover token --cluster C [--server URL --user NAME]`: the kubectl exec credential
 * plugin. Prints an ExecCredential (client.authentication.k8s.io/v1) with the
 * token's expiry.
 *
 * kubectl runs it before every command, so a cached token is handed out without any
 * network round trip and without loading an HTTP client (`token-cache.ts` says when a
 * token is checked again: only when the same kubectl process asks twice, which
 * client-go does after a 401; then `/v1/whoami` decides and a refused token is
 * replaced). A new token is asked for with the saved login (`token-mint.ts`), which
 * logs in again when kubectl runs the plugin in a terminal.
 *
 * The kubeconfigs Drover writes name the login they are for (`--server`, `--user`):
 * the plugin refuses to act for any other login, so a kubeconfig made for alice
 * never runs as whoever DROVER_CONFIG happens to point at.
 */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
// Not client/index.ts: that loads the HTTP client, which a cached answer never needs.
import { requireLogin, writePrivateFile, type CliConfig } from '../client/config-file.ts';
import { DroverError } from '../../errors/index.ts';
import { askedAgain, cachePath, readCache, type CachedToken } from './token-cache.ts';

interface TokenFlags { cluster: string; server?: string; user?: string }

/** A URL in one spelling: lower-case scheme and host, no default port, no trailing slash. */
function normalUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
  } catch {
    return url;
  }
}

/** Refuses unless the saved login is the one the kubeconfig names (older kubeconfigs name none). */
export function checkLoginMatches(deps: CliDeps, config: CliConfig, flags: TokenFlags): void {
  const serverOk = flags.server === undefined || normalUrl(flags.server) === normalUrl(config.server);
  const userOk = flags.user === undefined || flags.user === config.username;
  if (serverOk && userOk) return;
  const server = flags.server ?? config.server;
  const user = flags.user ?? config.username ?? 'NAME';
  throw new DroverError('DRV_ERR_FORBIDDEN',
    `this kubeconfig is for ${user} at ${server}, but the Drover login in ${deps.configPath} is ${config.username ?? 'an unknown user'} at ${config.server}: ` +
    `log in as ${user} into a config file of its own (DROVER_CONFIG=~/.config/drover/${user}.json drover login ${server} --username ${user}) and run kubectl with that DROVER_CONFIG`);
}

async function tokenFor(deps: CliDeps, config: CliConfig & { token: string }, cluster: string): Promise<CachedToken> {
  const path = cachePath(deps.configPath, config, cluster);
  const cached = readCache(path);
  let token = cached;
  if (cached && askedAgain(cached, deps.parentPid)) {
    const mint = await import('./token-mint.ts');
    if (await mint.refused(config, cached.token)) token = undefined;
  }
  if (!token) {
    const mint = await import('./token-mint.ts');
    const fresh = await mint.newClusterToken(deps, config, cluster);
    token = { token: fresh.token, ...(fresh.expiresAt ? { expiresAt: fresh.expiresAt } : {}) };
  }
  writePrivateFile(path, JSON.stringify({ ...token, handedTo: deps.parentPid }));
  return token;
}

export function tokenCommand(deps: CliDeps): Command {
  return new Command('token')
    .description('kubectl exec credential plugin: print an ExecCredential for CLUSTER')
    .requiredOption('--cluster <cluster>', 'cluster id or name')
    .option('--server <url>', 'the Drover server the kubeconfig is for: refuse any other login')
    .option('--user <name>', 'the Drover user the kubeconfig is for: refuse any other login')
    .action(async (flags: TokenFlags) => {
      const config = requireLogin(deps.configPath);
      checkLoginMatches(deps, config, flags);
      const { token, expiresAt } = await tokenFor(deps, config, flags.cluster);
      deps.stdout.write(`${JSON.stringify({
        apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential',
        status: { token, ...(expiresAt ? { expirationTimestamp: expiresAt } : {}) },
      })}\n`);
    });
}
