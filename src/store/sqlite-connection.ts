/** One connection to a SQLite database file, tuned for durability; the store's own, and any thread that writes beside it. */
import type SQLiteDatabase from 'better-sqlite3';
import { DroverError } from '../errors/index.ts';

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

/**
 * What every connection to the store's file is set to, the store's own and a thread's
 * beside it (which applies them itself, to load no more than better-sqlite3).
 * WAL with synchronous=FULL: every commit is fsynced to the WAL before it is
 * acknowledged, so neither kill -9 nor a power cut loses a committed write.
 * NORMAL would survive kill -9 too (the WAL sits in the OS cache) but can lose
 * the last commits on power loss; our writes are rare (logins, tokens, admin
 * changes), so the extra fsync is worth it. WAL also lets a second connection
 * (the audit trail's writer thread) write beside this one. A write waits for
 * another connection's lock up to `busy_timeout` ms, then fails with SQLITE_BUSY.
 */
export function sqlitePragmas(busyTimeoutMs = 5000): string[] {
  return ['journal_mode = WAL', 'synchronous = FULL', 'foreign_keys = ON', `busy_timeout = ${Math.trunc(busyTimeoutMs)}`];
}

/** Opens `path` with `sqlitePragmas`. */
export async function openSqliteConnection(path: string): Promise<SQLiteDatabase.Database> {
  const SQLite = await loadSqlite();
  const database = new SQLite(path);
  for (const pragma of sqlitePragmas()) database.pragma(pragma);
  return database;
}
