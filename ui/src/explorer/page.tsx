/**
 * The cluster explorer: /clusters/<id>/explore/<namespace>/<kind>[/<name>]. Kinds
 * come from discovery, namespaces from Drover's projects (a project member sees
 * their project's namespaces without cluster-wide list rights), and every object
 * through the authentication proxy as the signed-in user.
 */
import { get, q } from '../api.ts';
import { Link, Show, useLoad } from '../components.tsx';
import type { Cluster, Project, User } from '../types.ts';
import { discoverKinds, type VisibleNamespace } from './kube.ts';
import { KindLinks, NamespaceSelect, allNamespaces, explorePath, kindLabel } from './navigation.tsx';
import { ResourceList } from './resource-list.tsx';
import { Dashboard } from './dashboard.tsx';
import { ResourcePage } from './resource-page.tsx';

/** The width below which style.css stacks the explorer (keep the two equal). */
const phoneWidth = '(max-width: 700px)';

export function ExplorerPage(props: { clusterId: string; rest: string[]; user: User }) {
  const { clusterId } = props;
  const [namespace = allNamespaces, kindKey, name] = props.rest;
  const cluster = useLoad(() => get<Cluster>(`/v1/clusters/${q(clusterId)}`), [clusterId]);
  const kinds = useLoad(() => discoverKinds(clusterId), [clusterId]);
  const namespaces = useLoad(() => get<VisibleNamespace[]>(`/v1/clusters/${q(clusterId)}/namespaces`), [clusterId]);
  const projects = useLoad(() => get<Project[]>(`/v1/clusters/${q(clusterId)}/projects`), [clusterId]);
  const kind = kinds.data?.find((k) => k.key === kindKey);
  return (
    <section class="explorer">
      <p><Link href={`/clusters/${encodeURIComponent(clusterId)}`}>← {cluster.data?.displayName || cluster.data?.name || 'Cluster'}</Link></p>
      <h1>Explore {cluster.data?.displayName || cluster.data?.name || clusterId}</h1>
      <div class="explorer-layout">
        <nav class="side" aria-label="Resources">
          <Show load={namespaces}>
            {(list) => <NamespaceSelect clusterId={clusterId} namespace={namespace} kind={kindKey ?? 'pods'} namespaces={list} projects={projects.data ?? []} />}
          </Show>
          {/* On a phone the kinds fold away (and fold again after each choice), so the page's content starts on the first screen. */}
          <details class="kinds" key={`${namespace}/${kindKey ?? ''}/${name ?? ''}`} open={!matchMedia(phoneWidth).matches}>
            <summary>Resources{kind ? `: ${kindLabel(kind)}` : kindKey === undefined ? ': Cluster dashboard' : ''}</summary>
            <p><Link href={`/clusters/${encodeURIComponent(clusterId)}/explore`} class={kindKey === undefined ? 'current' : ''}>Cluster dashboard</Link></p>
            <Show load={kinds}>{(list) => <KindLinks clusterId={clusterId} namespace={namespace} kinds={list} current={kindKey} />}</Show>
          </details>
        </nav>
        <div class="explorer-main">
          {kindKey === undefined ? <Dashboard clusterId={clusterId} /> : kinds.data !== undefined && namespaces.data !== undefined && (kind === undefined
            ? <p class="empty">This cluster has no kind called {kindKey}. <Link href={explorePath(clusterId, namespace, 'pods')}>Show pods</Link>.</p>
            : name === undefined
              ? <ResourceList clusterId={clusterId} kind={kind} namespace={namespace} namespaces={namespaces.data} />
              : <ResourcePage clusterId={clusterId} kind={kind} namespace={namespace === allNamespaces ? undefined : namespace} name={name} kinds={kinds.data} />)}
        </div>
      </div>
    </section>
  );
}
