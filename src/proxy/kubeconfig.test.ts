import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { renderKubeconfig, renderMergedKubeconfig } from './kubeconfig.ts';

interface Config {
  'current-context': string;
  clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data': string } }>;
  users: Array<{ name: string; user: { token?: string; exec?: { apiVersion: string; command: string; args: string[]; interactiveMode: string } } }>;
  contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
}

const base = { publicUrl: 'https://drover.example:8443/', caPem: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n', clusterId: 'c-abc12', clusterName: 'prod' };

describe('renderKubeconfig', () => {
  it('names cluster, context and user after the cluster, with the proxy path and the CA embedded', () => {
    const config = parse(renderKubeconfig({ ...base, credential: { type: 'token', token: 'token-x:secret' } })) as Config;
    assert.equal(config['current-context'], 'prod');
    assert.deepEqual(config.contexts, [{ name: 'prod', context: { cluster: 'prod', user: 'prod' } }]);
    assert.equal(config.clusters[0]?.cluster.server, 'https://drover.example:8443/k8s/clusters/c-abc12');
    assert.equal(Buffer.from(config.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString(), base.caPem);
    assert.deepEqual(config.users[0], { name: 'prod', user: { token: 'token-x:secret' } });
  });
  it('adds authorized cluster endpoint contexts with the same user, keeping the proxy context current', () => {
    const aceCa = '-----BEGIN CERTIFICATE-----\nace\n-----END CERTIFICATE-----\n';
    const config = parse(renderKubeconfig({
      ...base, credential: { type: 'token', token: 'token-x:secret' },
      aceContexts: [{ name: 'prod-fqdn', server: 'https://prod.example:6443', caPem: aceCa }, { name: 'prod-node-1', server: 'https://10.0.0.5:6443' }],
    })) as Config;
    assert.equal(config['current-context'], 'prod');
    assert.deepEqual(config.contexts.map((c) => [c.name, c.context.cluster, c.context.user]),
      [['prod', 'prod', 'prod'], ['prod-fqdn', 'prod-fqdn', 'prod'], ['prod-node-1', 'prod-node-1', 'prod']]);
    assert.equal(config.clusters[1]?.cluster.server, 'https://prod.example:6443');
    assert.equal(Buffer.from(config.clusters[1]?.cluster['certificate-authority-data'] ?? '', 'base64').toString(), aceCa);
    assert.equal(config.clusters[2]?.cluster['certificate-authority-data'], undefined);
    assert.equal(config.users.length, 1, 'one user and one token serve every context');
  });
  it('uses the drover token exec plugin when the server does not generate tokens', () => {
    const config = parse(renderKubeconfig({ ...base, credential: { type: 'exec', command: 'drover', clusterId: 'c-abc12', server: 'https://drover.example:8443', username: 'alice' } })) as Config;
    const exec = config.users[0]?.user.exec;
    assert.equal(config.users[0]?.user.token, undefined);
    assert.deepEqual(exec && { apiVersion: exec.apiVersion, command: exec.command, args: exec.args, interactiveMode: exec.interactiveMode },
      { apiVersion: 'client.authentication.k8s.io/v1', command: 'drover', args: ['token', '--cluster', 'c-abc12', '--server', 'https://drover.example:8443', '--user', 'alice'], interactiveMode: 'IfAvailable' });
  });
});

describe('renderMergedKubeconfig (drover kubeconfig --all)', () => {
  const prod = { ...base, credential: { type: 'token' as const, token: 'token-p:1' }, aceContexts: [{ name: 'prod-fqdn', server: 'https://prod.example:6443' }] };
  const dev = { ...base, clusterId: 'c-dev01', clusterName: 'dev', credential: { type: 'token' as const, token: 'token-d:2' } };

  it('has one proxy context per cluster with its own user and token, then the ACE contexts, and the chosen current context', () => {
    const merged = renderMergedKubeconfig([dev, prod], 'prod');
    const config = parse(merged.yaml) as Config;
    assert.deepEqual(merged.contexts, ['dev', 'prod', 'prod-fqdn']);
    assert.deepEqual(merged.aceContexts, ['prod-fqdn']);
    assert.equal(config['current-context'], 'prod');
    assert.deepEqual(config.contexts.map((c) => [c.name, c.context.cluster, c.context.user]), [['dev', 'dev', 'dev'], ['prod', 'prod', 'prod'], ['prod-fqdn', 'prod-fqdn', 'prod']]);
    assert.deepEqual(config.users.map((u) => [u.name, u.user.token]), [['dev', 'token-d:2'], ['prod', 'token-p:1']]);
    assert.deepEqual(config.clusters.map((c) => c.cluster.server), [
      'https://drover.example:8443/k8s/clusters/c-dev01', 'https://drover.example:8443/k8s/clusters/c-abc12', 'https://prod.example:6443',
    ]);
  });

  it('keeps the proxy context when an ACE context has the name of another cluster', () => {
    const clash = { ...dev, clusterName: 'prod-fqdn', clusterId: 'c-clash' };
    const merged = renderMergedKubeconfig([prod, clash], 'prod');
    const config = parse(merged.yaml) as Config;
    assert.deepEqual(merged.contexts, ['prod', 'prod-fqdn']);
    assert.deepEqual(merged.aceContexts, []);
    assert.equal(config.clusters.find((c) => c.name === 'prod-fqdn')?.cluster.server, 'https://drover.example:8443/k8s/clusters/c-clash');
  });
});
