/**
 * Renders one cluster's access state (role templates, projects, cluster and
 * project bindings) into the RBAC objects that must exist downstream. Pure: the
 * same state always renders the same objects, so a reconciler can diff desired
 * against observed and write only differences.
 *
 * The grouped design (see README.md for the object count): one ClusterRole per
 * role template in use, with the template's flattened rules; one
 * ClusterRoleBinding per cluster template listing every subject that holds it; in
 * each project namespace one RoleBinding per template listing every subject that
 * holds it there; per project one ClusterRole naming its namespaces (so members
 * can get/list/watch exactly those) and its bindings. Bindings are sharded by
 * `maxSubjectsPerBinding`.
 *
 * A binding that cannot be rendered (unknown template, wrong context, unknown
 * project) is skipped and reported, never fatal: one bad binding must not stop a
 * cluster's reconciliation.
 */
import { InvalidArgumentError } from '../errors/index.ts';
import { covers } from './covers.ts';
import { clusterRoleRef, type ClusterRole, type ClusterRoleBinding, type RbacSubject, type RoleBinding, isObjectId, ownedLabels, PROJECT_LABEL, PURPOSE_LABEL, ROLE_TEMPLATE_LABEL, USER_LABEL } from '../downstream/index.ts';
import type { RoleTemplateCatalog } from './role-template-catalog.ts';
import { shardSubjects, uniqueSubjects } from './subject-shards.ts';
import type {
  BindingSubject, ClusterRoleTemplateBinding, PolicyRule, Project, ProjectRoleTemplateBinding, RoleTemplateContext,
} from './types.ts';

export interface ClusterAccessState {
  clusterId: string;
  catalog: RoleTemplateCatalog;
  /** The cluster's projects with their current, non-terminating namespaces. */
  projects: readonly Project[];
  clusterBindings: readonly ClusterRoleTemplateBinding[];
  projectBindings: readonly ProjectRoleTemplateBinding[];
  /** Ids of the enabled users whose global role is admin; each gets `globaladmin-<userId>` here. */
  globalAdmins?: readonly string[];
}

export interface RenderOptions {
  /** Subjects per (Cluster)RoleBinding before it is sharded; 10-5000, default 500. */
  maxSubjectsPerBinding?: number;
}

export interface SkippedBinding { bindingId: string; reason: string }

export interface DesiredRbac {
  clusterRoles: ClusterRole[];
  clusterRoleBindings: ClusterRoleBinding[];
  roleBindings: RoleBinding[];
  /** Bindings left out, with why; the caller reports them (status, log). */
  skipped: SkippedBinding[];
}

export const DEFAULT_MAX_SUBJECTS_PER_BINDING = 500;
const NAMESPACE_READ = ['get', 'list', 'watch'];
const NAMESPACE_WRITE = ['delete', 'patch', 'update'];

export const templateClusterRoleName = (template: string): string => `drover-rt-${template}`;
export const projectNamespacesRoleName = (projectId: string, access: 'view' | 'edit'): string => `drover-${projectId}-namespaces-${access}`;
/** The reference's name for a global admin's downstream binding to `cluster-admin`. */
export const globalAdminBindingName = (userId: string): string => `globaladmin-${userId}`;
/** The reference's annotation on that binding, naming the global role it comes from. */
export const GLOBAL_ROLE_ANNOTATION = 'authz.cluster.cattle.io/globalrole';

/** The Kubernetes subject for a binding subject: `User <userId>` or `Group <principalId>`. */
export function rbacSubject(subject: BindingSubject): RbacSubject {
  switch (subject.kind) {
    case 'user': return { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: subject.userId };
    case 'group': return { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: subject.principalId };
    default: {
      const never: never = subject;
      throw new InvalidArgumentError('subject.kind', '"user" or "group"', never);
    }
  }
}

/** Collects subjects under string keys, in insertion-independent (sorted) order on read. */
class SubjectSets {
  private readonly sets = new Map<string, RbacSubject[]>();
  add(key: string, subject: RbacSubject): void {
    const list = this.sets.get(key) ?? [];
    list.push(subject);
    this.sets.set(key, list);
  }
  entries(): [string, RbacSubject[]][] {
    return [...this.sets.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, uniqueSubjects(v)]);
  }
}

interface Collected {
  templatesUsed: Set<string>;
  clusterSubjects: SubjectSets;
  /** key: `<namespace>\0<template>` */
  namespaceSubjects: SubjectSets;
  /** key: `<projectId>\0view|edit` */
  projectNamespaceSubjects: SubjectSets;
  skipped: SkippedBinding[];
}

/** The desired RBAC objects for one cluster. */
export function renderClusterRbac(state: ClusterAccessState, options: RenderOptions = {}): DesiredRbac {
  const max = options.maxSubjectsPerBinding ?? DEFAULT_MAX_SUBJECTS_PER_BINDING;
  if (!Number.isInteger(max) || max < 10 || max > 5000) throw new InvalidArgumentError('maxSubjectsPerBinding', 'an integer from 10 to 5000', max);
  const projects = new Map(state.projects.filter((p) => p.clusterId === state.clusterId).map((p) => [p.id, p]));
  const collected = collect(state, projects);
  return {
    clusterRoles: renderClusterRoles(state, collected, projects),
    clusterRoleBindings: [...renderClusterRoleBindings(collected, max), ...renderGlobalAdminBindings(state.globalAdmins ?? [], collected.skipped)],
    roleBindings: renderRoleBindings(collected, max),
    skipped: collected.skipped,
  };
}

function bindableTemplate(state: ClusterAccessState, name: string, context: RoleTemplateContext): PolicyRule[] | string {
  const template = state.catalog.get(name);
  if (!template) return `role template "${name}" does not exist`;
  if (template.context !== context) return `role template "${name}" is a ${template.context} role, bound on a ${context}`;
  return state.catalog.resolve(name).rules;
}

function collect(state: ClusterAccessState, projects: ReadonlyMap<string, Project>): Collected {
  const c: Collected = {
    templatesUsed: new Set(), clusterSubjects: new SubjectSets(), namespaceSubjects: new SubjectSets(),
    projectNamespaceSubjects: new SubjectSets(), skipped: [],
  };
  for (const b of state.clusterBindings) {
    if (b.clusterId !== state.clusterId) continue;
    const rules = bindableTemplate(state, b.roleTemplate, 'cluster');
    if (typeof rules === 'string') { c.skipped.push({ bindingId: b.id, reason: rules }); continue; }
    c.templatesUsed.add(b.roleTemplate);
    c.clusterSubjects.add(b.roleTemplate, rbacSubject(b.subject));
  }
  const namespaceWrite: PolicyRule[] = [{ apiGroups: [''], resources: ['namespaces'], verbs: NAMESPACE_WRITE }];
  for (const b of state.projectBindings) {
    if (b.clusterId !== state.clusterId) continue;
    const project = projects.get(b.projectId);
    if (!project) { c.skipped.push({ bindingId: b.id, reason: `project "${b.projectId}" is not in cluster "${state.clusterId}"` }); continue; }
    const rules = bindableTemplate(state, b.roleTemplate, 'project');
    if (typeof rules === 'string') { c.skipped.push({ bindingId: b.id, reason: rules }); continue; }
    if (!isObjectId(project.id)) { c.skipped.push({ bindingId: b.id, reason: `project id "${project.id}" cannot be part of an object name` }); continue; }
    const subject = rbacSubject(b.subject);
    c.templatesUsed.add(b.roleTemplate);
    for (const ns of project.namespaces) c.namespaceSubjects.add(`${ns}\u0000${b.roleTemplate}`, subject);
    // Empty resourceNames would mean "every namespace": a project without namespaces gets no namespace role at all.
    if (project.namespaces.length === 0) continue;
    c.projectNamespaceSubjects.add(`${project.id}\u0000view`, subject);
    if (covers(rules, namespaceWrite).covered) c.projectNamespaceSubjects.add(`${project.id}\u0000edit`, subject);
  }
  return c;
}

function renderClusterRoles(state: ClusterAccessState, c: Collected, projects: ReadonlyMap<string, Project>): ClusterRole[] {
  const roles: ClusterRole[] = [...c.templatesUsed].sort().map((name) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
    metadata: { name: templateClusterRoleName(name), labels: ownedLabels('rbac', { [PURPOSE_LABEL]: 'role-template', [ROLE_TEMPLATE_LABEL]: name }) },
    rules: state.catalog.resolve(name).rules,
  }));
  for (const [key] of c.projectNamespaceSubjects.entries()) {
    const [projectId = '', access] = key.split('\u0000') as [string, 'view' | 'edit'];
    const namespaces = [...new Set(projects.get(projectId)?.namespaces ?? [])].sort();
    if (namespaces.length === 0) continue; // never reached (collect skips such projects); kept as the last line of defence
    roles.push({
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
      metadata: { name: projectNamespacesRoleName(projectId, access), labels: ownedLabels('rbac', { [PURPOSE_LABEL]: 'project-namespaces', [PROJECT_LABEL]: projectId }) },
      rules: [{ apiGroups: [''], resources: ['namespaces'], resourceNames: namespaces, verbs: access === 'view' ? NAMESPACE_READ : NAMESPACE_WRITE }],
    });
  }
  return roles;
}

function renderClusterRoleBindings(c: Collected, max: number): ClusterRoleBinding[] {
  const out: ClusterRoleBinding[] = [];
  for (const [template, subjects] of c.clusterSubjects.entries()) {
    for (const [shard, members] of shardSubjects(subjects, max)) {
      out.push({
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding',
        metadata: { name: `${templateClusterRoleName(template)}-${shard}`, labels: ownedLabels('rbac', { [PURPOSE_LABEL]: 'cluster-binding', [ROLE_TEMPLATE_LABEL]: template }) },
        roleRef: clusterRoleRef(templateClusterRoleName(template)), subjects: members,
      });
    }
  }
  for (const [key, subjects] of c.projectNamespaceSubjects.entries()) {
    const [projectId = '', access] = key.split('\u0000') as [string, 'view' | 'edit'];
    const role = projectNamespacesRoleName(projectId, access);
    for (const [shard, members] of shardSubjects(subjects, max)) {
      out.push({
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding',
        metadata: { name: `${role}-${shard}`, labels: ownedLabels('rbac', { [PURPOSE_LABEL]: 'project-namespaces', [PROJECT_LABEL]: projectId }) },
        roleRef: clusterRoleRef(role), subjects: members,
      });
    }
  }
  return out;
}

/**
 * One `globaladmin-<userId>` per admin, to the cluster's built-in `cluster-admin` (never a
 * Drover-made role: an admin must keep working even while role templates are broken).
 * An id that cannot be an object name is skipped and reported, like a bad binding.
 */
function renderGlobalAdminBindings(admins: readonly string[], skipped: SkippedBinding[]): ClusterRoleBinding[] {
  const out: ClusterRoleBinding[] = [];
  for (const userId of [...new Set(admins)].sort()) {
    if (!isObjectId(userId)) { skipped.push({ bindingId: `globaladmin:${userId}`, reason: `user id ${JSON.stringify(userId)} cannot be part of an object name` }); continue; }
    out.push({
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding',
      metadata: {
        name: globalAdminBindingName(userId),
        labels: ownedLabels('rbac', { [PURPOSE_LABEL]: 'global-admin', [USER_LABEL]: userId }),
        annotations: { [GLOBAL_ROLE_ANNOTATION]: 'admin' },
      },
      roleRef: clusterRoleRef('cluster-admin'), subjects: [rbacSubject({ kind: 'user', userId })],
    });
  }
  return out;
}

function renderRoleBindings(c: Collected, max: number): RoleBinding[] {
  const out: RoleBinding[] = [];
  for (const [key, subjects] of c.namespaceSubjects.entries()) {
    const [namespace = '', template = ''] = key.split('\u0000');
    for (const [shard, members] of shardSubjects(subjects, max)) {
      out.push({
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding',
        metadata: { name: `${templateClusterRoleName(template)}-${shard}`, namespace, labels: ownedLabels('rbac', { [PURPOSE_LABEL]: 'project-binding', [ROLE_TEMPLATE_LABEL]: template }) },
        roleRef: clusterRoleRef(templateClusterRoleName(template)), subjects: members,
      });
    }
  }
  return out;
}
