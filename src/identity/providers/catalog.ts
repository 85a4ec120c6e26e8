/** Every provider Drover knows, by name. Each provider folder exports its definition; add one line here per provider. */
import type { ProviderDefinition, ProviderName } from './types.ts';
import { activeDirectoryDefinition, openldapDefinition } from './ldap/index.ts';
import { githubDefinition } from './github/index.ts';
import { oidcDefinition } from './oidc/index.ts';

export const providerCatalog: Readonly<Partial<Record<ProviderName, ProviderDefinition>>> = {
  openldap: openldapDefinition,
  activedirectory: activeDirectoryDefinition,
  github: githubDefinition,
  oidc: oidcDefinition,
};
