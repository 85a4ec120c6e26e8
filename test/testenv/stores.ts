/**
 * A store per database engine for tests that must hold on both: SQLite in a temp dir,
 * or a fresh database on the suite's real PostgreSQL (`postgres.ts`). Opened on first
 * use, closed and removed after the test file.
 */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/index.ts';
import { createPostgresDatabase } from './postgres.ts';

export type Engine = 'SQLite' | 'PostgreSQL';
export const engines: readonly Engine[] = ['SQLite', 'PostgreSQL'];

/** The one store of `engine` for this test file (`name` labels its directory and database). */
export function sharedStore(engine: Engine, name: string): () => Promise<Store> {
  let opened: Promise<{ store: Store; dir: string }> | undefined;
  after(async () => {
    if (!opened) return;
    const { store, dir } = await opened;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return async () => {
    opened ??= (async () => {
      const dir = mkdtempSync(join(tmpdir(), `drover-${name}-`));
      const store = await openStore({ dataDir: dir, ...(engine === 'PostgreSQL' ? { url: await createPostgresDatabase(name) } : {}) });
      return { store, dir };
    })();
    return (await opened).store;
  };
}
