/**
 * Browser logins through GitHub and OIDC in progress (issue #19): one row per
 * started login (`kind = 'callback'`, keyed by its state) and one per terminal or
 * test login request (`kind = 'request'`, keyed by its request id), so the
 * provider's callback and the CLI's polls may reach any replica. The key is stored
 * only as a SHA-256 hash; what a database reader could use (the nonce, the PKCE
 * verifier, the token waiting for the CLI) is encrypted with the encryption key.
 * Only `src/identity/providers/redirect-login.ts` reads and writes it; rows live
 * 10 minutes and are deleted when used or expired.
 *
 * `login_failures`: the password-login throttle's counters (`src/identity/login-throttle.ts`),
 * per username and per client address, shared by every replica so N replicas do not
 * give a password guesser N budgets. Rows whose window and lockout are over are deleted.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const loginFlowsMigration: Migration = {
  name: '0013-login-flows',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createTable('login_flows')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('address', 'text', (c) => c.notNull())
      // Milliseconds since the epoch, as in `replicas.heartbeat_at`.
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('started', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('challenge', 'text')
      .addColumn('payload', 'text')
      .addColumn('failure', 'text')
      .execute();
    await db.schema.createIndex('login_flows_expires_at').on('login_flows').column('expires_at').execute();
    await db.schema.createTable('login_failures')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('failures', 'integer', (c) => c.notNull())
      // Milliseconds since the epoch.
      .addColumn('first_at', 'bigint', (c) => c.notNull())
      .addColumn('locked_until', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('login_failures_first_at').on('login_failures').column('first_at').execute();
  },
};
