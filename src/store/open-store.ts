/** Opening the store: picks the dialect from the URL, tunes SQLite for durability, runs migrations. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration as KyselyMigration } from 'kysely';
import pg from 'pg';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';
import type { Database } from './schema.ts';
import { migrations as allMigrations, type Migration } from './migrations/index.ts';
import { openSqliteConnection } from './sqlite-connection.ts';
import { withStatementCache } from './statement-cache.ts';

export type StoreKind = 'sqlite' | 'postgres';

/** The one typed query layer. `db` is Kysely over whichever engine `--db` chose. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly kind: StoreKind;
  /** The SQLite database file, for a thread that opens its own connection to it (the audit trail's writer); absent on PostgreSQL and in memory. */
  readonly file?: string;
  /** Whether the database answers; for /readyz. */
  ping(): Promise<void>;
  /** Closes the connections; idempotent. */
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** `postgres://…`, `sqlite:PATH`, or undefined for `<dataDir>/drover.db`. */
  url?: string;
  dataDir: string;
  /** Migrations to run; every known one by default (tests pass fewer). */
  migrations?: readonly Migration[];
}

async function sqliteDialect(path: string): Promise<SqliteDialect> {
  return new SqliteDialect({ database: withStatementCache(await openSqliteConnection(path)) });
}

function postgresDialect(url: string): PostgresDialect {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 10_000 });
  return new PostgresDialect({ pool });
}

/** The URL with any password removed, for logs. */
export function describeDbUrl(url: string | undefined, dataDir: string): string {
  if (url === undefined) return `sqlite:${join(dataDir, 'drover.db')}`;
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

async function chooseDialect(options: OpenStoreOptions): Promise<{ dialect: SqliteDialect | PostgresDialect; kind: StoreKind; file?: string }> {
  const url = options.url;
  if (url === undefined || url === '') {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const file = join(options.dataDir, 'drover.db');
    return { dialect: await sqliteDialect(file), kind: 'sqlite', file };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { dialect: postgresDialect(url), kind: 'postgres' };
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    // A database in memory is private to its connection: no other thread can open it.
    const shared = file !== '' && file !== ':memory:';
    return { dialect: await sqliteDialect(file), kind: 'sqlite', ...(shared ? { file } : {}) };
  }
  throw new InvalidArgumentError('--db', 'a postgres://… URL or sqlite:PATH', describeDbUrl(url, options.dataDir));
}

/** Opens the database and brings its schema up to date. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const { dialect, kind, file } = await chooseDialect(options);
  const db = new Kysely<Database>({ dialect });
  const list = options.migrations ?? allMigrations;
  const migrator = new Migrator({
    db,
    provider: {
      getMigrations: () => Promise.resolve(Object.fromEntries(list.map((m): [string, KyselyMigration] => [m.name, { up: (d) => m.up(d) }]))),
    },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new DroverError('DRV_ERR_INTERNAL', `database migration ${failed} failed: ${error instanceof Error ? error.message : 'unknown error'}`, { cause: error });
  }
  let closed = false;
  return {
    db,
    kind,
    ...(file === undefined ? {} : { file }),
    async ping() { await sql`select 1`.execute(db); },
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

/** Whether a database error is a unique-constraint violation, on either engine. */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
