/**
 * `drover projects list CLUSTER | create CLUSTER NAME | add-namespace CLUSTER PROJECT NAMESPACE
 * | create-namespace CLUSTER PROJECT NAME`.
 */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { parseOutputFormat, printJson, printTable } from '../output.ts';

interface ProjectView { id: string; clusterId: string; name: string; createdAt: string }

const base = (cluster: string): string => `/v1/clusters/${encodeURIComponent(cluster)}/projects`;

function printProjects(deps: CliDeps, list: ProjectView[]): void {
  printTable(deps, ['id', 'name', 'cluster', 'created'], list.map((p) => [p.id, p.name, p.clusterId, p.createdAt]));
}

export function projectsCommand(deps: CliDeps): Command {
  const projects = new Command('projects').description('projects: named groups of namespaces in one cluster');
  projects.addCommand(new Command('list')
    .description('list a cluster\'s projects')
    .argument('<cluster>', 'cluster name or id')
    .option('-o, --output <format>', 'json or table')
    .action(async (cluster: string, opts: { output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const list = await withClient(deps, (client) => client.request<ProjectView[]>('GET', base(cluster)));
      if (format === 'json') printJson(deps, list);
      else printProjects(deps, list);
    }));
  projects.addCommand(new Command('create')
    .description('create a project in a cluster (admins and cluster owners)')
    .argument('<cluster>', 'cluster name or id')
    .argument('<name>', 'project name')
    .option('-o, --output <format>', 'json or table')
    .action(async (cluster: string, name: string, opts: { output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const created = await withClient(deps, (client) => client.request<ProjectView>('POST', base(cluster), { name }));
      if (format === 'json') printJson(deps, created);
      else printProjects(deps, [created]);
    }));
  projects.addCommand(new Command('add-namespace')
    .description('move a namespace into a project (sets its field.cattle.io/projectId annotation; kubectl annotate works too)')
    .argument('<cluster>', 'cluster name or id')
    .argument('<project>', 'project name or id')
    .argument('<namespace>', 'namespace name')
    .action(async (cluster: string, project: string, namespace: string) => {
      const done = await withClient(deps, (client) => client.request<{ namespace: string; projectId: string }>(
        'POST', `${base(cluster)}/${encodeURIComponent(project)}/namespaces`, { namespace }));
      deps.stdout.write(`Namespace ${done.namespace} is in project ${done.projectId}.\n`);
    }));
  projects.addCommand(new Command('create-namespace')
    .description('create a namespace in a project (project owners, cluster owners, admins); an existing namespace is refused')
    .argument('<cluster>', 'cluster name or id')
    .argument('<project>', 'project name or id')
    .argument('<name>', 'the new namespace\'s name (a DNS label)')
    .option('-o, --output <format>', 'json or table')
    .action(async (cluster: string, project: string, name: string, opts: { output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const done = await withClient(deps, (client) => client.request<{ namespace: string; projectId: string }>(
        'POST', `/v1/clusters/${encodeURIComponent(cluster)}/namespaces`, { name, project }));
      if (format === 'json') printJson(deps, done);
      else deps.stdout.write(`Namespace ${done.namespace} created in project ${done.projectId}.\n`);
    }));
  return projects;
}
