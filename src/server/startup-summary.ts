/**
 * What `drover server` tells a person once it listens: the URL to open (the same one
 * kubeconfigs carry), the CA checksum `drover login --ca-checksum` and agents pin, and
 * where the admin password is. With readable logs (a terminal) it is a block of text
 * on stderr; with JSON logs it is one log line (`summaryFields`), so a log collector
 * sees only JSON, and a generated password, which must never reach a log, is the only
 * plain text (`passwordNotice`), as before.
 */
import { createHash } from 'node:crypto';
import type { ServerConfig } from './config.ts';

/** What the first start did about the admin user. */
export type AdminBootstrap = { kind: 'generated'; password: string } | { kind: 'from-env' } | { kind: 'existing' };

/** sha256 of exactly the bytes /cacerts serves: the value agents and `drover login --ca-checksum` pin. */
export function caChecksum(caPem: string): string {
  return createHash('sha256').update(caPem, 'utf8').digest('hex');
}

function adminLines(admin: AdminBootstrap, url: string): string[] {
  const login = `drover login ${url} --username admin`;
  switch (admin.kind) {
    case 'generated':
      return [`Admin user:  "admin"; its ${passwordLines(admin.password)}`, `Log in:      ${login} --password-stdin   (or in the browser)`];
    case 'from-env':
      return ['Admin user:  "admin", with the password in DROVER_BOOTSTRAP_PASSWORD', `Log in:      ${login} --password-stdin   (or in the browser)`];
    case 'existing':
      return ['Admin user:  already set up (its password was shown at the first start, or came from DROVER_BOOTSTRAP_PASSWORD)'];
    default: {
      const never: never = admin;
      throw new Error(`unknown bootstrap ${String(never)}`);
    }
  }
}

function passwordLines(password: string): string {
  return `password is shown only this once:\n    ${password}\n             (change it after logging in)`;
}

/** The generated admin password alone, for a server whose logs are JSON. */
export function passwordNotice(password: string): string {
  return `\nCreated the admin user "admin"; its ${passwordLines(password)}\n`;
}

/** The summary as log fields (never the password). */
export function summaryFields(config: ServerConfig, port: number, caPem: string, admin: AdminBootstrap): Record<string, string> {
  const where = { generated: 'printed once on stderr', 'from-env': 'DROVER_BOOTSTRAP_PASSWORD', existing: 'set at the first start' } as const;
  return { url: config.publicUrl, listen: `${config.listenHost}:${port}`, caChecksum: caChecksum(caPem), adminPassword: where[admin.kind] };
}

export function startupSummary(config: ServerConfig, port: number, caPem: string, admin: AdminBootstrap): string {
  const url = config.publicUrl;
  const checksum = caChecksum(caPem);
  const listen = `${config.listenHost.includes(':') ? `[${config.listenHost}]` : config.listenHost}:${port}`;
  const urlNote = config.publicUrlSource === 'flag' ? '(--public-url)'
    : config.publicUrlSource === 'listen address' ? '(the listen address; other machines need --listen 0.0.0.0:PORT --public-url https://NAME:PORT)'
    : '(this machine\'s first network address; set --public-url to the name people use)';
  return [
    '',
    '==================== drover server ====================',
    `Open:        ${url}   ${urlNote}`,
    `Listening:   ${listen}`,
    `CA checksum: ${checksum}`,
    `             (sha256 of ${url}/cacerts; drover login ${url} --ca-checksum ${checksum})`,
    ...adminLines(admin, url),
    '=======================================================',
    '',
  ].join('\n');
}
