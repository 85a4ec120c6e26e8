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
import { X509Certificate } from 'node:crypto';
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
const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const maxCertificates = 64;

/**
 * The agent's CA bundle rebuilt from the certificates in it, and nothing else. The bundle
 * is pinned by the fingerprints of its `CERTIFICATE` blocks, but TLS reads it with
 * OpenSSL, which also trusts `X509 CERTIFICATE` and `TRUSTED CERTIFICATE` blocks: an
 * agent holding only the registration token could add its own CA under such a label, pass
 * the pin and have the server trust a kube-apiserver of its own. So every later use (the
 * pin, the server's TLS to the cluster) reads this text, in which each certificate is
 * the one parsed, written out again.
 */
function canonicalCaBundle(caPem: string): string | undefined {
  const blocks = caPem.match(certificateBlock) ?? [];
  if (blocks.length === 0 || blocks.length > maxCertificates) return undefined;
  try {
    return blocks.map((block) => new X509Certificate(block).toString()).join('');
  } catch {
    return undefined;
  }
}

/** Validates what an agent sent, its CA bundle rebuilt from the certificates in it; anything off is a protocol error naming the field. */
export function parseClusterInfo(value: unknown): ClusterInfo {
  const bad = (field: string): never => {
    throw new DroverError('DRV_ERR_BAD_GATEWAY', `the agent sent invalid cluster info: ${field}`);
  };
  if (typeof value !== 'object' || value === null) return bad('not an object');
  const { apiServer, caPem, token } = value as Record<string, unknown>;
  if (typeof apiServer !== 'string' || !hostPort.test(apiServer)) return bad('apiServer must be host:port');
  const bundle = typeof caPem === 'string' && caPem.length <= 256 * 1024 ? canonicalCaBundle(caPem) : undefined;
  if (bundle === undefined) return bad(`caPem must be a PEM bundle of 1 to ${maxCertificates} certificates`);
  if (typeof token !== 'string' || token.length < 16 || token.length > 16 * 1024 || /\s/.test(token)) return bad('token');
  return { apiServer, caPem: bundle, token };
}
