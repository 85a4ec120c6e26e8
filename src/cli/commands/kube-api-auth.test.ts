import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aceSettingFromFlags } from './kube-api-auth.ts';

describe('the --ace-* flags', () => {
  it('reads the flags: one mode at most, the CA only with an FQDN', () => {
    assert.equal(aceSettingFromFlags({}), undefined);
    assert.deepEqual(aceSettingFromFlags({ aceNodes: true }), { mode: 'nodes' });
    assert.deepEqual(aceSettingFromFlags({ aceOff: true }), { mode: 'off' });
    assert.throws(() => aceSettingFromFlags({ aceNodes: true, aceFqdn: 'a:1' }), /only one of them/);
    assert.throws(() => aceSettingFromFlags({ aceCaFile: '/x' }), /to go with --ace-fqdn/);
    assert.throws(() => aceSettingFromFlags({ aceFqdn: 'a:1', aceCaFile: '/nonexistent/ca.pem' }), /a readable PEM file/);
  });
});
