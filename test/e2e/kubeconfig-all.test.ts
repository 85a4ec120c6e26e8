/**
 * `drover kubeconfig --all`, end to end: a real server, two clusters with real agents
 * and private control planes, a third cluster that has no agent, and a user who is a
 * member of two of the three. Their one file has exactly those two proxy contexts
 * (plus the ACE context of the cluster that has ACE on), kubectl works through each,
 * and the current context is one that answers.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { kubectl, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { call } from './identity-support.ts';

const suffix = Math.random().toString(36).slice(2, 7);

interface Kubeconfig {
  'current-context': string;
  contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
  clusters: Array<{ name: string; cluster: { server: string } }>;
  users: Array<{ name: string; user: { token?: string } }>;
}

describe('drover kubeconfig --all', () => {
  let cpB: PrivateControlPlane;
  let cpC: PrivateControlPlane;
  let drover: Drover;
  let beta: RegisteredCluster;
  let gamma: RegisteredCluster;
  const alpha = `kca-a-${suffix}`;
  const password = 'carol-password-long-enough';
  let carolId: string;

  before(async () => {
    [cpB, cpC] = await Promise.all([startPrivateControlPlane(), startPrivateControlPlane()]);
    drover = await startDrover();
    beta = await drover.registerCluster(`kca-b-${suffix}`, cpB.state);
    gamma = await drover.registerCluster(`kca-c-${suffix}`, cpC.state);
    // Registered, but no agent ever connects: it stays pending.
    await drover.cli('clusters', 'create', alpha);
    carolId = (JSON.parse(await drover.cli('users', 'create', 'carol', '--password', password, '-o', 'json')) as { id: string }).id;
    for (const cluster of [beta.name, gamma.name]) await drover.cli('members', 'add', '--cluster', cluster, '--user', 'carol', '--role', 'cluster-member');
    const caFile = join(drover.dir, 'gamma-ca.pem');
    writeFileSync(caFile, cpC.state.caPem);
    await drover.cli('clusters', 'update', gamma.name, '--ace-fqdn', new URL(cpC.state.url).host, '--ace-ca-file', caFile);
    const login = await drover.as('carol', ['login', drover.server.url, '--username', 'carol', '--password', password, '--ca-file', join(drover.server.dataDir, 'ca.crt')]);
    assert.equal(login.code, 0, login.stderr);
  });
  after(async () => {
    await drover?.stop();
    await Promise.all([cpB?.stop(), cpC?.stop()]);
  });

  it('gives a member of two of three clusters exactly their two contexts plus ACE, and kubectl works through each', async () => {
    const file = join(drover.dir, 'carol-all.yaml');
    const result = await drover.as('carol', ['kubeconfig', '--all', '--file', file, '--ttl', '1h']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const config = parseYaml(readFileSync(file, 'utf8')) as Kubeconfig;
    assert.deepEqual(config.contexts.map((c) => c.name), [beta.name, gamma.name, `${gamma.name}-fqdn`]);
    assert.equal(config.contexts.find((c) => c.name === `${gamma.name}-fqdn`)?.context.user, gamma.name, 'the ACE context uses the cluster\'s token');
    assert.equal(config.clusters.find((c) => c.name === `${gamma.name}-fqdn`)?.cluster.server, `https://${new URL(cpC.state.url).host}`);
    assert.equal(config['current-context'], beta.name);
    assert.match(result.stderr, new RegExp(`current: ${beta.name}`));
    assert.notEqual(config.users[0]?.user.token, config.users[1]?.user.token, 'one cluster-scoped token per cluster');
    // A token from the file is scoped to its cluster: it cannot mint a file for every cluster.
    const scoped = await call(drover.server, 'GET', '/v1/kubeconfig', { token: config.users[0]?.user.token ?? '' });
    assert.equal(scoped.status, 403, scoped.text);
    for (const context of [beta.name, gamma.name]) {
      const whoami = await eventually(`kubectl auth whoami through ${context}`, async () => {
        const r = await kubectl(['--context', context, 'auth', 'whoami', '-o', 'json'], { kubeconfig: file });
        return r.code === 0 ? r.stdout : undefined;
      }, 30_000);
      assert.equal((JSON.parse(whoami) as { status: { userInfo: { username: string } } }).status.userInfo.username, carolId, context);
      const nodes = await kubectl(['--context', context, 'get', 'namespaces', '-o', 'name'], { kubeconfig: file });
      assert.equal(nodes.code, 0, nodes.stderr);
    }
  });

  it('gives an admin every cluster, with an Active one current, and refuses a user who can use none', async () => {
    const admin = parseYaml(await drover.cli('kubeconfig', '--all')) as Kubeconfig;
    assert.deepEqual(admin.contexts.map((c) => c.name), [alpha, beta.name, gamma.name, `${gamma.name}-fqdn`]);
    assert.equal(admin['current-context'], beta.name, 'the pending cluster is not made current');
    await drover.cli('users', 'create', 'dave', '--password', 'dave-password-long-enough');
    await drover.as('dave', ['login', drover.server.url, '--username', 'dave', '--password', 'dave-password-long-enough', '--ca-file', join(drover.server.dataDir, 'ca.crt')]);
    const none = await drover.as('dave', ['kubeconfig', '--all']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /you cannot use any cluster yet; ask an admin or a cluster owner/);
    const both = await drover.run('kubeconfig', beta.name, '--all');
    assert.match(both.stderr, /either a CLUSTER or --all/);
  });

  it('scopes a token only to a cluster the user can use, named by name, and says so otherwise', async () => {
    const scoped = await drover.as('carol', ['tokens', 'create', '--cluster', beta.name, '--ttl', '15m', '-o', 'json']);
    assert.equal(scoped.code, 0, scoped.stderr);
    const tokens = JSON.parse((await drover.as('carol', ['tokens', 'list', '-o', 'json'])).stdout) as Array<{ id: string; clusterId?: string; expiresAt?: string }>;
    const made = tokens.find((t) => t.id === (JSON.parse(scoped.stdout) as { tokenId: string }).tokenId);
    assert.equal(made?.clusterId, beta.id);
    const lifetime = (Date.parse(made?.expiresAt ?? '') - Date.now()) / 1000;
    assert.ok(lifetime > 800 && lifetime <= 900, `15m gave ${lifetime} s`);
    for (const cluster of [alpha, 'no-such-cluster']) {
      const refused = await drover.as('carol', ['tokens', 'create', '--cluster', cluster]);
      assert.notEqual(refused.code, 0, cluster);
      assert.match(refused.stderr, new RegExp(`--cluster: no cluster "${cluster}" that you can use; see "drover clusters list"`));
    }
    const badTtl = await drover.as('carol', ['kubeconfig', beta.name, '--ttl', '1w']);
    assert.match(badTtl.stderr, /--ttl: expected a duration like 90s, 15m, 1h or 7d/);
  });
});
