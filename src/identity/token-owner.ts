/**
 * The user a token belongs to, as the token check and token issuing read it: in the same query as
 * the token, or (when issuing) locked against a concurrent disable. A module of its own so that
 * token-service.ts reads users without importing user-service.ts, which deletes tokens through
 * token-service.ts (no import loop between the two).
 */
import type { SelectQueryBuilder } from 'kysely';
import type { Database, Store } from '../store/index.ts';

/**
 * Whether the user exists and is enabled. On PostgreSQL the read waits on the user row until a
 * concurrent disable commits (see TokenService.issue); SQLite has one writer anyway.
 */
export async function isUserEnabled(store: Store, userId: string): Promise<boolean> {
  let check = store.db.selectFrom('users').select('enabled').where('id', '=', userId);
  if (store.kind === 'postgres') check = check.forShare();
  return (await check.executeTakeFirst())?.enabled === 1;
}

/**
 * Joins a query on `tokens` with each token's user, in the same query: the token check is one
 * round trip to the store, and stays so. The user's columns come out as `userId`, `username`,
 * `displayName`, `userEnabled`, `globalRole`, `principalIds` (JSON) and `mustChangePassword`.
 */
export function withTokenUser<O>(query: SelectQueryBuilder<Database, 'tokens', O>) {
  return query.innerJoin('users', 'users.id', 'tokens.user_id').select([
    'users.id as userId', 'users.username as username', 'users.display_name as displayName', 'users.enabled as userEnabled',
    'users.global_role as globalRole', 'users.principal_ids as principalIds', 'users.must_change_password as mustChangePassword',
  ]);
}
