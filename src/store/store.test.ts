import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createPostgresDatabase } from '../../test/testenv/postgres.ts';
import { DroverError } from '../errors/index.ts';
import { createSecretBox, describeDbUrl, loadEncryptionKey, openStore, parseKey } from './index.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drover-store-'));
  dirs.push(dir);
  return dir;
}
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('store', () => {
  it('opens SQLite in WAL mode with synchronous=FULL and foreign keys on', async () => {
    const store = await openStore({ dataDir: tempDir() });
    try {
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
      const sync = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
      const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(store.db);
      assert.equal(mode.rows[0]?.journal_mode, 'wal');
      assert.equal(sync.rows[0]?.synchronous, 2);
      assert.equal(fk.rows[0]?.foreign_keys, 1);
    } finally {
      await store.close();
    }
  });

  for (const engine of ['SQLite', 'PostgreSQL'] as const) {
    it(`runs migrations once and again without change on ${engine}`, async () => {
      const dir = tempDir();
      const url = engine === 'PostgreSQL' ? await createPostgresDatabase('store') : undefined;
      const first = await openStore({ dataDir: dir, ...(url ? { url } : {}) });
      await first.db.insertInto('secrets').values({ name: 'x', ciphertext: 'y', updated_at: 'now' }).execute();
      await first.close();
      await first.close();
      const second = await openStore({ dataDir: dir, ...(url ? { url } : {}) });
      try {
        assert.equal((await second.db.selectFrom('secrets').selectAll().execute()).length, 1);
        await second.ping();
      } finally {
        await second.close();
      }
    });
  }

  it('refuses an unknown database scheme, naming the option', async () => {
    await assert.rejects(openStore({ dataDir: tempDir(), url: 'mysql://root:pw@db/x' }), /--db: expected a postgres/);
  });

  it('hides the password of a database URL in descriptions', () => {
    assert.equal(describeDbUrl('postgres://drover:s3cret@db:5432/drover', '/d'), 'postgres://drover:***@db:5432/drover');
    assert.equal(describeDbUrl(undefined, '/d'), 'sqlite:/d/drover.db');
  });
});

describe('secret box', () => {
  it('creates a 0600 key file once and reuses it', () => {
    const dir = tempDir();
    const key = loadEncryptionKey(dir);
    assert.equal(statSync(join(dir, 'encryption.key')).mode & 0o777, 0o600);
    assert.deepEqual(loadEncryptionKey(dir), key);
  });

  it('prefers the given key (DROVER_ENCRYPTION_KEY) and refuses a key of the wrong size', () => {
    const hex = 'ab'.repeat(32);
    assert.equal(loadEncryptionKey(tempDir(), parseKey(hex, 'DROVER_ENCRYPTION_KEY')).toString('hex'), hex);
    assert.throws(() => parseKey('abcd', 'DROVER_ENCRYPTION_KEY'), /DROVER_ENCRYPTION_KEY/);
  });

  it('round-trips, uses a fresh IV each time, and fails closed on tampering, a wrong key or other associated data', () => {
    const box = createSecretBox(loadEncryptionKey(tempDir()));
    const a = box.encrypt('cluster-token-123', 'cluster:c-1');
    assert.notEqual(a, box.encrypt('cluster-token-123', 'cluster:c-1'));
    assert.ok(!a.includes('cluster-token-123'));
    assert.equal(box.decrypt(a, 'cluster:c-1'), 'cluster-token-123');
    const parts = a.split(':');
    const data = Buffer.from(parts[3] ?? '', 'base64url');
    data[0] = (data[0] ?? 0) ^ 1;
    const tampered = [parts[0], parts[1], parts[2], data.toString('base64url')].join(':');
    for (const attempt of [() => box.decrypt(tampered, 'cluster:c-1'), () => box.decrypt(a, 'cluster:c-2'),
      () => createSecretBox(loadEncryptionKey(tempDir())).decrypt(a, 'cluster:c-1'), () => box.decrypt('garbage')]) {
      assert.throws(attempt, (e: unknown) => e instanceof DroverError && e.code === 'DRV_ERR_INTERNAL');
    }
  });
});
