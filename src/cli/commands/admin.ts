/**
 * `drover admin reset-password [--data-dir DIR | --db URL] [--username admin]`: for a
 * lost password, run on the server host against the server's own database, as
 * Rancher's `reset-password`. It needs no running server and works while one runs:
 * it sets a generated password (printed once), marks it must-change, and deletes the
 * user's tokens. On PostgreSQL it tells the running replicas through the change feed
 * (they drop the user's cached tokens at once); on SQLite the server stops accepting
 * them within its token cache's re-read interval (5 s). kube-api-auth follows within
 * AceSync's next pass.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { UserService } from '../../identity/index.ts';
import { openStore } from '../../store/index.ts';
import { notifyChange } from '../../coordination/index.ts';
import { DroverError, InvalidArgumentError } from '../../errors/index.ts';
import { printText, withOutputFlags, type OutputFlags } from '../output.ts';

interface ResetFlags extends OutputFlags { dataDir: string; db?: string; username: string }

/** Nothing to invalidate in this process; running servers are told below (PostgreSQL) or re-read by themselves. */
const noCache = { invalidateToken: () => undefined, invalidateUser: () => undefined };

async function resetPassword(deps: CliDeps, flags: ResetFlags): Promise<void> {
  const dataDir = resolve(flags.dataDir);
  if (flags.db === undefined && !existsSync(join(dataDir, 'drover.db'))) {
    throw new InvalidArgumentError('--data-dir', `the server's data directory (no drover.db in ${dataDir}), or --db with its database URL`);
  }
  const store = await openStore({ dataDir, ...(flags.db === undefined ? {} : { url: flags.db }) });
  try {
    const users = new UserService({ store, clock: Date.now, invalidator: noCache });
    const { user, password } = await users.resetPassword(flags.username);
    if (store.kind === 'postgres') await notifyChange(store.db, { table: 'users', key: user.id }, 'drover-admin');
    printText(deps, flags, { username: user.username, userId: user.id, password, mustChangePassword: true }, [user.username], [
      `New password for ${user.username} (shown only now; it must be changed at first login):`,
      `    ${password}`,
      'All their tokens are revoked; log in again with "drover login".',
      '',
    ].join('\n'));
  } catch (error) {
    if (error instanceof DroverError && error.code === 'DRV_ERR_NOT_FOUND') {
      throw new DroverError('DRV_ERR_NOT_FOUND', `no user "${flags.username}" in this database: check --username and --data-dir/--db`);
    }
    throw error;
  } finally {
    await store.close();
  }
}

export function adminCommand(deps: CliDeps): Command {
  const admin = new Command('admin').description('server-host maintenance, run against the server\'s data dir or database');
  admin.addCommand(withOutputFlags(new Command('reset-password'))
    .description('set a new generated password for a user (printed once, to be changed at first login) and revoke their tokens')
    .option('--data-dir <dir>', 'the server\'s state directory (SQLite database)', './drover-data')
    .option('--db <url>', 'the server\'s postgres://… URL instead of the data dir\'s SQLite')
    .option('--username <name>', 'the user whose password to reset', 'admin')
    .action((flags: ResetFlags) => resetPassword(deps, flags)));
  return admin;
}
