/** A client for the saved login, and reading a secret from stdin. */
import type { CliDeps } from '../deps.ts';
import { requireLogin, trustOf, type CliConfig } from './config-file.ts';
import { DroverClient } from './http-client.ts';

export function loggedInClient(deps: CliDeps): { client: DroverClient; config: CliConfig & { token: string } } {
  const config = requireLogin(deps.configPath);
  if (config.insecureSkipTlsVerify) {
    deps.stderr.write(`drover: WARNING: TLS verification is off for ${config.server} (logged in with --insecure-skip-tls-verify)\n`);
  }
  const client = new DroverClient({ server: config.server, token: config.token, ...trustOf(config) });
  return { client, config };
}

/** Runs `fn` with the saved login's client and closes it after. */
export async function withClient<T>(deps: CliDeps, fn: (client: DroverClient, config: CliConfig & { token: string }) => Promise<T>): Promise<T> {
  const { client, config } = loggedInClient(deps);
  try {
    return await fn(client, config);
  } finally {
    await client.close();
  }
}

/** All of stdin, without the trailing newline (for --password-stdin). */
export async function readStdinSecret(deps: CliDeps): Promise<string> {
  let text = '';
  for await (const chunk of deps.stdin) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text.replace(/\r?\n$/, '');
}
