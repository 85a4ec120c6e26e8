/**
 * Rule hygiene shared by templates, rendering and the reconciler: validation
 * (a template may only hold rules Kubernetes would accept and mean what they say),
 * a canonical form (sorted, de-duplicated, verbs and resources lower-cased as
 * Rancher does), and a semantic equality so the reconciler updates an object
 * only when its rules really differ.
 */
import { DroverError } from '../errors/index.ts';
import type { PolicyRule } from './types.ts';

const sortedUnique = (values: readonly string[] | undefined): string[] => [...new Set(values ?? [])].sort();

/** The canonical form of one rule: sorted unique lists, lower-cased verbs and resources, empty lists omitted. */
export function normalizeRule(rule: PolicyRule): PolicyRule {
  const out: PolicyRule = { verbs: sortedUnique(rule.verbs.map((v) => v.toLowerCase())) };
  const apiGroups = sortedUnique(rule.apiGroups);
  const resources = sortedUnique(rule.resources?.map((r) => r.toLowerCase()));
  const resourceNames = sortedUnique(rule.resourceNames);
  const nonResourceURLs = sortedUnique(rule.nonResourceURLs);
  if (apiGroups.length > 0) out.apiGroups = apiGroups;
  if (resources.length > 0) out.resources = resources;
  if (resourceNames.length > 0) out.resourceNames = resourceNames;
  if (nonResourceURLs.length > 0) out.nonResourceURLs = nonResourceURLs;
  return out;
}

const ruleKey = (rule: PolicyRule): string => JSON.stringify(normalizeRule(rule), ['apiGroups', 'resources', 'resourceNames', 'nonResourceURLs', 'verbs']);

/** Canonical rule list: each rule normalized, duplicates dropped, sorted. */
export function normalizeRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const byKey = new Map<string, PolicyRule>();
  for (const rule of rules) byKey.set(ruleKey(rule), normalizeRule(rule));
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, rule]) => rule);
}

/** Whether two rule lists say the same thing in the same words (order and duplicates aside). */
export function sameRules(a: readonly PolicyRule[] | undefined, b: readonly PolicyRule[] | undefined): boolean {
  const left = normalizeRules(a ?? []).map(ruleKey);
  const right = normalizeRules(b ?? []).map(ruleKey);
  return left.length === right.length && left.every((key, i) => key === right[i]);
}

function fail(where: string, what: string): never {
  throw new DroverError('DRV_ERR_UNPROCESSABLE', `${where}: ${what}`);
}

/** Refuses a rule Kubernetes would reject or that would not mean what it seems to. `where` names it in the error. */
export function validateRule(rule: PolicyRule, where: string): void {
  if (!Array.isArray(rule.verbs) || rule.verbs.length === 0) fail(where, 'a rule needs at least one verb');
  const lists = [rule.verbs, rule.apiGroups, rule.resources, rule.resourceNames, rule.nonResourceURLs];
  for (const list of lists) {
    if (list !== undefined && (!Array.isArray(list) || list.some((v) => typeof v !== 'string'))) fail(where, 'rule fields must be lists of strings');
  }
  const urls = rule.nonResourceURLs ?? [];
  const isResourceRule = (rule.apiGroups ?? []).length > 0 || (rule.resources ?? []).length > 0;
  if (urls.length > 0 && isResourceRule) fail(where, 'a rule holds either resources or nonResourceURLs, not both');
  if (urls.length > 0 && (rule.resourceNames ?? []).length > 0) fail(where, 'resourceNames do not apply to nonResourceURLs');
  if (urls.length === 0) {
    if ((rule.apiGroups ?? []).length === 0) fail(where, 'a resource rule needs apiGroups (use "" for the core group)');
    if ((rule.resources ?? []).length === 0) fail(where, 'a resource rule needs resources');
  }
  for (const url of urls) {
    const star = url.indexOf('*');
    if (url !== '*' && !url.startsWith('/')) fail(where, `nonResourceURL "${url}" must start with "/"`);
    if (star >= 0 && star !== url.length - 1) fail(where, `nonResourceURL "${url}" may hold "*" only at its end`);
  }
  if ((rule.resources ?? []).some((r) => r.split('/').length > 2 || r.startsWith('/') || r.endsWith('/'))) {
    fail(where, 'a resource is "name" or "name/subresource"');
  }
}
