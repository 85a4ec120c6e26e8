/**
 * Provider principals as Drover users: adding a member by a provider user principal
 * before their first login (`members add --user openldap_user://…`), and principal
 * search (local users, then every enabled provider). A user is created only when the
 * principal's enabled provider confirms it; the binding in `user_principals` is what
 * the first login then finds.
 */
import { DroverError } from '../../errors/index.ts';
import type { Logger } from '../../logging/index.ts';
import type { User } from '../types.ts';
import type { UserService } from '../user-service.ts';
import { isAllowed, type AccessPolicy, type ExternalLogin } from './external-login.ts';
import type { AuthProvider, Principal, ProviderDefinition, ProviderName } from './types.ts';

/** What adding a member by principal needs (the access API): the Drover user of a provider user principal. */
export interface UsersByPrincipal {
  /** The user bound to the principal, created (no tokens) once its enabled provider confirms it; see PrincipalUsers. */
  ensureUserForPrincipal(principalId: string): Promise<User>;
  /** The user bound to the principal, if any; never asks a provider, never creates. */
  findUserByPrincipal(principalId: string): Promise<User | undefined>;
}

/** A principal search hit: a provider's user or group, or a local user (`local://u-…`). */
export type FoundPrincipal = Omit<Principal, 'provider'> & { provider: ProviderName | 'local' };

export interface PrincipalUsersDeps {
  external: Pick<ExternalLogin, 'findByPrincipal' | 'ensureUser'>;
  /** The live instance of the provider named, when it is enabled. */
  enabledInstance(name: string): Promise<{ definition: ProviderDefinition; provider: AuthProvider } | undefined>;
  enabledProviders(): Promise<Array<{ name: ProviderName; provider: AuthProvider }>>;
  policyOf(name: ProviderName): Promise<AccessPolicy>;
  users: Pick<UserService, 'list'>;
  logger: Logger;
}

/** The provider name of `<provider>_user://<id>`; 422 for anything else. */
function userPrincipalProvider(principalId: string): string {
  if (principalId.startsWith('local://')) {
    throw new DroverError('DRV_ERR_UNPROCESSABLE', 'a local:// principal names an existing local user: give their username or id instead');
  }
  const match = /^([a-z]+)_user:\/\/./.exec(principalId);
  if (!match?.[1]) throw new DroverError('DRV_ERR_UNPROCESSABLE', `not a provider user principal: expected <provider>_user://<id> (e.g. openldap_user://<dn>), got ${JSON.stringify(principalId.slice(0, 80))}`);
  return match[1];
}

export class PrincipalUsers implements UsersByPrincipal {
  private readonly deps: PrincipalUsersDeps;

  constructor(deps: PrincipalUsersDeps) {
    this.deps = deps;
  }

  /**
   * The Drover user of a provider user principal (`openldap_user://<dn>`,
   * `github_user://<id>`, `oidc_user://<sub>`), for adding a member before their
   * first login. An existing binding in `user_principals` wins; otherwise the
   * principal's provider must be enabled and confirm the user (LDAP and AD look it
   * up through the service account; GitHub asks its API with a stored token; OIDC
   * knows only users it has seen), and the user is created the way a first login
   * creates one (username from the login name, same clash rule) with no tokens.
   * Their first login then finds this user by the same principal. `local://` and
   * group principals are refused: they name no provider user.
   */
  async ensureUserForPrincipal(principalId: string): Promise<User> {
    const name = userPrincipalProvider(principalId);
    const existing = await this.deps.external.findByPrincipal(principalId);
    if (existing) return existing;
    const enabled = await this.deps.enabledInstance(name);
    if (!enabled) {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', `auth provider "${name}" is not enabled on this server: enable it before adding its users ("drover providers enable ${name}")`);
    }
    const { definition, provider } = enabled;
    const answer = await provider.confirmUser(principalId);
    if (answer.state === 'gone') {
      throw new DroverError('DRV_ERR_NOT_FOUND', `${name} has no such user (${answer.reason}); check the principal with "drover principals search"`);
    }
    const user = await this.deps.external.ensureUser(definition.name, answer.identity);
    // A restricted provider may still refuse this user's login; the member binding is harmless until then.
    const mayLogIn = isAllowed(await this.deps.policyOf(definition.name), answer.identity);
    this.deps.logger.info({ provider: definition.name, userId: user.id, mayLogIn }, 'user added by principal before their first login');
    return user;
  }

  async findUserByPrincipal(principalId: string): Promise<User | undefined> {
    userPrincipalProvider(principalId);
    return this.deps.external.findByPrincipal(principalId);
  }

  /** Local users and every enabled provider's users and groups whose name matches; an unreachable provider is skipped and logged. */
  async search(query: string, limit: number): Promise<FoundPrincipal[]> {
    const q = query.toLowerCase();
    const locals = (await this.deps.users.list())
      .filter((u) => u.username.toLowerCase().includes(q) || u.displayName.toLowerCase().includes(q))
      .slice(0, limit)
      .map((u) => ({ id: `local://${u.id}`, kind: 'user' as const, provider: 'local' as const, displayName: u.displayName, loginName: u.username }));
    const out: FoundPrincipal[] = [...locals];
    for (const { name, provider } of await this.deps.enabledProviders()) {
      if (out.length >= limit) break;
      try {
        out.push(...(await provider.search(query, limit - out.length)).slice(0, limit - out.length));
      } catch (error) {
        this.deps.logger.warn({ provider: name, err: error }, 'principal search failed for a provider; skipped');
      }
    }
    return out;
  }
}
