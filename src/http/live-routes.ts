/**
 * REST routes that need a cluster live on the replica that answers them (docs/ha.md):
 * the route dials the cluster through a tunnel session, or reads what only the
 * cluster's owner keeps. Each route says so where it is defined, with
 * `config: { live: 'session' | 'owner' }`, and `collectLiveRoutes` gathers them as
 * Fastify registers routes, so the peer relay in front of Fastify (src/replicas/)
 * knows them without a second list kept by hand.
 */
import type { FastifyInstance } from 'fastify';

/** `session`: the route dials the cluster through a tunnel session; `owner`: it reads what only the owner's controller keeps. */
export type LiveNeed = 'session' | 'owner';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route needs its cluster (the `:id` path segment) live on the replica that answers it (src/http/live-routes.ts). */
    live?: LiveNeed;
  }
}

interface LiveRoute { method: string; path: RegExp; need: LiveNeed }

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The routes that need a cluster live, as registered. */
export class LiveRoutes {
  private readonly routes: LiveRoute[] = [];

  /** Records a route, in Fastify's URL syntax (`:name` segments); its `:id` segment names the cluster. */
  add(method: string, url: string, need: LiveNeed): void {
    if (!url.split('/').includes(':id')) throw new Error(`live route ${method} ${url} has no :id segment naming its cluster`);
    const pattern = url.split('/').map((segment) => (segment === ':id' ? '([^/]+)' : segment.startsWith(':') ? '[^/]+' : escapeRegExp(segment))).join('/');
    this.routes.push({ method, path: new RegExp(`^${pattern}$`), need });
  }

  /** The live route a request is for: the cluster as written in its path (id or name), and what it needs; undefined for every other request. */
  match(method: string | undefined, url: string | undefined): { cluster: string; need: LiveNeed } | undefined {
    const path = (url ?? '').split('?')[0] ?? '';
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const found = route.path.exec(path);
      if (found?.[1] === undefined) continue;
      try {
        return { cluster: decodeURIComponent(found[1]), need: route.need };
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}

/** Records into `routes` every route registered on `app` from now on that declares `config.live`: install it before the routes. */
export function collectLiveRoutes(app: FastifyInstance, routes: LiveRoutes): void {
  app.addHook('onRoute', (route) => {
    const need = route.config?.live;
    if (need === undefined) return;
    for (const method of [route.method].flat()) routes.add(method, route.url, need);
  });
}
