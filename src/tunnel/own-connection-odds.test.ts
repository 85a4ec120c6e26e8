import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OwnConnectionOdds } from './own-connection-odds.ts';

describe('OwnConnectionOdds', () => {
  it('keeps asking while refusals are rare: a dial the server gave up now and then', () => {
    const odds = new OwnConnectionOdds();
    for (let i = 0; i < 100; i += 1) odds.reachedServer();
    for (let i = 0; i < 10; i += 1) assert.equal(odds.refusedByServer(), false);
    assert.equal(odds.worthTrying, true);
  });

  it('stops at the third refusal when nothing was reached (a proxy that refuses them all), and says so once', () => {
    const odds = new OwnConnectionOdds();
    assert.equal(odds.refusedByServer(), false);
    assert.equal(odds.refusedByServer(), false);
    assert.equal(odds.refusedByServer(), true);
    assert.equal(odds.worthTrying, false);
    assert.equal(odds.refusedByServer(), false, 'said once');
    assert.match(odds.describe(), /4 of 4 dials' connections were refused/);
  });

  it('stops behind a load balancer without affinity: two of three replicas refuse', () => {
    const odds = new OwnConnectionOdds();
    let tries = 0;
    while (odds.worthTrying && tries < 100) {
      tries += 1;
      if (tries % 3 === 0) odds.reachedServer();
      else odds.refusedByServer();
    }
    assert.equal(odds.worthTrying, false);
    assert.ok(tries <= 5, `stopped after ${tries} tries`);
  });
});
