import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, upgradeStep } from './kubernetes-version.ts';

describe('compareVersions', () => {
  it('compares versions by number, not as text', () => {
    assert.ok(compareVersions('v1.9.0', 'v1.10.0') < 0);
    assert.ok(compareVersions('v1.36.10', 'v1.36.9') > 0);
    assert.equal(compareVersions('v1.36.3', 'v1.36.3'), 0);
  });

  it('puts pre-releases before their release, in SemVer\'s order, and ignores build metadata', () => {
    const ordered = ['v1.36.2', 'v1.36.3-alpha.0', 'v1.36.3-alpha.1', 'v1.36.3-alpha.beta', 'v1.36.3-beta.2', 'v1.36.3-beta.11', 'v1.36.3-rc.0', 'v1.36.3', 'v1.36.4-rc.1'];
    assert.deepEqual([...ordered].reverse().sort(compareVersions), ordered);
    assert.equal(compareVersions('v1.36.3+k3s1', 'v1.36.3'), 0);
  });
});

describe('upgradeStep (what Kubernetes supports)', () => {
  const cases: Array<[string, string, ReturnType<typeof upgradeStep>]> = [
    ['v1.35.4', 'v1.36.3', 'upgrade'],
    ['v1.36.3', 'v1.36.4', 'upgrade'],
    ['v1.36.3-rc.0', 'v1.36.3', 'upgrade'],
    ['v1.36.3', 'v1.36.3', 'same'],
    ['v1.36.3', 'v1.35.4', 'downgrade'],
    ['v1.36.3', 'v1.36.3-rc.0', 'downgrade'],
    ['v1.36.3', 'v1.36.3-alpha.0', 'downgrade'],
    ['v1.34.0', 'v1.36.3', 'skips a minor release'],
    ['v1.35.4', 'v1.37.0', 'skips a minor release'],
    ['v1.36.3', 'v2.0.0', 'skips a minor release'],
  ];
  for (const [from, to, step] of cases) it(`${from} → ${to}: ${step}`, () => assert.equal(upgradeStep(from, to), step));
});
