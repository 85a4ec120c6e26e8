/** `drover users create|list|get|update|disable|enable|delete`: user administration (admins). */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { readStdinSecret, withClient } from '../client/index.ts';
import { InvalidArgumentError } from '../../errors/index.ts';
import { printItems, printText, withOutputFlags, type ItemView, type OutputFlags } from '../output.ts';
import type { CreatedUser, User } from '../../api-types/index.ts';


const path = (name: string): string => `/v1/users/${encodeURIComponent(name)}`;

const userView: ItemView<User> = {
  columns: [
    { header: 'id', cell: (u) => u.id }, { header: 'username', cell: (u) => u.username },
    { header: 'display name', cell: (u) => u.displayName }, { header: 'role', cell: (u) => u.globalRole },
    { header: 'enabled', cell: (u) => u.enabled ? 'yes' : 'no' }, { header: 'created', cell: (u) => u.createdAt },
  ],
  name: (u) => u.username,
};

function createCommand(deps: CliDeps): Command {
  return withOutputFlags(new Command('create'))
    .description('create a local user (without a password the server generates one, shown once, to be changed at first login)')
    .argument('<name>', 'user name')
    .option('--password <password>', 'initial password (at least 12 characters)')
    .option('--password-stdin', 'read the initial password from stdin')
    .option('--admin', 'give the user the global admin role')
    .option('--display-name <name>', 'display name')
    .action(async (name: string, opts: { password?: string; passwordStdin?: boolean; admin?: boolean; displayName?: string } & OutputFlags) => {
      if (opts.password !== undefined && opts.passwordStdin) throw new InvalidArgumentError('--password/--password-stdin', 'one of them, not both');
      const password = opts.passwordStdin ? await readStdinSecret(deps) : opts.password;
      const user = await withClient(deps, (client) => client.request<CreatedUser>('POST', '/v1/users', {
        username: name, globalRole: opts.admin ? 'admin' : 'user',
        ...(password === undefined ? {} : { password }), ...(opts.displayName ? { displayName: opts.displayName } : {}),
      }));
      printItems(deps, opts, user, [user], userView, () => {
        if (user.generatedPassword !== undefined) {
          deps.stdout.write(`Password for ${user.username} (shown only now; they must change it at first login): ${user.generatedPassword}\n`);
        }
      });
    });
}

function setEnabledCommand(deps: CliDeps, verb: 'disable' | 'enable'): Command {
  return withOutputFlags(new Command(verb))
    .description(verb === 'disable'
      ? 'disable a user and revoke all their tokens (sessions, API, kubeconfig) for good'
      : 'enable a disabled user; they log in again (no old token comes back)')
    .argument('<name>', 'user name or id')
    .action(async (name: string, opts: OutputFlags) => {
      const user = await withClient(deps, (client) => client.request<User>('PATCH', path(name), { enabled: verb === 'enable' }));
      printText(deps, opts, user, [user.username], `User ${user.username} ${verb}d${verb === 'disable' ? '; all their tokens are revoked' : ''}.\n`);
    });
}

function updateCommand(deps: CliDeps): Command {
  return withOutputFlags(new Command('update'))
    .description('change a user\'s global role or password; an admin holds cluster-admin in every cluster')
    .argument('<name>', 'user name or id')
    .option('--admin', 'give the user the global admin role')
    .option('--no-admin', 'take the global admin role away')
    .option('--password-stdin', 'set another user\'s password, read from stdin: they must change it at first login, and their tokens are revoked')
    .action(async (name: string, opts: { admin?: boolean; passwordStdin?: boolean } & OutputFlags) => {
      const patch = {
        ...(opts.admin === undefined ? {} : { globalRole: opts.admin ? 'admin' : 'user' }),
        ...(opts.passwordStdin ? { password: await readStdinSecret(deps) } : {}),
      };
      if (Object.keys(patch).length === 0) throw new InvalidArgumentError('update', 'say what to change: --admin, --no-admin or --password-stdin');
      const user = await withClient(deps, (client) => client.request<User>('PATCH', path(name), patch));
      printItems(deps, opts, user, [user], userView);
    });
}

export function usersCommand(deps: CliDeps): Command {
  const users = new Command('users').description('manage users (admins)');
  users.addCommand(createCommand(deps));
  users.addCommand(withOutputFlags(new Command('list'))
    .description('list users')
    .action(async (opts: OutputFlags) => {
      const list = await withClient(deps, (client) => client.request<User[]>('GET', '/v1/users'));
      printItems(deps, opts, list, list, userView);
    }));
  users.addCommand(withOutputFlags(new Command('get'))
    .description('show one user')
    .argument('<name>', 'user name or id')
    .action(async (name: string, opts: OutputFlags) => {
      const user = await withClient(deps, (client) => client.request<User>('GET', path(name)));
      printItems(deps, opts, user, [user], userView);
    }));
  users.addCommand(updateCommand(deps));
  users.addCommand(setEnabledCommand(deps, 'disable'));
  users.addCommand(setEnabledCommand(deps, 'enable'));
  users.addCommand(new Command('delete')
    .description('delete a user and all their tokens')
    .argument('<name>', 'user name or id')
    .action(async (name: string) => {
      await withClient(deps, (client) => client.request('DELETE', path(name)));
      deps.stdout.write(`User ${name} deleted.\n`);
    }));
  return users;
}
