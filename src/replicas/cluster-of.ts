/**
 * Which cluster a proxied request is for, as the relay needs to know before the
 * proxy chain runs: the id in `/k8s/clusters/<id>/…`, or, for a root Kubernetes
 * path (`kubectl get --raw`), the cluster the bearer token is scoped to. Anything
 * it cannot tell is left to the local chain, which answers what is wrong.
 *
 * A cluster path is answered synchronously and only sliced, not validated: this runs
 * on every proxied request, and the proxy chain (here or on the replica it is relayed
 * to) parses and checks the path anyway. An id that is not a cluster's is held by no
 * replica, so it is answered here. Only a root path needs the token (a promise).
 */
import type { IncomingMessage } from 'node:http';
import { clusterPathPrefix, parseRootKubePath } from '../proxy/index.ts';
import type { TokenAuthenticator } from '../identity/index.ts';

/** The `<id>` of `/k8s/clusters/<id>/…` (up to the next `/` or `?`), or undefined for any other path. */
export function clusterIdInPath(url: string): string | undefined {
  if (!url.startsWith(clusterPathPrefix)) return undefined;
  let end = clusterPathPrefix.length;
  while (end < url.length && url[end] !== '/' && url[end] !== '?') end += 1;
  return end === clusterPathPrefix.length ? undefined : url.slice(clusterPathPrefix.length, end);
}

export function clusterOfRequest(authenticator: Pick<TokenAuthenticator, 'authenticate'>): (req: IncomingMessage) => Promise<string | undefined> | string | undefined {
  return (req) => {
    const url = req.url ?? '';
    if (url.startsWith(clusterPathPrefix)) return clusterIdInPath(url);
    const header = req.headers.authorization;
    if (parseRootKubePath(url) === undefined || header === undefined || !/^bearer\s+\S/i.test(header)) return undefined;
    return authenticator.authenticate(header).then((auth) => auth.token.clusterId);
  };
}
