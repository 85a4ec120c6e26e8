/**
 * Which cluster a proxied request is for, as the relay needs to know before the
 * proxy chain runs: the id in `/k8s/clusters/<id>/…`, or, for a root Kubernetes
 * path (`kubectl get --raw`), the cluster the bearer token is scoped to. Anything
 * it cannot tell is left to the local chain, which answers what is wrong.
 */
import type { IncomingMessage } from 'node:http';
import { clusterPathPrefix, parseClusterPath, parseRootKubePath } from '../proxy/index.ts';
import type { TokenAuthenticator } from '../identity/index.ts';

export function clusterOfRequest(authenticator: Pick<TokenAuthenticator, 'authenticate'>): (req: IncomingMessage) => Promise<string | undefined> {
  return async (req) => {
    const url = req.url ?? '';
    if (url.startsWith(clusterPathPrefix)) return parseClusterPath(url).clusterId;
    const header = req.headers.authorization;
    if (parseRootKubePath(url) === undefined || header === undefined || !/^bearer\s+\S/i.test(header)) return undefined;
    return (await authenticator.authenticate(header)).token.clusterId;
  };
}
