/**
 * What the agent and the server say to each other besides tunnelled bytes: the
 * headers an agent connects with, and the one route the server calls on an agent
 * to learn how to reach its kube-apiserver. Both sides import this file, so the
 * contract lives once.
 *
 * The server never trusts what an agent reports about *which* cluster it serves:
 * that comes from the registration token alone. What the agent reports (address,
 * CA, credential) only says how to reach the cluster the token belongs to.
 */
import { DroverError } from '../errors/index.ts';

export const agentHeaders = {
  /** The cluster's registration token. */
  token: 'x-drover-registration-token',
  /** `cluster` (cattle-cluster-agent) or `node` (cattle-node-agent, the fallback tunnel). */
  kind: 'x-drover-agent-kind',
  /** A node agent's node name. */
  node: 'x-drover-node-name',
} as const;

/** Where agents open their tunnel on the server. */
export const tunnelConnectPath = '/v3/connect';

/** The route the server calls on an agent's session to learn how to reach kube-apiserver. */
export const clusterInfoRoute = { method: 'GET', path: '/v1/cluster-info' } as const;

/**
 * The route the server calls on an agent's session before it closes it for good,
 * so the agent can say why and act: `apiserver-changed` (it reports a kube-apiserver
 * other than the one pinned for the cluster: it keeps retrying, slowly, until an
 * admin accepts the change) or `cluster-deleted` (it exits).
 */
export const goodbyeRoute = { method: 'POST', path: '/v1/goodbye' } as const;

export interface Goodbye {
  reason: 'apiserver-changed' | 'cluster-deleted';
  /** What happened and what to do, for the agent's log. */
  message: string;
}

/** Validates a goodbye the server sent; anything off is treated as no goodbye. */
export function parseGoodbye(value: unknown): Goodbye | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { reason, message } = value as Record<string, unknown>;
  if ((reason !== 'apiserver-changed' && reason !== 'cluster-deleted') || typeof message !== 'string') return undefined;
  return { reason, message: message.slice(0, 2000) };
}

/** The tunnel's handler key for a route (`"METHOD /path"`). */
export const routeKey = (route: { method: string; path: string }): string => `${route.method} ${route.path}`;

/** How the server reaches and authenticates to the cluster's kube-apiserver. */
export interface ClusterInfo {
  /** `host:port` of kube-apiserver as the agent dials it. */
  apiServer: string;
  /** PEM bundle that verifies kube-apiserver's serving certificate. */
  caPem: string;
  /** Bearer token of the agent's `cattle` service account (cluster-admin in that cluster). */
  token: string;
}

const hostPort = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
/** Validates what an agent sent; anything off is a protocol error naming the field (the server then rebuilds the CA bundle: `canonicalCaBundle` in src/clusters). */
export function parseClusterInfo(value: unknown): ClusterInfo {
  const bad = (field: string): never => {
    throw new DroverError('DRV_ERR_BAD_GATEWAY', `the agent sent invalid cluster info: ${field}`);
  };
  if (typeof value !== 'object' || value === null) return bad('not an object');
  const { apiServer, caPem, token } = value as Record<string, unknown>;
  if (typeof apiServer !== 'string' || !hostPort.test(apiServer)) return bad('apiServer must be host:port');
  if (typeof caPem !== 'string' || !caPem.includes('-----BEGIN CERTIFICATE-----') || caPem.length > 256 * 1024) return bad('caPem must be a PEM certificate bundle');
  if (typeof token !== 'string' || token.length < 16 || token.length > 16 * 1024 || /\s/.test(token)) return bad('token');
  return { apiServer, caPem, token };
}
