import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkAceSetting } from './ace-settings.ts';

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
});
