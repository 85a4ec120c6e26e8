import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkAceSetting } from './ace-settings.ts';
import { groupPrincipals } from './sync.ts';
import { aceSettingFromFlags } from '../cli/commands/kube-api-auth.ts';

const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';

describe('ACE settings', () => {
  it('keeps the FQDN\'s port and normalises the CA', () => {
    assert.deepEqual(checkAceSetting({ mode: 'fqdn', fqdn: 'k8s.example.org:6443', caPem: pem }), { mode: 'fqdn', fqdn: 'k8s.example.org:6443', caPem: `${pem}\n` });
    assert.deepEqual(checkAceSetting({ mode: 'fqdn', fqdn: '[::1]:443' }), { mode: 'fqdn', fqdn: '[::1]:443' });
  });

  for (const fqdn of ['k8s.example.org', 'k8s.example.org:0', 'k8s.example.org:70000', 'https://k8s:6443', 'a b:1', 'x@y:1', '-bad-:1']) {
    it(`refuses the FQDN ${JSON.stringify(fqdn)}`, () => assert.throws(() => checkAceSetting({ mode: 'fqdn', fqdn }), /--ace-fqdn: expected HOST:PORT/));
  }

  it('refuses a CA that is not PEM', () => {
    assert.throws(() => checkAceSetting({ mode: 'fqdn', fqdn: 'a:1', caPem: 'not a cert' }), /--ace-ca-file/);
  });

  it('reads the flags: one mode at most, the CA only with an FQDN', () => {
    assert.equal(aceSettingFromFlags({}), undefined);
    assert.deepEqual(aceSettingFromFlags({ aceNodes: true }), { mode: 'nodes' });
    assert.deepEqual(aceSettingFromFlags({ aceOff: true }), { mode: 'off' });
    assert.throws(() => aceSettingFromFlags({ aceNodes: true, aceFqdn: 'a:1' }), /only one of them/);
    assert.throws(() => aceSettingFromFlags({ aceCaFile: '/x' }), /to go with --ace-fqdn/);
    assert.throws(() => aceSettingFromFlags({ aceFqdn: 'a:1', aceCaFile: '/nonexistent/ca.pem' }), /a readable PEM file/);
  });
});

describe('group principals synced as groups', () => {
  it('keeps group and team principals, drops user principals, sorted', () => {
    assert.deepEqual(groupPrincipals([
      'local://u-1', 'openldap_user://uid=bob', 'openldap_group://cn=ops', 'github_team://678', 'github_user://1', 'oidc_group://devs', 'activedirectory_group://cn=x',
    ]), ['activedirectory_group://cn=x', 'github_team://678', 'oidc_group://devs', 'openldap_group://cn=ops']);
  });
});
