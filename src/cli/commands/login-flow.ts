/**
 * Logging in and saving the login: shared by `drover login` and by `drover token`,
 * which logs in again by itself when kubectl runs it in a terminal and the saved
 * login no longer holds. The provider is saved with the login, so logging in again
 * takes the same way in (a password, or the browser for github and oidc).
 */
import type { CliDeps } from '../deps.ts';
import { DroverClient, trustOf, writeConfig, type CliConfig, type ServerTrust } from '../client/index.ts';
import { promptSecret } from '../client/prompt.ts';
import { DroverError } from '../../errors/index.ts';
import { browserLogin, browserProviders } from './login-browser.ts';

export interface LoginAnswer { token: string; tokenId: string; expiresAt?: string; user: { id: string; username: string; mustChangePassword?: boolean } }

export const isBrowserProvider = (provider: string): boolean => (browserProviders as readonly string[]).includes(provider);

/** Logs in to `server` (a password, or the browser when `password` is undefined for github/oidc) and saves the login. */
export async function logInAndSave(deps: CliDeps, server: string, trust: ServerTrust, how: { provider: string; username?: string | undefined; password?: string | undefined }): Promise<LoginAnswer> {
  const client = new DroverClient({ server, ...trust });
  let answer: LoginAnswer;
  try {
    answer = isBrowserProvider(how.provider)
      ? await browserLogin(client, how.provider, deps)
      : await client.request<LoginAnswer>('POST', '/v1/login', { username: how.username, password: how.password, provider: how.provider, description: 'drover CLI login' });
  } finally {
    await client.close();
  }
  if (!answer.token) throw new DroverError('DRV_ERR_BAD_GATEWAY', 'the server answered the login without a token');
  writeConfig(deps.configPath, { server, token: answer.token, tokenId: answer.tokenId, username: answer.user.username, provider: how.provider, ...trust });
  return answer;
}

/** Logs in again the way the saved login was made, asking the person at the terminal. */
export async function logInAgain(deps: CliDeps, saved: CliConfig): Promise<void> {
  const provider = saved.provider ?? 'local';
  const trust = trustOf(saved);
  if (isBrowserProvider(provider)) {
    deps.stderr.write(`Your Drover login at ${saved.server} has expired.\n`);
    await logInAndSave(deps, saved.server, trust, { provider });
    return;
  }
  if (!saved.username) throw new DroverError('DRV_ERR_UNAUTHENTICATED', `your Drover login has expired: run "drover login ${saved.server} --username NAME" and retry`);
  const password = await promptSecret(deps, `Your Drover login at ${saved.server} has expired. Password for ${saved.username}: `);
  await logInAndSave(deps, saved.server, trust, { provider, username: saved.username, password });
}
