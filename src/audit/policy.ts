/**
 * The audit policy, in kube-apiserver's own format (`audit.k8s.io/v1` `Policy`), so a
 * policy file written for a cluster works here unchanged. The first rule that matches
 * decides the level; no match is `None`. The matching is a port of kube-apiserver's
 * (k8s.io/apiserver/pkg/audit/policy/checker.go): users, userGroups, verbs, namespaces
 * and resources (with `*`, `pods/log`, `pods/*`, a star for any resource with a subresource, and resourceNames), and
 * nonResourceURLs (exact or a trailing `*`). Drover adds one field, `clusters`: a rule
 * with it matches only proxied requests to those cluster ids.
 * Without a policy file every request is recorded at Metadata.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { InvalidArgumentError } from '../errors/index.ts';
import { auditLevels, auditStages, type AuditLevel, type AuditStage } from './event.ts';
import type { RequestInfo } from './request-info.ts';

export interface GroupResources { group?: string; resources?: string[]; resourceNames?: string[] }

export interface PolicyRule {
  level: AuditLevel;
  users?: string[];
  userGroups?: string[];
  verbs?: string[];
  resources?: GroupResources[];
  namespaces?: string[];
  nonResourceURLs?: string[];
  omitStages?: AuditStage[];
  omitManagedFields?: boolean;
  /** Drover's addition: only proxied requests to these cluster ids. */
  clusters?: string[];
}

export interface AuditPolicy {
  rules: PolicyRule[];
  omitStages?: AuditStage[];
  omitManagedFields?: boolean;
}

/** What a rule is matched against. */
export interface PolicyAttributes {
  user: { username: string; groups: readonly string[] };
  info: RequestInfo;
  clusterId?: string;
}

export interface PolicyDecision {
  level: AuditLevel;
  omitStages: ReadonlySet<AuditStage>;
  omitManagedFields: boolean;
}

export const defaultPolicy: AuditPolicy = { rules: [{ level: 'Metadata' }] };

const ruleFields = new Set(['level', 'users', 'userGroups', 'verbs', 'resources', 'namespaces', 'nonResourceURLs', 'omitStages', 'omitManagedFields', 'clusters']);
const policyFields = new Set(['apiVersion', 'kind', 'metadata', 'rules', 'omitStages', 'omitManagedFields']);
const groupResourceFields = new Set(['group', 'resources', 'resourceNames']);

function strings(where: string, value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new InvalidArgumentError(where, 'a list of strings', value);
  return value;
}

function closed(where: string, value: unknown, fields: ReadonlySet<string>): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(where, 'a mapping', value);
  for (const key of Object.keys(value)) if (!fields.has(key)) throw new InvalidArgumentError(`${where}.${key}`, `one of ${[...fields].join(', ')}`, key);
  return value as Record<string, unknown>;
}

function stages(where: string, value: unknown): AuditStage[] | undefined {
  const list = strings(where, value);
  for (const s of list ?? []) if (!auditStages.includes(s as AuditStage)) throw new InvalidArgumentError(where, `stages among ${auditStages.join(', ')}`, s);
  return list as AuditStage[] | undefined;
}

const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** Checks a parsed policy document; every mistake names its place (`rules[2].level`). */
export function checkPolicy(doc: unknown, source = 'audit policy'): AuditPolicy {
  const top = closed(source, doc, policyFields);
  if (top.apiVersion !== 'audit.k8s.io/v1') throw new InvalidArgumentError(`${source}.apiVersion`, 'audit.k8s.io/v1', top.apiVersion);
  if (top.kind !== 'Policy') throw new InvalidArgumentError(`${source}.kind`, 'Policy', top.kind);
  if (!Array.isArray(top.rules) || top.rules.length === 0) throw new InvalidArgumentError(`${source}.rules`, 'at least one rule', top.rules);
  const rules = top.rules.map((raw, i): PolicyRule => {
    const where = `${source}.rules[${i}]`;
    const rule = closed(where, raw, ruleFields);
    if (!auditLevels.includes(rule.level as AuditLevel)) throw new InvalidArgumentError(`${where}.level`, auditLevels.join(', '), rule.level);
    const resources = rule.resources === undefined ? undefined : (Array.isArray(rule.resources) ? rule.resources : [rule.resources]).map((gr, j) => {
      const entry = closed(`${where}.resources[${j}]`, gr, groupResourceFields);
      if (entry.group !== undefined && typeof entry.group !== 'string') throw new InvalidArgumentError(`${where}.resources[${j}].group`, 'a string', entry.group);
      return defined({ group: entry.group, resources: strings(`${where}.resources[${j}].resources`, entry.resources), resourceNames: strings(`${where}.resources[${j}].resourceNames`, entry.resourceNames) });
    });
    if (rule.omitManagedFields !== undefined && typeof rule.omitManagedFields !== 'boolean') throw new InvalidArgumentError(`${where}.omitManagedFields`, 'true or false', rule.omitManagedFields);
    const nonResourceURLs = strings(`${where}.nonResourceURLs`, rule.nonResourceURLs);
    if (nonResourceURLs && (rule.resources !== undefined || rule.namespaces !== undefined)) {
      throw new InvalidArgumentError(where, 'either resources/namespaces or nonResourceURLs, not both', Object.keys(rule));
    }
    return defined({
      level: rule.level as AuditLevel, users: strings(`${where}.users`, rule.users), userGroups: strings(`${where}.userGroups`, rule.userGroups),
      verbs: strings(`${where}.verbs`, rule.verbs), resources, namespaces: strings(`${where}.namespaces`, rule.namespaces), nonResourceURLs,
      omitStages: stages(`${where}.omitStages`, rule.omitStages), omitManagedFields: rule.omitManagedFields,
      clusters: strings(`${where}.clusters`, rule.clusters),
    });
  });
  if (top.omitManagedFields !== undefined && typeof top.omitManagedFields !== 'boolean') throw new InvalidArgumentError(`${source}.omitManagedFields`, 'true or false', top.omitManagedFields);
  return defined({ rules, omitStages: stages(`${source}.omitStages`, top.omitStages), omitManagedFields: top.omitManagedFields });
}

/** Reads `--audit-policy FILE` (YAML or JSON). */
export function loadPolicy(file: string): AuditPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError('--audit-policy', 'a readable policy file', `${file} (${(error as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new InvalidArgumentError('--audit-policy', 'YAML or JSON', `${file}: ${(error as Error).message}`);
  }
  return checkPolicy(doc, `--audit-policy ${file}`);
}

function pathMatches(path: string, spec: string): boolean {
  return spec === '*' || spec === path || (spec.endsWith('*') && path.startsWith(spec.replace(/\*+$/, '')));
}

function resourceMatches(rule: PolicyRule, info: RequestInfo): boolean {
  if (!info.isResourceRequest) return false;
  // A cluster-scoped object's namespace is the empty string.
  if (rule.namespaces && !rule.namespaces.includes(info.namespace ?? '')) return false;
  if (!rule.resources || rule.resources.length === 0) return true;
  const resource = info.resource ?? '';
  const subresource = info.subresource ?? '';
  const combined = subresource === '' ? resource : `${resource}/${subresource}`;
  return rule.resources.some((gr) => (gr.group ?? '') === (info.apiGroup ?? '') && (!gr.resources || gr.resources.length === 0
    || gr.resources.some((res) => (!gr.resourceNames || gr.resourceNames.length === 0 || gr.resourceNames.includes(info.name ?? ''))
      && (res === combined || res === '*'
        || (subresource !== '' && res.startsWith('*/') && res.slice(2) === subresource)
        || (res.endsWith('/*') && res.slice(0, -2) === resource)))));
}

export function ruleMatches(rule: PolicyRule, attrs: PolicyAttributes): boolean {
  if (rule.clusters && (attrs.clusterId === undefined || !rule.clusters.includes(attrs.clusterId))) return false;
  if (rule.users && !rule.users.includes(attrs.user.username)) return false;
  if (rule.userGroups && !attrs.user.groups.some((g) => rule.userGroups?.includes(g))) return false;
  if (rule.verbs && !rule.verbs.includes(attrs.info.verb)) return false;
  if (rule.namespaces || rule.resources) return resourceMatches(rule, attrs.info);
  if (rule.nonResourceURLs) return !attrs.info.isResourceRequest && rule.nonResourceURLs.some((spec) => pathMatches(attrs.info.path, spec));
  return true;
}

/**
 * A decision depends on the policy and the rule that matched only, so it is built once per rule and shared by
 * every request it matches (a Set of stages per request was a measurable part of auditing). Policies are not
 * changed once loaded.
 */
const decisions = new WeakMap<AuditPolicy, Map<PolicyRule | undefined, PolicyDecision>>();

/** The level and omitted stages for one request: the first matching rule, else None. */
export function evaluatePolicy(policy: AuditPolicy, attrs: PolicyAttributes): PolicyDecision {
  const rule = policy.rules.find((r) => ruleMatches(r, attrs));
  let byRule = decisions.get(policy);
  if (!byRule) decisions.set(policy, byRule = new Map<PolicyRule | undefined, PolicyDecision>());
  let decision = byRule.get(rule);
  if (!decision) {
    decision = {
      level: rule?.level ?? 'None',
      omitStages: new Set([...(policy.omitStages ?? []), ...(rule?.omitStages ?? [])]),
      omitManagedFields: rule?.omitManagedFields ?? policy.omitManagedFields ?? false,
    };
    byRule.set(rule, decision);
  }
  return decision;
}
