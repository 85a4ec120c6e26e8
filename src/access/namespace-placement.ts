/**
 * Where a namespace that belongs to no project goes by default, as the reference
 * places them: `default` into the Default project, Kubernetes' own namespaces into
 * System. Only namespaces without any `field.cattle.io/projectId` annotation are
 * placed; one moved elsewhere stays where it was moved.
 *
 * `cattle-system` and `cattle-impersonation-system` are deliberately not placed in
 * System (the reference does place them): they hold the agent's and every user's
 * impersonation account tokens, and a System project member must not get RoleBindings
 * there. An admin can still add them with `drover projects add-namespace`.
 */
import type { Namespace } from '../kube/index.ts';
import type { ProjectRecord } from './access-service.ts';

export const DEFAULT_PLACEMENT: Readonly<Record<string, 'Default' | 'System'>> = {
  default: 'Default',
  'kube-system': 'System',
  'kube-public': 'System',
  'kube-node-lease': 'System',
};

export interface Placement { namespace: string; annotation: string }

/** The annotations to set: `<clusterId>:<projectId>` for each unplaced namespace with a default project. */
export function defaultPlacements(namespaces: readonly Namespace[], projects: readonly ProjectRecord[], clusterId: string, annotation: string): Placement[] {
  const out: Placement[] = [];
  for (const ns of namespaces) {
    const name = ns.metadata.name;
    const target = name === undefined ? undefined : DEFAULT_PLACEMENT[name];
    if (!name || !target || ns.metadata.annotations?.[annotation] !== undefined || ns.metadata.deletionTimestamp) continue;
    const project = projects.find((p) => p.clusterId === clusterId && p.name === target);
    if (project) out.push({ namespace: name, annotation: `${clusterId}:${project.id}` });
  }
  return out;
}
