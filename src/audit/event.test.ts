import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { microTime } from './event.ts';

/** What microTime must equal: the ISO time with its milliseconds padded to microseconds. */
const expected = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

describe('microTime writes kube-apiserver\'s MicroTime', () => {
  it('for every millisecond across second, day and year boundaries, in and out of order', () => {
    const base = Date.parse('2026-12-31T23:59:58.990Z');
    for (let ms = base; ms < base + 2100; ms++) assert.equal(microTime(ms), expected(ms));
    // Back to an earlier second (the cached one must not leak into it), and a fraction of a millisecond.
    for (const ms of [base, base + 1500, base - 1, 0, -1, -1001, 999.9, Date.parse('2027-01-01T00:00:00.005Z')]) assert.equal(microTime(ms), expected(ms), `at ${ms}`);
  });
});
