/**
 * OpenLDAP and Active Directory logins end to end: a real `drover server`, a
 * real slapd seeded with users and nested groups (and an AD-shaped subtree), a
 * private control plane with a real agent, the CLI, and the machine's kubectl
 * through the proxy with the directory user's own generated kubeconfig.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { kubectl, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import {
  adGroupDn, adGroupsDn, adUserDn, adUsersDn, groupDn, groupsDn, peopleDn, serviceDn, servicePassword, startSlapd, userDn, type Slapd,
} from '../testenv/slapd.ts';
import type { CliResult } from '../../src/testing/index.ts';
import { call } from './identity-support.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const engineering = `openldap_group://${groupDn('engineering')}`;

describe('OpenLDAP and Active Directory providers', () => {
  let slapd: Slapd;
  let cp: PrivateControlPlane;
  let drover: Drover;
  let cluster: RegisteredCluster;
  const login = (provider: string, username: string, password: string, name = username): Promise<CliResult> =>
    drover.as(name, ['login', drover.server.url, '--provider', provider, '--username', username, '--password-stdin', '--ca-file', join(drover.server.dataDir, 'ca.crt')], password);

  before(async () => {
    [slapd, cp] = await Promise.all([startSlapd(), startPrivateControlPlane()]);
    drover = await startDrover({ env: { DROVER_PROVIDER_REFRESH_SECONDS: '1' } });
    cluster = await drover.registerCluster(`ldap-${suffix}`, cp.state);
  });
  after(async () => {
    await drover?.stop();
    await cp?.stop();
    await slapd?.stop();
  });

  it('lets an admin configure, test and then enable OpenLDAP through the CLI, and never shows the bind password', async () => {
    const file = drover.yamlFile('openldap', { config: {
      url: slapd.url, startTls: true, caPem: slapd.caPem, bindDn: serviceDn, bindPassword: servicePassword, userBaseDn: peopleDn, groupBaseDn: groupsDn,
    } });
    await drover.cli('providers', 'configure', 'openldap', '-f', file);
    const untested = await drover.run('providers', 'enable', 'openldap');
    assert.notEqual(untested.code, 0);
    assert.match(untested.stderr, /test/);
    const tested = await drover.as('admin', ['providers', 'test', 'openldap', '--username', 'alice', '--password-stdin', '-o', 'json'], 'alice-password');
    assert.equal(tested.code, 0, tested.stderr);
    assert.equal((JSON.parse(tested.stdout) as { groups: unknown[] }).groups.length, 3);
    await drover.cli('providers', 'enable', 'openldap');
    const list = await drover.cli('providers', 'list', '-o', 'json');
    assert.ok(!list.includes(servicePassword));
    assert.ok((JSON.parse(list) as Array<{ name: string; enabled: boolean }>).some((p) => p.name === 'openldap' && p.enabled));
    const open = await call(drover.server, 'GET', '/v1/auth/providers');
    assert.deepEqual((open.json() as Array<{ name: string }>).map((p) => p.name), ['local', 'openldap']);
    const doc = (await call(drover.server, 'GET', '/v1/openapi.json')).json() as { paths: Record<string, unknown> };
    for (const path of ['/v1/auth/providers', '/v1/providers', '/v1/providers/{name}', '/v1/providers/{name}/test', '/v1/principals']) assert.ok(path in doc.paths, path);
  });

  it('logs a directory user in with drover login --provider openldap, with nested groups resolved', async () => {
    const r = await login('openldap', 'alice', 'alice-password');
    assert.equal(r.code, 0, r.stderr);
    const me = JSON.parse((await drover.as('alice', ['whoami', '-o', 'json'])).stdout) as { provider: string; groups: string[]; principalIds: string[] };
    assert.equal(me.provider, 'openldap');
    assert.ok(me.principalIds.includes(`openldap_user://${userDn('alice')}`));
    assert.deepEqual(me.groups, [engineering, `openldap_group://${groupDn('ops')}`, `openldap_group://${groupDn('platform')}`]);
  });

  it('answers a wrong password with a clear 401 and refuses injection usernames', async () => {
    const wrong = await login('openldap', 'alice', 'not-her-password', 'mallory');
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /invalid username or password/);
    for (const username of ['*', '*)(uid=*', 'alice)(|(uid=*', 'a*']) {
      const r = await call(drover.server, 'POST', '/v1/login', { body: { provider: 'openldap', username, password: 'alice-password' } });
      assert.equal(r.status, 401, username);
      assert.equal((r.json() as { code: string }).code, 'DRV_ERR_UNAUTHENTICATED');
    }
    const empty = await call(drover.server, 'POST', '/v1/login', { body: { provider: 'openldap', username: 'alice', password: '' } });
    assert.equal(empty.status, 400);
    const stars = await call(drover.server, 'GET', '/v1/principals?q=*', { token: drover.tokenOf('alice') });
    assert.deepEqual(stars.json(), []);
  });

  it('grants cluster access to a directory group, and takes it away when the user leaves the group at the directory, without re-login', async () => {
    const found = JSON.parse(await drover.cli('principals', 'search', 'engineering', '-o', 'json')) as Array<{ id: string }>;
    assert.ok(found.some((p) => p.id === engineering));
    await drover.cli('members', 'add', '--cluster', cluster.name, '--group', engineering, '--role', 'cluster-member');
    const kubeconfig = join(drover.dir, 'alice.kubeconfig');
    const made = await drover.as('alice', ['kubeconfig', cluster.name, '--file', kubeconfig]);
    assert.equal(made.code, 0, made.stderr);
    await eventually('alice lists namespaces through the proxy', async () => {
      const r = await kubectl(['get', 'namespaces', '-o', 'name'], { kubeconfig });
      return r.code === 0 && r.stdout.includes('namespace/default') ? true : undefined;
    }, 30_000);
    // A group member is judged with the groups her tokens carry: access through the group, and a role that allows exactly them.
    const doctor = JSON.parse(await drover.cli('doctor', '--cluster', cluster.name, '--user', 'alice', '-o', 'json')) as { ok: boolean; userId: string; findings: unknown[] };
    assert.equal(doctor.ok, true, JSON.stringify(doctor.findings));
    const role = `clusterrole/cattle-impersonation-${doctor.userId}`;
    const rolePresent = async (): Promise<boolean> => (await kubectl(['get', role], { kubeconfig: cp.state.kubeconfigPath })).code === 0;
    assert.equal(await rolePresent(), true);
    await slapd.removeMember(groupDn('ops'), userDn('alice'));
    await eventually('alice loses access once the refresh sees the change', async () => {
      const r = await kubectl(['get', 'namespaces', '-o', 'name'], { kubeconfig });
      return r.code !== 0 && /forbidden/i.test(r.stderr) ? true : undefined;
    }, 20_000);
    const me = JSON.parse((await drover.as('alice', ['whoami', '-o', 'json'])).stdout) as { groups: string[] };
    assert.deepEqual(me.groups, []);
    // Without waiting for a resync: the account that could impersonate her old groups goes with the access.
    await eventually('alice\'s impersonation account to be removed', async () => ((await rolePresent()) ? undefined : true), 20_000);
  });

  it('logs in to the AD flavour with sAMAccountName, and treats a disabled account as gone', async () => {
    const file = drover.yamlFile('ad', { config: {
      url: slapd.ldapsUrl, caPem: slapd.caPem, bindDn: serviceDn, bindPassword: servicePassword, userBaseDn: adUsersDn, groupBaseDn: adGroupsDn,
    } });
    await drover.cli('providers', 'configure', 'activedirectory', '-f', file);
    assert.equal((await drover.as('admin', ['providers', 'test', 'activedirectory', '--username', 'dave', '--password-stdin'], 'dave-password')).code, 0);
    await drover.cli('providers', 'enable', 'activedirectory');
    assert.equal((await login('activedirectory', 'dave', 'dave-password')).code, 0);
    const me = JSON.parse((await drover.as('dave', ['whoami', '-o', 'json'])).stdout) as { groups: string[] };
    assert.deepEqual(me.groups, [`activedirectory_group://${adGroupDn('ad-eng')}`, `activedirectory_group://${adGroupDn('ad-ops')}`]);
    const erin = await login('activedirectory', 'erin', 'erin-password');
    assert.notEqual(erin.code, 0, 'a disabled account cannot log in');
    await slapd.replace(adUserDn('Dave Doe'), 'userAccountControl', ['514']);
    const token = drover.tokenOf('dave');
    await eventually('dave\'s token is revoked once the refresh sees the disabled account', async () => {
      const r = await call(drover.server, 'GET', '/v1/whoami', { token });
      return r.status === 401 ? true : undefined;
    }, 20_000);
  });

  it('answers 502 DRV_ERR_PROVIDER_UNAVAILABLE while the directory is down, keeps existing sessions, and revokes them when the provider is disabled', async () => {
    assert.equal((await login('openldap', 'bob', 'bob-password')).code, 0);
    const bob = drover.tokenOf('bob');
    await slapd.stop();
    const r = await call(drover.server, 'POST', '/v1/login', { body: { provider: 'openldap', username: 'bob', password: 'bob-password' } });
    assert.equal(r.status, 502);
    assert.equal((r.json() as { code: string }).code, 'DRV_ERR_PROVIDER_UNAVAILABLE');
    // A refresh pass that cannot reach the directory changes nothing.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const still = await call(drover.server, 'GET', '/v1/whoami', { token: bob });
    assert.equal(still.status, 200);
    assert.ok((still.json() as { groups: string[] }).groups.includes(engineering));
    await drover.cli('providers', 'disable', 'openldap');
    assert.equal((await call(drover.server, 'GET', '/v1/whoami', { token: bob })).status, 401);
    const log = drover.server.output();
    for (const secret of [servicePassword, 'alice-password', 'bob-password', 'dave-password', 'not-her-password']) assert.ok(!log.includes(secret), 'a password reached the server log');
  });
});
