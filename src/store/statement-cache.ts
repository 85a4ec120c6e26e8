/**
 * Prepared statements kept for the store's SQLite connection.
 *
 * Kysely's SQLite driver prepares every query it runs, so SQLite parses and plans
 * the same SQL again each time. In an idle server that was the largest single cost
 * (about an eighth of its CPU, `prepare` in a `--cpu-prof`): the replicas' heartbeat,
 * the ACE sync, the cluster checks and the upgrade loop each run the same few queries
 * every second or two. Kysely's queries are parameterised, so their SQL texts repeat;
 * the statement for a text is prepared once and reused.
 *
 * Reusing one is safe here: better-sqlite3 resets a statement after each `run`, `all`
 * or finished `iterate`, and Kysely runs one query at a time on its single SQLite
 * connection (its mutex holds the connection for a streamed query too). SQLite
 * prepares a kept statement again by itself when a migration changes the schema.
 */
import type { SqliteDatabase, SqliteStatement } from 'kysely';
import { LRUCache } from 'lru-cache';

/** Enough for every query the store runs; texts that vary (IN lists of every length) push out the least recently used. */
const defaultMaxStatements = 500;

export function withStatementCache(database: SqliteDatabase, maxStatements = defaultMaxStatements): SqliteDatabase {
  const statements = new LRUCache<string, SqliteStatement>({ max: maxStatements });
  return {
    prepare(sql) {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = database.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
    close() {
      statements.clear();
      database.close();
    },
  };
}
