import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nodeUnreachable } from './node-liveness.ts';

describe('nodeUnreachable', () => {
  it('counts a node unreachable only after more than 30 s of silence (three missed 10 s asks)', () => {
    assert.equal(nodeUnreachable({ silentSeconds: 30 }), false);
    assert.equal(nodeUnreachable({ silentSeconds: 31 }), true);
  });

  it('does not call a node unreachable that has never been counted (no seen time yet)', () => {
    assert.equal(nodeUnreachable({}), false);
  });
});
