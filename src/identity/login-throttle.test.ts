import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DroverError } from '../errors/index.ts';
import { LoginThrottle } from './login-throttle.ts';

function locked(fn: () => unknown): DroverError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof DroverError);
    assert.equal(error.code, 'DRV_ERR_TOO_MANY_REQUESTS');
    return error;
  }
  assert.fail('expected a lockout');
}

describe('login throttle', () => {
  const policy = { windowMs: 60_000, slowdownAfter: 2, slowdownMs: 500, maxFailures: 4, lockoutMs: 30_000 };

  it('slows a username down after a few failures, then locks it for the lockout window', () => {
    let now = 0;
    const throttle = new LoginThrottle({ clock: () => now, perUsername: policy, perAddress: { ...policy, maxFailures: 1000, slowdownAfter: 1000 } });
    assert.equal(throttle.check('alice', 'a1'), 0);
    throttle.recordFailure('alice', 'a1');
    throttle.recordFailure('Alice', 'a2');
    assert.equal(throttle.check('ALICE', 'a3'), 500, 'usernames are compared without case');
    throttle.recordFailure('alice', 'a3');
    throttle.recordFailure('alice', 'a4');
    const error = locked(() => throttle.check('alice', 'a5'));
    assert.equal(error.retryAfterSeconds, 30);
    assert.match(error.message, /for this user/);
    now += 29_000;
    locked(() => throttle.check('alice', 'a5'));
    now += 1_001;
    assert.equal(throttle.check('alice', 'a5'), 0);
  });

  it('locks an address that tries many usernames, without locking those users elsewhere', () => {
    const throttle = new LoginThrottle({ clock: () => 0, perUsername: policy, perAddress: { ...policy, maxFailures: 3 } });
    for (const name of ['u1', 'u2', 'u3']) throttle.recordFailure(name, '10.0.0.66');
    assert.match(locked(() => throttle.check('u4', '10.0.0.66')).message, /from this address/);
    assert.equal(throttle.check('u1', '10.0.0.1'), 0);
  });

  it('forgets failures older than the window and clears a username on success', () => {
    let now = 0;
    const throttle = new LoginThrottle({ clock: () => now, perUsername: policy });
    throttle.recordFailure('bob', 'a');
    throttle.recordFailure('bob', 'a');
    throttle.recordFailure('bob', 'a');
    throttle.recordSuccess('bob');
    throttle.recordFailure('bob', 'b');
    throttle.recordFailure('bob', 'b');
    throttle.recordFailure('bob', 'b');
    now += 61_000;
    throttle.recordFailure('bob', 'c');
    assert.equal(throttle.check('bob', 'c'), 0);
  });

  it('keeps memory bounded under a flood of distinct usernames', () => {
    const throttle = new LoginThrottle({ clock: () => 0, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) throttle.recordFailure(`user-${i}`, `10.0.${i % 250}.1`);
    assert.ok((throttle as unknown as { counters: Map<string, unknown> }).counters.size <= 100);
  });
});
