/**
 * Which of a cluster's upstream pools a request uses (upstream.ts, ConnectionUse): a
 * watch or a followed log holds its connection while it mostly waits, so it goes to the
 * pool whose connections stay inside the tunnel's session, where an idle connection costs
 * an HTTP/2 stream instead of a socket and a TLS layer of its own on both ends. Upgrades
 * (exec, attach, port-forward) are long-lived too (upgrade.ts).
 */
import { parseRequestInfo, queryFlag } from '../audit/index.ts';
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
