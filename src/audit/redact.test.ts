import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redactApiBody, redactKubeBody, redactUri, lastAppliedAnnotation } from './redact.ts';

const secret = 'c2VjcmV0LXZhbHVl';
const none = { aboutSecrets: false, omitManagedFields: false };
const onSecrets = { aboutSecrets: true, omitManagedFields: false };
const leaks = (value: unknown): boolean => JSON.stringify(value).includes(secret) || JSON.stringify(value).includes('secret-value');

describe('redaction keeps secrets out of every audit body (attacker\'s view)', () => {
  const attempts: Array<{ name: string; body: unknown; options: typeof none }> = [
    { name: 'a Secret create', body: { kind: 'Secret', apiVersion: 'v1', metadata: { name: 's' }, data: { k: secret }, stringData: { p: 'secret-value' } }, options: none },
    { name: 'a SecretList', body: { kind: 'SecretList', items: [{ metadata: { name: 's' }, data: { k: secret } }] }, options: none },
    { name: 'a list of Secrets by resource (items carry no kind)', body: { kind: 'List', items: [{ metadata: { name: 's' }, data: { k: secret } }] }, options: onSecrets },
    { name: 'a merge patch of a Secret (no kind)', body: { data: { k: secret } }, options: onSecrets },
    { name: 'a strategic patch with stringData', body: { stringData: { k: 'secret-value' } }, options: onSecrets },
    { name: 'a JSON patch of a Secret', body: [{ op: 'replace', path: '/data/k', value: secret }], options: onSecrets },
    { name: 'a JSON patch adding stringData', body: [{ op: 'add', path: '/stringData', value: { k: 'secret-value' } }], options: onSecrets },
    { name: 'a Secret inside a v1 List an apply sends', body: { kind: 'List', items: [{ kind: 'Secret', data: { k: secret } }] }, options: none },
    { name: 'a Secret in a watch event', body: { type: 'ADDED', object: { kind: 'Secret', data: { k: secret } } }, options: none },
    { name: 'a Secret in a Table row', body: { kind: 'Table', rows: [{ cells: ['s'], object: { kind: 'Secret', data: { k: secret } } }] }, options: none },
    { name: 'last-applied on a ConfigMap', body: { kind: 'ConfigMap', metadata: { annotations: { [lastAppliedAnnotation]: `{"data":{"k":"${secret}"}}` } } }, options: none },
    { name: 'last-applied in a JSON patch', body: [{ op: 'add', path: '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration', value: secret }], options: none },
    { name: 'last-applied moved by a JSON patch', body: [{ op: 'copy', from: '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration', path: '/x', value: secret }], options: none },
  ];
  for (const a of attempts) {
    it(`${a.name} leaks nothing`, () => {
      const out = redactKubeBody(JSON.stringify(a.body), a.options);
      assert.ok(!leaks(out), JSON.stringify(out));
    });
  }

  it('keeps what is not secret: names, other annotations, ConfigMap data', () => {
    const out = redactKubeBody(JSON.stringify({ kind: 'ConfigMap', metadata: { name: 'c', annotations: { a: 'b', [lastAppliedAnnotation]: 'x' } }, data: { k: 'v' } }), none);
    assert.deepEqual(out, { kind: 'ConfigMap', metadata: { name: 'c', annotations: { a: 'b' } }, data: { k: 'v' } });
  });

  it('drops managedFields when the policy says so', () => {
    const out = redactKubeBody(JSON.stringify({ metadata: { name: 'c', managedFields: [{ manager: 'kubectl' }] } }), { aboutSecrets: false, omitManagedFields: true });
    assert.deepEqual(out, { metadata: { name: 'c' } });
  });

  it('records no body that is not JSON', () => {
    assert.equal(redactKubeBody(Buffer.from([0x6b, 0x38, 0x73, 0x00, 1, 2]), none), undefined);
  });

  it('takes every credential field out of a /v1 request body', () => {
    const out = redactApiBody({ username: 'alice', password: 'p', currentPassword: 'p', newPassword: 'p', token: 't', clientSecret: 's', config: { bindPassword: 'b', serviceAccountPassword: 'x', privateKey: 'k', url: 'ldaps://x' } });
    assert.deepEqual(out, { username: 'alice', config: { url: 'ldaps://x' } });
  });

  it('replaces credential-like query parameters in a request URI', () => {
    assert.equal(redactUri('/v1/auth/github/callback?code=abc&state=def&x=1'), '/v1/auth/github/callback?code=REDACTED&state=REDACTED&x=1');
    assert.equal(redactUri('/api/v1/pods?watch=1'), '/api/v1/pods?watch=1');
  });
});
