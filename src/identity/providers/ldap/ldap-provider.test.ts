import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  adGroupDn, adGroupsDn, adUserDn, adUsersDn, groupDn, groupsDn, peopleDn, serviceDn, servicePassword, startSlapd, userDn, type Slapd,
} from '../../../../test/testenv/slapd.ts';
import { DroverError } from '../../../errors/index.ts';
import { silentLogger } from '../../../logging/index.ts';
import { settingsFrom, type LdapConfig } from './config.ts';
import { LdapProvider } from './ldap-provider.ts';
import { refusal } from '../../../testing/index.ts';

const ids = (list: Array<{ id: string }>): string[] => list.map((p) => p.id).sort();
const og = (cn: string): string => `openldap_group://${groupDn(cn)}`;

describe('LDAP provider against a real slapd', () => {
  let slapd: Slapd;
  const open: LdapProvider[] = [];
  const provider = (flavour: 'openldap' | 'activedirectory', extra: Partial<LdapConfig> = {}): LdapProvider => {
    const ad = flavour === 'activedirectory';
    const p = new LdapProvider(settingsFrom(flavour, {
      url: slapd.url, startTls: true, caPem: slapd.caPem, bindDn: serviceDn, bindPassword: servicePassword,
      userBaseDn: ad ? adUsersDn : peopleDn, groupBaseDn: ad ? adGroupsDn : groupsDn, connectTimeoutMs: 1000, operationTimeoutMs: 2000, ...extra,
    }), silentLogger());
    open.push(p);
    return p;
  };

  before(async () => { slapd = await startSlapd(); });
  after(async () => {
    for (const p of open) await p.close();
    await slapd.stop();
  });

  it('logs a user in over StartTLS with their own bind and resolves nested groups (ops ⊂ platform ⊂ engineering)', async () => {
    const identity = await provider('openldap').authenticate('alice', 'alice-password');
    assert.equal(identity.user.id, `openldap_user://${userDn('alice')}`);
    assert.equal(identity.user.loginName, 'alice');
    assert.deepEqual(ids(identity.groups), [og('engineering'), og('ops'), og('platform')]);
  });

  it('stops at a group cycle and at the depth limit', async () => {
    const p = provider('openldap');
    assert.deepEqual(ids((await p.authenticate('carol', 'carol-password')).groups), [og('loop-a'), og('loop-b')]);
    const shallow = provider('openldap', { maxNestingDepth: 1 });
    assert.deepEqual(ids((await shallow.authenticate('alice', 'alice-password')).groups), [og('ops'), og('platform')]);
    const none = provider('openldap', { nestedGroups: 'none' });
    assert.deepEqual(ids((await none.authenticate('alice', 'alice-password')).groups), [og('ops')]);
  });

  it('answers a wrong password, an unknown user and an empty password with the same 401', async () => {
    const p = provider('openldap');
    for (const [u, pw] of [['alice', 'wrong'], ['nobody', 'alice-password'], ['alice', ''], ['', 'x']] as const) {
      const e = await refusal(p.authenticate(u, pw));
      assert.equal(e.code, 'DRV_ERR_UNAUTHENTICATED');
      assert.equal(e.message, 'invalid username or password');
    }
  });

  it('escapes injection attempts: a star or filter syntax never matches somebody else', async () => {
    const p = provider('openldap');
    for (const u of ['*', 'a*', '*)(uid=*', 'alice)(|(uid=*', 'alice\\2a', 'alice\0', '*)(objectClass=*))(&(uid=alice']) {
      const e = await refusal(p.authenticate(u, 'alice-password'));
      assert.equal(e.code, 'DRV_ERR_UNAUTHENTICATED', u);
    }
    // Principal search: "*" finds only entries with a literal star in the name (none here), not everyone.
    assert.deepEqual(await p.search('*', 50), []);
    assert.deepEqual(ids(await p.search('lice', 10)), [`openldap_user://${userDn('alice')}`]);
  });

  it('refreshes a known user by principal, and reports a deleted or foreign DN as gone', async () => {
    const p = provider('openldap');
    const found = await p.refresh(`openldap_user://${userDn('bob')}`);
    assert.equal(found.state, 'found');
    if (found.state === 'found') assert.deepEqual(ids(found.identity.groups), [og('engineering'), og('platform')]);
    assert.equal((await p.refresh(`openldap_user://${userDn('ghost')}`)).state, 'gone');
    assert.equal((await p.refresh(`openldap_user://${serviceDn}`)).state, 'gone');
    await assert.rejects(p.refresh('openldap_user://not a dn'), DroverError);
  });

  it('sees group changes at the directory on the next refresh', async () => {
    const p = provider('openldap');
    await slapd.addMember(groupDn('ops'), userDn('carol'));
    try {
      const r = await p.refresh(`openldap_user://${userDn('carol')}`);
      assert.ok(r.state === 'found' && ids(r.identity.groups).includes(og('engineering')));
    } finally {
      await slapd.removeMember(groupDn('ops'), userDn('carol'));
    }
    const r = await p.refresh(`openldap_user://${userDn('carol')}`);
    assert.ok(r.state === 'found' && !ids(r.identity.groups).includes(og('engineering')));
  });

  it('AD flavour: logs in by sAMAccountName, walks nested groups where the in-chain rule is missing, and treats a disabled account as gone', async () => {
    const p = provider('activedirectory');
    const identity = await p.authenticate('dave', 'dave-password');
    assert.equal(identity.user.id, `activedirectory_user://${adUserDn('Dave Doe')}`);
    assert.equal(identity.user.loginName, 'dave');
    assert.deepEqual(ids(identity.groups), [`activedirectory_group://${adGroupDn('ad-eng')}`, `activedirectory_group://${adGroupDn('ad-ops')}`]);
    // Erin's password is right, but userAccountControl has ACCOUNTDISABLE.
    assert.equal((await refusal(p.authenticate('erin', 'erin-password'))).code, 'DRV_ERR_UNAUTHENTICATED');
    assert.deepEqual(await p.refresh(`activedirectory_user://${adUserDn('Erin Ex')}`), { state: 'gone', reason: 'account disabled in Active Directory' });
    // Disabling Dave at the directory makes him gone on the next refresh.
    await slapd.replace(adUserDn('Dave Doe'), 'userAccountControl', ['514']);
    try {
      assert.equal((await p.refresh(identity.user.id)).state, 'gone');
    } finally {
      await slapd.replace(adUserDn('Dave Doe'), 'userAccountControl', ['512']);
    }
  });

  it('AD flavour forced to the in-chain rule on a server without it finds no groups: fewer, never more', async () => {
    // slapd evaluates the unknown matching rule as Undefined; "auto" (the default) detects this through the rootDSE and walks instead.
    assert.deepEqual((await provider('activedirectory', { nestedGroups: 'in-chain' }).authenticate('dave', 'dave-password')).groups, []);
  });

  it('connects over ldaps:// with the CA, and refuses a directory whose certificate the CA did not sign', async () => {
    assert.equal((await provider('openldap', { url: slapd.ldapsUrl, startTls: false }).authenticate('bob', 'bob-password')).user.loginName, 'bob');
    const wrongCa = provider('openldap', { url: slapd.ldapsUrl, startTls: false, caPem: undefined });
    assert.equal((await refusal(wrongCa.authenticate('bob', 'bob-password'))).code, 'DRV_ERR_PROVIDER_UNAVAILABLE');
  });

  it('says the directory is unavailable when the service bind is refused or nothing listens', async () => {
    const badBind = provider('openldap', { bindPassword: 'wrong' });
    const e = await refusal(badBind.authenticate('alice', 'alice-password'));
    assert.equal(e.code, 'DRV_ERR_PROVIDER_UNAVAILABLE');
    assert.match(e.message, /service account bind/);
    const nowhere = provider('openldap', { url: 'ldap://127.0.0.1:9', connectTimeoutMs: 500 });
    assert.equal((await refusal(nowhere.authenticate('alice', 'alice-password'))).code, 'DRV_ERR_PROVIDER_UNAVAILABLE');
    await assert.rejects(nowhere.refresh(`openldap_user://${userDn('alice')}`), (err: unknown) => err instanceof DroverError && err.code === 'DRV_ERR_PROVIDER_UNAVAILABLE');
  });

  it('drops pooled connections the directory closed, and works again as soon as the directory is back', async () => {
    const p = provider('openldap');
    await p.authenticate('bob', 'bob-password');
    await slapd.stop();
    assert.equal((await refusal(p.authenticate('bob', 'bob-password'))).code, 'DRV_ERR_PROVIDER_UNAVAILABLE');
    await slapd.start();
    assert.equal((await p.authenticate('bob', 'bob-password')).user.loginName, 'bob');
  });

  it('keeps at most poolSize service connections however many logins run at once', async () => {
    const p = provider('openldap', { poolSize: 2 });
    const results = await Promise.all(Array.from({ length: 12 }, () => p.authenticate('alice', 'alice-password')));
    assert.equal(results.length, 12);
    assert.ok(p.poolStats.open <= 2, JSON.stringify(p.poolStats));
    assert.equal(p.poolStats.waiting, 0);
  });
});
