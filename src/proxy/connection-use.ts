/**
 * Which of a cluster's upstream pools a request uses (upstream.ts, ConnectionUse): a
 * watch or a followed log holds its connection while it mostly waits, so it goes to the
 * pool whose connections stay inside the tunnel's session, where an idle connection costs
 * an HTTP/2 stream instead of a socket and a TLS layer of its own on both ends. Upgrades
 * (exec, attach, port-forward) are long-lived too (upgrade.ts).
 */
import { parseRequestInfo, queryFlag } from '../audit/index.ts';
import { clusterPathPrefix } from './cluster-path.ts';
import type { ConnectionUse } from './upstream.ts';

/** Cheap first look: only a target that names watch or follow is parsed. */
const mayHoldConnection = /[?&](?:watch|follow)=|\/watch\//;

/** `target` is the downstream path with its query, as kube-apiserver will see it. */
export function connectionUse(method: string, target: string): ConnectionUse {
  if (!mayHoldConnection.test(target)) return 'requests';
  const info = parseRequestInfo(method, target);
  if (info.verb === 'watch') return 'long-lived';
  if (info.subresource === 'log' && queryFlag(new URLSearchParams(target.slice(target.indexOf('?') + 1)), 'follow')) return 'long-lived';
  return 'requests';
}

/**
 * Whether a request to the listener (`/k8s/clusters/<id>/…` or a root Kubernetes path) holds
 * its connection for as long as its client wants: a watch or a followed log. A graceful stop
 * does not wait for those.
 */
export function holdsConnection(method: string, url: string): boolean {
  if (!mayHoldConnection.test(url)) return false;
  const target = url.startsWith(clusterPathPrefix) ? url.slice(url.indexOf('/', clusterPathPrefix.length)) : url;
  return connectionUse(method, target) === 'long-lived';
}
