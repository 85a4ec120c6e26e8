import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, serverConfigFromFlags } from './config.ts';

describe('server flag durations', () => {
  const good: Array<[string, number]> = [['60s', 60_000], ['2m', 120_000], ['1m30s', 90_000], ['500ms', 500], ['1h', 3_600_000], ['0', 0]];
  for (const [text, ms] of good) it(`reads ${text} as ${ms} ms`, () => assert.equal(parseDuration('--x', text), ms));
  for (const bad of ['', '60', '-1s', '1.5s', '1d', 's', '10s junk', ' 10s']) {
    it(`refuses ${JSON.stringify(bad)}, naming the flag`, () => assert.throws(() => parseDuration('--proxy-response-header-timeout', bad), /--proxy-response-header-timeout: expected a duration/));
  }
  it('defaults the proxy response-header timeout to 60 s', () => {
    assert.equal(serverConfigFromFlags({}).proxyResponseHeaderTimeoutMs, 60_000);
    assert.equal(serverConfigFromFlags({ proxyResponseHeaderTimeout: '5s' }).proxyResponseHeaderTimeoutMs, 5_000);
  });
});
