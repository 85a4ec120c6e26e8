/** LDAP / Active Directory settings: the closed schema the API validates, and the defaults each flavour fills in. */
import { X509Certificate } from 'node:crypto';
import { Type, type Static } from 'typebox';
import { DroverError } from '../../../errors/index.ts';
import { parseDn } from './dn.ts';
import { attributePattern, isBalancedFilter } from './filter.ts';

export type LdapFlavour = 'openldap' | 'activedirectory';
export type NestedGroupMode = 'auto' | 'in-chain' | 'walk' | 'none';

const Attr = Type.String({ minLength: 1, maxLength: 64 });
const Dn = Type.String({ minLength: 1, maxLength: 1024 });

export const LdapConfigSchema = Type.Object({
  url: Type.String({ minLength: 8, maxLength: 512, description: 'ldap://host:389 or ldaps://host:636' }),
  startTls: Type.Optional(Type.Boolean({ description: 'upgrade an ldap:// connection with StartTLS (required unless allowInsecure)' })),
  caPem: Type.Optional(Type.String({ maxLength: 65_536, description: 'CA certificate(s) (PEM) that sign the directory\'s certificate' })),
  allowInsecure: Type.Optional(Type.Boolean({ description: 'allow plain ldap:// without StartTLS (passwords cross the network in clear)' })),
  bindDn: Dn,
  bindPassword: Type.String({ minLength: 1, maxLength: 1024 }),
  userBaseDn: Dn,
  userFilter: Type.Optional(Type.String({ maxLength: 1024, description: 'extra filter users must match, e.g. (objectClass=inetOrgPerson)' })),
  loginAttribute: Type.Optional(Attr),
  displayNameAttribute: Type.Optional(Attr),
  groupBaseDn: Dn,
  groupObjectClass: Type.Optional(Attr),
  groupMemberAttribute: Type.Optional(Attr),
  groupNameAttribute: Type.Optional(Attr),
  nestedGroups: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('in-chain'), Type.Literal('walk'), Type.Literal('none')])),
  maxNestingDepth: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
  connectTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
  operationTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000 })),
  poolSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })),
}, { additionalProperties: false });

export type LdapConfig = Static<typeof LdapConfigSchema>;

/** The configuration with every default filled in and checked. */
export interface LdapSettings {
  flavour: LdapFlavour;
  url: string;
  secure: boolean;
  startTls: boolean;
  caPem?: string;
  bindDn: string;
  bindPassword: string;
  userBaseDn: string;
  userFilter: string;
  loginAttribute: string;
  displayNameAttribute: string;
  groupBaseDn: string;
  groupObjectClass: string;
  groupMemberAttribute: string;
  groupNameAttribute: string;
  nestedGroups: NestedGroupMode;
  maxNestingDepth: number;
  connectTimeoutMs: number;
  operationTimeoutMs: number;
  poolSize: number;
}

const defaults: Record<LdapFlavour, Pick<LdapSettings, 'userFilter' | 'loginAttribute' | 'displayNameAttribute' | 'groupObjectClass' | 'groupMemberAttribute' | 'groupNameAttribute' | 'nestedGroups'>> = {
  openldap: {
    userFilter: '(objectClass=inetOrgPerson)', loginAttribute: 'uid', displayNameAttribute: 'cn', groupObjectClass: 'groupOfNames',
    groupMemberAttribute: 'member', groupNameAttribute: 'cn', nestedGroups: 'walk',
  },
  activedirectory: {
    userFilter: '(objectClass=user)', loginAttribute: 'sAMAccountName', displayNameAttribute: 'displayName', groupObjectClass: 'group',
    groupMemberAttribute: 'member', groupNameAttribute: 'cn', nestedGroups: 'auto',
  },
};

const invalid = (field: string, expected: string): DroverError => new DroverError('DRV_ERR_UNPROCESSABLE', `${field}: ${expected}`);

export function settingsFrom(flavour: LdapFlavour, config: LdapConfig): LdapSettings {
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw invalid('url', 'expected ldap://host[:port] or ldaps://host[:port]');
  }
  if ((url.protocol !== 'ldap:' && url.protocol !== 'ldaps:') || url.hostname === '' || (url.pathname !== '' && url.pathname !== '/') || url.search !== '') {
    throw invalid('url', 'expected ldap://host[:port] or ldaps://host[:port] without a path');
  }
  const secure = url.protocol === 'ldaps:';
  const startTls = config.startTls ?? false;
  if (secure && startTls) throw invalid('startTls', 'not with ldaps:// (the connection is already TLS)');
  if (!secure && !startTls && config.allowInsecure !== true) {
    throw invalid('url', 'plain ldap:// sends passwords in clear: use ldaps://, startTls: true, or set allowInsecure: true');
  }
  if (config.caPem !== undefined) {
    try {
      new X509Certificate(config.caPem);
    } catch {
      throw invalid('caPem', 'expected a PEM certificate');
    }
  }
  for (const field of ['bindDn', 'userBaseDn', 'groupBaseDn'] as const) {
    try {
      if (parseDn(config[field]).length === 0) throw new Error('empty');
    } catch {
      throw invalid(field, 'expected a distinguished name such as ou=people,dc=example,dc=org');
    }
  }
  const d = defaults[flavour];
  const settings: LdapSettings = {
    flavour, url: `${url.protocol}//${url.host}`, secure, startTls, ...(config.caPem === undefined ? {} : { caPem: config.caPem }),
    bindDn: config.bindDn, bindPassword: config.bindPassword, userBaseDn: config.userBaseDn, groupBaseDn: config.groupBaseDn,
    userFilter: config.userFilter ?? d.userFilter, loginAttribute: config.loginAttribute ?? d.loginAttribute,
    displayNameAttribute: config.displayNameAttribute ?? d.displayNameAttribute, groupObjectClass: config.groupObjectClass ?? d.groupObjectClass,
    groupMemberAttribute: config.groupMemberAttribute ?? d.groupMemberAttribute, groupNameAttribute: config.groupNameAttribute ?? d.groupNameAttribute,
    nestedGroups: config.nestedGroups ?? d.nestedGroups, maxNestingDepth: config.maxNestingDepth ?? 5,
    connectTimeoutMs: config.connectTimeoutMs ?? 5_000, operationTimeoutMs: config.operationTimeoutMs ?? 10_000, poolSize: config.poolSize ?? 4,
  };
  if (settings.userFilter !== '' && !isBalancedFilter(settings.userFilter)) throw invalid('userFilter', 'expected one parenthesised LDAP filter');
  for (const field of ['loginAttribute', 'displayNameAttribute', 'groupObjectClass', 'groupMemberAttribute', 'groupNameAttribute'] as const) {
    if (!attributePattern.test(settings[field])) throw invalid(field, 'expected an attribute or object class name');
  }
  return settings;
}
