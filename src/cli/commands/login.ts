/** `drover login URL (--username U (--password P | --password-stdin) | --provider github|oidc) [--ca-file F | --ca-checksum SUM | --insecure-skip-tls-verify]` */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { fetchPinnedCa, readConfig, readStdinSecret, type ServerTrust } from '../client/index.ts';
import { InvalidArgumentError } from '../../shared/errors.ts';
import { parseOutputFormat, printJson } from '../output.ts';
import { isBrowserProvider, logInAndSave } from './login-flow.ts';

interface LoginFlags {
  username?: string; password?: string; passwordStdin?: boolean; provider: string; caFile?: string; caChecksum?: string;
  insecureSkipTlsVerify?: boolean; output?: string;
}

async function trustFor(server: string, flags: LoginFlags, deps: CliDeps): Promise<ServerTrust> {
  const chosen = [flags.caFile, flags.caChecksum, flags.insecureSkipTlsVerify].filter((v) => v !== undefined && v !== false);
  if (chosen.length > 1) throw new InvalidArgumentError('--ca-file/--ca-checksum/--insecure-skip-tls-verify', 'at most one of them');
  if (flags.caFile) return { caPem: readFileSync(flags.caFile, 'utf8') };
  if (flags.caChecksum) return { caPem: await fetchPinnedCa(server, flags.caChecksum) };
  if (flags.insecureSkipTlsVerify) {
    deps.stderr.write('drover: WARNING: --insecure-skip-tls-verify: the server\'s identity is not checked; anyone on the path can read your password and token\n');
    return { insecureSkipTlsVerify: true };
  }
  // Logging in again to the same server keeps the CA pinned last time.
  const previous = readConfig(deps.configPath);
  if (previous?.server === server && previous.caPem) return { caPem: previous.caPem };
  return {};
}

export function loginCommand(deps: CliDeps): Command {
  return new Command('login')
    .description('log in to a Drover server and save the token in $DROVER_CONFIG')
    .argument('<url>', 'the server, e.g. https://drover.example.com:8443')
    .option('--username <name>', 'user name (password providers: local, openldap, activedirectory)')
    .option('--password <password>', 'password (prefer --password-stdin: arguments show up in process lists)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--provider <name>', 'auth provider: local, openldap, activedirectory (password), github, oidc (browser)', 'local')
    .option('--ca-file <file>', 'trust this CA (PEM) for the server')
    .option('--ca-checksum <sha256>', 'fetch the server CA from /cacerts and trust it if its sha256 matches')
    .option('--insecure-skip-tls-verify', 'do not verify the server certificate (prints a warning)')
    .option('-o, --output <format>', 'json or table')
    .action(async (url: string, flags: LoginFlags) => {
      const format = parseOutputFormat(flags.output);
      let server: string;
      try {
        const parsed = new URL(url);
        if (parsed.protocol !== 'https:') throw new Error('not https');
        server = parsed.origin;
      } catch {
        throw new InvalidArgumentError('URL', 'an https:// server URL', url);
      }
      const browser = isBrowserProvider(flags.provider);
      let password: string | undefined;
      if (!browser) {
        if (flags.username === undefined) throw new InvalidArgumentError('--username', 'a user name (or --provider github|oidc to log in through a browser)');
        if (flags.password !== undefined && flags.passwordStdin) throw new InvalidArgumentError('--password/--password-stdin', 'one of them, not both');
        password = flags.passwordStdin ? await readStdinSecret(deps) : flags.password;
        if (password === undefined || password === '') throw new InvalidArgumentError('--password or --password-stdin', 'a password');
      }
      const trust = await trustFor(server, flags, deps);
      const answer = await logInAndSave(deps, server, trust, { provider: flags.provider, username: flags.username, password });
      const info = { server, username: answer.user.username, userId: answer.user.id, tokenId: answer.tokenId, expiresAt: answer.expiresAt ?? null };
      if (format === 'json') printJson(deps, info);
      else deps.stdout.write(`Logged in to ${server} as ${info.username} (token ${info.tokenId}, expires ${info.expiresAt ?? 'never'}); saved to ${deps.configPath}\n`);
    });
}
