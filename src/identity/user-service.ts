/**
 * Users: create, list, enable/disable, global role, delete, passwords. Disabling, deleting and a password reset
 * delete all the user's tokens (session, API, kubeconfig) in the same transaction, so enabling the user again
 * brings none back: they log in again. Listeners (`onChange`) hear of every create, enable/disable, role change and delete after it
 * committed (access/ keeps its set of global admins from them).
 *
 * This module is the one owner of the `users` table and of `user_principals` (which external user
 * principal is bound to which user): other modules (provider logins, access/) read and write them
 * through the functions below; the token check reads a token's user through `token-owner.ts`.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, Store, UsersTable } from '../store/index.ts';
import { isUniqueViolation } from '../store/index.ts';
import { DroverError } from '../errors/index.ts';
import { randomId } from '../tokens/index.ts';
import { checkPasswordPolicy, generatePassword, hashPassword, verifyPasswordOrDummy } from './passwords.ts';
import { deleteOtherTokensOf, deleteTokensOf } from './token-service.ts';
import type { Clock, GlobalRole, TokenCacheInvalidator, User } from './types.ts';

const usernamePattern = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export interface CreateUserInput {
  username: string;
  displayName?: string;
  password?: string;
  globalRole?: GlobalRole;
  mustChangePassword?: boolean;
}

/** A committed change to a user: the user as it is now, or `deleted`. */
export type UserChange = { kind: 'changed'; user: User } | { kind: 'deleted'; userId: string };

export function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    enabled: row.enabled === 1,
    globalRole: row.global_role,
    principalIds: JSON.parse(row.principal_ids) as string[],
    mustChangePassword: row.must_change_password === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Ids of the enabled users whose global role is admin (access/ keeps them as its admin set). */
export async function activeAdminIds(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('users').select(['id']).where('global_role', '=', 'admin').where('enabled', '=', 1).execute();
  return rows.map((row) => row.id);
}

/** The user bound to an external user principal (`user_principals`), if any. */
export async function findUserByPrincipal(db: Kysely<Database>, principalId: string): Promise<User | undefined> {
  const row = await db.selectFrom('user_principals').innerJoin('users', 'users.id', 'user_principals.user_id')
    .selectAll('users').where('user_principals.principal_id', '=', principalId).executeTakeFirst();
  return row ? toUser(row) : undefined;
}

/**
 * Creates a user bound to an external user principal, both rows in one transaction. A unique
 * violation (the principal or the username was taken meanwhile) is the caller's to retry.
 */
export async function insertPrincipalUser(db: Kysely<Database>, row: Selectable<UsersTable>, bound: { principalId: string; provider: string }): Promise<User> {
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('users').values(row).execute();
    await trx.insertInto('user_principals').values({ principal_id: bound.principalId, user_id: row.id, provider: bound.provider, created_at: row.created_at }).execute();
  });
  return toUser(row);
}

/** Rewrites a user's principals (JSON list) and display name, as a provider login reported them. */
export async function setUserPrincipals(db: Kysely<Database>, userId: string, change: { principalIds: readonly string[]; displayName: string; now: string }): Promise<void> {
  await db.updateTable('users').set({ principal_ids: JSON.stringify(change.principalIds), display_name: change.displayName, updated_at: change.now })
    .where('id', '=', userId).execute();
}

/** Whether a username is taken, ignoring case (a provider login picks a name no local user has). */
export async function usernameTaken(db: Kysely<Database>, username: string): Promise<boolean> {
  const row = await db.selectFrom('users').select('id').where(sql<string>`lower(username)`, '=', username.toLowerCase()).executeTakeFirst();
  return row !== undefined;
}

/** The user principals of one provider with the Drover user each is bound to. */
export async function principalsOfProvider(db: Kysely<Database>, provider: string): Promise<Array<{ principalId: string; userId: string }>> {
  const rows = await db.selectFrom('user_principals').select(['principal_id', 'user_id']).where('provider', '=', provider).execute();
  return rows.map((row) => ({ principalId: row.principal_id, userId: row.user_id }));
}

/** Every external user principal bound to a user, as a subquery (for `not in`, within the caller's one statement). */
export function boundPrincipalIds(db: Kysely<Database>) {
  return db.selectFrom('user_principals').select('user_principals.principal_id');
}

export class UserService {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly invalidator: TokenCacheInvalidator;
  private readonly listeners = new Set<(change: UserChange) => void>();

  constructor(options: { store: Store; clock: Clock; invalidator: TokenCacheInvalidator }) {
    this.store = options.store;
    this.clock = options.clock;
    this.invalidator = options.invalidator;
  }

  private now(): string { return new Date(this.clock()).toISOString(); }

  /** Calls `listener` after every committed create, enable/disable, role change and delete; returns the unsubscribe. */
  onChange(listener: (change: UserChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Another replica changed the user (its change-feed event): reads the row again and tells
   * this process's listeners, as if the change had been made here.
   */
  async refresh(userId: string): Promise<void> {
    const row = await this.store.db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
    this.emit(row ? { kind: 'changed', user: toUser(row) } : { kind: 'deleted', userId });
  }

  /** Tells listeners of a change committed elsewhere: a provider login rewrote the user's groups. */
  announce(user: User): void {
    this.emit({ kind: 'changed', user });
  }

  /** A throwing listener must not fail the change that already committed. */
  private emit(change: UserChange): void {
    for (const l of this.listeners) {
      try { l(change); } catch { /* the listener reports its own failures */ }
    }
  }

  async create(input: CreateUserInput): Promise<User> {
    if (!usernamePattern.test(input.username)) {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', 'username: use 1-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit');
    }
    if (input.password !== undefined) checkPasswordPolicy(input.password);
    const id = randomId('u-', 10);
    const now = this.now();
    const row = {
      id,
      username: input.username,
      display_name: input.displayName ?? input.username,
      enabled: 1,
      global_role: input.globalRole ?? 'user',
      password_hash: input.password === undefined ? null : await hashPassword(input.password),
      must_change_password: input.mustChangePassword ? 1 : 0,
      principal_ids: JSON.stringify([`local://${id}`]),
      created_at: now,
      updated_at: now,
    } as const;
    try {
      await this.store.db.insertInto('users').values(row).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new DroverError('DRV_ERR_CONFLICT', `user "${input.username}" already exists`);
      throw error;
    }
    const user = toUser(row);
    // Nothing is cached for a new user; this publishes it, so other replicas learn of a new admin.
    this.invalidator.invalidateUser(user.id);
    this.emit({ kind: 'changed', user });
    return user;
  }

  async list(): Promise<User[]> {
    const rows = await this.store.db.selectFrom('users').selectAll().orderBy('username').execute();
    return rows.map(toUser);
  }

  async count(): Promise<number> {
    const row = await this.store.db.selectFrom('users').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** By id (`u-…`) or username; throws 404. */
  async get(idOrUsername: string): Promise<User> {
    const row = await this.store.db.selectFrom('users').selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrUsername), eb('username', '=', idOrUsername)]))
      .executeTakeFirst();
    if (!row) throw new DroverError('DRV_ERR_NOT_FOUND', `no user "${idOrUsername}"`);
    return toUser(row);
  }

  /**
   * Disabling revokes every token of the user for good: a disabled account is often one whose
   * token leaked, and enabling it again must not hand that token back.
   */
  async setEnabled(idOrUsername: string, enabled: boolean): Promise<User> {
    const user = await this.get(idOrUsername);
    await this.store.db.transaction().execute(async (trx) => {
      // The user row first: a token issued concurrently waits on it (see TokenService.issue).
      await trx.updateTable('users').set({ enabled: enabled ? 1 : 0, updated_at: this.now() }).where('id', '=', user.id).execute();
      if (!enabled) await deleteTokensOf(trx, [user.id]);
    });
    // After the commit, so a concurrent check cannot re-cache the old state.
    this.invalidator.invalidateUser(user.id);
    const changed = { ...user, enabled };
    this.emit({ kind: 'changed', user: changed });
    return changed;
  }

  /** Makes a user an admin or a plain user; their cached tokens see the new role at once. */
  async setGlobalRole(idOrUsername: string, globalRole: GlobalRole): Promise<User> {
    const user = await this.get(idOrUsername);
    await this.store.db.updateTable('users').set({ global_role: globalRole, updated_at: this.now() }).where('id', '=', user.id).execute();
    this.invalidator.invalidateUser(user.id);
    const changed = { ...user, globalRole };
    this.emit({ kind: 'changed', user: changed });
    return changed;
  }

  async delete(idOrUsername: string): Promise<User> {
    const user = await this.get(idOrUsername);
    await this.store.db.transaction().execute(async (trx) => {
      await deleteTokensOf(trx, [user.id]);
      await trx.deleteFrom('users').where('id', '=', user.id).execute();
    });
    this.invalidator.invalidateUser(user.id);
    this.emit({ kind: 'deleted', userId: user.id });
    return user;
  }

  /**
   * A user's own new password (`drover passwd`, the UI). The token that made the change
   * stays (`keepTokenId`: that session goes on). While the password must be changed, every
   * other token goes: each was opened with the temporary password (a reset deletes the
   * rest), and whoever else saw it must not find their session opened by the user's change.
   * Otherwise the other login sessions go, since a new password is how a user shuts out
   * someone who had the old one, while API and kubeconfig tokens (CI, scripts) keep working
   * until revoked.
   */
  async setPassword(idOrUsername: string, password: string, keepTokenId?: string): Promise<void> {
    checkPasswordPolicy(password);
    const user = await this.get(idOrUsername);
    const passwordHash = await hashPassword(password);
    await this.store.db.transaction().execute(async (trx) => {
      await deleteOtherTokensOf(trx, user.id, { ...(keepTokenId === undefined ? {} : { keep: keepTokenId }), ...(user.mustChangePassword ? {} : { kind: 'session' as const }) });
      await trx.updateTable('users')
        .set({ password_hash: passwordHash, must_change_password: 0, updated_at: this.now() })
        .where('id', '=', user.id).execute();
    });
    this.invalidator.invalidateUser(user.id);
  }

  /**
   * A password set by someone else: `chosen` by an admin (`drover users update
   * --password-stdin`), or generated for a lost one (`drover admin reset-password`).
   * Either way it must be changed at first login, as only the user should know their
   * password, and every token of the user is revoked: whoever lost or leaked the old
   * password may not be the only one holding their sessions, and must-change alone would
   * hand those sessions back once the user picks a new password. Returns the password.
   */
  async resetPassword(idOrUsername: string, chosen?: string): Promise<{ user: User; password: string }> {
    if (chosen !== undefined) checkPasswordPolicy(chosen);
    const user = await this.get(idOrUsername);
    const password = chosen ?? generatePassword();
    const passwordHash = await hashPassword(password);
    await this.store.db.transaction().execute(async (trx) => {
      await deleteTokensOf(trx, [user.id]);
      await trx.updateTable('users').set({ password_hash: passwordHash, must_change_password: 1, updated_at: this.now() }).where('id', '=', user.id).execute();
    });
    this.invalidator.invalidateUser(user.id);
    return { user: { ...user, mustChangePassword: true }, password };
  }

  /** The user if the password matches; undefined otherwise (same cost for unknown users). */
  async verifyPassword(username: string, password: string): Promise<User | undefined> {
    const row = await this.store.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    const ok = await verifyPasswordOrDummy(row?.password_hash, password);
    return ok && row ? toUser(row) : undefined;
  }
}
