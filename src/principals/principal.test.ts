import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { groupPrincipalIds, isGroupPrincipal } from './principal.ts';
import { isGroup } from '../../ui/src/principals.ts';

describe('group principals', () => {
  it('keeps provider group, team and org principals, sorted, and nothing else', () => {
    assert.deepEqual(groupPrincipalIds([
      'openldap_group://cn=b', 'local://u-1', 'github_user://1', 'activedirectory_group://cn=a', 'github_team://9', 'github_org://z',
      'keycloakoidc_group://x', 'x_group:/y', 'evil://github_team://1', 'Github_team://1', 'github_team_xy://1',
    ]), ['activedirectory_group://cn=a', 'github_org://z', 'github_team://9', 'github_team_xy://1', 'keycloakoidc_group://x', 'openldap_group://cn=b']);
  });

  it('drops user principals, as kube-api-auth syncs only groups', () => {
    assert.deepEqual(groupPrincipalIds([
      'local://u-1', 'openldap_user://uid=bob', 'openldap_group://cn=ops', 'github_team://678', 'github_user://1', 'oidc_group://devs', 'activedirectory_group://cn=x',
    ]), ['activedirectory_group://cn=x', 'github_team://678', 'oidc_group://devs', 'openldap_group://cn=ops']);
  });

  it('is the rule the web UI lists groups by, suffixed kinds included', () => {
    for (const principal of [
      'github_team_xy://1', 'openldap_group_nested://cn=a', 'github_org://z', 'oidc_group://devs', 'local://u-1', 'github_user://1',
      'evil://github_team://1', 'Github_team://1', 'x_group:/y', 'github_user_group://1',
    ]) assert.equal(isGroup(principal), isGroupPrincipal(principal), principal);
  });
});
