/**
 * Related objects, found as the controllers find them: by the owner's label
 * selector, then kept only if their ownerReferences name the owner (a Deployment's
 * ReplicaSets, and those ReplicaSets' Pods; a StatefulSet's, DaemonSet's, Job's or
 * ReplicaSet's Pods; a CronJob's Jobs).
 */
import { Link, Show, Table, useLoad } from '../components.tsx';
import { canI, collectionPath, getJson, type Kind } from './kube.ts';
import { explorePath } from './navigation.tsx';
import type { KubeObject } from './resource-page.tsx';

/** Which kinds an owner's children are, in order: each level is owned by the one before. */
const childKinds: Record<string, string[]> = {
  'deployments.apps': ['replicasets.apps', 'pods'],
  'statefulsets.apps': ['pods'],
  'daemonsets.apps': ['pods'],
  'replicasets.apps': ['pods'],
  'jobs.batch': ['pods'],
  'cronjobs.batch': ['jobs.batch'],
};

interface Found { kind: Kind; items: KubeObject[] }

function selectorOf(object: KubeObject): string {
  const selector = object.spec?.selector as { matchLabels?: Record<string, string> } | undefined;
  return Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
}

async function findRelated(clusterId: string, object: KubeObject, chain: Kind[]): Promise<Found[]> {
  const namespace = object.metadata.namespace;
  const selector = selectorOf(object);
  let owners = new Set([object.metadata.uid]);
  const found: Found[] = [];
  for (const kind of chain) {
    if (!(await canI(clusterId, { verb: 'list', group: kind.group, resource: kind.resource, ...(namespace ? { namespace } : {}) }))) break;
    const query = selector === '' ? '' : `?labelSelector=${encodeURIComponent(selector)}`;
    const list = await getJson<{ items: KubeObject[] }>(`${collectionPath(clusterId, kind, namespace)}${query}`);
    const items = list.items.filter((i) => (i.metadata.ownerReferences ?? []).some((r) => owners.has(r.uid)));
    found.push({ kind, items });
    owners = new Set(items.map((i) => i.metadata.uid));
  }
  return found;
}

export function Related(props: { clusterId: string; kind: Kind; object: KubeObject; kinds: Kind[] }) {
  const chain = (childKinds[props.kind.key] ?? []).map((k) => props.kinds.find((d) => d.key === k)).filter((k): k is Kind => k !== undefined);
  const related = useLoad(() => findRelated(props.clusterId, props.object, chain), [props.object.metadata.uid, props.object.metadata.resourceVersion]);
  if (chain.length === 0) return null;
  return (
    <div class="card">
      <h3>Related</h3>
      <Show load={related} empty={(f) => f.length === 0} emptyText="You may not list what this object owns.">
        {(found) => (
          <Table label="Related objects" head={['Kind', 'Name', 'Status']}>
            {found.flatMap(({ kind, items }) => items.map((i) => (
              <tr key={i.metadata.uid}>
                <td>{kind.kind}</td>
                <td><Link href={explorePath(props.clusterId, i.metadata.namespace ?? '_all', kind.key, i.metadata.name)}>{i.metadata.name}</Link></td>
                <td>{statusOf(i)}</td>
              </tr>
            )))}
          </Table>
        )}
      </Show>
    </div>
  );
}

function statusOf(object: KubeObject): string {
  const s = object.status ?? {};
  if (typeof s.phase === 'string') return s.phase;
  if (typeof s.replicas === 'number') return `${typeof s.readyReplicas === 'number' ? s.readyReplicas : 0}/${s.replicas} ready`;
  return '';
}
