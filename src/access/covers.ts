/**
 * The escalation guard's core: a port of Kubernetes'
 * `k8s.io/component-helpers/auth/rbac/validation` `Covers`. Each requested rule
 * is broken down into atomic (group, resource, verb, name) or (url, verb) tuples,
 * and every tuple must be covered by one owner rule. Matching is exact and
 * case-sensitive, as in the Kubernetes authorizer: `GET` is not `get`, so an odd
 * spelling is reported missing (fail closed) rather than guessed at.
 *
 * Wildcards, exactly as upstream:
 * - verb `*`, apiGroup `*` and resource `*` cover everything in their position;
 * - a resource written star-slash-subresource (as `*` then `/scale`) covers that subresource of
 *   any resource, e.g. the `scale` of deployments and statefulsets; `pods` does
 *   not cover `pods/exec`, and `*` in resources covers `pods/exec`;
 * - an owner rule without resourceNames covers any name; a named owner rule
 *   never covers a request for all names (empty resourceNames);
 * - a nonResourceURL ending in `*` covers every URL with that prefix.
 */
import type { PolicyRule } from './types.ts';

export interface CoversResult {
  covered: boolean;
  /** The atomic rules that no owner rule covers (empty when covered). */
  missing: PolicyRule[];
}

/** Whether `ownerRules` grant everything in `requestedRules`, and what they lack if not. */
export function covers(ownerRules: readonly PolicyRule[], requestedRules: readonly PolicyRule[]): CoversResult {
  const missing: PolicyRule[] = [];
  for (const requested of requestedRules) {
    for (const atom of breakdownRule(requested)) {
      if (!ownerRules.some((owner) => ruleCovers(owner, atom))) missing.push(atom);
    }
  }
  return { covered: missing.length === 0, missing };
}

/** One rule per (group, resource, verb[, name]) and per (url, verb), as upstream `BreakdownRule`. */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const atoms: PolicyRule[] = [];
  const names = rule.resourceNames ?? [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        if (names.length === 0) atoms.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        for (const name of names) atoms.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [name] });
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) {
    for (const verb of rule.verbs) atoms.push({ nonResourceURLs: [url], verbs: [verb] });
  }
  return atoms;
}

const has = (set: readonly string[] | undefined, element: string): boolean => (set ?? []).includes(element);
const hasAll = (set: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean =>
  (wanted ?? []).every((element) => has(set, element));

function resourcesCoverAll(owner: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean {
  if (has(owner, '*') || hasAll(owner, wanted)) return true;
  return (wanted ?? []).every((path) => {
    if (has(owner, path)) return true;
    const slash = path.indexOf('/');
    if (slash < 0) return false;
    return has(owner, `*/${path.slice(slash + 1)}`);
  });
}

function nonResourceURLCovers(ownerPath: string, path: string): boolean {
  if (ownerPath === path) return true;
  return ownerPath.endsWith('*') && path.startsWith(ownerPath.replace(/\*+$/, ''));
}

const nonResourceURLsCoverAll = (owner: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean =>
  (wanted ?? []).every((path) => (owner ?? []).some((ownerPath) => nonResourceURLCovers(ownerPath, path)));

/** Whether one owner rule covers one atomic rule (at most one verb, resource, name or URL). */
function ruleCovers(owner: PolicyRule, atom: PolicyRule): boolean {
  const verbs = has(owner.verbs, '*') || hasAll(owner.verbs, atom.verbs);
  const groups = has(owner.apiGroups, '*') || hasAll(owner.apiGroups, atom.apiGroups);
  const resources = resourcesCoverAll(owner.resources, atom.resources);
  const urls = nonResourceURLsCoverAll(owner.nonResourceURLs, atom.nonResourceURLs);
  const ownerNames = owner.resourceNames ?? [];
  const names = ownerNames.length === 0 || ((atom.resourceNames ?? []).length > 0 && hasAll(ownerNames, atom.resourceNames));
  return verbs && groups && resources && urls && names;
}
