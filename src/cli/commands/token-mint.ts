/**
 * The exec plugin's network side, loaded only when the cache cannot answer (so a
 * cached `drover token` loads no HTTP client): checking a token the asker already
 * got, and asking the server for a new one with the saved login, logging in again
 * first when that login no longer holds and someone is at a terminal.
 */
import type { CliDeps } from '../deps.ts';
import { DroverClient, trustOf, withClient, type CliConfig } from '../client/index.ts';
import { DroverError } from '../../errors/index.ts';
import { logInAgain } from './login-flow.ts';
import type { CachedToken } from './token-cache.ts';

const isUnauthenticated = (error: unknown): boolean => error instanceof DroverError && error.status === 401;

/** True only when the server answered that the token is no longer valid; any other failure keeps it (the server may be away: the authorized cluster endpoint still takes it). */
export async function refused(config: CliConfig, token: string): Promise<boolean> {
  const client = new DroverClient({
    // Short: when the server is away, kubectl should go on with the cached token at once.
    server: config.server, token, timeoutMs: 3_000, ...trustOf(config),
  });
  try {
    await client.request('GET', '/v1/whoami');
    return false;
  } catch (error) {
    return isUnauthenticated(error);
  } finally {
    await client.close();
  }
}

/**
 * Whether someone is at a terminal to log in. kubectl says so in KUBERNETES_EXEC_INFO
 * (`spec.interactive`); run by hand, the plugin asks its own stdin.
 */
function interactive(deps: CliDeps): boolean {
  const info = deps.env.KUBERNETES_EXEC_INFO;
  if (info !== undefined) {
    try {
      return (JSON.parse(info) as { spec?: { interactive?: unknown } }).spec?.interactive === true;
    } catch {
      return false;
    }
  }
  return (deps.stdin as { isTTY?: boolean }).isTTY === true;
}

/** A new cluster token with the saved login `saved`, logging in again first when it no longer holds and someone is there to. */
export async function newClusterToken(deps: CliDeps, saved: CliConfig, cluster: string): Promise<CachedToken> {
  const ask = (): Promise<CachedToken> => withClient(deps, (client) =>
    client.request<CachedToken>('POST', `/v1/clusters/${encodeURIComponent(cluster)}/token`));
  try {
    return await ask();
  } catch (error) {
    if (!isUnauthenticated(error)) throw error;
    if (!interactive(deps)) {
      throw new DroverError('DRV_ERR_UNAUTHENTICATED', `your Drover login has expired: run "drover login ${saved.server}" and retry (run from a terminal, kubectl lets this plugin log in again itself)`);
    }
    await logInAgain(deps, saved);
    return ask();
  }
}
