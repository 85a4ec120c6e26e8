/**
 * The exec plugin's token cache: one file (mode 0600) per login (config file and
 * user), server and cluster, so two logins whose config files share a folder
 * (DROVER_CONFIG=admin.json, =viewer.json) never hand each other's cluster tokens
 * to kubectl. Each entry remembers which process it was last handed to: kubectl
 * runs the plugin once per command, and again in the same process only when the
 * credential it got was refused (client-go's exec authenticator re-runs the plugin
 * after a 401) or is about to expire.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import type { CliConfig } from '../client/config-file.ts';

export interface CachedToken {
  token: string;
  expiresAt?: string;
  /** The process (kubectl) this token was last handed to. */
  handedTo?: number;
}

/** A token is not handed out in its last minute: kubectl may still be using it when it expires. */
const marginMs = 60_000;

export function cachePath(configPath: string, config: CliConfig, cluster: string): string {
  const key = createHash('sha256').update(JSON.stringify([resolve(configPath), config.username ?? '', config.server, cluster])).digest('hex').slice(0, 24);
  return join(dirname(configPath), 'tokens', `${key}.json`);
}

/** The cached token, or undefined when there is none, it is unreadable, or it expires within the margin. */
export function readCache(path: string, now = Date.now()): CachedToken | undefined {
  let cached: CachedToken;
  try {
    cached = JSON.parse(readFileSync(path, 'utf8')) as CachedToken;
  } catch {
    return undefined;
  }
  if (typeof cached.token !== 'string') return undefined;
  if (cached.expiresAt !== undefined && !(Date.parse(cached.expiresAt) - marginMs > now)) return undefined;
  return cached;
}

/**
 * Whether the process asking now already got this token: then it was refused (or
 * the asker is a long-lived client asking again), so it must be checked before it
 * is handed out again. Any other asker gets it without a round trip.
 */
export function askedAgain(cached: CachedToken, asker: number): boolean {
  return cached.handedTo === asker;
}
