/**
 * identity/providers/: external identity providers (LDAP, Active Directory,
 * GitHub, OIDC): their settings, live instances, the login that turns a
 * provider's verified answer into a Drover user, and the background group
 * refresh.
 *
 * Trusts: only a provider's own verified answer (a successful bind, a verified
 * ID token), and only for principals of its own scheme. Refuses: logins through
 * a provider that is not enabled, enabling a configuration that has not passed
 * a test login, users outside a restricted provider's allowed principals.
 * Decides the Drover user by the provider's user principal alone (never by
 * username or client state). Fails closed: disabling a provider, a user gone at
 * the provider, or a user no longer allowed revokes their tokens; an unreachable
 * provider keeps the last known groups and never grants more.
 *
 * Redirect providers' per-user credentials (GitHub tokens, OIDC refresh tokens)
 * live encrypted in `provider_credentials` (known-users.ts), so restarts and
 * replicas keep refreshing; they are deleted on `gone`, on disable, and once no
 * Drover user owns the principal. A changed configuration of an enabled provider
 * waits as pending and serves nothing until tested and promoted by enable.
 */
export type * from './types.ts';
export { providerCatalog } from './catalog.ts';
export { ProviderService, type ProvidersApi } from './provider-service.ts';
export { definitionOf, validateConfig, type ConfigureInput, type ProviderView } from './provider-settings.ts';
export type { FoundPrincipal, UsersByPrincipal } from './principal-users.ts';
export {
  ExternalLogin, checkIdentityShape, isAllowed, principalIdsFor, usernameCandidate,
  type AccessPolicy, type CompleteExternalLogin, type ExternalLoginMeta, type ExternalLoginResult,
} from './external-login.ts';
export { GroupRefresher, type RefreshOutcome, type RefreshSource } from './group-refresher.ts';
export { providersApi } from './providers-api.ts';
