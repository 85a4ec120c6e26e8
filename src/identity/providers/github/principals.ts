/** GitHub users, organisations and teams as Drover principals, by numeric id (logins and slugs can be renamed and reused). */
import { DroverError } from '../../../errors/index.ts';
import type { Principal } from '../types.ts';

export interface GitHubUser { id: number; login: string; name?: string | null }
export interface GitHubOrg { id: number; login: string }
export interface GitHubTeam { id: number; slug: string; name?: string; organization?: { login?: string } }

function checkId(id: unknown, what: string): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) throw new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', `GitHub answered a ${what} without a numeric id`);
  return id;
}

export function userPrincipal(user: GitHubUser): Principal {
  return {
    id: `github_user://${checkId(user.id, 'user')}`, kind: 'user', provider: 'github',
    displayName: typeof user.name === 'string' && user.name !== '' ? user.name : user.login, loginName: user.login,
  };
}

export function orgPrincipal(org: GitHubOrg): Principal {
  return { id: `github_org://${checkId(org.id, 'organisation')}`, kind: 'group', provider: 'github', displayName: org.login };
}

export function teamPrincipal(team: GitHubTeam): Principal {
  const org = team.organization?.login;
  return { id: `github_team://${checkId(team.id, 'team')}`, kind: 'group', provider: 'github', displayName: org ? `${org}/${team.slug}` : team.slug };
}
