/** Principal URIs as the server names them (`openldap_group://…`, `github_team://…`, `local://u-…`). */

/** Group-like principals (provider groups, GitHub teams and organisations): the server's own rule. */
export { isGroupPrincipal as isGroup } from '../../src/principals/index.ts';

/** A provider's user principal (not `local://`). */
export function isProviderUser(principal: string): boolean {
  return /^[a-z]+_user:\/\/./.test(principal);
}
