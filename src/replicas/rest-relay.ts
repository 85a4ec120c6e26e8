/**
 * REST calls under /v1 that use a cluster's live connection (its tunnel) or its
 * owner's memory, relayed like /k8s requests when they land on a replica that cannot
 * answer them: the same PeerRelay, with its own idea of which cluster a request is
 * for and when this replica serves it itself. The receiving replica runs the whole
 * REST route (authentication, authorization, validation) on the caller's own
 * credential; every other /v1 call is answered where it lands, from the database.
 *
 * Which routes those are is declared where each is defined (`config: { live }`,
 * src/http/live-routes.ts), not listed here. (A kubeconfig's per-node contexts come
 * from the database: the owner records the control-plane nodes it watches;
 * src/clusters/control-planes.ts.)
 */
import type { IncomingMessage } from 'node:http';
import type { LiveRoutes } from '../http/index.ts';

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
  /** The routes that declared they need the cluster live. */
  liveRoutes: Pick<LiveRoutes, 'match'>;
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
    const route = options.liveRoutes.match(req.method, req.url);
    if (!route) return undefined;
    const clusterId = await options.clusterIdOf(route.cluster);
    if (clusterId === undefined) return undefined;
    const here = route.need === 'owner' ? options.owns(clusterId) : options.servesLocally(clusterId);
    return here ? undefined : clusterId;
  };
}
