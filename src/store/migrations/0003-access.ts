/** Access: custom role templates, projects, cluster and project role template bindings (issue 6). */
import type { Kysely } from 'kysely';
import type { Migration } from './index.ts';

export const accessMigration: Migration = {
  name: '0003-access',
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createTable('role_templates')
      .addColumn('name', 'text', (c) => c.primaryKey())
      // The whole RoleTemplate as JSON: the catalog validates it as a whole on load and on every change.
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('projects')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('cluster_id', 'text', (c) => c.notNull().references('clusters.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('projects_cluster_name', ['cluster_id', 'name'])
      .execute();
    await db.schema.createTable('cluster_role_bindings')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('cluster_id', 'text', (c) => c.notNull().references('clusters.id').onDelete('cascade'))
      .addColumn('role_template', 'text', (c) => c.notNull())
      .addColumn('subject_kind', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('crtb_unique', ['cluster_id', 'role_template', 'subject_kind', 'subject'])
      .execute();
    await db.schema.createTable('project_role_bindings')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('cluster_id', 'text', (c) => c.notNull().references('clusters.id').onDelete('cascade'))
      .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('role_template', 'text', (c) => c.notNull())
      .addColumn('subject_kind', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('prtb_unique', ['project_id', 'role_template', 'subject_kind', 'subject'])
      .execute();
  },
};
