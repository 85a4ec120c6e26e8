/**
 * `drover members add|list|remove --cluster C [--project P] (--user NAME | --group PRINCIPAL) --role ROLE`.
 * `--user` also takes a provider user principal (a value containing "://", e.g.
 * `openldap_user://uid=carol,ou=people,dc=example,dc=org`): the server confirms it
 * with the provider and creates the user, so they can be added before their first login.
 */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { InvalidArgumentError } from '../../errors/index.ts';
import { printItems, printText, withOutputFlags, type ItemView, type OutputFlags } from '../output.ts';
import type { Member, RemovedMembers } from '../../api-types/index.ts';

interface Scope { cluster: string; project?: string; user?: string; group?: string; role?: string }

const base = (cluster: string): string => `/v1/clusters/${encodeURIComponent(cluster)}/members`;

const memberView: ItemView<Member> = {
  columns: [
    { header: 'id', cell: (m) => m.id },
    { header: 'scope', cell: (m) => m.projectId ? `project ${m.projectName ?? m.projectId}` : 'cluster' },
    { header: 'member', cell: (m) => m.subjectKind === 'user' ? `user ${m.username ?? m.subject}` : `group ${m.subject}` },
    { header: 'role', cell: (m) => m.roleTemplate },
  ],
  name: (m) => m.id,
};

function subject(opts: Scope): { user: string } | { group: string } {
  if ((opts.user === undefined) === (opts.group === undefined)) throw new InvalidArgumentError('--user/--group', 'exactly one of them');
  return opts.user === undefined ? { group: opts.group ?? '' } : { user: opts.user };
}

const scoped = (command: Command): Command => command
  .requiredOption('--cluster <cluster>', 'cluster name or id')
  .option('--project <project>', 'project name or id (omit for the whole cluster)');

export function membersCommand(deps: CliDeps): Command {
  const members = new Command('members').description('who holds which role template on a cluster or project');
  members.addCommand(withOutputFlags(scoped(new Command('add')))
    .description('grant a role template to a user or group (you can grant only what you hold)')
    .option('--user <name>', 'user name or id, or a provider user principal (openldap_user://<dn>, github_user://<id>) of someone who has not logged in yet')
    .option('--group <principal>', 'group principal id')
    .requiredOption('--role <role>', 'role template name (see "drover roles list")')
    .action(async (opts: Scope & OutputFlags) => {
      const added = await withClient(deps, (client) => client.request<Member>('POST', base(opts.cluster), {
        ...(opts.project ? { project: opts.project } : {}), ...subject(opts), role: opts.role,
      }));
      printItems(deps, opts, added, [added], memberView);
    }));
  members.addCommand(withOutputFlags(scoped(new Command('list')))
    .description('list the members of a cluster (with every project) or of one project')
    .action(async (opts: Scope & OutputFlags) => {
      const query = opts.project ? `?project=${encodeURIComponent(opts.project)}` : '';
      const list = await withClient(deps, (client) => client.request<Member[]>('GET', `${base(opts.cluster)}${query}`));
      printItems(deps, opts, list, list, memberView);
    }));
  members.addCommand(withOutputFlags(scoped(new Command('remove')))
    .description('remove a member\'s role (or all their roles) on a cluster or project')
    .option('--user <name>', 'user name or id, or a provider user principal')
    .option('--group <principal>', 'group principal id')
    .option('--role <role>', 'only this role template')
    .action(async (opts: Scope & OutputFlags) => {
      const params = new URLSearchParams({ ...(opts.project ? { project: opts.project } : {}), ...subject(opts), ...(opts.role ? { role: opts.role } : {}) });
      const result = await withClient(deps, (client) => client.request<RemovedMembers>('DELETE', `${base(opts.cluster)}?${params.toString()}`));
      printText(deps, opts, result, result.removed.map(memberView.name), `Removed ${result.removed.length} binding(s).\n`);
    }));
  return members;
}
