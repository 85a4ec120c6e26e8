/**
 * "A user can only grant what they hold themselves." Before a binding is created,
 * the granter's rules in the binding's scope (their cluster bindings, plus their
 * bindings on the project for a project grant) must cover every rule of the
 * template being granted, its inheritance included. So a cluster member cannot
 * grant cluster-owner, and a project member cannot grant project-owner. Global
 * admins pass `ALL_RULES`. The check reuses Kubernetes' own Covers semantics
 * (covers.ts), so Drover refuses exactly what Kubernetes' RBAC escalation check
 * would refuse.
 *
 * Managing members at all is itself a right: `canManageMembers` asks whether the
 * granter holds create/delete on Drover's binding resource for the scope, which
 * cluster-owner (`*`) and project-owner hold.
 */
import { DroverError } from '../errors/index.ts';
import { covers, type CoversResult } from './covers.ts';
import type { RoleTemplateCatalog } from './role-template-catalog.ts';
import type {
  ClusterRoleTemplateBinding, PolicyRule, ProjectRoleTemplateBinding, RoleTemplateContext,
} from './types.ts';

/** Everything: what a global admin holds. */
export const ALL_RULES: readonly PolicyRule[] = Object.freeze([
  { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
  { nonResourceURLs: ['*'], verbs: ['*'] },
]);

/** The Drover-side resource a template must grant for its holder to manage members of a cluster or project. */
export const MEMBERSHIP_API_GROUP = 'management.drover.io';
export const membershipRule = (context: RoleTemplateContext): PolicyRule => ({
  apiGroups: [MEMBERSHIP_API_GROUP],
  resources: [context === 'cluster' ? 'clusterroletemplatebindings' : 'projectroletemplatebindings'],
  verbs: ['create', 'delete'],
});

/** Who holds rules: a user and the group principals they belong to. */
export interface Holder { userId: string; groupPrincipalIds: readonly string[] }
export interface GrantScope { clusterId: string; projectId?: string }
export interface BindingsView {
  catalog: RoleTemplateCatalog;
  clusterBindings: readonly ClusterRoleTemplateBinding[];
  projectBindings: readonly ProjectRoleTemplateBinding[];
}

function heldBy(holder: Holder, subject: ClusterRoleTemplateBinding['subject']): boolean {
  switch (subject.kind) {
    case 'user': return subject.userId === holder.userId;
    case 'group': return holder.groupPrincipalIds.includes(subject.principalId);
    default: {
      const never: never = subject;
      return never;
    }
  }
}

/** The rules `holder` holds in `scope`: cluster bindings on the cluster, plus project bindings on the project. */
export function rulesHeld(holder: Holder, scope: GrantScope, view: BindingsView): PolicyRule[] {
  const names = new Set<string>();
  for (const b of view.clusterBindings) if (b.clusterId === scope.clusterId && heldBy(holder, b.subject)) names.add(b.roleTemplate);
  if (scope.projectId !== undefined) {
    for (const b of view.projectBindings) {
      if (b.clusterId === scope.clusterId && b.projectId === scope.projectId && heldBy(holder, b.subject)) names.add(b.roleTemplate);
    }
  }
  const rules: PolicyRule[] = [];
  // A binding to a template that no longer resolves grants nothing (fail closed).
  for (const name of names) if (view.catalog.get(name)) rules.push(...view.catalog.resolve(name).rules);
  return rules;
}

/** Whether `granterRules` cover the whole of `roleTemplate` (and what is missing). Throws if the template cannot be bound. */
export function checkGrant(catalog: RoleTemplateCatalog, granterRules: readonly PolicyRule[], roleTemplate: string, context: RoleTemplateContext): CoversResult {
  const resolved = catalog.assertBindable(roleTemplate, context);
  return covers(granterRules, resolved.rules);
}

const describeRule = (r: PolicyRule): string => (r.nonResourceURLs
  ? `${r.verbs.join(',')} ${r.nonResourceURLs.join(',')}`
  : `${r.verbs.join(',')} ${(r.apiGroups ?? []).map((g) => g || 'core').join(',')}/${(r.resources ?? []).join(',')}${r.resourceNames ? ` [${r.resourceNames.join(',')}]` : ''}`);

/** Throws DRV_ERR_PRIVILEGE_ESCALATION naming up to five missing rules when the granter does not hold the template. */
export function assertCanGrant(catalog: RoleTemplateCatalog, granterRules: readonly PolicyRule[], roleTemplate: string, context: RoleTemplateContext): void {
  const result = checkGrant(catalog, granterRules, roleTemplate, context);
  if (result.covered) return;
  const shown = result.missing.slice(0, 5).map(describeRule).join('; ');
  const more = result.missing.length > 5 ? ` and ${result.missing.length - 5} more` : '';
  throw new DroverError('DRV_ERR_PRIVILEGE_ESCALATION', `cannot grant role template "${roleTemplate}": it holds rights you do not hold (${shown}${more})`);
}

/** Whether rules that `granterRules` hold allow managing the members of a cluster or project. */
export function canManageMembers(granterRules: readonly PolicyRule[], context: RoleTemplateContext): boolean {
  return covers(granterRules, [membershipRule(context)]).covered;
}
