import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../store/index.ts';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';
import {
  checkKubeconfigSettings, KubeconfigSettingsStore, MAX_TOKEN_TTL_SECONDS, type KubeconfigSettings,
} from './kubeconfig-settings.ts';

const dirs: string[] = [];
const stores: Store[] = [];
async function store(): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-kcs-'));
  dirs.push(dir);
  const opened = await openStore({ dataDir: dir });
  stores.push(opened);
  return opened;
}
after(async () => {
  for (const s of stores) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const env: KubeconfigSettings = { defaultTtlSeconds: 3600, maxTtlSeconds: 7200, generateToken: true };

describe('checkKubeconfigSettings', () => {
  it('accepts a default equal to the maximum and the bounds themselves', () => {
    assert.deepEqual(checkKubeconfigSettings({ defaultTtlSeconds: 60, maxTtlSeconds: 60, generateToken: false }), { defaultTtlSeconds: 60, maxTtlSeconds: 60, generateToken: false });
    assert.equal(checkKubeconfigSettings({ defaultTtlSeconds: 60, maxTtlSeconds: MAX_TOKEN_TTL_SECONDS, generateToken: true }).maxTtlSeconds, MAX_TOKEN_TTL_SECONDS);
  });

  it('refuses a default above the maximum and says which to change', () => {
    assert.throws(() => checkKubeconfigSettings({ defaultTtlSeconds: 7201, maxTtlSeconds: 7200, generateToken: true }),
      (e: unknown) => e instanceof InvalidArgumentError && /defaultTtlSeconds: expected at most maxTtlSeconds \(7200\)/.test(e.message));
  });

  it('refuses lifetimes that are too short, too long, fractional, negative or not numbers', () => {
    for (const bad of [59, MAX_TOKEN_TTL_SECONDS + 1, 120.5, -60, 0, Number.NaN, '3600', null]) {
      assert.throws(() => checkKubeconfigSettings({ defaultTtlSeconds: 60, maxTtlSeconds: bad as number, generateToken: true }), InvalidArgumentError, String(bad));
      assert.throws(() => checkKubeconfigSettings({ defaultTtlSeconds: bad as number, maxTtlSeconds: 3600, generateToken: true }), InvalidArgumentError, String(bad));
    }
  });

  it('refuses a generation switch that is not a boolean', () => {
    assert.throws(() => checkKubeconfigSettings({ defaultTtlSeconds: 60, maxTtlSeconds: 60, generateToken: 'false' as unknown as boolean }), InvalidArgumentError);
  });
});

describe('KubeconfigSettingsStore', () => {
  it('serves the environment defaults until an admin saves a value', async () => {
    const s = new KubeconfigSettingsStore({ db: (await store()).db, defaults: env });
    assert.deepEqual(await s.get(), { ...env, source: 'environment' });
    assert.deepEqual(await s.current(), env);
  });

  it('saves, serves the saved value at once, and keeps it across a restart', async () => {
    const { db } = await store();
    const s = new KubeconfigSettingsStore({ db, defaults: env });
    await s.get();
    const saved = await s.set({ defaultTtlSeconds: 600, maxTtlSeconds: 900, generateToken: false });
    assert.equal(saved.source, 'stored');
    assert.ok(saved.updatedAt);
    assert.deepEqual(await s.current(), { defaultTtlSeconds: 600, maxTtlSeconds: 900, generateToken: false });
    const restarted = new KubeconfigSettingsStore({ db, defaults: env });
    assert.deepEqual(await restarted.get(), saved);
  });

  it('refuses an invalid change and keeps the old value', async () => {
    const s = new KubeconfigSettingsStore({ db: (await store()).db, defaults: env });
    await assert.rejects(s.set({ defaultTtlSeconds: 7200, maxTtlSeconds: 3600, generateToken: true }), InvalidArgumentError);
    assert.deepEqual(await s.get(), { ...env, source: 'environment' });
  });

  it('sees another replica\'s change only after its copy is older than refreshMs', async () => {
    const { db } = await store();
    let now = 1_000_000;
    const mine = new KubeconfigSettingsStore({ db, defaults: env, refreshMs: 10_000, now: () => now });
    const other = new KubeconfigSettingsStore({ db, defaults: env });
    assert.equal((await mine.current()).defaultTtlSeconds, 3600);
    await other.set({ defaultTtlSeconds: 120, maxTtlSeconds: 7200, generateToken: true });
    now += 9_999;
    assert.equal((await mine.current()).defaultTtlSeconds, 3600);
    now += 1;
    assert.equal((await mine.current()).defaultTtlSeconds, 120);
  });

  it('fails closed on a stored value that does not pass the checks', async () => {
    const { db } = await store();
    await db.insertInto('settings').values({ name: 'kubeconfig', value: JSON.stringify({ defaultTtlSeconds: 9e9, maxTtlSeconds: 60, generateToken: true }), updated_at: 'x' }).execute();
    const s = new KubeconfigSettingsStore({ db, defaults: env });
    await assert.rejects(s.current(), (e: unknown) => e instanceof DroverError && e.code === 'DRV_ERR_INTERNAL');
    await db.updateTable('settings').set({ value: '{not json' }).execute();
    await assert.rejects(s.current(), (e: unknown) => e instanceof DroverError && e.code === 'DRV_ERR_INTERNAL');
  });
});
