import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allowAddresses, formatHostPort, parseHostPort } from './address.ts';
import { Backoff } from './backoff.ts';

describe('dial addresses', () => {
  it('parses host:port and bracketed IPv6', () => {
    assert.deepEqual(parseHostPort('10.43.0.1:443'), { host: '10.43.0.1', port: 443 });
    assert.deepEqual(parseHostPort('kubernetes.default.svc:443'), { host: 'kubernetes.default.svc', port: 443 });
    assert.deepEqual(parseHostPort('[fd00::1]:6443'), { host: 'fd00::1', port: 6443 });
    assert.equal(formatHostPort('fd00::1', 6443), '[fd00::1]:6443');
  });

  const malformed = ['', '10.0.0.1', ':443', 'host:', 'host:0', 'host:65536', 'fd00::1:443', 'user@host:1', 'host:1/x', 'a b:1', 'unix:/var/run/docker.sock', 'tcp/10.0.0.1:443'];
  for (const address of malformed) {
    it(`refuses the malformed address ${JSON.stringify(address)}`, () => assert.equal(parseHostPort(address), undefined));
  }

  it('allows exactly the listed addresses, host letter case aside', () => {
    const allow = allowAddresses(['Kubernetes.default.svc:443', '[fd00::1]:6443']);
    assert.equal(allow('kubernetes.default.svc', 443), true);
    assert.equal(allow('fd00::1', 6443), true);
    assert.equal(allow('kubernetes.default.svc', 80), false);
    assert.equal(allow('169.254.169.254', 80), false);
    assert.throws(() => allowAddresses(['no-port']), { code: 'DRV_ERR_INVALID_ARGUMENT' });
  });
});

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
