/**
 * Singleton loops across replicas: two real `drover server` processes on one real
 * PostgreSQL hold each loop's lease (`leases`, migration 0009) one at a time, and
 * when the holder is killed with SIGKILL the other takes it over once it expires
 * (15 s, renewed every 5 s). Which process holds a lease is read from the row: the
 * holder id names the process id.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { eventually } from '../testenv/index.ts';
import { createPostgresDatabase } from '../testenv/postgres.ts';
import { spawnServer, type ServerProcess } from './identity-support.ts';

const loops = ['group-refresh', 'expired-tokens'];

describe('singleton loops run on one replica at a time', () => {
  let dbUrl: string;
  const replicas: ServerProcess[] = [];

  const holders = async (): Promise<Map<string, string>> => {
    const client = new pg.Client({ connectionString: dbUrl });
    await client.connect();
    try {
      const rows = (await client.query<{ name: string; holder: string }>('SELECT name, holder FROM leases WHERE expires_at > now()')).rows;
      return new Map(rows.map((r) => [r.name, r.holder]));
    } finally {
      await client.end();
    }
  };
  /** The replica whose process id the holder id names. */
  // A lease's holder is the replica id, which each server logs once its heartbeat starts.
  const replicaOf = (holder: string | undefined): ServerProcess | undefined =>
    (holder ? replicas.find((r) => r.output().includes(`"replica":"${holder}"`)) : undefined);
  const heldBy = (r: ServerProcess, lease: string): boolean =>
    r.output().split('\n').some((line) => line.includes(`"lease":"${lease}"`) && line.includes('holding the lease'));

  before(async () => {
    dbUrl = await createPostgresDatabase('leases');
    const dir = mkdtempSync(join(tmpdir(), 'drover-leases-'));
    const env = { DROVER_BOOTSTRAP_PASSWORD: 'correct horse battery staple' };
    replicas.push(await spawnServer({ dataDir: join(dir, 'one'), db: dbUrl, env }));
    cpSync(join(dir, 'one'), join(dir, 'two'), { recursive: true });
    replicas.push(await spawnServer({ dataDir: join(dir, 'two'), db: dbUrl, env }));
  });

  after(async () => {
    for (const r of replicas) await r.stop();
  });

  it('each loop\'s lease has one holder among the replicas, and the other takes it over after a kill -9', async () => {
    const first = await eventually('both leases to be held', async () => {
      const now = await holders();
      return loops.every((l) => replicaOf(now.get(l)) !== undefined) ? now : undefined;
    }, 60_000);
    for (const lease of loops) {
      const holder = replicaOf(first.get(lease));
      assert.ok(holder);
      // Several renewals later, still the same holder, and the other replica never believed it held the lease.
      await new Promise((r) => setTimeout(r, 12_000));
      assert.equal((await holders()).get(lease), first.get(lease), `${lease}: the holder renewed it`);
      for (const r of replicas) assert.equal(heldBy(r, lease), r === holder, `${lease}: only the holder runs the loop`);
    }
    // Kill the holder of group-refresh; the survivor takes every lease the dead one held.
    const victim = replicaOf(first.get('group-refresh'));
    assert.ok(victim);
    const survivor = replicas.find((r) => r !== victim);
    assert.ok(survivor);
    const killedAt = Date.now();
    await victim.kill9();
    await eventually('the survivor to take over every lease', async () => {
      const now = await holders();
      return loops.every((l) => replicaOf(now.get(l)) === survivor) ? true : undefined;
    }, 60_000);
    process.stderr.write(`leases taken over ${Date.now() - killedAt} ms after the holder was killed\n`);
    for (const lease of loops) assert.ok(heldBy(survivor, lease), `${lease}: the survivor says it runs the loop`);
  });
});
