import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allowAddresses, formatHostPort, parseHostPort, parseListenAddress } from './address.ts';

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

describe('listen addresses', () => {
  it('takes port 0 for a free port, and :PORT only where every interface is meant', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:0', '--listen'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListenAddress('[::1]:6440', '--listen'), { host: '::1', port: 6440 });
    assert.deepEqual(parseListenAddress(':8443', '--listen', '0.0.0.0'), { host: '0.0.0.0', port: 8443 });
    assert.throws(() => parseListenAddress(':6440', '--listen'), /--listen: expected HOST:PORT, got ":6440"/);
  });

  for (const bad of ['8443', 'host:', 'host:99999', 'a:b:c', 'a b:1', 'user@host:1']) {
    it(`refuses the listen address ${JSON.stringify(bad)}, naming the option`, () => {
      assert.throws(() => parseListenAddress(bad, '--listen', '0.0.0.0'), { code: 'DRV_ERR_INVALID_ARGUMENT', message: /--listen: expected HOST:PORT/ });
    });
  }
});
