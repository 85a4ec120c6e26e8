import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { credentialsSecretName, importManifest } from './import-manifest.ts';

const input = {
  serverUrl: 'https://drover.example:8443',
  clusterId: 'c-abc12',
  registrationToken: 'r'.repeat(54),
  caChecksum: 'a'.repeat(64),
  image: 'drover/drover:0.1.0',
};

type Obj = { kind: string; metadata: { name: string; labels?: Record<string, string> } };
const objects = (yaml: string): Obj[] => parseAllDocuments(yaml).map((d) => d.toJS() as Obj);

describe('import manifest', () => {
  it('creates the reference design\'s objects in apply order', () => {
    const kinds = objects(importManifest(input)).map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(kinds, [
      'Namespace/cattle-system', 'ServiceAccount/cattle', 'ClusterRole/cattle-admin',
      'ClusterRoleBinding/cattle-admin-binding', `Secret/${credentialsSecretName(input)}`,
      'Deployment/cattle-cluster-agent', 'DaemonSet/cattle-node-agent',
    ]);
  });

  it('labels every object as Drover\'s', () => {
    for (const o of objects(importManifest(input))) assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'drover', o.kind);
  });

  it('keeps the registration token out of container arguments and pod specs', () => {
    const yaml = importManifest(input);
    const withoutSecret = objects(yaml).filter((o) => o.kind !== 'Secret');
    assert.doesNotMatch(JSON.stringify(withoutSecret), new RegExp(input.registrationToken));
    assert.equal(yaml.split(input.registrationToken).length - 1, 1, 'the token appears once, in the Secret');
  });

  it('adds the kube-api-auth DaemonSet only when asked', () => {
    assert.ok(!importManifest(input).includes('kube-api-auth'));
    const withAce = objects(importManifest({ ...input, kubeApiAuth: { listen: '127.0.0.1:6440' } }));
    assert.equal(withAce.at(-1)?.metadata.name, 'kube-api-auth');
  });

  it('names the credentials Secret after its content, so a new token gets a new Secret', () => {
    assert.match(credentialsSecretName(input), /^cattle-credentials-[0-9a-f]{10}$/);
    assert.notEqual(credentialsSecretName(input), credentialsSecretName({ ...input, registrationToken: 'other' }));
  });
});
