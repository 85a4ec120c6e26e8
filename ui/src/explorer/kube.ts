/**
 * The explorer's Kubernetes client: every request goes through the authentication
 * proxy (`/k8s/clusters/<id>/...`) as the signed-in user, so Kubernetes RBAC decides
 * what each person sees, exactly as with kubectl. Lists ask for the server-side Table
 * format, which carries kubectl's own columns for every kind (CRDs included), and stay
 * live through a watch in the same format (no polling).
 */
import { ApiError, api, q, request } from '../api.ts';
import type { VisibleNamespace } from '../types.ts';

export type { VisibleNamespace };

export const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io, application/json';

export function clusterBase(clusterId: string): string {
  return `/k8s/clusters/${q(clusterId)}`;
}

export interface ColumnDefinition { name: string; type: string; format: string; description: string; priority: number }
export interface RowMeta { name: string; namespace?: string; uid: string; resourceVersion?: string; creationTimestamp?: string }
export interface TableRow { cells: unknown[]; object: { metadata: RowMeta } }
export interface KubeTable { columnDefinitions: ColumnDefinition[]; rows: TableRow[]; metadata: { resourceVersion?: string } }

/** GET /v1/clusters/<id>/namespaces: what the user can see, with the project each is in. */

/** One kind as discovery describes it. */
export interface Kind {
  group: string; version: string; resource: string; kind: string; namespaced: boolean; verbs: string[];
  /** `deployments.apps`, `pods`: kubectl's name, used in the explorer's URLs. */
  key: string;
}

export function apiPrefix(kind: Pick<Kind, 'group' | 'version'>): string {
  return kind.group === '' ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
}

/** The collection path of a kind, in one namespace or (undefined) across all. */
export function collectionPath(clusterId: string, kind: Kind, namespace?: string): string {
  const ns = kind.namespaced && namespace !== undefined ? `/namespaces/${q(namespace)}` : '';
  return `${clusterBase(clusterId)}${apiPrefix(kind)}${ns}/${kind.resource}`;
}

export function objectPath(clusterId: string, kind: Kind, name: string, namespace?: string): string {
  return `${collectionPath(clusterId, kind, namespace)}/${q(name)}`;
}

export async function getJson<T>(path: string, accept = 'application/json'): Promise<T> {
  return await (await request('GET', path, { headers: { accept } })).json() as T;
}

interface DiscoveryResource { resource: string; responseKind?: { group?: string; version?: string; kind?: string }; scope: string; verbs?: string[] }
interface DiscoveryGroup { metadata: { name?: string }; versions: Array<{ version: string; resources?: DiscoveryResource[] }> }

const discoveryAccept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** Every listable kind, from aggregated discovery (`/api` and `/apis`), in each group's preferred version. */
export async function discoverKinds(clusterId: string): Promise<Kind[]> {
  const base = clusterBase(clusterId);
  const [core, groups] = await Promise.all([
    getJson<{ items: DiscoveryGroup[] }>(`${base}/api`, discoveryAccept),
    getJson<{ items: DiscoveryGroup[] }>(`${base}/apis`, discoveryAccept),
  ]);
  const kinds: Kind[] = [];
  for (const group of [...core.items, ...groups.items]) {
    const name = group.metadata.name ?? '';
    const preferred = group.versions[0];
    if (!preferred) continue;
    for (const r of preferred.resources ?? []) {
      if (!(r.verbs ?? []).includes('list')) continue;
      kinds.push({
        group: name, version: preferred.version, resource: r.resource, kind: r.responseKind?.kind ?? r.resource,
        namespaced: r.scope === 'Namespaced', verbs: r.verbs ?? [], key: name === '' ? r.resource : `${r.resource}.${name}`,
      });
    }
  }
  return kinds;
}

/** Whether the signed-in user may do `verb` (SelfSubjectAccessReview): the explorer asks before it lists, so no 403 is shown raw. */
export async function canI(clusterId: string, attrs: { verb: string; group: string; resource: string; namespace?: string; subresource?: string; name?: string }): Promise<boolean> {
  const review = await api<{ status?: { allowed?: boolean } }>('POST', `${clusterBase(clusterId)}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, {
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attrs },
  });
  return review.status?.allowed === true;
}

export interface WatchEvent { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: KubeTable & { code?: number; message?: string } }

/**
 * Follows a watch (`?watch=1`) until `signal` aborts or the server ends it; each
 * JSON line is one event. Resolves when the stream ends, so the caller re-lists.
 */
export async function watch(path: string, resourceVersion: string, accept: string, signal: AbortSignal, onEvent: (event: WatchEvent) => void): Promise<void> {
  const sep = path.includes('?') ? '&' : '?';
  const res = await request('GET', `${path}${sep}watch=1&resourceVersion=${q(resourceVersion)}`, { headers: { accept }, signal });
  await readLines(res, signal, (line) => onEvent(JSON.parse(line) as WatchEvent));
}

/** Hands each complete line of a streamed answer to `onLine`, until the stream ends or `signal` aborts. */
export async function readLines(res: Response, signal: AbortSignal, onLine: (line: string) => void): Promise<void> {
  const reader = res.body?.getReader();
  if (!reader) return;
  const decoder = new TextDecoder();
  let buffered = '';
  const cancel = (): void => { void reader.cancel().catch(() => undefined); };
  signal.addEventListener('abort', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() !== '') onLine(line);
      }
    }
    if (buffered.trim() !== '') onLine(buffered);
  } catch (e) {
    if (!signal.aborted) throw e;
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

/** True for an answer that means "not yours to see" rather than a failure. */
export function isForbidden(error: unknown): boolean {
  return error instanceof ApiError && error.status === 403;
}
