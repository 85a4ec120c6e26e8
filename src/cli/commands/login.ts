/**
 * `drover login URL (--username U [--password P | --password-stdin] | --provider github|oidc) [--ca-file F | --ca-checksum SUM | --insecure-skip-tls-verify]`
 *
 * Like ssh on a terminal: without a CA option, a server whose certificate this
 * machine does not trust shows its CA's checksum and asks whether to trust it (the
 * answer is saved with the login, so it is asked once); without a password option
 * the password is asked with echo off; and when the password must be changed, the
 * new one is asked at once. Without a terminal each of these refuses, naming the
 * flag to pass, or for a due password change saves the login (it can only run
 * `drover passwd`) and says so.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import {
  DroverClient, fetchCaUnverified, fetchPinnedCa, isTerminal, promptLine, promptSecret, readConfig, readStdinSecret, sha256Hex, systemTrusts,
  type ServerTrust,
} from '../client/index.ts';
import { DroverError, InvalidArgumentError } from '../../errors/index.ts';
import { printText, withOutputFlags, type OutputFlags } from '../output.ts';
import { isBrowserProvider, logInAndSave, type LoginAnswer } from './login-flow.ts';
import { askNewPassword, changeOwnPassword } from './passwd.ts';

interface LoginFlags extends OutputFlags {
  username?: string; password?: string; passwordStdin?: boolean; provider: string; caFile?: string; caChecksum?: string;
  insecureSkipTlsVerify?: boolean;
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
  if (await systemTrusts(server)) return {};
  return trustOnFirstUse(server, deps);
}

/** Shows the CA the server presents and pins it if the person at the terminal accepts it. */
async function trustOnFirstUse(server: string, deps: CliDeps): Promise<ServerTrust> {
  const caPem = await fetchCaUnverified(server);
  const checksum = sha256Hex(caPem);
  if (!isTerminal(deps)) {
    throw new InvalidArgumentError('--ca-checksum, --ca-file or --insecure-skip-tls-verify',
      `a way to trust ${server}: its certificate is not signed by a CA this machine trusts, and there is no terminal to ask on. `
      + `It presents a CA with checksum ${checksum}; if the server's operator confirms it (the sha256 of the server's ca.crt), pass --ca-checksum ${checksum}`);
  }
  let subject = '(unreadable certificate)';
  try {
    subject = new X509Certificate(caPem).subject.replace(/\n/g, ', ');
  } catch { /* shown as unreadable; the checksum is what is pinned */ }
  deps.stderr.write([
    `The server ${server} is signed by a CA this machine does not trust:`,
    `  subject:  ${subject}`,
    `  SHA-256:  ${checksum}   (the checksum --ca-checksum takes)`,
    'Compare it with the checksum the server\'s operator gives you (the sha256 of the server\'s ca.crt; agent commands carry it too).',
    '',
  ].join('\n'));
  const answer = await promptLine(deps, 'Trust this CA and save it with the login? [y/N] ');
  if (!/^\s*y(es)?\s*$/i.test(answer)) throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'the server\'s CA was not trusted: nothing was sent or saved');
  return { caPem };
}

async function passwordFor(server: string, flags: LoginFlags, deps: CliDeps): Promise<string> {
  if (flags.password !== undefined && flags.passwordStdin) throw new InvalidArgumentError('--password/--password-stdin', 'one of them, not both');
  if (flags.password === undefined && !flags.passwordStdin) {
    if (!isTerminal(deps)) throw new InvalidArgumentError('--password or --password-stdin', 'a password (stdin is not a terminal to ask on)');
    const typed = await promptSecret(deps, `Password for ${flags.username ?? ''} at ${server}: `);
    if (typed === '') throw new DroverError('DRV_ERR_INVALID_ARGUMENT', 'no password was typed: run "drover login" again');
    return typed;
  }
  const password = flags.passwordStdin ? await readStdinSecret(deps) : flags.password;
  if (!password) throw new InvalidArgumentError('--password or --password-stdin', 'a password, not an empty one');
  return password;
}

/** A login whose password must be changed: asks the new one on a terminal, else leaves it to `drover passwd`. */
async function completePasswordChange(deps: CliDeps, server: string, trust: ServerTrust, answer: LoginAnswer, password: string): Promise<void> {
  if (!isTerminal(deps)) {
    throw new DroverError('DRV_ERR_PASSWORD_CHANGE_REQUIRED',
      `logged in as ${answer.user.username}, but the password must be changed before anything else: run "drover passwd" (this login is saved for it)`);
  }
  deps.stderr.write(`The password of ${answer.user.username} must be changed now.\n`);
  const client = new DroverClient({ server, token: answer.token, ...trust });
  try {
    await changeOwnPassword(client, password, await askNewPassword(deps));
  } finally {
    await client.close();
  }
  deps.stderr.write('Password changed.\n');
}

export function loginCommand(deps: CliDeps): Command {
  return withOutputFlags(new Command('login'))
    .description('log in to a Drover server and save the token in $DROVER_CONFIG')
    .argument('<url>', 'the server, e.g. https://drover.example.com:8443')
    .option('--username <name>', 'user name (password providers: local, openldap, activedirectory)')
    .option('--password <password>', 'password (prefer the prompt or --password-stdin: arguments show up in process lists)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--provider <name>', 'auth provider: local, openldap, activedirectory (password), github, oidc (browser)', 'local')
    .option('--ca-file <file>', 'trust this CA (PEM) for the server')
    .option('--ca-checksum <sha256>', 'fetch the server CA from /cacerts and trust it if its sha256 matches')
    .option('--insecure-skip-tls-verify', 'do not verify the server certificate (prints a warning)')
    .action(async (url: string, flags: LoginFlags) => {
      let server: string;
      try {
        const parsed = new URL(url);
        if (parsed.protocol !== 'https:') throw new Error('not https');
        server = parsed.origin;
      } catch {
        throw new InvalidArgumentError('URL', 'an https:// server URL', url);
      }
      const browser = isBrowserProvider(flags.provider);
      if (!browser && flags.username === undefined) throw new InvalidArgumentError('--username', 'a user name (or --provider github|oidc to log in through a browser)');
      const trust = await trustFor(server, flags, deps);
      const password = browser ? undefined : await passwordFor(server, flags, deps);
      const answer = await logInAndSave(deps, server, trust, { provider: flags.provider, username: flags.username, password });
      if (answer.user.mustChangePassword && password !== undefined) await completePasswordChange(deps, server, trust, answer, password);
      const info = { server, username: answer.user.username, userId: answer.user.id, tokenId: answer.tokenId, expiresAt: answer.expiresAt ?? null };
      printText(deps, flags, info, [info.username], `Logged in to ${server} as ${info.username} (token ${info.tokenId}, expires ${info.expiresAt ?? 'never'}); saved to ${deps.configPath}\n`);
    });
}
