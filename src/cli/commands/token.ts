/**
 * `drover token --cluster C`: the kubectl exec credential plugin. Prints an
 * ExecCredential (client.authentication.k8s.io/v1) with the token's expiry. The
 * token is cached next to the CLI config (mode 0600) and reused until a minute
 * before it expires, or until the server says it no longer holds (revoked, user
 * disabled): kubectl cannot tell the plugin its credential was refused, so each run
 * asks `/v1/whoami` with the cached token first (one small request per kubectl
 * command; an unreachable server keeps the cached token, for the authorized cluster
 * endpoint). A new token is asked for with the saved login. When that login no
 * longer holds and kubectl runs the plugin in a terminal (the kubeconfig says
 * `interactiveMode: IfAvailable`), the plugin logs in again the way the saved login
 * was made, asking for the password or printing the browser URL on stderr; without
 * a terminal the message says to run `drover login` again.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { DroverClient, requireLogin, trustOf, withClient, type CliConfig } from '../client/index.ts';
import { DroverError } from '../../shared/errors.ts';
import { logInAgain } from './login-flow.ts';

interface CachedToken { token: string; expiresAt?: string }

const marginMs = 60_000;

/**
 * One cache file per login (config file and user), server and cluster: two logins
 * whose config files share a folder (DROVER_CONFIG=admin.json, =viewer.json) must
 * never hand each other's cluster tokens to kubectl.
 */
function cachePath(deps: CliDeps, config: CliConfig, cluster: string): string {
  const key = createHash('sha256').update(JSON.stringify([resolve(deps.configPath), config.username ?? '', config.server, cluster])).digest('hex').slice(0, 24);
  return join(dirname(deps.configPath), 'tokens', `${key}.json`);
}

function readCache(path: string): CachedToken | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const cached = JSON.parse(readFileSync(path, 'utf8')) as CachedToken;
    if (typeof cached.token !== 'string') return undefined;
    if (cached.expiresAt !== undefined && Date.parse(cached.expiresAt) - marginMs < Date.now()) return undefined;
    return cached;
  } catch {
    return undefined;
  }
}

const isUnauthenticated = (error: unknown): boolean => error instanceof DroverError && error.status === 401;

/** True only when the server answered that the token is no longer valid; any other failure keeps it. */
async function refused(config: CliConfig, token: string): Promise<boolean> {
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
async function newClusterToken(deps: CliDeps, saved: CliConfig, cluster: string): Promise<CachedToken> {
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

export function tokenCommand(deps: CliDeps): Command {
  return new Command('token')
    .description('kubectl exec credential plugin: print an ExecCredential for CLUSTER')
    .requiredOption('--cluster <cluster>', 'cluster id or name')
    .action(async (opts: { cluster: string }) => {
      const config = requireLogin(deps.configPath);
      const path = cachePath(deps, config, opts.cluster);
      let cached = readCache(path);
      if (cached && await refused(config, cached.token)) cached = undefined;
      if (!cached) {
        cached = await newClusterToken(deps, config, opts.cluster);
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        writeFileSync(path, JSON.stringify(cached), { mode: 0o600 });
        chmodSync(path, 0o600);
      }
      deps.stdout.write(`${JSON.stringify({
        apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential',
        status: { token: cached.token, ...(cached.expiresAt ? { expirationTimestamp: cached.expiresAt } : {}) },
      })}\n`);
    });
}
