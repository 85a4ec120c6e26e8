/** Username + password login for the `local` provider: throttle, argon2id check, then a session token. */
import { DroverError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import type { LoginThrottle } from './login-throttle.ts';
import type { TokenService } from './token-service.ts';
import type { TokenInfo, User } from './types.ts';
import type { UserService } from './user-service.ts';

export interface LoginInput {
  username: string;
  password: string;
  /** The client address, for the per-address throttle. */
  address: string;
  description?: string;
  ttlSeconds?: number;
}

export interface LoginResult { user: User; token: TokenInfo; value: string }

export interface LoginObserver { loginSucceeded(): void; loginFailed(reason: string): void }

export class LocalLogin {
  private readonly users: UserService;
  private readonly tokens: TokenService;
  private readonly throttle: LoginThrottle;
  private readonly logger: Logger;
  private readonly observer: LoginObserver;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: {
    users: UserService; tokens: TokenService; throttle: LoginThrottle; logger: Logger; observer?: LoginObserver;
    sleep?: (ms: number) => Promise<void>;
  }) {
    this.users = options.users;
    this.tokens = options.tokens;
    this.throttle = options.throttle;
    this.logger = options.logger;
    this.observer = options.observer ?? { loginSucceeded: () => undefined, loginFailed: () => undefined };
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async login(input: LoginInput): Promise<LoginResult> {
    let delay: number;
    try {
      delay = await this.throttle.check(input.username, input.address);
    } catch (error) {
      this.observer.loginFailed('throttled');
      this.logger.info({ address: input.address }, 'login refused while locked out');
      throw error;
    }
    if (delay > 0) await this.sleep(delay);
    const user = await this.users.verifyPassword(input.username, input.password);
    if (!user) {
      await this.throttle.recordFailure(input.username, input.address);
      this.observer.loginFailed('bad-credentials');
      this.logger.info({ address: input.address }, 'login failed');
      throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'invalid username or password');
    }
    await this.throttle.recordSuccess(input.username);
    if (!user.enabled) {
      this.observer.loginFailed('disabled');
      throw new DroverError('DRV_ERR_USER_DISABLED', 'user is disabled: an admin can enable them again');
    }
    const issued = await this.tokens.issue({
      userId: user.id, kind: 'session', authProvider: 'local', description: input.description ?? 'login session',
      ...(input.ttlSeconds === undefined ? {} : { ttlSeconds: input.ttlSeconds }),
    });
    this.observer.loginSucceeded();
    this.logger.info({ userId: user.id, tokenId: issued.token.id }, 'login succeeded');
    return { user, token: issued.token, value: issued.value };
  }
}
