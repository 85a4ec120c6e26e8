/** `drover roles list|get|create -f FILE|delete`: role templates (anyone reads; admins create and delete). */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { DroverError } from '../../errors/index.ts';
import { printItems, printTable, printText, withOutputFlags, type ItemView, type OutputFlags } from '../output.ts';
import type { ResolvedRoleTemplate, RoleTemplate } from '../../api-types/index.ts';


const path = (name: string): string => `/v1/roles/${encodeURIComponent(name)}`;

const roleView: ItemView<RoleTemplate> = {
  columns: [
    { header: 'name', cell: (r) => r.name }, { header: 'context', cell: (r) => r.context },
    { header: 'inherits', cell: (r) => r.inherits.join(',') || '-' }, { header: 'builtin', cell: (r) => r.builtin ? 'yes' : 'no' },
    { header: 'locked', cell: (r) => r.locked ? 'yes' : 'no' }, { header: 'rules', cell: (r) => String(r.rules.length) },
  ],
  name: (r) => r.name,
};

/** Reads a template from a YAML or JSON file ("-" for stdin is not supported: files are reviewed artefacts). */
function readTemplate(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return parseYaml(text) as unknown;
  } catch (error) {
    throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `${file} is not YAML or JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function rolesCommand(deps: CliDeps): Command {
  const roles = new Command('roles').description('role templates: named rule sets granted on clusters and projects');
  roles.addCommand(withOutputFlags(new Command('list'))
    .description('list role templates')
    .action(async (opts: OutputFlags) => {
      const list = await withClient(deps, (client) => client.request<RoleTemplate[]>('GET', '/v1/roles'));
      printItems(deps, opts, list, list, roleView);
    }));
  roles.addCommand(withOutputFlags(new Command('get'))
    .description('show a role template and its flattened rules')
    .argument('<name>', 'role template name')
    .action(async (name: string, opts: OutputFlags) => {
      const got = await withClient(deps, (client) => client.request<ResolvedRoleTemplate>('GET', path(name)));
      printItems(deps, opts, got, [got.template], roleView, () => {
        deps.stdout.write(`\nincludes: ${got.includes.join(', ')}\n\n`);
        printTable(deps, ['verbs', 'api groups', 'resources', 'names / urls'], got.rules.map((r) => [
          r.verbs.join(','), (r.apiGroups ?? []).map((g) => g || 'core').join(',') || '-', (r.resources ?? []).join(',') || '-',
          (r.resourceNames ?? r.nonResourceURLs ?? []).join(',') || '-',
        ]), opts.headers !== false);
      });
    }));
  roles.addCommand(withOutputFlags(new Command('create'))
    .description('create a custom role template from a YAML or JSON file (admins)')
    .requiredOption('-f, --file <file>', 'the template: name, context (cluster|project), rules, and optionally displayName, description, inherits, locked')
    .action(async (opts: { file: string } & OutputFlags) => {
      const body = readTemplate(opts.file);
      const created = await withClient(deps, (client) => client.request<RoleTemplate>('POST', '/v1/roles', body));
      printItems(deps, opts, created, [created], roleView);
    }));
  roles.addCommand(withOutputFlags(new Command('delete'))
    .description('delete a custom role template that no binding uses (admins)')
    .argument('<name>', 'role template name')
    .action(async (name: string, opts: OutputFlags) => {
      const deleted = await withClient(deps, (client) => client.request<RoleTemplate>('DELETE', path(name)));
      printText(deps, opts, deleted, [deleted.name], `Role template ${deleted.name} deleted.\n`);
    }));
  return roles;
}
