/**
 * A cluster's kube-apiserver identity, pinned at first registration: the address the
 * agent dials, the CA that verifies it, and the account the agent's credential
 * authenticates as there. Later reports must match it (see cluster-controller.ts).
 *
 * What counts as "different": the address (exact `host:port`), the CA (the set of
 * SHA-256 fingerprints of the certificates in the bundle, so PEM whitespace or order
 * does not matter) and the account's username as kube-apiserver itself reports it for
 * the credential (SelfSubjectReview). The credential's token is not part of the
 * identity: service-account tokens rotate, and a token for the same account of the
 * same apiserver (checked over TLS that only the pinned CA verifies) is the same
 * identity.
 */
import { createHash, hash, X509Certificate } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { KubeClient, isKubeApiError, resourcePath, resources } from '../kube/index.ts';
import type { Logger } from '../logging/index.ts';
import { DroverError } from '../errors/index.ts';
import { formatHostPort } from '../addresses/index.ts';
import type { AgentSessionView } from '../tunnel/index.ts';
import type { ClusterInfo } from '../agent-protocol/index.ts';

export interface ApiServerIdentity {
  /** `host:port` as the agent dials it. */
  apiServer: string;
  /** Sorted SHA-256 fingerprints (hex) of the CA bundle's certificates, comma-separated. */
  caSha256: string;
  /** Who the agent's credential is in that apiserver (`system:serviceaccount:cattle-system:cattle`). */
  account: string;
}

const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const maxCertificates = 64;

/**
 * An agent's CA bundle rebuilt from the certificates in it, and nothing else; undefined when
 * it holds none (or more than 64) or one does not parse. The bundle is pinned by the
 * fingerprints of its `CERTIFICATE` blocks, but the server's TLS to the cluster reads it
 * with OpenSSL, which also trusts `X509 CERTIFICATE` and `TRUSTED CERTIFICATE` blocks: an
 * agent holding only the registration token could add its own CA under such a label, pass
 * the pin and have the server trust a kube-apiserver of its own. So every later use (the
 * pin, the server's TLS to the cluster) reads this text, in which each certificate is the
 * one parsed, written out again.
 */
export function canonicalCaBundle(caPem: string): string | undefined {
  const blocks = caPem.match(certificateBlock) ?? [];
  if (blocks.length === 0 || blocks.length > maxCertificates) return undefined;
  try {
    return blocks.map((block) => new X509Certificate(block).toString()).join('');
  } catch {
    return undefined;
  }
}

/**
 * Fingerprints already computed, by a digest of the bundle: parsing a certificate costs
 * about 40 µs, and every cluster listed (the API's list, for the UI's every refresh) shows
 * its CA's. Keyed by digest, not by the bundle, and only for bundles of an ordinary size:
 * an agent reports its bundle (up to 256 KiB) at every registration, and one that sent a
 * new bundle each time must not make the server keep them. At most 5,000 entries of about
 * 200 bytes; the least recently used goes first.
 */
const fingerprints = new LRUCache<string, string>({ max: 5_000 });
const maxRememberedBundle = 16 * 1024;

/** The fingerprints of a PEM bundle, order and whitespace aside; throws on a bundle without a certificate. */
export function caFingerprint(caPem: string): string {
  const key = caPem.length <= maxRememberedBundle ? hash('sha256', caPem) : undefined;
  const known = key === undefined ? undefined : fingerprints.get(key);
  if (known !== undefined) return known;
  const blocks = caPem.match(certificateBlock) ?? [];
  if (blocks.length === 0) throw new DroverError('DRV_ERR_BAD_GATEWAY', 'the agent sent a CA bundle without a certificate');
  const prints = blocks.map((pem) => new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase());
  const fingerprint = [...new Set(prints)].sort().join(',');
  if (key === undefined) return fingerprint;
  fingerprints.set(key, fingerprint);
  return fingerprint;
}

/** What differs between the pinned identity and a report, in words; empty when they match. */
export function identityDifferences(pinned: Partial<ApiServerIdentity>, reported: Partial<ApiServerIdentity>): string[] {
  const differences: string[] = [];
  if (pinned.apiServer !== undefined && pinned.apiServer !== reported.apiServer) {
    differences.push(`address ${reported.apiServer ?? 'unknown'} (pinned ${pinned.apiServer})`);
  }
  if (pinned.caSha256 !== undefined && pinned.caSha256 !== reported.caSha256) {
    differences.push(`CA sha256 ${short(reported.caSha256)} (pinned ${short(pinned.caSha256)})`);
  }
  if (pinned.account !== undefined && pinned.account !== reported.account) {
    differences.push(`account ${reported.account ?? 'unknown'} (pinned ${pinned.account})`);
  }
  return differences;
}

/** A short, stable name for an identity: what `--accept-new-apiserver` confirms it accepts. */
export function identityDigest(identity: Partial<ApiServerIdentity>): string {
  return createHash('sha256').update(JSON.stringify([identity.apiServer, identity.caSha256, identity.account ?? ''])).digest('hex').slice(0, 16);
}

const short = (prints: string | undefined): string => (prints ?? 'unknown').split(',').map((p) => p.slice(0, 16)).join(',');

/**
 * Asks kube-apiserver, through this one session and over TLS verified by the CA the
 * agent reported, for its version and who the reported credential is. The credential
 * goes only to the apiserver that CA verifies, never anywhere else.
 */
export async function inspectThroughSession(
  session: AgentSessionView, info: ClusterInfo, logger: Logger, timeoutMs: number,
): Promise<{ account: string; version: string }> {
  const client = new KubeClient({
    endpoint: {
      server: `https://${info.apiServer}`, caPem: info.caPem, token: info.token,
      dial: (host, port, signal) => session.dial(formatHostPort(host, port), signal ? { signal } : {}),
    },
    logger, requestTimeoutMs: timeoutMs, connectTimeoutMs: timeoutMs,
  });
  try {
    const version = await client.get<{ gitVersion?: string }>('/version', { signal: session.signal });
    const account = await whoIs(client, info.token, session.signal);
    return { account, version: version.gitVersion ?? 'unknown' };
  } finally {
    await client.destroy();
  }
}

/**
 * Who `token` is, as kube-apiserver says: a SelfSubjectReview (GA in Kubernetes 1.28,
 * needs no permission), or on an older apiserver a TokenReview (the agent's account
 * may create those: it is cluster-admin there).
 */
async function whoIs(client: KubeClient, token: string, signal: AbortSignal): Promise<string> {
  let username: string | undefined;
  try {
    const review = await client.request<{ status?: { userInfo?: { username?: string } } }>({
      method: 'POST', path: resourcePath(resources.selfsubjectreviews), signal,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    username = review.status?.userInfo?.username;
  } catch (error) {
    if (!isKubeApiError(error, 404)) throw error;
    const review = await client.request<{ status?: { authenticated?: boolean; user?: { username?: string } } }>({
      method: 'POST', path: resourcePath(resources.tokenreviews), signal,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    });
    username = review.status?.authenticated === true ? review.status.user?.username : undefined;
  }
  if (!username) throw new DroverError('DRV_ERR_BAD_GATEWAY', 'kube-apiserver did not say who the agent\'s credential is (no username in its review)');
  return username;
}
