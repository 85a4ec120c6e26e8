/**
 * The access model's vocabulary: Kubernetes RBAC rules, Drover's role templates,
 * projects, the two kinds of role template bindings, and the user identity the
 * proxy impersonates. Plain data; no behaviour lives here.
 */

import type { PolicyRule } from '../kube/index.ts';
import type { UserIdentity } from '../impersonation/index.ts';

/** A Kubernetes RBAC rule, field for field as `rbac.authorization.k8s.io/v1 PolicyRule`. */
export type { PolicyRule, UserIdentity };

export type RoleTemplateContext = 'cluster' | 'project';

/** A named rule set granted on a cluster or on a project, built in or custom. */
export interface RoleTemplate {
  /** DNS label, at most 50 characters: it becomes part of downstream object names and label values. */
  name: string;
  displayName: string;
  description: string;
  context: RoleTemplateContext;
  /** The template's own rules; inherited templates add theirs. */
  rules: PolicyRule[];
  /** Names of templates whose rules this one includes (same context or a project template inheriting a project one). */
  inherits: string[];
  builtin: boolean;
  /** A locked template keeps its existing bindings but accepts no new ones. */
  locked: boolean;
}

/** Who a binding grants to: a Drover user (by id) or a group principal (providers with groups). */
export type BindingSubject =
  | { kind: 'user'; userId: string }
  | { kind: 'group'; principalId: string };

/** A role template granted on a whole cluster (Rancher's CRTB). */
export interface ClusterRoleTemplateBinding {
  id: string;
  clusterId: string;
  roleTemplate: string;
  subject: BindingSubject;
}

/** A role template granted on one project: every namespace of the project (Rancher's PRTB). */
export interface ProjectRoleTemplateBinding {
  id: string;
  clusterId: string;
  projectId: string;
  roleTemplate: string;
  subject: BindingSubject;
}

/** A named group of namespaces in one cluster. `namespaces` is what the cluster's annotations say today. */
export interface Project {
  id: string;
  clusterId: string;
  name: string;
  namespaces: string[];
}

