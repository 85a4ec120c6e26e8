/**
 * The access model's vocabulary: Kubernetes RBAC rules, Drover's role templates,
 * projects, the two kinds of role template bindings, and the user identity the
 * proxy impersonates. Plain data; no behaviour lives here.
 */

import type { PolicyRule } from '../kube/types.ts';

/** A Kubernetes RBAC rule, field for field as `rbac.authorization.k8s.io/v1 PolicyRule`. */
export type { PolicyRule };

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

/** The identity the proxy forwards as: what the impersonation headers carry and the impersonation role allows. */
export interface UserIdentity {
  /** Drover user id (`u-...`): the Kubernetes user name downstream. */
  id: string;
  /** The login name, sent as the `username` extra. */
  username: string;
  /** Every principal URI of the user (`local://u-abc`, `github_user://1`), sent as `principalid` extras. */
  principalIds: string[];
  /** Group principals (and any other group names); `system:authenticated` and `system:cattle:authenticated` are added. */
  groups: string[];
}
