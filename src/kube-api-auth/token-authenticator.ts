/**
 * Decides one token offline from the synced records: parse, find the record,
 * check it belongs to this cluster, verify the secret in constant time, check
 * enabled and expiry, then the user's attribute. Every refusal carries a reason
 * for the log (never the secret); the caller only learns "not authenticated".
 */
import type { WatchCacheReader } from '../kube/index.ts';
import { parseToken, verifyTokenSecret, hashTokenSecret } from '../tokens/index.ts';
import { aceNamespace, type ClusterAuthToken, type ClusterUserAttribute } from './crds.ts';

export interface ReviewUser { username: string; uid: string; groups: string[] }
export type ReviewOutcome =
  | { kind: 'authenticated'; user: ReviewUser; tokenId: string }
  | { kind: 'refused'; reason: string; tokenId?: string };

export interface TokenRecordsReader {
  tokens: Pick<WatchCacheReader<ClusterAuthToken>, 'get' | 'hasSynced'>;
  users: Pick<WatchCacheReader<ClusterUserAttribute>, 'get' | 'hasSynced'>;
  /** The cluster id this kube-api-auth serves; undefined until known (then every token is refused). */
  clusterId(): string | undefined;
}

/** Spent on unknown ids too, so response time does not tell which ids exist. */
const decoyHash = hashTokenSecret('decoy-secret-that-never-matches-anything-0');

export class TokenReviewAuthenticator {
  private readonly records: TokenRecordsReader;
  private readonly clock: () => number;

  constructor(options: { records: TokenRecordsReader; clock?: () => number }) {
    this.records = options.records;
    this.clock = options.clock ?? Date.now;
  }

  review(token: string): ReviewOutcome {
    let parts: { id: string; secret: string };
    try {
      parts = parseToken(token);
    } catch {
      return { kind: 'refused', reason: 'not a Drover token' };
    }
    const { tokens, users } = this.records;
    if (!tokens.hasSynced || !users.hasSynced) return { kind: 'refused', reason: 'token records not synced yet', tokenId: parts.id };
    const clusterId = this.records.clusterId();
    if (clusterId === undefined) return { kind: 'refused', reason: 'cluster id unknown: the drover-ace ConfigMap is missing', tokenId: parts.id };
    const record = tokens.get(aceNamespace, parts.id);
    const secretOk = verifyTokenSecret(parts.secret, record?.spec?.hash ?? decoyHash);
    const refuse = (reason: string): ReviewOutcome => ({ kind: 'refused', reason, tokenId: parts.id });
    if (!record?.spec) return refuse('unknown token');
    if (!secretOk) return refuse('wrong secret');
    const spec = record.spec;
    if (spec.clusterId !== clusterId) return refuse('token belongs to another cluster');
    if (spec.enabled !== true) return refuse('token disabled');
    if (spec.expiresAt !== undefined) {
      const expires = Date.parse(spec.expiresAt);
      if (!Number.isFinite(expires) || expires <= this.clock()) return refuse('token expired');
    }
    const attribute = users.get(aceNamespace, spec.userId);
    if (!attribute?.spec) return refuse('no user attribute');
    if (attribute.spec.userId !== spec.userId) return refuse('user attribute does not match the token');
    if (attribute.spec.enabled !== true) return refuse('user disabled');
    const groups = [...new Set([...(Array.isArray(attribute.spec.groups) ? attribute.spec.groups : []), 'system:authenticated'])];
    return { kind: 'authenticated', tokenId: parts.id, user: { username: spec.userId, uid: spec.userId, groups } };
  }
}
