/** Opening the store: picks the dialect from the URL, tunes SQLite for durability, runs migrations. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type SQLiteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration as KyselyMigration } from 'kysely';
import pg from 'pg';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';
import type { Database } from './schema.ts';
import { migrations as allMigrations, type Migration } from './migrations/index.ts';

export type StoreKind = 'sqlite' | 'postgres';

/** The one typed query layer. `db` is Kysely over whichever engine `--db` chose. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly kind: StoreKind;
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

/**
 * better-sqlite3 is a native module and an optional dependency: it is loaded only
 * when SQLite is used, so a machine without a compiler still installs the CLI, and
 * a server on PostgreSQL does not need it.
 */
async function loadSqlite(): Promise<typeof SQLiteDatabase> {
  try {
    return (await import('better-sqlite3')).default;
  } catch (error) {
    throw new DroverError('DRV_ERR_INTERNAL',
      'the SQLite store needs the native module better-sqlite3, which is not installed or does not load here ' +
      `(${error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error)}): install a C++ toolchain and python3, then reinstall drover ` +
      '(npm install -g drover-VERSION.tgz) so it compiles, or run the server with --db postgres://…', { cause: error });
  }
}

async function sqliteDialect(path: string): Promise<SqliteDialect> {
  const SQLite = await loadSqlite();
  const database = new SQLite(path);
  // WAL with synchronous=FULL: every commit is fsynced to the WAL before it is
  // acknowledged, so neither kill -9 nor a power cut loses a committed write.
  // NORMAL would survive kill -9 too (the WAL sits in the OS cache) but can lose
  // the last commits on power loss; our writes are rare (logins, tokens, admin
  // changes), so the extra fsync is worth it.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return new SqliteDialect({ database });
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

async function chooseDialect(options: OpenStoreOptions): Promise<{ dialect: SqliteDialect | PostgresDialect; kind: StoreKind }> {
  const url = options.url;
  if (url === undefined || url === '') {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    return { dialect: await sqliteDialect(join(options.dataDir, 'drover.db')), kind: 'sqlite' };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { dialect: postgresDialect(url), kind: 'postgres' };
  if (url.startsWith('sqlite:')) return { dialect: await sqliteDialect(url.slice('sqlite:'.length)), kind: 'sqlite' };
  throw new InvalidArgumentError('--db', 'a postgres://… URL or sqlite:PATH', describeDbUrl(url, options.dataDir));
}

/** Opens the database and brings its schema up to date. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const { dialect, kind } = await chooseDialect(options);
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
