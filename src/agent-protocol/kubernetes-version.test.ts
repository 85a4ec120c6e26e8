import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions } from './kubernetes-version.ts';

describe('compareVersions', () => {
  it('compares versions by number, not as text', () => {
    assert.ok(compareVersions('v1.9.0', 'v1.10.0') < 0);
    assert.ok(compareVersions('v1.36.10', 'v1.36.9') > 0);
    assert.equal(compareVersions('v1.36.3', 'v1.36.3'), 0);
  });
});
