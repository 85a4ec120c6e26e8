/**
 * access/: who may do what on which cluster, and what must exist downstream so
 * Kubernetes enforces it. This folder is the pure core: role templates and their
 * inheritance, rendering bindings into RBAC objects, and the escalation guard
 * (the per-user impersonation account lives in impersonation/, below this folder). It does no I/O; the store,
 * API and reconciler call it. README.md holds the design note (trust, refusals,
 * fail-closed points, object counts).
 *
 * Around the core: `AccessService` (store-backed templates, projects, bindings;
 * in memory after one load, and the `ClusterMembership` the proxy asks),
 * `RbacReconciler` (one watch-driven loop per live cluster), `accessApi`
 * (/v1/roles, /v1/clusters/:id/projects|members) and `createAccessFeature`.
 */
export type {
  BindingSubject, ClusterRoleTemplateBinding, PolicyRule, Project, ProjectRoleTemplateBinding, RoleTemplate,
  RoleTemplateContext, UserIdentity,
} from './types.ts';
export { covers, breakdownRule, type CoversResult } from './covers.ts';
export { normalizeRule, normalizeRules, sameRules, validateRule } from './policy-rules.ts';
export { builtinRoleTemplates } from './builtin-role-templates.ts';
export { RoleTemplateCatalog, type ResolvedRoleTemplate } from './role-template-catalog.ts';
export {
  DEFAULT_MAX_SUBJECTS_PER_BINDING, GLOBAL_ROLE_ANNOTATION, globalAdminBindingName, projectNamespacesRoleName, rbacSubject, renderClusterRbac,
  templateClusterRoleName,
  type ClusterAccessState, type DesiredRbac, type RenderOptions, type SkippedBinding,
} from './rbac-render.ts';
export { planRbac, type ObjectRef, type ObservedRbacObject, type RbacPlan } from './rbac-plan.ts';
export {
  ALL_RULES, MEMBERSHIP_API_GROUP, assertCanGrant, canManageMembers, checkGrant, membershipRule, rulesHeld,
  type BindingsView, type GrantScope, type Holder,
} from './escalation-guard.ts';
export { AccessService, DEFAULT_PROJECTS, type ClusterMembership, type ProjectRecord, type UserAccessFacts } from './access-service.ts';
export {
  PROJECT_ANNOTATION, RbacReconciler, namespaceProject, type RbacReconcilerOptions, type ReconcileStats,
} from './rbac-reconciler.ts';
export { accessApi, type AccessApiOptions } from './access-api.ts';
export { createAccessFeature, followUserChanges, type AccessFeature, type AccessFeatureOptions } from './feature.ts';
