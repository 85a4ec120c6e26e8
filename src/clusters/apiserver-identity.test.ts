import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { caFingerprint, identityDifferences, identityDigest } from './apiserver-identity.ts';
import { selfSignedCaPem } from '../testing/index.ts';

describe('the pinned kube-apiserver identity', () => {
  const [a, b] = [selfSignedCaPem(), selfSignedCaPem()];
  const account = 'system:serviceaccount:cattle-system:cattle';

  it('fingerprints a CA bundle whatever its order, whitespace or repeats', () => {
    assert.equal(caFingerprint(`${a}${b}`), caFingerprint(`\n${b}\r\n\n${a}${a}`.replaceAll('\n', '\r\n')));
    assert.notEqual(caFingerprint(a), caFingerprint(b));
    assert.throws(() => caFingerprint('no certificate here'), { code: 'DRV_ERR_BAD_GATEWAY' });
  });

  it('gives the same fingerprints when it remembers them, for bundles of any size, and remembers no failure', () => {
    const both = caFingerprint(`${a}${b}`);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(both.split(','), [caFingerprint(a), caFingerprint(b)].sort());
      assert.equal(caFingerprint(`${a}${b}`), both);
    }
    // Over the size it remembers (an agent may send up to 256 KiB): computed each time, the same answer.
    const large = `${a}\n${' '.repeat(20_000)}\n${b}`;
    assert.equal(caFingerprint(large), both);
    assert.equal(caFingerprint(large), both);
    for (let i = 0; i < 2; i++) assert.throws(() => caFingerprint('no certificate here'), { code: 'DRV_ERR_BAD_GATEWAY' });
  });

  it('names each difference an impostor could try: address, CA, account', () => {
    const pinned = { apiServer: '10.43.0.1:443', caSha256: caFingerprint(a), account };
    assert.deepEqual(identityDifferences(pinned, { ...pinned }), []);
    const diff = identityDifferences(pinned, { apiServer: '10.43.0.1:6443', caSha256: caFingerprint(b), account: 'system:serviceaccount:default:default' });
    assert.equal(diff.length, 3);
    assert.match(diff.join('; '), /address 10\.43\.0\.1:6443 \(pinned 10\.43\.0\.1:443\); CA sha256 .* \(pinned .*\); account system:serviceaccount:default:default/);
    // An unknown account (the apiserver could not be asked) differs from a pinned one.
    assert.deepEqual(identityDifferences(pinned, { apiServer: pinned.apiServer, caSha256: pinned.caSha256 }), [`account unknown (pinned ${account})`]);
    // A cluster pinned before accounts were: only address and CA are compared.
    assert.deepEqual(identityDifferences({ apiServer: pinned.apiServer, caSha256: pinned.caSha256 }, { ...pinned, account: 'anyone' }), []);
  });

  it('gives each reported identity its own digest, the same for the same identity', () => {
    const one = { apiServer: '10.0.0.1:6443', caSha256: caFingerprint(a), account };
    assert.equal(identityDigest(one), identityDigest({ ...one }));
    assert.notEqual(identityDigest(one), identityDigest({ ...one, apiServer: '10.0.0.2:6443' }));
    assert.notEqual(identityDigest(one), identityDigest({ ...one, account: 'other' }));
  });
});
