import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../logging/index.ts';
import { createSecretBox, openStore, type Store } from '../../store/index.ts';
import { KnownUsers, StoredKnownUsers, forgetOrphanCredentials, forgetProviderCredentials } from './known-users.ts';
import type { CredentialStore, ProviderName, VerifiedIdentity } from './types.ts';

const identity = (id: number, teams: number[]): VerifiedIdentity => ({
  user: { id: `github_user://${id}`, kind: 'user', provider: 'github', displayName: `user ${id}`, loginName: `u${id}` },
  groups: teams.map((t) => ({ id: `github_team://${t}`, kind: 'group' as const, provider: 'github' as const, displayName: `acme/team-${t}` })),
});

let dir: string;
let store: Store;
const key = randomBytes(32);
let tick = Date.parse('2026-01-01T00:00:00Z');
const stored = (provider: ProviderName = 'github', box = createSecretBox(key)): StoredKnownUsers =>
  new StoredKnownUsers({ store, box, provider, logger: silentLogger(), clock: () => (tick += 1000) });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drover-known-users-'));
  store = await openStore({ dataDir: dir });
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

for (const [kind, make] of [['in memory', () => new KnownUsers()], ['in the database', () => stored()]] as const) {
  describe(`what redirect providers remember about their users (${kind})`, () => {
    it('hands the credential back for the same user only', async () => {
      const known: CredentialStore = make();
      await known.save(identity(1, [7]), 'gho_secret-1');
      assert.equal((await known.load('github_user://1'))?.secret, 'gho_secret-1');
      assert.equal(await known.load('github_user://2'), undefined);
      await known.forget('github_user://1');
    });

    it('a later save without a new credential keeps the stored one; forget drops both', async () => {
      const known: CredentialStore = make();
      await known.save(identity(1, [7]), 'gho_1');
      await known.save(identity(1, [8]));
      const loaded = await known.load('github_user://1');
      assert.equal(loaded?.secret, 'gho_1');
      assert.deepEqual(loaded?.identity.groups.map((g) => g.id), ['github_team://8']);
      await known.forget('github_user://1');
      assert.equal(await known.load('github_user://1'), undefined);
      assert.equal(await known.newestSecret(), undefined);
    });

    it('newestSecret is the latest login\'s; search matches names and ids, case-insensitively, up to the limit', async () => {
      const known: CredentialStore = make();
      await known.save(identity(1, [7, 8]), 'gho_old');
      await known.save(identity(2, [8]), 'gho_new');
      assert.equal(await known.newestSecret(), 'gho_new');
      assert.deepEqual((await known.search('TEAM-7', 10)).map((p) => p.id), ['github_team://7']);
      assert.equal((await known.search('user', 1)).length, 1);
      await known.forget('github_user://1');
      await known.forget('github_user://2');
    });
  });
}

describe('stored provider credentials', () => {
  it('survive a new instance (a restart, another replica) and are stored only encrypted', async () => {
    await stored().save(identity(3, [9]), 'gho_persisted-3');
    assert.equal((await stored().load('github_user://3'))?.secret, 'gho_persisted-3');
    const rows = await store.db.selectFrom('provider_credentials').selectAll().execute();
    assert.ok(!JSON.stringify(rows).includes('gho_persisted-3'));
    await stored().forget('github_user://3');
  });

  it('a credential copied to another principal, or read with another key, reads as absent', async () => {
    await stored().save(identity(4, []), 'gho_4');
    await stored().save(identity(5, []), 'gho_5');
    const row4 = await store.db.selectFrom('provider_credentials').select('secret').where('principal_id', '=', 'github_user://4').executeTakeFirstOrThrow();
    await store.db.updateTable('provider_credentials').set({ secret: row4.secret }).where('principal_id', '=', 'github_user://5').execute();
    const loaded = await stored().load('github_user://5');
    assert.equal(loaded?.secret, undefined);
    assert.equal(loaded?.identity.user.id, 'github_user://5');
    assert.equal((await stored('github', createSecretBox(randomBytes(32))).load('github_user://4'))?.secret, undefined);
    assert.equal(await stored('oidc').load('github_user://4'), undefined, 'another provider does not see them');
    await forgetProviderCredentials(store, 'github');
  });

  it('disabling a provider forgets its credentials; orphans (no Drover user) go once past the grace period', async () => {
    await stored().save(identity(6, []), 'gho_6');
    await stored('oidc').save({ user: { id: 'oidc_user://s', kind: 'user', provider: 'oidc', displayName: 's' }, groups: [] }, 'rt');
    assert.equal(await forgetProviderCredentials(store, 'github'), 1);
    assert.equal((await stored('oidc').load('oidc_user://s'))?.secret, 'rt');
    assert.equal(await forgetOrphanCredentials(store, '2000-01-01T00:00:00Z'), 0, 'within the grace period');
    assert.equal(await forgetOrphanCredentials(store, new Date(tick + 1).toISOString()), 1);
    assert.equal(await stored('oidc').load('oidc_user://s'), undefined);
  });
});
