import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresDatabase } from '../../test/testenv/postgres.ts';
import { silentLogger } from '../logging/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { refusePasswordChangeOnly } from '../http/index.ts';
import { CachedTokenAuthenticator, createIdentity, type Identity, type TokenLookup } from './index.ts';
import { refusal } from '../testing/index.ts';

const password = 'correct horse battery';

const engines: Array<{ name: string; url: () => Promise<string | undefined> }> = [
  { name: 'SQLite', url: () => Promise.resolve(undefined) },
  { name: 'PostgreSQL', url: () => createPostgresDatabase('identity') },
];

for (const engine of engines) {
  describe(`identity on ${engine.name}`, () => {
    let dir: string;
    let url: string | undefined;
    let store: Store;
    let identity: Identity;
    let now = Date.now();
    const clock = (): number => now;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'drover-identity-'));
      url = await engine.url();
      store = await openStore({ dataDir: dir, ...(url ? { url } : {}) });
      identity = createIdentity({
        store, logger: silentLogger(), clock,
        throttle: { perUsername: { maxFailures: 3, slowdownMs: 0, lockoutMs: 60_000, windowMs: 60_000 }, perAddress: { slowdownMs: 0 } },
      });
    });
    after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('creates users with u- ids and local principals, and refuses duplicates, short passwords and bad names', async () => {
      const user = await identity.users.create({ username: 'alice', password });
      assert.match(user.id, /^u-[a-z0-9]{10}$/);
      assert.deepEqual(user.principalIds, [`local://${user.id}`]);
      assert.equal(user.globalRole, 'user');
      assert.equal((await refusal(identity.users.create({ username: 'alice', password }))).code, 'DRV_ERR_CONFLICT');
      assert.equal((await refusal(identity.users.create({ username: 'bob', password: 'short' }))).code, 'DRV_ERR_UNPROCESSABLE');
      assert.equal((await refusal(identity.users.create({ username: '../etc', password }))).code, 'DRV_ERR_UNPROCESSABLE');
    });

    it('logs in with the right password and the token authenticates as that user', async () => {
      const result = await identity.login.login({ username: 'alice', password, address: '10.0.0.1' });
      assert.match(result.value, /^token-[a-z0-9]+:[A-Za-z0-9]{43}$/);
      const user = await identity.authenticator.authenticate(`Bearer ${result.value}`);
      assert.equal(user.username, 'alice');
      assert.equal(user.provider, 'local');
      assert.equal(user.token.id, result.token.id);
      const row = await store.db.selectFrom('tokens').selectAll().where('id', '=', result.token.id).executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes(result.value.split(':')[1] ?? '?'), 'the secret is not stored');
    });

    it('refuses a wrong password and an unknown user with the same message', async () => {
      const wrong = await refusal(identity.login.login({ username: 'alice', password: 'wrong password!!', address: '10.0.0.2' }));
      const unknown = await refusal(identity.login.login({ username: 'nobody', password, address: '10.0.0.2' }));
      assert.equal(wrong.code, 'DRV_ERR_UNAUTHENTICATED');
      assert.equal(unknown.message, wrong.message);
    });

    it('locks a username out after repeated failures, refusing even the right password until the window ends', async () => {
      await identity.users.create({ username: 'carol', password });
      for (let i = 0; i < 3; i++) await refusal(identity.login.login({ username: 'carol', password: `wrong-${i}-password`, address: `10.1.0.${i}` }));
      const locked = await refusal(identity.login.login({ username: 'carol', password, address: '10.1.0.9' }));
      assert.equal(locked.code, 'DRV_ERR_TOO_MANY_REQUESTS');
      assert.ok((locked.retryAfterSeconds ?? 0) > 0);
      now += 61_000;
      const ok = await identity.login.login({ username: 'carol', password, address: '10.1.0.9' });
      assert.equal(ok.user.username, 'carol');
    });

    it('refuses a revoked token on the very next check, although it was cached', async () => {
      const { value, token } = await identity.login.login({ username: 'alice', password, address: '10.0.0.1' });
      await identity.authenticator.authenticate(value);
      await identity.tokens.revoke(token.id);
      assert.equal((await refusal(identity.authenticator.authenticate(value))).code, 'DRV_ERR_UNAUTHENTICATED');
    });

    it('disabling a user revokes every token of theirs for good: enabling brings none back', async () => {
      const dave = await identity.users.create({ username: 'dave', password });
      const { value } = await identity.login.login({ username: 'dave', password, address: '10.0.0.1' });
      const api = await identity.tokens.issue({ userId: dave.id, kind: 'api', authProvider: 'local' });
      const kube = await identity.tokens.issue({ userId: dave.id, kind: 'kubeconfig', authProvider: 'local', clusterId: 'c-x' });
      await identity.authenticator.authenticate(value);
      await identity.users.setEnabled(dave.id, false);
      assert.deepEqual(await identity.tokens.list({ userId: dave.id }), []);
      assert.equal((await refusal(identity.login.login({ username: 'dave', password, address: '10.0.0.1' }))).code, 'DRV_ERR_USER_DISABLED');
      // However a token gets issued for a disabled user (a login racing the disable), none is left behind.
      assert.equal((await refusal(identity.tokens.issue({ userId: dave.id, kind: 'api', authProvider: 'local' }))).code, 'DRV_ERR_USER_DISABLED');
      assert.deepEqual(await identity.tokens.list({ userId: dave.id }), []);
      await identity.users.setEnabled(dave.id, true);
      for (const token of [value, api.value, kube.value]) {
        assert.equal((await refusal(identity.authenticator.authenticate(token))).code, 'DRV_ERR_UNAUTHENTICATED');
      }
      assert.equal((await identity.login.login({ username: 'dave', password, address: '10.0.0.1' })).user.id, dave.id, 'they log in again');
    });

    it('a user who must change their password gets a password-change-only token until they do, then the same token opens', async () => {
      const fay = await identity.users.create({ username: 'fay', password, mustChangePassword: true });
      const { value, token } = await identity.login.login({ username: 'fay', password, address: '10.0.0.1' });
      const before = await identity.authenticator.authenticate(value);
      assert.equal(before.token.passwordChangeOnly, true);
      assert.throws(() => refusePasswordChangeOnly(before), { code: 'DRV_ERR_PASSWORD_CHANGE_REQUIRED' });
      await identity.users.setPassword(fay.id, 'fays-own-new-password', token.id);
      const after = await identity.authenticator.authenticate(value);
      assert.equal(after.token.passwordChangeOnly, undefined);
    });

    it('changing a temporary password ends every other token opened with it, so whoever else saw it gets nothing', async () => {
      const ivy = await identity.users.create({ username: 'ivy', password, mustChangePassword: true });
      const onlooker = await identity.login.login({ username: 'ivy', password, address: '10.0.0.9' });
      const own = await identity.login.login({ username: 'ivy', password, address: '10.0.0.1' });
      await identity.authenticator.authenticate(onlooker.value);
      await identity.users.setPassword(ivy.id, 'ivys-own-new-password', own.token.id);
      assert.equal((await refusal(identity.authenticator.authenticate(onlooker.value))).code, 'DRV_ERR_UNAUTHENTICATED');
      assert.equal((await identity.authenticator.authenticate(own.value)).token.passwordChangeOnly, undefined);
      assert.deepEqual((await identity.tokens.list({ userId: ivy.id })).map((t) => t.id), [own.token.id]);
    });

    it('changing one\'s password ends one\'s other login sessions, not API or kubeconfig tokens', async () => {
      const jo = await identity.users.create({ username: 'jo', password });
      const elsewhere = await identity.login.login({ username: 'jo', password, address: '10.0.0.9' });
      const own = await identity.login.login({ username: 'jo', password, address: '10.0.0.1' });
      const api = await identity.tokens.issue({ userId: jo.id, kind: 'api', authProvider: 'local' });
      await identity.authenticator.authenticate(elsewhere.value);
      await identity.users.setPassword(jo.id, 'jos-own-new-password', own.token.id);
      assert.equal((await refusal(identity.authenticator.authenticate(elsewhere.value))).code, 'DRV_ERR_UNAUTHENTICATED');
      assert.equal((await identity.authenticator.authenticate(own.value)).id, jo.id);
      assert.equal((await identity.authenticator.authenticate(api.value)).id, jo.id);
    });

    it('a provider login is never password-change-only: such users have no Drover password to change', async () => {
      const hal = await identity.users.create({ username: 'hal', mustChangePassword: true });
      const { value } = await identity.tokens.issue({ userId: hal.id, kind: 'session', authProvider: 'openldap' });
      assert.equal((await identity.authenticator.authenticate(value)).token.passwordChangeOnly, undefined);
    });

    it('a password reset revokes every token and makes the generated password a must-change one', async () => {
      const gus = await identity.users.create({ username: 'gus', password });
      const { value } = await identity.login.login({ username: 'gus', password, address: '10.0.0.1' });
      await identity.authenticator.authenticate(value);
      const reset = await identity.users.resetPassword('gus');
      assert.equal((await refusal(identity.authenticator.authenticate(value))).code, 'DRV_ERR_UNAUTHENTICATED');
      assert.equal((await refusal(identity.login.login({ username: 'gus', password, address: '10.0.0.2' }))).code, 'DRV_ERR_UNAUTHENTICATED');
      const again = await identity.login.login({ username: 'gus', password: reset.password, address: '10.0.0.2' });
      assert.equal((await identity.authenticator.authenticate(again.value)).token.passwordChangeOnly, true);
      assert.equal((await identity.users.get(gus.id)).mustChangePassword, true);
    });

    it('deleting a user removes their tokens, which stop working at once', async () => {
      const erin = await identity.users.create({ username: 'erin', password });
      const { value } = await identity.login.login({ username: 'erin', password, address: '10.0.0.1' });
      await identity.authenticator.authenticate(value);
      await identity.users.delete(erin.id);
      assert.equal((await refusal(identity.authenticator.authenticate(value))).code, 'DRV_ERR_UNAUTHENTICATED');
      assert.deepEqual(await identity.tokens.list({ userId: erin.id }), []);
    });

    it('refuses an expired token with its own code', async () => {
      const user = await identity.users.get('alice');
      const { value } = await identity.tokens.issue({ userId: user.id, kind: 'api', authProvider: 'local', ttlSeconds: 60 });
      await identity.authenticator.authenticate(value);
      now += 61_000;
      assert.equal((await refusal(identity.authenticator.authenticate(value))).code, 'DRV_ERR_TOKEN_EXPIRED');
    });

    it('refuses a valid token id with a wrong secret', async () => {
      const { token, value } = await identity.login.login({ username: 'alice', password, address: '10.0.0.1' });
      await identity.authenticator.authenticate(value);
      const forged = `${token.id}:${'A'.repeat(43)}`;
      assert.equal((await refusal(identity.authenticator.authenticate(forged))).code, 'DRV_ERR_UNAUTHENTICATED');
    });

    it('refuses TTLs beyond the server maximum', async () => {
      const user = await identity.users.get('alice');
      const error = await refusal(identity.tokens.issue({ userId: user.id, kind: 'api', authProvider: 'local', ttlSeconds: 10 ** 9 }));
      assert.equal(error.code, 'DRV_ERR_UNPROCESSABLE');
    });

    it('keeps users and tokens when the store is closed and opened again', async () => {
      const { value } = await identity.login.login({ username: 'alice', password, address: '10.0.0.1' });
      await store.close();
      store = await openStore({ dataDir: dir, ...(url ? { url } : {}) });
      identity = createIdentity({ store, logger: silentLogger(), clock });
      assert.equal((await identity.users.get('alice')).username, 'alice');
      assert.equal((await identity.authenticator.authenticate(value)).username, 'alice');
    });

    it('writes last-used at most once a minute per token, never per request', async () => {
      const user = await identity.users.get('alice');
      const { token, value } = await identity.tokens.issue({ userId: user.id, kind: 'api', authProvider: 'local' });
      let writes = 0;
      const counting: TokenLookup = {
        findForAuth: (id) => identity.tokens.findForAuth(id),
        touchLastUsed: async (id, at) => { writes++; await identity.tokens.touchLastUsed(id, at); },
      };
      const auth = new CachedTokenAuthenticator({ tokens: counting, clock, logger: silentLogger() });
      for (let i = 0; i < 100; i++) await auth.authenticate(value);
      assert.equal(writes, 1);
      now += 30_000;
      for (let i = 0; i < 100; i++) await auth.authenticate(value);
      assert.equal(writes, 1);
      now += 31_000;
      await auth.authenticate(value);
      assert.equal(writes, 2);
      await new Promise((r) => setTimeout(r, 50));
      assert.ok((await identity.tokens.get(token.id)).lastUsedAt);
    });
  });
}
