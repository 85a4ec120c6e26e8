/** The identity vocabulary other folders use (proxy, access, kube-api-auth sync). */

export type GlobalRole = 'admin' | 'user';
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

/** Who a request is, once its token checked out. */
export interface AuthenticatedUser {
  id: string;
  username: string;
  displayName: string;
  provider: string;
  principalIds: string[];
  /** Group principals; empty for local users (the proxy adds `system:authenticated`). */
  groups: string[];
  globalRole: GlobalRole;
  /**
   * `passwordChangeOnly`: the user must change their local password; until then this
   * credential opens only whoami, the password change and logging out (see
   * `refusePasswordChangeOnly`). The server decides it from the user's record on every
   * check, so every way in (REST, proxy, UI cookie) inherits it.
   */
  token: { id: string; clusterId?: string; expiresAt?: string; passwordChangeOnly?: true };
}

/**
 * Checks a Drover token on every request. Accepts an Authorization header value
 * (`Bearer …`, `Basic …`) or a bare token; throws DroverError 401
 * (DRV_ERR_UNAUTHENTICATED, DRV_ERR_TOKEN_EXPIRED) or 403 (DRV_ERR_USER_DISABLED).
 */
export interface TokenAuthenticator {
  authenticate(authorizationHeaderOrToken: string | undefined): Promise<AuthenticatedUser>;
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
