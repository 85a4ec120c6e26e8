/**
 * Recent audit events, for `GET /v1/audit` and `drover audit list`: the event as JSON
 * plus the columns searches filter on. Rows older than `--audit-retention` are deleted
 * by the audit trail itself; the files and webhook are the long-term record.
 */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const auditEventsMigration: Migration = {
  name: '0011-audit-events',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createTable('audit_events')
      .addColumn('audit_id', 'text', (c) => c.notNull())
      .addColumn('received_at', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('username', 'text')
      .addColumn('cluster_id', 'text')
      .addColumn('verb', 'text', (c) => c.notNull())
      .addColumn('code', 'integer', (c) => c.notNull())
      .addColumn('event', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_events_received_at').on('audit_events').column('received_at').execute();
  },
};
