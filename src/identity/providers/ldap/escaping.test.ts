import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DroverError } from '../../../errors/index.ts';
import { settingsFrom, type LdapConfig } from './config.ts';
import { dnKey, escapeDnValue, formatDn, isWithin, normalizeDn, parseDn } from './dn.ts';
import { equals, escapeFilterValue, isBalancedFilter } from './filter.ts';

describe('RFC 4515 filter escaping', () => {
  it('turns every filter special and NUL into a \\xx escape', () => {
    assert.equal(escapeFilterValue('*'), '\\2a');
    assert.equal(escapeFilterValue('a*b(c)d\\e\0f'), 'a\\2ab\\28c\\29d\\5ce\\00f');
  });

  it('keeps an injection attempt inside one equality assertion', () => {
    const filter = equals('uid', '*)(uid=*))(|(uid=*');
    assert.equal(filter, '(uid=\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a)');
    assert.ok(isBalancedFilter(filter));
    // Exactly one unescaped "(" and ")": the ones we wrote.
    assert.equal(filter.replace(/\\[0-9a-f]{2}/g, '').replace(/[^()]/g, ''), '()');
  });

  it('escapes non-ASCII as UTF-8 bytes', () => {
    assert.equal(escapeFilterValue('Jörg'), 'J\\c3\\b6rg');
  });

  it('accepts balanced configured filters and refuses ones that would close ours early', () => {
    assert.ok(isBalancedFilter('(objectClass=inetOrgPerson)'));
    assert.ok(isBalancedFilter('(&(objectClass=user)(!(cn=x\\29)))'));
    assert.equal(isBalancedFilter('(objectClass=*))(|(uid=*)'), false);
    assert.equal(isBalancedFilter('objectClass=*'), false);
    assert.equal(isBalancedFilter('((a=b)'), false);
  });
});

describe('RFC 4514 distinguished names', () => {
  it('parses escapes and multi-valued RDNs', () => {
    assert.deepEqual(parseDn('cn=Smith\\, John+uid=js,ou=people,dc=example,dc=org'), [
      [{ type: 'cn', value: 'Smith, John' }, { type: 'uid', value: 'js' }],
      [{ type: 'ou', value: 'people' }], [{ type: 'dc', value: 'example' }], [{ type: 'dc', value: 'org' }],
    ]);
    assert.deepEqual(parseDn('cn=a\\2Cb,dc=x'), [[{ type: 'cn', value: 'a,b' }], [{ type: 'dc', value: 'x' }]]);
  });

  it('refuses malformed DNs, hex-string values and unescaped specials', () => {
    for (const bad of ['cn', '=x', 'cn=', 'cn=a;b', 'cn=#04', 'cn=a\\', 'cn=a\\zz', 'c n=x', 'cn=a\0']) {
      assert.throws(() => parseDn(bad), DroverError, bad);
    }
  });

  it('formats with escapes so a value cannot add an RDN', () => {
    assert.equal(escapeDnValue('a,b+c=d'), 'a\\,b\\+c\\=d');
    assert.equal(escapeDnValue(' #x '), '\\ #x\\ ');
    const dn = formatDn([[{ type: 'cn', value: 'evil,dc=attacker' }], [{ type: 'dc', value: 'org' }]]);
    assert.equal(parseDn(dn).length, 2);
  });

  it('normalises attribute types and spacing, so the same entry gets the same principal', () => {
    assert.equal(normalizeDn('UID=alice, OU=People ,dc=Example,DC=org'), 'uid=alice,ou=People,dc=Example,dc=org');
    assert.equal(dnKey('UID=Alice,dc=org'), dnKey('uid=alice, dc=ORG'));
  });

  it('tells whether a DN lies under a base', () => {
    assert.ok(isWithin('uid=a,ou=people,dc=example,dc=org', 'ou=People,dc=example,dc=org'));
    assert.ok(isWithin('ou=people,dc=example,dc=org', 'ou=people,dc=example,dc=org'));
    assert.equal(isWithin('uid=a,ou=admins,dc=example,dc=org', 'ou=people,dc=example,dc=org'), false);
    assert.equal(isWithin('dc=org', 'ou=people,dc=example,dc=org'), false);
  });
});

describe('LDAP settings', () => {
  const base: LdapConfig = {
    url: 'ldaps://ldap.example.org', bindDn: 'cn=svc,dc=example,dc=org', bindPassword: 'x',
    userBaseDn: 'ou=people,dc=example,dc=org', groupBaseDn: 'ou=groups,dc=example,dc=org',
  };
  const refused = (config: Partial<LdapConfig> & Record<string, unknown>, field: string): void => {
    assert.throws(() => settingsFrom('openldap', { ...base, ...config }), (e: unknown) => e instanceof DroverError && e.status === 422 && e.message.startsWith(field));
  };

  it('fills each flavour\'s defaults', () => {
    const ol = settingsFrom('openldap', base);
    assert.equal(ol.loginAttribute, 'uid');
    assert.equal(ol.nestedGroups, 'walk');
    const ad = settingsFrom('activedirectory', base);
    assert.equal(ad.loginAttribute, 'sAMAccountName');
    assert.equal(ad.groupObjectClass, 'group');
    assert.equal(ad.nestedGroups, 'auto');
  });

  it('refuses plain ldap:// without StartTLS unless insecure is explicitly allowed', () => {
    refused({ url: 'ldap://ldap.example.org' }, 'url');
    assert.equal(settingsFrom('openldap', { ...base, url: 'ldap://h', startTls: true }).startTls, true);
    assert.equal(settingsFrom('openldap', { ...base, url: 'ldap://h', allowInsecure: true }).secure, false);
    refused({ startTls: true }, 'startTls');
  });

  it('refuses other schemes, paths, bad DNs, bad CA PEM, unbalanced filters and attribute names with filter syntax', () => {
    refused({ url: 'http://h' }, 'url');
    refused({ url: 'ldaps://h/dc=x' }, 'url');
    refused({ userBaseDn: 'not a dn' }, 'userBaseDn');
    refused({ caPem: 'garbage' }, 'caPem');
    refused({ userFilter: '(objectClass=*))(|(uid=*)' }, 'userFilter');
    refused({ loginAttribute: 'uid=*)(cn' }, 'loginAttribute');
  });
});
