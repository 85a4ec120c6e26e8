import { describe, it } from 'node:test';
import type { KyselyPlugin } from 'kysely';
import assert from 'node:assert/strict';
import { engines, sharedStore } from '../../test/testenv/stores.ts';
import { DroverError } from '../errors/index.ts';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.ts';

async function locked(fn: () => Promise<unknown>): Promise<DroverError> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof DroverError);
    assert.equal(error.code, 'DRV_ERR_TOO_MANY_REQUESTS');
    return error;
  }
  assert.fail('expected a lockout');
}

for (const engine of engines) {
  const store = sharedStore(engine, 'throttle');
  /** A throttle over an empty table of the engine's one database. */
  const throttle = async (options: Omit<LoginThrottleOptions, 'db'>): Promise<LoginThrottle> => {
    const s = await store();
    await s.db.deleteFrom('login_failures').execute();
    return new LoginThrottle({ db: s.db, ...options });
  };

  describe(`login throttle (${engine})`, () => {
    const policy = { windowMs: 60_000, slowdownAfter: 2, slowdownMs: 500, maxFailures: 4, lockoutMs: 30_000 };

    it('slows a username down after a few failures, then locks it for the lockout window', async () => {
      let now = 1_000_000;
      const t = await throttle({ clock: () => now, perUsername: policy, perAddress: { ...policy, maxFailures: 1000, slowdownAfter: 1000 } });
      assert.equal(await t.check('alice', 'a1'), 0);
      await t.recordFailure('alice', 'a1');
      await t.recordFailure('Alice', 'a2');
      assert.equal(await t.check('ALICE', 'a3'), 500, 'usernames are compared without case');
      await t.recordFailure('alice', 'a3');
      await t.recordFailure('alice', 'a4');
      const error = await locked(() => t.check('alice', 'a5'));
      assert.equal(error.retryAfterSeconds, 30);
      assert.match(error.message, /for this user/);
      now += 29_000;
      await locked(() => t.check('alice', 'a5'));
      now += 1_001;
      assert.equal(await t.check('alice', 'a5'), 0);
    });

    it('locks an address that tries many usernames, without locking those users elsewhere', async () => {
      const t = await throttle({ clock: () => 1_000_000, perUsername: policy, perAddress: { ...policy, maxFailures: 3 } });
      for (const name of ['u1', 'u2', 'u3']) await t.recordFailure(name, '10.0.0.66');
      assert.match((await locked(() => t.check('u4', '10.0.0.66'))).message, /from this address/);
      assert.equal(await t.check('u1', '10.0.0.1'), 0);
    });

    it('forgets failures older than the window, deletes their rows, and clears a username on success', async () => {
      let now = 1_000_000;
      const t = await throttle({ clock: () => now, perUsername: policy });
      for (let i = 0; i < 3; i++) await t.recordFailure('bob', 'a');
      await t.recordSuccess('bob');
      for (let i = 0; i < 3; i++) await t.recordFailure('bob', 'b');
      now += 61_000;
      await t.recordFailure('bob', 'c');
      assert.equal(await t.check('bob', 'c'), 0);
      now += 15 * 60_000 + 1;
      await t.recordFailure('carol', 'd');
      const keys = (await (await store()).db.selectFrom('login_failures').select('key').execute()).map((r) => r.key).sort();
      assert.deepEqual(keys, ['addr:d', 'user:carol'], 'rows whose window and lockout are over are gone');
    });

    it('replicas share one budget: failures on two replicas lock the user on both', async () => {
      const one = await throttle({ clock: () => 1_000_000, perUsername: policy });
      const two = new LoginThrottle({ db: (await store()).db, clock: () => 1_000_000, perUsername: policy });
      await one.recordFailure('dave', 'a');
      await two.recordFailure('dave', 'b');
      await one.recordFailure('dave', 'c');
      await two.recordFailure('dave', 'd');
      await locked(() => one.check('dave', 'e'));
      await locked(() => two.check('dave', 'e'));
    });

    it('is cheap: a failure flood cleans up once a minute, and a good login after no failure writes nothing', async () => {
      let now = 1_000_000;
      const s = await store();
      await s.db.deleteFrom('login_failures').execute();
      const deletes: string[] = [];
      const counting: KyselyPlugin = {
        transformQuery: (args) => {
          if (args.node.kind === 'DeleteQueryNode') deletes.push(args.queryId.queryId);
          return args.node;
        },
        transformResult: (args) => Promise.resolve(args.result),
      };
      const t = new LoginThrottle({ db: s.db.withPlugin(counting), clock: () => now, perUsername: { ...policy, maxFailures: 1000, slowdownAfter: 1000 } });
      for (let i = 0; i < 20; i++) {
        await t.recordFailure('frank', `10.0.2.${i}`);
        now += 1_000;
      }
      assert.equal(deletes.length, 1, 'one clean-up in the first minute, not one per failure');
      now += 60_000;
      await t.recordFailure('frank', '10.0.2.99');
      assert.equal(deletes.length, 2, 'and the next a minute later');
      assert.equal(await t.check('grace', '10.0.3.1'), 0);
      await t.recordSuccess('grace');
      assert.equal(deletes.length, 2, 'a good login with no failures before it deletes nothing');
      await t.check('frank', '10.0.2.100');
      await t.recordSuccess('frank');
      assert.equal(deletes.length, 3, 'one with failures clears them');
      assert.equal(await s.db.selectFrom('login_failures').select('key').where('key', '=', 'user:frank').executeTakeFirst(), undefined);
    });

    it('a good login on one replica clears failures another replica recorded', async () => {
      const one = await throttle({ clock: () => 1_000_000, perUsername: policy });
      const two = new LoginThrottle({ db: (await store()).db, clock: () => 1_000_000, perUsername: policy });
      await one.recordFailure('heidi', 'a');
      await one.recordFailure('heidi', 'a');
      assert.equal(await two.check('heidi', 'b'), 500);
      await two.recordSuccess('heidi');
      assert.equal(await one.check('heidi', 'a'), 0);
    });

    it('guesses recorded in parallel are each counted', async () => {
      const t = await throttle({ clock: () => 1_000_000, perUsername: { ...policy, maxFailures: 1000 } });
      await Promise.all(Array.from({ length: 20 }, (_, i) => t.recordFailure('erin', `10.0.1.${i}`)));
      const row = await (await store()).db.selectFrom('login_failures').select('failures').where('key', '=', 'user:erin').executeTakeFirstOrThrow();
      assert.equal(row.failures, 20);
    });
  });
}
