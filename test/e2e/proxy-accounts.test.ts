/**
 * KubeImpersonationAccounts against a real kube-apiserver and controller-manager:
 * the five objects appear once, the hot path makes no API call, the role follows
 * the user's groups both ways, tampering is repaired, and removing the ClusterRole lets the
 * garbage collector take the rest.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { eventually, kubectl, sharedControlPlane, type ControlPlaneState } from '../testenv/index.ts';
import { KubeClient, resourcePath, resources, type ClusterRole } from '../../src/kube/index.ts';
import { KubeImpersonationAccounts, IMPERSONATION_NAMESPACE, impersonationName, impersonationTokenSecretName, type UserIdentity } from '../../src/impersonation/index.ts';

describe('impersonation accounts on a real cluster', () => {
  let cp: ControlPlaneState;
  let client: KubeClient;
  let accounts: KubeImpersonationAccounts;
  const user = (): UserIdentity => ({ id: `u-${randomBytes(4).toString('hex')}`, username: 'alice', principalIds: ['local://alice'], groups: [] });

  before(async () => {
    cp = await sharedControlPlane();
    client = new KubeClient({ endpoint: { server: cp.url, caPem: cp.caPem, token: cp.adminToken } });
    accounts = new KubeImpersonationAccounts({ adminClient: () => client, waitMs: 30_000 });
  });
  after(async () => {
    await accounts?.close();
    await client?.close();
  });

  it('creates the account once under concurrent first requests, and serves later tokens with no API call', async () => {
    const alice = user();
    const tokens = await Promise.all(Array.from({ length: 10 }, () => accounts.tokenFor('c-one', alice)));
    assert.equal(new Set(tokens).size, 1);
    const secrets = await kubectl(['-n', IMPERSONATION_NAMESPACE, 'get', 'secrets', '-o', 'name', '-l', `drover.io/user=${alice.id}`], { kubeconfig: cp.kubeconfigPath });
    assert.equal(secrets.stdout.trim(), `secret/${impersonationTokenSecretName(alice.id)}`);
    const before = client.stats.requests;
    for (let i = 0; i < 100; i++) assert.equal(await accounts.tokenFor('c-one', alice), tokens[0]);
    assert.equal(client.stats.requests, before, 'the hot path reads the caches only');
  });

  it('follows the identity: a new group is added, and a group the user lost is taken away again', async () => {
    const bob = user();
    const groupsNow = async (): Promise<string[] | undefined> => {
      const role = await client.get<ClusterRole>(resourcePath({ ...resources.clusterroles, name: impersonationName(bob.id) }));
      return role.rules?.find((r) => r.resources?.[0] === 'groups')?.resourceNames;
    };
    await accounts.tokenFor('c-one', bob);
    await accounts.tokenFor('c-one', { ...bob, groups: ['github_team://42'] });
    assert.deepEqual(await groupsNow(), ['github_team://42', 'system:authenticated', 'system:cattle:authenticated']);
    await eventually('the lost group to leave the role', async () => {
      await accounts.tokenFor('c-one', bob);
      return JSON.stringify(await groupsNow()) === JSON.stringify(['system:authenticated', 'system:cattle:authenticated']) ? true : undefined;
    }, 15_000);
  });

  it('lists the users holding an account on a cluster', async () => {
    const erin = user();
    await accounts.tokenFor('c-one', erin);
    assert.ok((await accounts.holders('c-one')).includes(erin.id));
  });

  it('repairs a tampered role that allows impersonating system:masters', async () => {
    const carol = user();
    await accounts.tokenFor('c-one', carol);
    const name = impersonationName(carol.id);
    await client.patch(resourcePath({ ...resources.clusterroles, name }), [
      { op: 'add', path: '/rules/-', value: { apiGroups: [''], resources: ['groups'], resourceNames: ['system:masters'], verbs: ['impersonate'] } },
    ], { type: 'json' });
    await eventually('the tampered role to be repaired', async () => {
      await accounts.tokenFor('c-one', carol);
      const role = await client.get<ClusterRole>(resourcePath({ ...resources.clusterroles, name }));
      return JSON.stringify(role.rules).includes('system:masters') ? undefined : true;
    }, 15_000);
  });

  it('remove() deletes the role, and the garbage collector takes the account, Secret and binding', async () => {
    const dave = user();
    await accounts.tokenFor('c-one', dave);
    await accounts.remove('c-one', dave.id);
    const name = impersonationName(dave.id);
    await eventually('owned objects to be collected', async () => {
      const left = await Promise.all([
        client.exists(resourcePath({ ...resources.serviceaccounts, namespace: IMPERSONATION_NAMESPACE, name })),
        client.exists(resourcePath({ ...resources.secrets, namespace: IMPERSONATION_NAMESPACE, name: impersonationTokenSecretName(dave.id) })),
        client.exists(resourcePath({ ...resources.clusterrolebindings, name })),
        client.exists(resourcePath({ ...resources.clusterroles, name })),
      ]);
      return left.every((x) => !x) ? true : undefined;
    }, 30_000);
  });

  it('serves a ready token without an await or an API call, and not before the account exists', async () => {
    const erin = user();
    assert.equal(accounts.readyToken('c-one', erin), undefined);
    const token = await accounts.tokenFor('c-one', erin);
    const before = client.stats.requests;
    assert.equal(accounts.readyToken('c-one', erin), token);
    // A new group the role does not allow yet is not ready: tokenFor must widen the role first.
    assert.equal(accounts.readyToken('c-one', { ...erin, groups: ['github_team://7'] }), undefined);
    assert.equal(client.stats.requests, before);
  });

  it('forgets a cluster that is deleted or gone: its watch caches close and a return starts afresh', async () => {
    let live: KubeClient | undefined = client;
    const own = new KubeImpersonationAccounts({ adminClient: () => live, waitMs: 30_000 });
    try {
      const frank = user();
      const token = await own.tokenFor('c-going', frank);
      const caches = own.caches('c-going');
      assert.deepEqual(own.clusterIds(), ['c-going']);
      // The cluster went (the proxy calls forget on ClusterControllers' onGone).
      live = undefined;
      await own.forget('c-going');
      assert.deepEqual(own.clusterIds(), []);
      for (const cache of [caches.roles, caches.accounts, caches.secrets, caches.bindings]) {
        assert.throws(() => cache.get(undefined, 'x'), /closed/);
        assert.equal(cache.isWatching, false);
      }
      assert.equal(own.readyToken('c-going', frank), undefined);
      await assert.rejects(own.tokenFor('c-going', frank), (e: unknown) => (e as { status?: number }).status === 503);
      // Back again: fresh caches, same account.
      live = client;
      assert.equal(await own.tokenFor('c-going', frank), token);
      assert.notEqual(own.caches('c-going').roles, caches.roles);
      await own.forget('c-going');
      assert.deepEqual(own.clusterIds(), []);
    } finally {
      await own.close();
    }
  });

  it('refuses a cluster that is not connected with a 503', async () => {
    const none = new KubeImpersonationAccounts({ adminClient: () => undefined });
    await assert.rejects(none.tokenFor('c-gone', user()), (e: unknown) => (e as { status?: number }).status === 503);
  });
});
