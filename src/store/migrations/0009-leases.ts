/**
 * Leases for the loops that must run on one replica at a time (provider group
 * refresh, expired-token clean-up): one row per loop naming the replica holding it
 * and until when. Only `src/coordination/lease.ts` reads and writes it, on
 * PostgreSQL, with the database's own clock (`now()`), so replicas whose clocks
 * differ still agree on who holds a lease. On SQLite (one process) the table stays
 * empty.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const leasesMigration: Migration = {
  name: '0009-leases',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createTable('leases')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('holder', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .execute();
  },
};
