import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { durationOption, formatDuration, parseDuration } from './duration.ts';
import { InvalidArgumentError } from '../errors/index.ts';

describe('durations', () => {
  it('reads 90s, 15m, 1h, 7d, compounds, and plain seconds', () => {
    for (const [text, seconds] of [['90s', 90], ['15m', 900], ['1h', 3600], ['7d', 604800], ['1h30m', 5400], ['3600', 3600], [' 2d ', 172800]] as const) {
      assert.equal(parseDuration(text), seconds, text);
    }
  });

  it('refuses what is not a duration', () => {
    for (const text of ['', '1.5h', '-1h', '1w', 'h', '1 h', '1h-', 'PT1H', '1e3']) assert.equal(parseDuration(text), undefined, text);
  });

  it('names the option and says what it takes', () => {
    assert.throws(() => durationOption('--ttl', '1w'), (error: Error) => error instanceof InvalidArgumentError && /--ttl: expected a duration like 90s, 15m, 1h or 7d/.test(error.message));
    assert.throws(() => durationOption('--token-ttl', '30s', { min: 60 }), /--token-ttl: expected at least 1m/);
    assert.equal(durationOption('--grace', '0'), 0);
  });

  it('formats seconds back into the shortest exact text', () => {
    assert.deepEqual([0, 59, 90, 3600, 5400, 86400 * 30].map(formatDuration), ['0s', '59s', '1m30s', '1h', '1h30m', '30d']);
  });
});
