/**
 * The credential contract between the routes that ask who a request is and the
 * identity folder that answers: declared here, beside the code that extracts the
 * credential, so route files and the proxy depend on this layer and not on identity.
 */
import { DroverError } from '../errors/index.ts';

export type GlobalRole = 'admin' | 'user';

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
  /**
   * Hot path (the proxy): `authenticate`'s answer without a promise when a cache has it
   * now (the user, or its refusal thrown), else undefined and `authenticate` decides.
   */
  authenticateCached?(authorizationHeaderOrToken: string | undefined): AuthenticatedUser | undefined;
}

/**
 * Refuses a credential whose user must change their password, for anything but
 * whoami, the password change and logging out (the callers decide which routes those
 * are). Only local logins carry the flag: provider users have no Drover password.
 */
export function refusePasswordChangeOnly(user: AuthenticatedUser): void {
  if (user.token.passwordChangeOnly) {
    throw new DroverError('DRV_ERR_PASSWORD_CHANGE_REQUIRED', 'you must change your password before using Drover: run "drover passwd" (or log in to the web UI), then retry');
  }
}
