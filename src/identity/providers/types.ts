/**
 * The contract every external identity provider implements (LDAP, Active
 * Directory, GitHub, OIDC). A provider only answers questions about its own
 * directory; turning its verified answer into a Drover user, a session token and
 * group principals is the job of the shared login code, so no provider can bind a
 * login to a principal it did not itself verify.
 */
import type { TSchema } from 'typebox';
import type { Logger } from '../../logging/index.ts';

export type ProviderName = 'openldap' | 'activedirectory' | 'github' | 'oidc';

/** How a user proves who they are to this provider. */
export type LoginStyle = 'password' | 'redirect';

/** One user or group as the provider names it, with its Drover principal URI. */
export interface Principal {
  /** `openldap_user://<dn>`, `github_team://<id>`, `oidc_group://<name>`, ... */
  id: string;
  kind: 'user' | 'group';
  provider: ProviderName;
  /** What people read: a common name, a login, a team slug. */
  displayName: string;
  /** The name a user types to log in (uid, sAMAccountName, GitHub login); users only. */
  loginName?: string;
}

/** A provider's verified answer about one user: who they are and every group they are in (nested groups resolved). */
export interface VerifiedIdentity {
  user: Principal;
  groups: Principal[];
}

/** What a background refresh learns about a user who logged in before. */
export type RefreshResult =
  | { state: 'found'; identity: VerifiedIdentity }
  /** The provider says the user no longer exists or is disabled: their tokens are revoked. */
  | { state: 'gone'; reason: string };

/** The part every provider has. */
interface ProviderBase {
  readonly name: ProviderName;
  readonly style: LoginStyle;
  /** Re-reads a known user's groups by their user principal id; throws DroverError when the provider cannot be reached. */
  refresh(userPrincipalId: string): Promise<RefreshResult>;
  /**
   * Confirms a user who may never have logged in, for adding them as a member by
   * principal: `found` with what the provider can tell (groups may be empty until
   * their first login), `gone` when the provider says there is no such user.
   * Throws DRV_ERR_UNPROCESSABLE when the provider cannot confirm users it has not
   * seen (the user must log in once), DRV_ERR_PROVIDER_UNAVAILABLE when unreachable.
   */
  confirmUser(userPrincipalId: string): Promise<RefreshResult>;
  /** Users and groups whose name matches `query`, for adding members by name. */
  search(query: string, limit: number): Promise<Principal[]>;
  /** Releases pooled connections. */
  close(): Promise<void>;
}

export interface PasswordProvider extends ProviderBase {
  readonly style: 'password';
  /** Throws DroverError DRV_ERR_UNAUTHENTICATED for a wrong name or password, DRV_ERR_PROVIDER_UNAVAILABLE when the directory cannot be reached. */
  authenticate(username: string, password: string): Promise<VerifiedIdentity>;
}

/** Where to send the browser, and what must come back with it. */
export interface RedirectStart {
  authorizeUrl: string;
  /** Kept server-side, keyed by `state`; never trusted from the client. */
  pending: { state: string; nonce?: string; codeVerifier?: string; redirectUri: string };
}

export interface RedirectProvider extends ProviderBase {
  readonly style: 'redirect';
  startLogin(redirectUri: string): Promise<RedirectStart>;
  /** `callbackUrl` is the full URL the browser was sent back to; checks state, nonce and PKCE against `pending`. */
  completeLogin(callbackUrl: URL, pending: RedirectStart['pending']): Promise<VerifiedIdentity>;
}

export type AuthProvider = PasswordProvider | RedirectProvider;

/** Who may log in through a provider. */
export type AccessMode = 'unrestricted' | 'restricted';

/** What a provider's settings module exports; the catalog maps each ProviderName to one. */
export interface ProviderDefinition<Config = unknown> {
  name: ProviderName;
  style: LoginStyle;
  /** Shown on the login page and in `drover providers list`. */
  displayName: string;
  /** A closed TypeBox schema the API validates a configuration against. */
  configSchema: TSchema;
  /** Top-level config keys holding secrets (bind password, client secret): stored encrypted, never returned. */
  secretFields: readonly string[];
  create(config: Config, deps: ProviderDeps): AuthProvider;
}

export interface ProviderDeps {
  logger: Logger;
  /** The server's public URL, for redirect URIs (`<publicUrl>/v1/auth/<name>/callback`). */
  publicUrl: string;
  /** Where a redirect provider keeps its users' credentials (encrypted, in the database, shared by replicas, kept across restarts). */
  credentials: CredentialStore;
}

/** What a redirect provider remembers about one user who logged in through it. */
export interface StoredCredential {
  /** The last verified identity (user and groups): not secret, used by refresh and search. */
  identity: VerifiedIdentity;
  /** The credential that lets Drover ask the provider again (GitHub user token, OIDC refresh token). */
  secret?: string;
}

/**
 * One provider's store of its users' credentials. Secrets are encrypted at rest,
 * bound to the provider and user principal; a value that does not decrypt reads
 * as absent (the user logs in again), never as another user's.
 */
export interface CredentialStore {
  /** Records a verified login or refresh; `secret` undefined keeps the stored one. */
  save(identity: VerifiedIdentity, secret?: string): Promise<void>;
  load(userPrincipalId: string): Promise<StoredCredential | undefined>;
  forget(userPrincipalId: string): Promise<void>;
  /** The most recently saved secret of any user, for provider calls that need some user's token (GitHub search). */
  newestSecret(): Promise<string | undefined>;
  /** Users and groups seen in logins whose id, name or login contains `query` (case-insensitive). */
  search(query: string, limit: number): Promise<Principal[]>;
}
