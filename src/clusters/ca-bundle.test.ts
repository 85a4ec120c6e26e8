import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createCa, issueCertificate, type KeyPair } from '../certificates/index.ts';
import { canonicalCaBundle } from './apiserver-identity.ts';

const relabel = (pem: string, label: string): string => pem.replaceAll('BEGIN CERTIFICATE', `BEGIN ${label}`).replaceAll('END CERTIFICATE', `END ${label}`);

/** Whether a TLS client trusting `ca` accepts a server holding `leaf`: what the server's TLS to kube-apiserver does with the bundle. */
async function trusts(ca: string, leaf: KeyPair): Promise<boolean> {
  const server = tls.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (socket) => socket.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const socket = tls.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca, servername: 'kube-apiserver', rejectUnauthorized: false });
    await once(socket, 'secureConnect');
    const authorized = socket.authorized;
    socket.destroy();
    return authorized;
  } finally {
    server.close();
  }
}

describe('canonicalCaBundle: the CA bundle an agent reports (an impostor with the registration token writes it)', () => {
  let pinned: KeyPair;
  let attacker: KeyPair;
  let attackersApiServer: KeyPair;
  before(async () => {
    pinned = await createCa('kubernetes', 1);
    attacker = await createCa('attacker', 1);
    attackersApiServer = await issueCertificate(attacker, { commonName: 'kube-apiserver', usage: 'server', hosts: ['kube-apiserver'], validDays: 1 });
  });

  for (const label of ['X509 CERTIFICATE', 'TRUSTED CERTIFICATE']) {
    it(`drops a CA smuggled in as "${label}", which OpenSSL would trust and the pin would not see`, async () => {
      const bundle = `${pinned.certPem}\n${relabel(attacker.certPem, label)}`;
      assert.equal(await trusts(bundle, attackersApiServer), true, 'the attack: TLS trusts the relabelled CA');
      const caPem = canonicalCaBundle(bundle);
      assert.equal(caPem, new X509Certificate(pinned.certPem).toString(), 'only the pinned certificate is left');
      assert.equal(await trusts(caPem ?? '', attackersApiServer), false);
    });
  }

  it('keeps every certificate of an ordinary bundle, and drops the text around them', () => {
    const bundle = `# the cluster CA\nsubject=CN = kubernetes\n${pinned.certPem}\n\n${attacker.certPem}trailing words\n`;
    assert.equal(canonicalCaBundle(bundle), new X509Certificate(pinned.certPem).toString() + new X509Certificate(attacker.certPem).toString());
  });

  const refused: Array<[string, () => string]> = [
    ['no certificate', () => 'hello'],
    ['only a relabelled certificate', () => relabel(pinned.certPem, 'X509 CERTIFICATE')],
    ['a block that is not a certificate', () => '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n'],
    ['more certificates than any CA bundle has', () => pinned.certPem.repeat(65)],
  ];
  for (const [what, caPem] of refused) {
    it(`refuses ${what}`, () => assert.equal(canonicalCaBundle(caPem()), undefined));
  }
});
