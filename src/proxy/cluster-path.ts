/**
 * `/k8s/clusters/<clusterID>/<kube API path>` → the cluster id and the path to send
 * downstream. The id decides which cluster's tunnel carries the request and which
 * cluster a cluster-scoped token must match, so anything ambiguous is  refused here
 * rather than interpreted: an id that is not a plain DNS label, an empty id, and dot
 * segments (plain or percent-encoded) that could climb out of the cluster prefix. The downstream path and
 * query are passed on byte for byte; kube-apiserver parses them itself.
 */
import { DroverError } from '../errors/index.ts';

export const clusterPathPrefix = '/k8s/clusters/';

export interface ClusterPath {
  clusterId: string;
  /** Path and query for kube-apiserver, always starting with `/`. */
  downstreamPath: string;
}

const clusterIdPattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Parses a request target; throws DroverError 404/400 for anything that is not a cluster path. */
export function parseClusterPath(target: string): ClusterPath {
  if (!target.startsWith(clusterPathPrefix)) {
    throw new DroverError('DRV_ERR_NOT_FOUND', `not a cluster path; expected ${clusterPathPrefix}<clusterID>/...`);
  }
  const rest = target.slice(clusterPathPrefix.length);
  const end = rest.search(/[/?]/);
  const clusterId = end === -1 ? rest : rest.slice(0, end);
  let downstreamPath = end === -1 ? '/' : rest.slice(end);
  if (downstreamPath.startsWith('?')) downstreamPath = `/${downstreamPath}`;
  if (!clusterIdPattern.test(clusterId)) {
    throw new DroverError('DRV_ERR_NOT_FOUND', `cluster ${JSON.stringify(clusterId.slice(0, 64))} not found`);
  }
  refuseDotSegments(downstreamPath);
  return { clusterId, downstreamPath };
}

/**
 * Kubernetes API paths at the server root. kubectl's `get --raw` (and `create --raw`)
 * drops the path of the kubeconfig's server URL, so `kubectl get --raw /version`
 * arrives here as `/version`, not `/k8s/clusters/<id>/version`. Such a path reaches a
 * cluster only with a cluster-scoped token (a generated kubeconfig's), which names
 * the cluster; Drover's own API lives under `/v1`, `/v3`, `/healthz`..., never here.
 */
export const rootKubePrefixes = ['/api', '/version', '/openapi'] as const;

/** The downstream path for a root Kubernetes API path, or undefined when `target` is not one. */
export function parseRootKubePath(target: string): string | undefined {
  const pathOnly = target.split('?', 1)[0] ?? '';
  const isKube = pathOnly === '/api' || pathOnly === '/apis' || pathOnly.startsWith('/api/') || pathOnly.startsWith('/apis/')
    || pathOnly === '/version' || pathOnly.startsWith('/openapi/');
  if (!isKube) return undefined;
  refuseDotSegments(target);
  return target;
}

function refuseDotSegments(downstreamPath: string): void {
  const pathOnly = downstreamPath.split('?', 1)[0] ?? '/';
  if (!pathOnly.includes('.') && !/%2e/i.test(pathOnly)) return;
  // kube-apiserver does not clean paths, but an intermediary might: refuse rather
  // than let `/k8s/clusters/a/../b/...` mean different things to two parsers.
  if (pathOnly.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment))) {
    throw new DroverError('DRV_ERR_BAD_REQUEST', 'dot segments ("." and "..") are not allowed in cluster paths');
  }
}
