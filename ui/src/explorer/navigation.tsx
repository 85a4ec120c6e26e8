/**
 * The explorer's side navigation: the namespaces the user can see, grouped by
 * project, and the kinds discovery lists (the usual ones first, then every other
 * kind, CRDs included). Paths: /clusters/<id>/explore/<namespace or _all>/<kind>[/<name>].
 */
import { navigate } from '../router.ts';
import { Link } from '../components.tsx';
import type { Project } from '../types.ts';
import type { Kind, VisibleNamespace } from './kube.ts';

export const allNamespaces = '_all';


export function explorePath(clusterId: string, namespace: string, kind?: string, name?: string): string {
  const parts = [namespace, kind, name].filter((p): p is string => p !== undefined).map(encodeURIComponent);
  return `/clusters/${encodeURIComponent(clusterId)}/explore/${parts.join('/')}`;
}

/** The kinds Rancher's explorer puts first, by section, as kubectl names them. */
export const featured: Array<[string, string[]]> = [
  ['Workloads', ['deployments.apps', 'statefulsets.apps', 'daemonsets.apps', 'jobs.batch', 'cronjobs.batch', 'pods']],
  ['Service discovery', ['services', 'ingresses.networking.k8s.io']],
  ['Config and storage', ['configmaps', 'secrets', 'persistentvolumeclaims']],
  ['Cluster', ['events', 'nodes', 'namespaces']],
];
const featuredKeys = new Set(featured.flatMap(([, keys]) => keys));

/** A kind's singular for people, in lower case (`config map`). */
export function kindSingular(kind: Pick<Kind, 'kind'>): string {
  return kind.kind.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** A kind's plural for people (`Deployments`, `Ingresses`, `Network Policies`); the kind itself where it is already plural (`Endpoints`). */
export function kindLabel(kind: Pick<Kind, 'kind' | 'resource'>): string {
  const words = kind.kind.replace(/([a-z])([A-Z])/g, '$1 $2');
  if (kind.resource === kind.kind.toLowerCase()) return words;
  if (/[^aeiou]y$/.test(words)) return `${words.slice(0, -1)}ies`;
  return /(s|x|ch|sh)$/.test(words) ? `${words}es` : `${words}s`;
}

export function NamespaceSelect(props: { clusterId: string; namespace: string; kind: string; namespaces: VisibleNamespace[]; projects: Project[] }) {
  const byProject = new Map<string, VisibleNamespace[]>();
  for (const ns of props.namespaces) {
    const key = ns.projectId ?? '';
    byProject.set(key, [...(byProject.get(key) ?? []), ns]);
  }
  const projectName = (id: string): string => props.projects.find((p) => p.id === id)?.name ?? id;
  const groups = [...byProject.entries()].sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : projectName(a).localeCompare(projectName(b))));
  const change = (e: Event): void => navigate(explorePath(props.clusterId, (e.currentTarget as HTMLSelectElement).value, props.kind));
  return (
    <label>Namespace
      <select value={props.namespace} onChange={change}>
        <option value={allNamespaces}>All namespaces</option>
        {groups.map(([project, list]) => (
          <optgroup key={project} label={project === '' ? 'Not in a project' : `Project ${projectName(project)}`}>
            {list.map((ns) => <option key={ns.name} value={ns.name}>{ns.name}</option>)}
          </optgroup>
        ))}
      </select>
    </label>
  );
}

export function KindLinks(props: { clusterId: string; namespace: string; kinds: Kind[]; current: string | undefined }) {
  const byKey = new Map(props.kinds.map((k) => [k.key, k]));
  const link = (kind: Kind) => (
    <li key={kind.key}>
      <Link href={explorePath(props.clusterId, props.namespace, kind.key)} class={kind.key === props.current ? 'current' : ''}>{kindLabel(kind)}</Link>
    </li>
  );
  const others = props.kinds.filter((k) => !featuredKeys.has(k.key) && !k.resource.includes('/')).sort((a, b) => a.key.localeCompare(b.key));
  return (
    <>
      {featured.map(([section, keys]) => {
        const present = keys.map((k) => byKey.get(k)).filter((k): k is Kind => k !== undefined);
        return present.length === 0 ? null : (
          <div key={section}><h2 class="side-head">{section}</h2><ul>{present.map(link)}</ul></div>
        );
      })}
      <details open={props.current !== undefined && !featuredKeys.has(props.current)}>
        <summary>More resources ({others.length})</summary>
        <ul>{others.map((k) => (
          <li key={k.key}><Link href={explorePath(props.clusterId, props.namespace, k.key)} class={k.key === props.current ? 'current' : ''}>{k.key}</Link></li>
        ))}</ul>
      </details>
    </>
  );
}
