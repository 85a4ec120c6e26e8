import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { envInteger } from './env.ts';

describe('numeric environment knobs', () => {
  const read = (value: string | undefined): number | undefined => envInteger({ DROVER_X_MS: value }, 'DROVER_X_MS', { min: 1, unit: 'milliseconds' });

  it('reads whole numbers, and unset or empty as "use the default"', () => {
    assert.equal(read('1500'), 1500);
    assert.equal(read(' 20 '), 20);
    assert.equal(read(undefined), undefined);
    assert.equal(read(''), undefined);
  });

  it('refuses a typo, a unit, a fraction, a negative and zero, naming the variable', () => {
    for (const bad of ['15OO', '2s', '1.5', '-1', '0', '1e3', 'NaN', '99999999999999999999']) {
      assert.throws(() => read(bad), /^InvalidArgumentError: DROVER_X_MS: expected a whole number of milliseconds, at least 1, got /, bad);
    }
  });
});
