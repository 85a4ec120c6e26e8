import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { engines, sharedStore } from '../../../test/testenv/stores.ts';
import { DroverError } from '../../errors/index.ts';
import { createSecretBox } from '../../store/index.ts';
import { RedirectLogins, sha256url, type IssuedLogin, type PendingLogin, type RedirectLoginsOptions } from './redirect-login.ts';
import { safeReturnPath } from './redirect-api.ts';

const ip = '192.0.2.1';
const issued: IssuedLogin = { token: 'token-abc:secret', tokenId: 'token-abc', user: { id: 'u-1', username: 'alice' } };
const login = (state: string, extra: Partial<PendingLogin> = {}): PendingLogin => ({
  provider: 'github', purpose: 'ui', pending: { state, nonce: 'n-1', codeVerifier: 'pkce-verifier-secret', redirectUri: 'https://drover.test/v1/auth/github/callback' }, ...extra,
});
const code = async (fn: () => Promise<unknown>): Promise<string> => {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof DroverError, String(error));
    return error.code;
  }
  return 'no error';
};
const message = async (fn: () => Promise<unknown>): Promise<string> => {
  try {
    await fn();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return 'no error';
};

const box = createSecretBox(randomBytes(32));

for (const engine of engines) {
  const store = sharedStore(engine, 'logins');
  /** A fresh, empty table for each case, on the engine's one database. */
  const logins = async (options: Partial<RedirectLoginsOptions> = {}): Promise<RedirectLogins> => {
    const s = await store();
    await s.db.deleteFrom('login_flows').execute();
    return new RedirectLogins({ db: s.db, box, ...options });
  };

  describe(`pending browser logins (${engine})`, () => {
    it('a state is good for exactly one callback, also on another replica', async () => {
      const one = await logins();
      const two = new RedirectLogins({ db: (await store()).db, box });
      await one.begin(login('s1'), ip);
      assert.deepEqual(await two.finish('s1', 'github'), login('s1'));
      assert.match(await message(() => one.finish('s1', 'github')), /unknown or was already used/);
    });

    it('two callbacks racing with the same state: exactly one wins', async () => {
      const l = await logins();
      await l.begin(login('race'), ip);
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => l.finish('race', 'github')));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    });

    it('unknown, empty, missing and oversized states are refused', async () => {
      const l = await logins();
      await l.begin(login('s1'), ip);
      for (const state of ['nope', '', null, 's1'.repeat(300)]) assert.equal(await code(() => l.finish(state, 'github')), 'DRV_ERR_BAD_REQUEST');
    });

    it('a state started for one provider is refused at another provider\'s callback, and is spent', async () => {
      const l = await logins();
      await l.begin(login('s1'), ip);
      assert.match(await message(() => l.finish('s1', 'oidc')), /started for github, not oidc/);
      assert.equal(await code(() => l.finish('s1', 'github')), 'DRV_ERR_BAD_REQUEST');
    });

    it('a pending login expires after 10 minutes, with its own message', async () => {
      let now = 1_000_000;
      const l = await logins({ clock: () => now });
      await l.begin(login('s1'), ip);
      await l.begin(login('s2'), ip);
      now += 9 * 60_000;
      assert.ok(await l.finish('s1', 'github'));
      now += 60_000 + 1;
      assert.match(await message(() => l.finish('s2', 'github')), /has expired/);
    });

    it('nothing a database reader could present or use is stored in clear', async () => {
      const l = await logins();
      await l.begin(login('state-in-clear', { requestId: 'lr-request-in-clear' }), ip);
      const rows = JSON.stringify(await (await store()).db.selectFrom('login_flows').selectAll().execute());
      for (const secret of ['state-in-clear', 'pkce-verifier-secret', 'n-1', 'lr-request-in-clear']) assert.ok(!rows.includes(secret), secret);
    });

    it('a payload moved to another row does not decrypt', async () => {
      const l = await logins();
      await l.begin(login('victim'), ip);
      await l.begin(login('attacker'), '192.0.2.9');
      const db = (await store()).db;
      const rows = await db.selectFrom('login_flows').select(['id', 'address', 'payload']).execute();
      const victim = rows.find((r) => r.address === ip);
      await db.updateTable('login_flows').set({ payload: victim?.payload ?? null }).where('address', '=', '192.0.2.9').execute();
      assert.match(await message(() => l.finish('attacker', 'github')), /cannot decrypt/);
    });

    it('the number of pending logins is bounded; expired ones are deleted and make room', async () => {
      let now = 1_000_000;
      const l = await logins({ maxEntries: 3, clock: () => now });
      for (const s of ['a', 'b', 'c']) await l.begin(login(s), ip);
      assert.equal(await code(() => l.begin(login('d'), '192.0.2.2')), 'DRV_ERR_TOO_MANY_REQUESTS');
      now += 11 * 60_000;
      await l.begin(login('d'), ip);
      assert.deepEqual(await l.size(), { pending: 1, requests: 0 });
      assert.equal((await (await store()).db.selectFrom('login_flows').select('id').execute()).length, 1, 'expired rows are gone');
    });

    it('one address cannot hold more than its share of pending logins; finished ones give it back', async () => {
      const l = await logins({ maxPerAddress: 2 });
      await l.begin(login('a'), ip);
      await l.begin(login('b'), ip);
      assert.equal(await code(() => l.begin(login('c'), ip)), 'DRV_ERR_TOO_MANY_REQUESTS');
      await l.begin(login('c'), '192.0.2.2');
      await l.finish('a', 'github');
      await l.begin(login('d'), ip);
      assert.match(await l.openRequest(ip, 'oidc', 'test'), /^lr-/, 'terminal requests are counted apart from pending logins');
    });
  });

  describe(`terminal (CLI) login requests (${engine})`, () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = sha256url(verifier);

    it('the token goes once to the holder of the verifier, after the browser finished, from any replica', async () => {
      const one = await logins();
      const two = new RedirectLogins({ db: (await store()).db, box });
      const id = await one.openRequest(ip, 'oidc', 'cli', challenge);
      await two.startRequest(id, 'oidc', 'cli');
      assert.deepEqual(await one.poll(id, verifier), { state: 'pending' });
      await two.complete(id, issued);
      const rows = JSON.stringify(await (await store()).db.selectFrom('login_flows').selectAll().execute());
      assert.ok(!rows.includes(issued.token), 'the waiting token is encrypted');
      assert.equal(await code(() => one.poll(id, randomBytes(32).toString('base64url'))), 'DRV_ERR_BAD_REQUEST');
      assert.deepEqual(await one.poll(id, verifier), { state: 'done', issued });
      assert.equal(await code(() => two.poll(id, verifier)), 'DRV_ERR_LOGIN_EXPIRED');
    });

    it('two polls racing for a finished login: the token goes to one', async () => {
      const l = await logins();
      const id = await l.openRequest(ip, 'oidc', 'cli', challenge);
      await l.complete(id, issued);
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => l.poll(id, verifier)));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    });

    it('a login link opens once, for its own provider and purpose; a request completes once', async () => {
      const l = await logins();
      const id = await l.openRequest(ip, 'oidc', 'cli', challenge);
      assert.equal(await code(() => l.startRequest(id, 'github', 'cli')), 'DRV_ERR_BAD_REQUEST');
      assert.equal(await code(() => l.startRequest(id, 'oidc', 'test')), 'DRV_ERR_BAD_REQUEST');
      await l.startRequest(id, 'oidc', 'cli');
      assert.equal(await code(() => l.startRequest(id, 'oidc', 'cli')), 'DRV_ERR_BAD_REQUEST');
      assert.equal(await code(() => l.startRequest(undefined, 'oidc', 'cli')), 'DRV_ERR_BAD_REQUEST');
      await l.complete(id, issued);
      assert.equal(await code(() => l.complete(id, { ...issued, token: 'another' })), 'DRV_ERR_LOGIN_EXPIRED');
    });

    it('a request without a proper challenge is refused', async () => {
      const l = await logins();
      for (const bad of [undefined, 'short', `${challenge.slice(0, 42)}=`]) assert.equal(await code(() => l.openRequest(ip, 'oidc', 'cli', bad)), 'DRV_ERR_BAD_REQUEST');
    });

    it('a request expires after 10 minutes: polling then answers 410', async () => {
      let now = 1_000_000;
      const l = await logins({ clock: () => now });
      const id = await l.openRequest(ip, 'github', 'cli', challenge);
      now += 10 * 60_000 + 1;
      assert.equal(await code(() => l.poll(id, verifier)), 'DRV_ERR_LOGIN_EXPIRED');
      assert.equal(await code(() => l.complete(id, issued)), 'DRV_ERR_LOGIN_EXPIRED');
      assert.equal(await code(() => l.startRequest(id, 'github', 'cli')), 'DRV_ERR_BAD_REQUEST');
    });

    it('a failed browser login is reported to the next poll, once', async () => {
      const l = await logins();
      const id = await l.openRequest(ip, 'github', 'cli', challenge);
      await l.fail(id, new DroverError('DRV_ERR_FORBIDDEN', 'not in the allowed principals'));
      await assert.rejects(l.poll(id, verifier), /not in the allowed principals/);
      assert.equal(await code(() => l.poll(id, verifier)), 'DRV_ERR_LOGIN_EXPIRED');
    });
  });
}

describe('where a finished UI login may land', () => {
  it('only same-origin paths; everything else is "/"', () => {
    for (const good of ['/', '/clusters', '/clusters/c-1?tab=members']) assert.equal(safeReturnPath(good), good);
    for (const bad of [undefined, 'https://evil.example/', '//evil.example/', '/\\evil.example', 'javascript:alert(1)', '/a b', 'clusters', '\\\\evil']) {
      assert.equal(safeReturnPath(bad), '/', String(bad));
    }
  });
});
