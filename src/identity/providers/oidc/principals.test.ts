import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupsFromClaim, userPrincipal } from './principals.ts';

describe('OIDC claims as principals', () => {
  it('the user principal is the sub, whatever the email or name says', () => {
    const p = userPrincipal('248289761001', { email: 'admin@example.org', preferred_username: 'admin', name: 'Jane' });
    assert.equal(p.id, 'oidc_user://248289761001');
    assert.equal(p.loginName, 'admin');
    assert.equal(userPrincipal('s-1', {}).displayName, 's-1');
  });

  it('groups come from a string array; odd shapes give no groups, never an error', () => {
    const cases: Array<[unknown, string[] | undefined]> = [
      [['ops', 'dev', 'ops'], ['ops', 'dev']],
      ['ops', ['ops']],
      [['ops', 42, null, { name: 'x' }, ''], ['ops']],
      [{ ops: true }, []],
      [42, []],
      [undefined, undefined],
      [['ok', 'evil\r\nImpersonate-User: admin', 'tab\there', 'del\x7f'], ['ok']],
      [['x'.repeat(1025), 'short'], ['short']],
    ];
    for (const [value, expected] of cases) assert.deepEqual(groupsFromClaim({ groups: value }, 'groups'), expected, JSON.stringify(value));
  });

  it('a configurable claim name is read, and the number of groups is capped', () => {
    assert.deepEqual(groupsFromClaim({ roles: ['a'] }, 'roles'), ['a']);
    assert.equal(groupsFromClaim({ groups: Array.from({ length: 5000 }, (_, i) => `g${i}`) }, 'groups')?.length, 1000);
  });
});
