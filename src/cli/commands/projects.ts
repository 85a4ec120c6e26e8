/**
 * `drover projects list CLUSTER | create CLUSTER NAME | add-namespace CLUSTER PROJECT NAMESPACE
 * | create-namespace CLUSTER PROJECT NAME`.
 */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { printItems, printText, withOutputFlags, type ItemView, type OutputFlags } from '../output.ts';
import type { PlacedNamespace, Project } from '../../api-types/index.ts';


const base = (cluster: string): string => `/v1/clusters/${encodeURIComponent(cluster)}/projects`;

const projectView: ItemView<Project> = {
  columns: [
    { header: 'id', cell: (p) => p.id }, { header: 'name', cell: (p) => p.name },
    { header: 'cluster', cell: (p) => p.clusterId }, { header: 'created', cell: (p) => p.createdAt },
  ],
  name: (p) => p.name,
};

export function projectsCommand(deps: CliDeps): Command {
  const projects = new Command('projects').description('projects: named groups of namespaces in one cluster');
  projects.addCommand(withOutputFlags(new Command('list'))
    .description('list a cluster\'s projects')
    .argument('<cluster>', 'cluster name or id')
    .action(async (cluster: string, opts: OutputFlags) => {
      const list = await withClient(deps, (client) => client.request<Project[]>('GET', base(cluster)));
      printItems(deps, opts, list, list, projectView);
    }));
  projects.addCommand(withOutputFlags(new Command('create'))
    .description('create a project in a cluster (admins and cluster owners)')
    .argument('<cluster>', 'cluster name or id')
    .argument('<name>', 'project name')
    .action(async (cluster: string, name: string, opts: OutputFlags) => {
      const created = await withClient(deps, (client) => client.request<Project>('POST', base(cluster), { name }));
      printItems(deps, opts, created, [created], projectView);
    }));
  projects.addCommand(new Command('add-namespace')
    .description('move a namespace into a project (sets its field.cattle.io/projectId annotation; kubectl annotate works too)')
    .argument('<cluster>', 'cluster name or id')
    .argument('<project>', 'project name or id')
    .argument('<namespace>', 'namespace name')
    .action(async (cluster: string, project: string, namespace: string) => {
      const done = await withClient(deps, (client) => client.request<PlacedNamespace>(
        'POST', `${base(cluster)}/${encodeURIComponent(project)}/namespaces`, { namespace }));
      deps.stdout.write(`Namespace ${done.namespace} is in project ${done.projectId}.\n`);
    }));
  projects.addCommand(withOutputFlags(new Command('create-namespace'))
    .description('create a namespace in a project (project owners, cluster owners, admins); an existing namespace is refused')
    .argument('<cluster>', 'cluster name or id')
    .argument('<project>', 'project name or id')
    .argument('<name>', 'the new namespace\'s name (a DNS label)')
    .action(async (cluster: string, project: string, name: string, opts: OutputFlags) => {
      const done = await withClient(deps, (client) => client.request<PlacedNamespace>(
        'POST', `/v1/clusters/${encodeURIComponent(cluster)}/namespaces`, { name, project }));
      printText(deps, opts, done, [done.namespace], `Namespace ${done.namespace} created in project ${done.projectId}.\n`);
    }));
  return projects;
}
