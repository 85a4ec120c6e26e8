/**
 * `drover passwd [--password-stdin]`: change your own local password. On a terminal
 * it asks for the current password and the new one twice, with echo off; scripts pass
 * `--password-stdin` with two lines: the current password, then the new one. The saved
 * login stays valid and, if the change was due, opens everything from then on.
 */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { isTerminal, promptSecret, readStdinSecret, withClient, type DroverClient } from '../client/index.ts';
import { DroverError, InvalidArgumentError } from '../../errors/index.ts';

/** Asks for a new password twice on the terminal; refuses when the two differ. */
export async function askNewPassword(deps: CliDeps): Promise<string> {
  const first = await promptSecret(deps, 'New password: ');
  const second = await promptSecret(deps, 'New password again: ');
  if (first !== second) throw new DroverError('DRV_ERR_INVALID_ARGUMENT', 'the two new passwords differ: nothing was changed; run the command again');
  return first;
}

export async function changeOwnPassword(client: DroverClient, currentPassword: string, newPassword: string): Promise<void> {
  await client.request('POST', '/v1/users/me/password', { currentPassword, newPassword });
}

async function passwordsFromStdin(deps: CliDeps): Promise<{ current: string; next: string }> {
  const lines = (await readStdinSecret(deps)).split(/\r?\n/);
  const [current, next] = lines;
  if (lines.length !== 2 || !current || !next) {
    throw new InvalidArgumentError('--password-stdin', 'two lines on stdin: the current password, then the new one');
  }
  return { current, next };
}

export function passwdCommand(deps: CliDeps): Command {
  return new Command('passwd')
    .description('change your own password (local users); asks on the terminal, with echo off')
    .option('--password-stdin', 'read two lines from stdin: the current password, then the new one')
    .action(async (opts: { passwordStdin?: boolean }) => {
      let passwords: { current: string; next: string };
      if (opts.passwordStdin) passwords = await passwordsFromStdin(deps);
      else if (isTerminal(deps)) passwords = { current: await promptSecret(deps, 'Current password: '), next: await askNewPassword(deps) };
      else throw new InvalidArgumentError('stdin', 'a terminal to ask the passwords on, or --password-stdin with two lines: the current password, then the new one');
      await withClient(deps, (client) => changeOwnPassword(client, passwords.current, passwords.next));
      deps.stdout.write('Password changed.\n');
    });
}
