/**
 * The CLI's saved login ($DROVER_CONFIG, default ~/.config/drover/config.json):
 * server URL, token, and the CA PEM it pinned. Written atomically (temp file +
 * rename) with mode 0600 in a 0700 directory, because it holds a bearer token.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DroverError } from '../../errors/index.ts';

export interface CliConfig {
  server: string;
  token?: string;
  tokenId?: string;
  username?: string;
  /** The auth provider logged in with (local, openldap, github...), so a new login takes the same way. */
  provider?: string;
  /** The CA the server's certificate must chain to; absent = the system's trust store. */
  caPem?: string;
  insecureSkipTlsVerify?: boolean;
}

/** How a saved login trusts its server: the pinned CA, or (warned about) no check at all. */
export type ServerTrust = Pick<CliConfig, 'caPem' | 'insecureSkipTlsVerify'>;

/** The trust part of a saved login, as client options (absent fields left out). */
export function trustOf(config: CliConfig): ServerTrust {
  return { ...(config.caPem ? { caPem: config.caPem } : {}), ...(config.insecureSkipTlsVerify ? { insecureSkipTlsVerify: true } : {}) };
}

export function readConfig(path: string): CliConfig | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `config file ${path} is not valid JSON: fix or delete it, then run "drover login"`);
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { server?: unknown }).server !== 'string') {
    throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `config file ${path} has no server: run "drover login"`);
  }
  return parsed as CliConfig;
}

/** The saved login, or a clear "log in first". */
export function requireLogin(path: string): CliConfig & { token: string } {
  const config = readConfig(path);
  if (!config?.token) throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'not logged in: run "drover login URL --username NAME"');
  return config as CliConfig & { token: string };
}

export function writeConfig(path: string, config: CliConfig): void {
  writePrivateFile(path, `${JSON.stringify(config, null, 2)}\n`);
}

/**
 * Writes `text` to `path` with mode 0600 (its folder 0700) through a temp file and a
 * rename, so a reader running at the same time (two kubectl calls) sees the old or
 * the new content, never half of it.
 */
export function writePrivateFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, text, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}
