/** `drover users create|list|get|update|disable|enable|delete`: user administration (admins). */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { readStdinSecret, withClient } from '../client/index.ts';
import { InvalidArgumentError } from '../../errors/index.ts';
import { parseOutputFormat, printJson, printTable } from '../output.ts';

interface UserView { id: string; username: string; displayName: string; enabled: boolean; globalRole: string; createdAt: string }

const path = (name: string): string => `/v1/users/${encodeURIComponent(name)}`;

function printUsers(deps: CliDeps, users: UserView[]): void {
  printTable(deps, ['id', 'username', 'display name', 'role', 'enabled', 'created'],
    users.map((u) => [u.id, u.username, u.displayName, u.globalRole, u.enabled ? 'yes' : 'no', u.createdAt]));
}

function createCommand(deps: CliDeps): Command {
  return new Command('create')
    .description('create a local user (without a password the server generates one, shown once, to be changed at first login)')
    .argument('<name>', 'user name')
    .option('--password <password>', 'initial password (at least 12 characters)')
    .option('--password-stdin', 'read the initial password from stdin')
    .option('--admin', 'give the user the global admin role')
    .option('--display-name <name>', 'display name')
    .option('-o, --output <format>', 'json or table')
    .action(async (name: string, opts: { password?: string; passwordStdin?: boolean; admin?: boolean; displayName?: string; output?: string }) => {
      const format = parseOutputFormat(opts.output);
      if (opts.password !== undefined && opts.passwordStdin) throw new InvalidArgumentError('--password/--password-stdin', 'one of them, not both');
      const password = opts.passwordStdin ? await readStdinSecret(deps) : opts.password;
      const user = await withClient(deps, (client) => client.request<UserView & { generatedPassword?: string }>('POST', '/v1/users', {
        username: name, globalRole: opts.admin ? 'admin' : 'user',
        ...(password === undefined ? {} : { password }), ...(opts.displayName ? { displayName: opts.displayName } : {}),
      }));
      if (format === 'json') printJson(deps, user);
      else {
        printUsers(deps, [user]);
        if (user.generatedPassword !== undefined) {
          deps.stdout.write(`Password for ${user.username} (shown only now; they must change it at first login): ${user.generatedPassword}\n`);
        }
      }
    });
}

function setEnabledCommand(deps: CliDeps, verb: 'disable' | 'enable'): Command {
  return new Command(verb)
    .description(verb === 'disable'
      ? 'disable a user and revoke all their tokens (sessions, API, kubeconfig) for good'
      : 'enable a disabled user; they log in again (no old token comes back)')
    .argument('<name>', 'user name or id')
    .option('-o, --output <format>', 'json or table')
    .action(async (name: string, opts: { output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const user = await withClient(deps, (client) => client.request<UserView>('PATCH', path(name), { enabled: verb === 'enable' }));
      if (format === 'json') printJson(deps, user);
      else deps.stdout.write(`User ${user.username} ${verb}d${verb === 'disable' ? '; all their tokens are revoked' : ''}.\n`);
    });
}

function updateCommand(deps: CliDeps): Command {
  return new Command('update')
    .description('change a user\'s global role or password; an admin holds cluster-admin in every cluster')
    .argument('<name>', 'user name or id')
    .option('--admin', 'give the user the global admin role')
    .option('--no-admin', 'take the global admin role away')
    .option('--password-stdin', 'set a new password read from stdin')
    .option('-o, --output <format>', 'json or table')
    .action(async (name: string, opts: { admin?: boolean; passwordStdin?: boolean; output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const patch = {
        ...(opts.admin === undefined ? {} : { globalRole: opts.admin ? 'admin' : 'user' }),
        ...(opts.passwordStdin ? { password: await readStdinSecret(deps) } : {}),
      };
      if (Object.keys(patch).length === 0) throw new InvalidArgumentError('update', 'say what to change: --admin, --no-admin or --password-stdin');
      const user = await withClient(deps, (client) => client.request<UserView>('PATCH', path(name), patch));
      if (format === 'json') printJson(deps, user);
      else printUsers(deps, [user]);
    });
}

export function usersCommand(deps: CliDeps): Command {
  const users = new Command('users').description('manage users (admins)');
  users.addCommand(createCommand(deps));
  users.addCommand(new Command('list')
    .description('list users')
    .option('-o, --output <format>', 'json or table')
    .action(async (opts: { output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const list = await withClient(deps, (client) => client.request<UserView[]>('GET', '/v1/users'));
      if (format === 'json') printJson(deps, list);
      else printUsers(deps, list);
    }));
  users.addCommand(new Command('get')
    .description('show one user')
    .argument('<name>', 'user name or id')
    .option('-o, --output <format>', 'json or table')
    .action(async (name: string, opts: { output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const user = await withClient(deps, (client) => client.request<UserView>('GET', path(name)));
      if (format === 'json') printJson(deps, user);
      else printUsers(deps, [user]);
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
