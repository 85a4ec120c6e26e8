/** The identity vocabulary other folders use (proxy, access, kube-api-auth sync). */
import type { GlobalRole } from '../http/index.ts';

/** Who a request is and how its token is checked: declared by the HTTP layer that asks, produced here. */
export type { AuthenticatedUser, GlobalRole, TokenAuthenticator } from '../http/index.ts';

export type TokenKind = 'session' | 'api' | 'kubeconfig';

export interface User {
  id: string;
  username: string;
  displayName: string;
  enabled: boolean;
  globalRole: GlobalRole;
  principalIds: string[];
  mustChangePassword: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A token record as lists show it: never the secret nor its hash. */
export interface TokenInfo {
  id: string;
  userId: string;
  kind: TokenKind;
  authProvider: string;
  description: string;
  clusterId?: string;
  enabled: boolean;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
}

/** Tells the authenticator's cache that records changed; called by whoever changed them. */
export interface TokenCacheInvalidator {
  invalidateToken(tokenId: string): void;
  invalidateUser(userId: string): void;
}

/** What an invalidation covered: one token, every token of one user, or everything. */
export type TokenInvalidation = { kind: 'token'; tokenId: string } | { kind: 'user'; userId: string } | { kind: 'all' };

/** Milliseconds since the epoch; injected so tests control time. */
export type Clock = () => number;
