/**
 * identity/: users, local passwords, tokens, and the token check every request
 * makes.
 *
 * Trusts: the store's records. Refuses: malformed or unknown tokens, a wrong
 * secret, expired or disabled tokens, disabled users (each a distinct code), and
 * password logins while a username or address is locked out, even with the right
 * password, and anything but whoami, the password change and logout for a user who
 * must change their password (http/'s `refusePasswordChangeOnly`, on the `passwordChangeOnly` flag set here). Fails closed: an unreadable hash verifies as false; a store error
 * during a check is a 500, never a pass. Token secrets exist in clear only in the
 * response that issues them; passwords only in the request that carries them, and
 * neither is ever logged.
 */
export type {
  AuthenticatedUser, Clock, GlobalRole, TokenAuthenticator, TokenCacheInvalidator, TokenInfo, TokenInvalidation, TokenKind, User,
} from './types.ts';
export { createIdentity, type Identity, type IdentityOptions } from './identity.ts';
export { UserService, activeAdminIds, toUser, type CreateUserInput, type UserChange } from './user-service.ts';
export { TokenService, defaultTokenPolicy, type TokenPolicy, type TokenLookup, type TokenAuthRecord, type IssueTokenInput } from './token-service.ts';
export { CachedTokenAuthenticator } from './token-authenticator.ts';
export { LoginThrottle, type ThrottlePolicy } from './login-throttle.ts';
export { LocalLogin, type LoginInput, type LoginResult, type LoginObserver } from './local-login.ts';
export { bootstrapAdmin, type BootstrapResult } from './bootstrap.ts';
export { minPasswordLength, checkPasswordPolicy, generatePassword } from './passwords.ts';
export {
  ExternalLogin, GroupRefresher, ProviderService, providersApi, type AccessPolicy, type UsersByPrincipal,
} from './providers/index.ts';
export type { AuthProvider, RefreshResult, VerifiedIdentity } from './providers/index.ts';
export { redirectLoginApi } from './providers/redirect-api.ts';
export { RedirectLogins } from './providers/redirect-login.ts';
