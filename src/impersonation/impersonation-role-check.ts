/**
 * The proxy's per-request question: does the user's impersonation ClusterRole, as
 * the watch cache holds it, allow exactly what this user is now? If so, nothing is
 * written (the hot path makes no API call). If not, the answer carries the rules
 * to write: the current identity's, and nothing kept from before.
 *
 * Exact, never merged: a group the user lost (left the LDAP group, removed from a
 * GitHub team) must stop being impersonable by the account at once, or a stolen
 * account token keeps it forever (the CVE-2023-22648 class). Anything else found
 * in the role (another user, a wildcard, another verb or resource, a rule without
 * names) makes it stale too, so a tampered role is repaired on the next request
 * instead of trusted. Every writer (proxy, bindings reconciler, doctor) passes the
 * same identity (groups from the user's principal ids), so they never fight.
 */
import { impersonationRules } from './impersonation-resources.ts';
import type { PolicyRule } from '../kube/index.ts';
import type { UserIdentity } from './identity.ts';

export interface ImpersonationRoleCheck {
  /** True when the existing rules are exactly the identity's: no write needed. */
  upToDate: boolean;
  /** The rules the role should hold: exactly `impersonationRules(identity)`. */
  rules: PolicyRule[];
}

const sortedList = (list: readonly string[] | undefined): string[] => [...new Set(list ?? [])].sort();

/** One rule as a comparable string: lists are sets to RBAC, so order and repeats do not matter. */
function ruleKey(rule: PolicyRule): string {
  return JSON.stringify([rule.verbs, rule.apiGroups, rule.resources, rule.resourceNames, rule.nonResourceURLs].map(sortedList));
}

/** Compares an existing impersonation role (undefined: none yet) with what `identity` needs. */
export function checkImpersonationRole(existing: readonly PolicyRule[] | undefined, identity: UserIdentity): ImpersonationRoleCheck {
  const rules = impersonationRules(identity);
  if (existing === undefined) return { upToDate: false, rules };
  const held = [...new Set(existing.map(ruleKey))].sort();
  const wanted = rules.map(ruleKey).sort();
  const upToDate = held.length === wanted.length && held.every((key, i) => key === wanted[i]);
  return { upToDate, rules };
}
