import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeExtraKey, impersonationHeaders } from './impersonation-headers.ts';

describe('impersonationHeaders', () => {
  it('sends the user id, one group per value, and the principalid and username extras', () => {
    assert.deepEqual(impersonationHeaders({ id: 'u-abc12', username: 'alice', principalIds: ['openldap_user://uid=alice,ou=people,dc=example,dc=org', 'local://u-abc12'], groups: ['openldap_group://cn=ops,dc=example,dc=org'] }), {
      'Impersonate-User': ['u-abc12'],
      'Impersonate-Group': ['openldap_group://cn=ops,dc=example,dc=org', 'system:authenticated', 'system:cattle:authenticated'],
      'Impersonate-Extra-principalid': ['local://u-abc12', 'openldap_user://uid=alice,ou=people,dc=example,dc=org'],
      'Impersonate-Extra-username': ['alice'],
    });
  });

  it('omits the principalid extra when the user has no principal ids', () => {
    assert.equal(impersonationHeaders({ id: 'u-1', username: 'a', principalIds: [], groups: [] })['Impersonate-Extra-principalid'], undefined);
  });

  it('never sends system:masters or another Kubernetes system group', () => {
    const headers = impersonationHeaders({ id: 'u-1', username: 'a', principalIds: [], groups: ['system:masters', 'system:nodes'] });
    assert.deepEqual(headers['Impersonate-Group'], ['system:authenticated', 'system:cattle:authenticated']);
  });

  it('refuses values that would not reach the apiserver unchanged (header injection, trimming, non-ASCII)', () => {
    for (const username of ['a\r\nImpersonate-User: admin', ' padded', 'tab\t', 'ünïcode', '']) {
      assert.throws(() => impersonationHeaders({ id: 'u-1', username, principalIds: [], groups: [] }), /cannot be impersonated/, JSON.stringify(username));
    }
  });
});

describe('encodeExtraKey (client-go headerKeyEscape)', () => {
  const table: [string, string][] = [
    ['principalid', 'principalid'],
    ['username', 'username'],
    ['example.com/key', 'example.com%2Fkey'],
    ['100%', '100%25'],
    ['a b', 'a%20b'],
    ['ключ', '%D0%BA%D0%BB%D1%8E%D1%87'],
    ['with:colon', 'with%3Acolon'],
  ];
  for (const [key, encoded] of table) it(`encodes ${JSON.stringify(key)} as ${encoded}`, () => assert.equal(encodeExtraKey(key), encoded));

  it('round-trips through the decoding the apiserver applies', () => {
    for (const [key] of table) assert.equal(decodeURIComponent(encodeExtraKey(key)), key);
  });
});
