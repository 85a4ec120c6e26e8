import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from './backoff.ts';

describe('reconnect backoff', () => {
  it('waits a random time up to a doubling ceiling capped at maxMs, and starts over after reset', () => {
    const top = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0.999999);
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => top.next()), [99, 199, 399, 799, 999, 999]);
    top.reset();
    assert.equal(top.next(), 99);
    const bottom = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0);
    assert.equal(bottom.next(), 0);
  });

  it('refuses nonsense settings at construction', () => {
    assert.throws(() => new Backoff({ initialMs: 0, maxMs: 10 }), { code: 'DRV_ERR_INVALID_ARGUMENT' });
    assert.throws(() => new Backoff({ initialMs: 100, maxMs: 10 }), { code: 'DRV_ERR_INVALID_ARGUMENT' });
  });
});
