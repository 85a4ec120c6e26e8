/**
 * Principal URIs as Drover names them: `local://u-…` for local users, and
 * `<provider>_<kind>://<id>` for a provider's users and groups (`openldap_user://<dn>`,
 * `openldap_group://<dn>`, `github_team://<id>`, `github_org://<id>`, `oidc_group://<name>`),
 * where the kind may carry a suffix (`_[a-z]+`). Which of them are groups decides the
 * groups the proxy impersonates, the groups kube-api-auth answers with, and what the
 * UI lists as a group: one rule for all of them.
 */
const groupPrincipal = /^[a-z]+_(group|team|org)(_[a-z]+)?:\/\//;

/** A group-like principal: a provider group, a GitHub team or organisation. */
export function isGroupPrincipal(principal: string): boolean {
  return groupPrincipal.test(principal);
}

/** The group principals among a user's principal ids, sorted. */
export function groupPrincipalIds(principalIds: readonly string[]): string[] {
  return principalIds.filter(isGroupPrincipal).sort();
}
