/**
 * REST calls under /v1 that use a cluster's live connection (its tunnel) or its
 * owner's memory, relayed like /k8s requests when they land on a replica that cannot
 * answer them: the same PeerRelay, with its own idea of which cluster a request is
 * for and when this replica serves it itself. The receiving replica runs the whole
 * REST route (authentication, authorization, validation) on the caller's own
 * credential; every other /v1 call is answered where it lands, from the database.
 *
 * (A kubeconfig's per-node contexts come from the database: the owner records the
 * control-plane nodes it watches; src/clusters/control-planes.ts.)
 *
 * `session`: the route dials the cluster through a tunnel session (this replica must
 * hold one); `owner`: the route reads what only the owner's controller keeps (the
 * Warning events it watches).
 */
import type { IncomingMessage } from 'node:http';

export type LiveNeed = 'session' | 'owner';

interface LiveRoute { method: string; path: RegExp; need: LiveNeed }

/** `:id` is the first group: a cluster id or name, as the routes accept. */
const liveRoutes: readonly LiveRoute[] = [
  // The explorer's namespace list, creating a namespace in a project, moving one into a project.
  { method: 'GET', path: /^\/v1\/clusters\/([^/]+)\/namespaces$/, need: 'session' },
  { method: 'POST', path: /^\/v1\/clusters\/([^/]+)\/namespaces$/, need: 'session' },
  { method: 'POST', path: /^\/v1\/clusters\/([^/]+)\/projects\/[^/]+\/namespaces$/, need: 'session' },
  // An etcd snapshot is taken through a node agent's session.
  { method: 'POST', path: /^\/v1\/clusters\/([^/]+)\/snapshots$/, need: 'session' },
  // Deleting removes Drover's objects from the cluster through the tunnel (every replica then dismisses its own agents).
  { method: 'DELETE', path: /^\/v1\/clusters\/([^/]+)$/, need: 'session' },
  { method: 'GET', path: /^\/v1\/clusters\/([^/]+)\/warnings$/, need: 'owner' },
];

/** The live route a request is for: the cluster as written in its path, and what it needs; undefined for every other request. */
export function liveRestRoute(method: string | undefined, url: string | undefined): { cluster: string; need: LiveNeed } | undefined {
  const path = (url ?? '').split('?')[0] ?? '';
  for (const route of liveRoutes) {
    if (route.method !== method) continue;
    const match = route.path.exec(path);
    if (match?.[1] !== undefined) {
      let cluster: string;
      try {
        cluster = decodeURIComponent(match[1]);
      } catch {
        return undefined;
      }
      return { cluster, need: route.need };
    }
  }
  return undefined;
}

/**
 * The replica a browser kubectl console call must reach (`POST …/shell/:session/run`,
 * `DELETE …/shell/:session`): the console lives in the memory of the replica that opened
 * it, whose id starts its session id (`<replica id>.<uuid>`, src/web-shell/); undefined
 * for every other request.
 */
export function consoleReplicaOf(method: string | undefined, url: string | undefined): string | undefined {
  const path = (url ?? '').split('?')[0] ?? '';
  const match = /^\/v1\/clusters\/[^/]+\/shell\/(r-[a-z2-7]+)\.[^/]+(\/run)?$/.exec(path);
  if (!match) return undefined;
  return (method === 'POST' && match[2] !== undefined) || (method === 'DELETE' && match[2] === undefined) ? match[1] : undefined;
}

export interface RestClusterOfOptions {
  /** The id of a cluster named by id or name; undefined when there is none (the route answers 404 here). */
  clusterIdOf(idOrName: string): Promise<string | undefined>;
  /** This replica holds a live session for the cluster. */
  servesLocally(clusterId: string): boolean;
  /** This replica owns the cluster (runs its controller work). */
  owns(clusterId: string): boolean;
}

/** The relay's `clusterOf` for REST: the cluster to relay for, or undefined to answer here. */
export function restClusterOf(options: RestClusterOfOptions): (req: IncomingMessage) => Promise<string | undefined> {
  return async (req) => {
    const route = liveRestRoute(req.method, req.url);
    if (!route) return undefined;
    const clusterId = await options.clusterIdOf(route.cluster);
    if (clusterId === undefined) return undefined;
    const here = route.need === 'owner' ? options.owns(clusterId) : options.servesLocally(clusterId);
    return here ? undefined : clusterId;
  };
}
