/**
 * ldap/: OpenLDAP (and FreeIPA-style) directories and Active Directory, one
 * implementation with two flavours, on `ldapts`.
 *
 * Trusts: the directory's answer to a bind with the user's own DN and password,
 * and its group entries. Refuses: empty passwords (before any bind), usernames
 * that match zero or several entries, disabled AD accounts, plain ldap:// without
 * StartTLS unless explicitly allowed, certificates not signed by the configured
 * CA. Every user-supplied value in a filter is RFC 4515-escaped; DNs from
 * principal ids are parsed (RFC 4514) and must lie under the user base DN.
 * Fails closed: an unreachable directory is a 502 DRV_ERR_PROVIDER_UNAVAILABLE
 * for logins, and a refresh failure keeps the last known groups (never more).
 */
import type { ProviderDefinition } from '../types.ts';
import { LdapConfigSchema, settingsFrom, type LdapConfig, type LdapFlavour } from './config.ts';
import { LdapProvider } from './ldap-provider.ts';

function definition(flavour: LdapFlavour, displayName: string): ProviderDefinition<LdapConfig> {
  return {
    name: flavour, style: 'password', displayName, configSchema: LdapConfigSchema, secretFields: ['bindPassword'],
    create: (config, deps) => new LdapProvider(settingsFrom(flavour, config), deps.logger),
  };
}

export const openldapDefinition = definition('openldap', 'OpenLDAP');
export const activeDirectoryDefinition = definition('activedirectory', 'Active Directory');
export { LdapProvider, inChainRule } from './ldap-provider.ts';
export { LdapConfigSchema, settingsFrom, type LdapConfig, type LdapSettings, type LdapFlavour } from './config.ts';
export { escapeFilterValue, isBalancedFilter } from './filter.ts';
export { parseDn, formatDn, normalizeDn, escapeDnValue, isWithin, dnKey } from './dn.ts';
export { BoundPool } from './pool.ts';
