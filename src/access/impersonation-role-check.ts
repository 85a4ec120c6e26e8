/**
 * The proxy's per-request question: does the user's impersonation ClusterRole,
 * as the watch cache holds it, already allow everything this request will
 * impersonate? If so, nothing is written (the hot path makes no API call). If
 * not, the answer carries the rules to write: the role's well-formed names plus
 * the request's, so a request never takes away what a concurrent one added.
 *
 * What the role may hold is fixed: `impersonate` on `users` (only this user),
 * `groups`, `userextras/principalid` and `userextras/username`, each with names.
 * Anything else found in the role (another user, a wildcard, another verb or
 * resource, a rule without names) is dropped and the role reported stale, so a
 * tampered role is repaired on the next request instead of trusted.
 */
import { AUTHENTICATED_GROUPS, canonicalIdentity } from './identity.ts';
import { rulesFromNames, type AllowedNames } from './impersonation-resources.ts';
import type { PolicyRule, UserIdentity } from './types.ts';

export interface ImpersonationRoleCheck {
  /** True when the existing rules allow the request and hold nothing foreign: no write needed. */
  upToDate: boolean;
  /** The rules the role should hold (existing well-formed names merged with the request's). */
  rules: PolicyRule[];
}

type Slot = keyof AllowedNames;
const SLOTS: Record<string, { group: string; slot: Slot }> = {
  users: { group: '', slot: 'users' },
  groups: { group: '', slot: 'groups' },
  'userextras/principalid': { group: 'authentication.k8s.io', slot: 'principalid' },
  'userextras/username': { group: 'authentication.k8s.io', slot: 'username' },
};

const exactly = (list: readonly string[] | undefined, value: string): boolean => list?.length === 1 && list[0] === value;

/** Where an existing rule's names belong, or undefined when the rule is not one the role may hold. */
function slotOf(rule: PolicyRule): Slot | undefined {
  if (!exactly(rule.verbs, 'impersonate') || (rule.nonResourceURLs ?? []).length > 0) return undefined;
  if ((rule.resources ?? []).length !== 1 || (rule.resourceNames ?? []).length === 0) return undefined;
  const spec = SLOTS[rule.resources?.[0] ?? ''];
  if (!spec || !exactly(rule.apiGroups, spec.group)) return undefined;
  return spec.slot;
}

/** Compares an existing impersonation role (undefined: none yet) with what `identity` needs. */
export function checkImpersonationRole(existing: readonly PolicyRule[] | undefined, identity: UserIdentity): ImpersonationRoleCheck {
  const user = canonicalIdentity(identity);
  const held: AllowedNames = { users: [], groups: [], principalid: [], username: [] };
  let foreign = existing === undefined;
  for (const rule of existing ?? []) {
    const slot = slotOf(rule);
    if (slot === undefined) { foreign = true; continue; }
    held[slot].push(...(rule.resourceNames ?? []));
  }
  // Another user's name, or a Kubernetes system group (system:masters, ...), is never kept.
  if (held.users.some((name) => name !== user.id) || !held.groups.every(allowedGroup)) foreign = true;
  const needed: AllowedNames = { users: [user.id], groups: user.groups, principalid: user.principalIds, username: [user.username] };
  const missing = (Object.keys(needed) as Slot[]).some((slot) => needed[slot].some((name) => !held[slot].includes(name)));
  const merged: AllowedNames = {
    users: [user.id],
    groups: [...held.groups.filter(allowedGroup), ...needed.groups],
    principalid: [...held.principalid, ...needed.principalid],
    username: [...held.username, ...needed.username],
  };
  return { upToDate: !foreign && !missing, rules: rulesFromNames(merged) };
}

function allowedGroup(group: string): boolean {
  return !group.startsWith('system:') || (AUTHENTICATED_GROUPS as readonly string[]).includes(group);
}
