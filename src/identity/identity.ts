/** Builds identity's parts around one store, each handed the collaborators it needs. */
import type { ChangePublisher } from '../coordination/index.ts';
import type { Logger } from '../logging/index.ts';
import type { Store } from '../store/index.ts';
import { LocalLogin, type LoginObserver } from './local-login.ts';
import { LoginThrottle, type ThrottlePolicy } from './login-throttle.ts';
import { CachedTokenAuthenticator } from './token-authenticator.ts';
import { TokenService, type TokenPolicy } from './token-service.ts';
import type { Clock } from './types.ts';
import { UserService } from './user-service.ts';

export interface IdentityOptions {
  store: Store;
  logger: Logger;
  clock?: Clock;
  tokenPolicy?: TokenPolicy;
  throttle?: { perUsername?: Partial<ThrottlePolicy>; perAddress?: Partial<ThrottlePolicy> };
  authCacheRecheckMs?: number;
  loginObserver?: LoginObserver;
  /** Where token and user changes are published for other replicas (the change feed). */
  changes?: ChangePublisher;
}

export interface Identity {
  users: UserService;
  tokens: TokenService;
  authenticator: CachedTokenAuthenticator;
  login: LocalLogin;
  /** Shared by local and provider password logins, and by every replica (its counters are in the database), so an address has one budget. */
  throttle: LoginThrottle;
}

export function createIdentity(options: IdentityOptions): Identity {
  const clock = options.clock ?? Date.now;
  // The services invalidate the cache that reads their records; the cache reads through the token service.
  const cache: { current?: CachedTokenAuthenticator } = {};
  const invalidator = {
    invalidateToken: (id: string) => cache.current?.invalidateToken(id),
    invalidateUser: (id: string) => cache.current?.invalidateUser(id),
  };
  const tokens = new TokenService({ store: options.store, clock, invalidator, ...(options.tokenPolicy ? { policy: options.tokenPolicy } : {}) });
  const authenticator = new CachedTokenAuthenticator({
    tokens, clock, logger: options.logger, ...(options.changes ? { changes: options.changes } : {}),
    ...(options.authCacheRecheckMs === undefined ? {} : { recheckMs: options.authCacheRecheckMs }),
  });
  cache.current = authenticator;
  const users = new UserService({ store: options.store, clock, invalidator });
  const throttle = new LoginThrottle({ db: options.store.db, clock, ...options.throttle });
  const login = new LocalLogin({
    users, tokens, throttle, logger: options.logger, ...(options.loginObserver ? { observer: options.loginObserver } : {}),
  });
  return { users, tokens, authenticator, login, throttle };
}
