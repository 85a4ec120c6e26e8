import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serverConfigFromFlags } from './config.ts';

describe('--proxy-response-header-timeout', () => {
  it('defaults to 60 s and takes any duration the CLI takes (0: no limit)', () => {
    assert.equal(serverConfigFromFlags({}).proxyResponseHeaderTimeoutMs, 60_000);
    assert.equal(serverConfigFromFlags({ proxyResponseHeaderTimeout: '5s' }).proxyResponseHeaderTimeoutMs, 5_000);
    assert.equal(serverConfigFromFlags({ proxyResponseHeaderTimeout: '1m30s' }).proxyResponseHeaderTimeoutMs, 90_000);
    assert.equal(serverConfigFromFlags({ proxyResponseHeaderTimeout: '0' }).proxyResponseHeaderTimeoutMs, 0);
  });
  for (const bad of ['', '-1s', '1.5s', 's', '10s junk']) {
    it(`refuses ${JSON.stringify(bad)}, naming the flag`, () => {
      assert.throws(() => serverConfigFromFlags({ proxyResponseHeaderTimeout: bad }), /--proxy-response-header-timeout/);
    });
  }
});
