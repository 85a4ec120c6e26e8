import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpointFromKubeconfig, fileTokenSource, inClusterEndpoint } from './kubeconfig.ts';

const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function config(user: Record<string, unknown>, cluster: Record<string, unknown> = { server: 'https://10.0.0.1:6443' }): object {
  return {
    clusters: [{ name: 'c', cluster }], users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }], 'current-context': 'ctx',
  };
}

describe('endpointFromKubeconfig', () => {
  it('reads inline CA, client certificate and key, and the insecure flag', () => {
    const ep = endpointFromKubeconfig(config(
      { 'client-certificate-data': b64('CERT PEM'), 'client-key-data': b64('KEY PEM') },
      { server: 'https://10.0.0.1:6443', 'certificate-authority-data': b64(pem), 'insecure-skip-tls-verify': true },
    ));
    assert.equal(ep.server, 'https://10.0.0.1:6443');
    assert.equal(ep.caPem, pem);
    assert.deepEqual(ep.clientCert, { certPem: 'CERT PEM', keyPem: 'KEY PEM' });
    assert.equal(ep.insecureSkipTlsVerify, true);
  });

  it('re-reads a tokenFile relative to the kubeconfig directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    writeFileSync(join(dir, 'tok'), 'first\n');
    writeFileSync(join(dir, 'config'), JSON.stringify(config({ tokenFile: 'tok' })));
    const ep = endpointFromKubeconfig(join(dir, 'config'));
    assert.equal(typeof ep.token, 'function');
    assert.equal((ep.token as () => string)(), 'first');
  });

  const refused: [string, Record<string, unknown>][] = [
    ['an exec plugin', { exec: { command: 'aws' } }],
    ['an auth provider', { 'auth-provider': { name: 'gcp' } }],
    ['basic auth', { username: 'a', password: 'b' }],
    ['a certificate without its key', { 'client-certificate-data': b64('CERT') }],
  ];
  for (const [what, user] of refused) {
    it(`refuses ${what} instead of connecting without credentials`, () => {
      assert.throws(() => endpointFromKubeconfig(config(user)), /kubeconfig user/);
    });
  }

  it('names a missing context, and a missing file', () => {
    assert.throws(() => endpointFromKubeconfig(config({ token: 't' }), 'nope'), /context.*"nope"/);
    assert.throws(() => endpointFromKubeconfig('/nonexistent/kubeconfig'), /readable file/);
  });
});

describe('fileTokenSource', () => {
  it('picks up a rotated token when the file changes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tok-'));
    const file = join(dir, 'token');
    writeFileSync(file, 'one');
    const source = fileTokenSource(file);
    assert.equal(source(), 'one');
    writeFileSync(file, 'two');
    utimesSync(file, new Date(), new Date(Date.now() + 5_000)); // make sure the mtime moves on coarse clocks
    assert.equal(source(), 'two');
  });
});

describe('inClusterEndpoint', () => {
  it('uses KUBERNETES_SERVICE_HOST/PORT and the mounted service-account files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sa-'));
    writeFileSync(join(dir, 'ca.crt'), pem);
    writeFileSync(join(dir, 'token'), 'sa-token\n');
    const ep = inClusterEndpoint({ dir, env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' } });
    assert.equal(ep.server, 'https://[fd00::1]:443');
    assert.equal(ep.caPem, pem);
    assert.equal((ep.token as () => string)(), 'sa-token');
  });

  it('says what is missing outside a pod', () => {
    assert.throws(() => inClusterEndpoint({ env: {} }), /KUBERNETES_SERVICE_HOST/);
    const empty = mkdtempSync(join(tmpdir(), 'sa-'));
    assert.throws(() => inClusterEndpoint({ dir: empty, env: { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '1' } }), /service-account/);
  });
});
