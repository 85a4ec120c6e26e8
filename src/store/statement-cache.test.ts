import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import { openSqliteConnection } from './sqlite-connection.ts';
import { withStatementCache } from './statement-cache.ts';

interface Db { t: { a: number; b: string } }

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** Kysely over a real SQLite file through the cache, counting what reaches better-sqlite3's prepare. */
async function open(maxStatements?: number): Promise<{ db: Kysely<Db>; prepared: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-statements-'));
  dirs.push(dir);
  const connection = await openSqliteConnection(join(dir, 'test.db'));
  const prepared: string[] = [];
  const counting: SqliteDatabase = {
    prepare: (text) => { prepared.push(text); return connection.prepare(text); },
    close: () => connection.close(),
  };
  const db = new Kysely<Db>({ dialect: new SqliteDialect({ database: withStatementCache(counting, maxStatements) }) });
  await sql`create table t (a integer primary key, b text not null)`.execute(db);
  prepared.length = 0;
  return { db, prepared };
}

const byA = (db: Kysely<Db>, a: number) => db.selectFrom('t').selectAll().where('a', '=', a).executeTakeFirst();

describe('withStatementCache', () => {
  it('prepares a query once and answers it with each run\'s parameters', async () => {
    const { db, prepared } = await open();
    try {
      for (const a of [1, 2, 3]) await db.insertInto('t').values({ a, b: `row ${a}` }).execute();
      assert.deepEqual(await byA(db, 2), { a: 2, b: 'row 2' });
      assert.deepEqual(await byA(db, 3), { a: 3, b: 'row 3' });
      assert.equal(await byA(db, 9), undefined);
      assert.equal(prepared.length, 2, `one insert and one select, prepared once each: ${prepared.join(' | ')}`);
    } finally {
      await db.destroy();
    }
  });

  it('reuses a statement whose last run failed, and one inside a rolled-back transaction', async () => {
    const { db } = await open();
    try {
      await db.insertInto('t').values({ a: 1, b: 'first' }).execute();
      await assert.rejects(db.insertInto('t').values({ a: 1, b: 'again' }).execute(), /UNIQUE constraint failed/);
      await db.insertInto('t').values({ a: 2, b: 'second' }).execute();
      await assert.rejects(db.transaction().execute(async (tx) => {
        await tx.insertInto('t').values({ a: 3, b: 'rolled back' }).execute();
        throw new Error('abort the transaction');
      }), /abort the transaction/);
      await db.transaction().execute((tx) => tx.insertInto('t').values({ a: 4, b: 'committed' }).execute());
      assert.deepEqual((await db.selectFrom('t').select('a').orderBy('a').execute()).map((r) => r.a), [1, 2, 4]);
    } finally {
      await db.destroy();
    }
  });

  it('sees schema changes made after a statement was kept (migrations)', async () => {
    const { db } = await open();
    try {
      await db.insertInto('t').values({ a: 1, b: 'x' }).execute();
      const all = () => sql<Record<string, unknown>>`select * from t`.execute(db).then((r) => r.rows);
      assert.deepEqual(await all(), [{ a: 1, b: 'x' }]);
      await sql`alter table t add column c text not null default 'new'`.execute(db);
      assert.deepEqual(await all(), [{ a: 1, b: 'x', c: 'new' }]);
    } finally {
      await db.destroy();
    }
  });

  it('can run a query again after a stream of it was left half-read', async () => {
    const { db } = await open();
    try {
      for (const a of [1, 2, 3]) await db.insertInto('t').values({ a, b: `row ${a}` }).execute();
      const query = db.selectFrom('t').select('a').orderBy('a');
      for await (const row of query.stream()) {
        assert.equal(row.a, 1);
        break;
      }
      assert.deepEqual((await query.execute()).map((r) => r.a), [1, 2, 3]);
    } finally {
      await db.destroy();
    }
  });

  it('keeps at most maxStatements, dropping the least recently used', async () => {
    const { db, prepared } = await open(2);
    try {
      const q = (n: number) => sql`select ${sql.lit(n)} as n`.execute(db);
      await q(1); await q(2);
      await q(1); // 1 is now the most recent: 2 is dropped when 3 comes
      await q(3);
      await q(1);
      assert.equal(prepared.length, 3, 'three texts, none prepared twice yet');
      await q(2);
      assert.equal(prepared.length, 4, '2 was dropped, so it is prepared again');
    } finally {
      await db.destroy();
    }
  });
});
