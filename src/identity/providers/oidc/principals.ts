/** OIDC users and groups as Drover principals: the user is its `sub` (never its email), a group its name in the groups claim. */
import type { Principal } from '../types.ts';

export const maxGroups = 1000;

export function userPrincipal(sub: string, claims: Record<string, unknown>): Principal {
  const text = (key: string): string | undefined => (typeof claims[key] === 'string' && claims[key] !== '' ? claims[key] : undefined);
  const loginName = text('preferred_username');
  return {
    id: `oidc_user://${sub}`, kind: 'user', provider: 'oidc',
    displayName: text('name') ?? loginName ?? text('email') ?? sub,
    ...(loginName === undefined ? {} : { loginName }),
  };
}

export function groupPrincipal(name: string): Principal {
  return { id: `oidc_group://${name}`, kind: 'group', provider: 'oidc', displayName: name };
}

/**
 * The group names in `claims[claim]`: a string array (a lone string counts as one
 * group); anything else is no groups. Empty names, names with control characters
 * and duplicates are dropped, and at most `maxGroups` are kept.
 */
export function groupsFromClaim(claims: Record<string, unknown> | undefined, claim: string): string[] | undefined {
  const value = claims?.[claim];
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  // Control characters never become part of a principal (they would end up in Impersonate-Group headers).
  const names = list.filter((v): v is string => typeof v === 'string' && v !== '' && v.length <= 1024 && ![...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f));
  return [...new Set(names)].slice(0, maxGroups);
}
