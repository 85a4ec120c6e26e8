/**
 * The built-in role templates. Rules are explicit (no aggregation labels), so a
 * binding works the moment its ClusterRole exists. Project roles follow upstream
 * Kubernetes' `view` / `edit` / `admin` (read from kube-apiserver 1.36's
 * `system:aggregate-to-*` roles), split into finer templates and recomposed by
 * inheritance:
 *
 *   read-only      = view-workloads + view-services + view-config (+ namespace read)   ~ upstream view
 *   project-member = read-only + manage-workloads/services/config/secrets              ~ upstream edit
 *   project-owner  = project-member + manage-rbac (+ updating the project's namespaces) ~ upstream admin
 *
 * As upstream `view`, nothing named "view" or "read-only" reads Secrets (a Secret
 * read is a credential read). No built-in except cluster-owner holds `bind`,
 * `escalate` or `impersonate` on users/groups: Kubernetes then lets RBAC managers
 * grant only what they hold themselves. (`edit`'s `impersonate serviceaccounts`
 * in a namespace is kept, as upstream has it: a project member can already run
 * pods as any service account of the namespace.)
 */
import type { PolicyRule, RoleTemplate, RoleTemplateContext } from './types.ts';

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];

const rule = (apiGroups: string[], resources: string[], verbs: string[]): PolicyRule => ({ apiGroups, resources, verbs });

function template(
  name: string, context: RoleTemplateContext, displayName: string, description: string, rules: PolicyRule[], inherits: string[] = [],
): RoleTemplate {
  return { name, displayName, description, context, rules, inherits, builtin: true, locked: false };
}

const workloadsCore = ['pods', 'replicationcontrollers', 'replicationcontrollers/scale'];
const apps = ['daemonsets', 'deployments', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale'];

const projectTemplates: RoleTemplate[] = [
  template('view-workloads', 'project', 'View Workloads', 'Read pods, their logs and status, controllers, jobs, autoscalers and disruption budgets.', [
    rule([''], [...workloadsCore, 'pods/log', 'pods/status', 'replicationcontrollers/status'], READ),
    rule(['', 'events.k8s.io'], ['events'], READ),
    rule(['apps'], [...apps, 'controllerrevisions', 'daemonsets/status', 'deployments/status', 'replicasets/status', 'statefulsets/status'], READ),
    rule(['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status'], READ),
    rule(['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status'], READ),
    rule(['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status'], READ),
    rule(['resource.k8s.io'], ['resourceclaims', 'resourceclaims/status', 'resourceclaimtemplates'], READ),
  ]),
  template('manage-workloads', 'project', 'Manage Workloads', 'Create, change and delete workloads; exec, attach, port-forward and evict pods.', [
    rule([''], ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy'], READ),
    rule([''], [...workloadsCore, 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy'], WRITE),
    rule([''], ['pods/eviction'], ['create']),
    rule(['', 'events.k8s.io'], ['events'], WRITE),
    rule(['apps'], [...apps, 'deployments/rollback'], WRITE),
    rule(['autoscaling'], ['horizontalpodautoscalers'], WRITE),
    rule(['batch'], ['cronjobs', 'jobs'], WRITE),
    rule(['policy'], ['poddisruptionbudgets'], WRITE),
    rule(['resource.k8s.io'], ['resourceclaims', 'resourceclaimtemplates'], WRITE),
    rule(['coordination.k8s.io'], ['leases'], [...READ, ...WRITE]),
  ], ['view-workloads']),
  template('view-services', 'project', 'View Services', 'Read services, endpoints, ingresses and network policies.', [
    rule([''], ['endpoints', 'services', 'services/status'], READ),
    rule(['discovery.k8s.io'], ['endpointslices'], READ),
    rule(['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies'], READ),
  ]),
  template('manage-services', 'project', 'Manage Services', 'Create, change and delete services, ingresses and network policies; proxy to services.', [
    rule([''], ['services/proxy'], READ),
    rule([''], ['services', 'services/proxy'], WRITE),
    rule(['networking.k8s.io'], ['ingresses', 'networkpolicies'], WRITE),
  ], ['view-services']),
  template('view-config', 'project', 'View Config', 'Read config maps, volume claims, service accounts, quotas and limit ranges (not secrets).', [
    rule([''], ['configmaps', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'serviceaccounts'], READ),
    rule([''], ['limitranges', 'resourcequotas', 'resourcequotas/status'], READ),
  ]),
  template('manage-config', 'project', 'Manage Config', 'Create, change and delete config maps, volume claims and service accounts, and request their tokens.', [
    rule([''], ['configmaps', 'persistentvolumeclaims', 'serviceaccounts'], WRITE),
    rule([''], ['serviceaccounts/token'], ['create']),
    rule([''], ['serviceaccounts'], ['impersonate']),
  ], ['view-config']),
  template('view-secrets', 'project', 'View Secrets', 'Read secrets (credentials: grant with care).', [
    rule([''], ['secrets'], READ),
  ]),
  template('manage-secrets', 'project', 'Manage Secrets', 'Read, create, change and delete secrets.', [
    rule([''], ['secrets'], WRITE),
  ], ['view-secrets']),
  template('view-rbac', 'project', 'View Project RBAC', 'Read roles and role bindings in the project\'s namespaces.', [
    rule(['rbac.authorization.k8s.io'], ['rolebindings', 'roles'], READ),
  ]),
  template('manage-rbac', 'project', 'Manage Project RBAC', 'Manage roles and role bindings; Kubernetes lets them grant only what the user holds (no bind or escalate).', [
    rule(['rbac.authorization.k8s.io'], ['rolebindings', 'roles'], WRITE),
    rule(['authorization.k8s.io'], ['localsubjectaccessreviews'], ['create']),
  ], ['view-rbac']),
  template('read-only', 'project', 'Read-only', 'See everything in the project except secrets, as Kubernetes\' view role.', [
    rule([''], ['namespaces'], READ),
    rule([''], ['bindings', 'namespaces/status'], READ),
  ], ['view-workloads', 'view-services', 'view-config']),
  template('project-member', 'project', 'Project Member', 'Work in the project\'s namespaces, as Kubernetes\' edit role.', [],
    ['read-only', 'manage-workloads', 'manage-services', 'manage-config', 'manage-secrets']),
  template('project-owner', 'project', 'Project Owner', 'Everything a member can, plus roles and bindings and changing or deleting the project\'s namespaces, as Kubernetes\' admin role.', [
    rule([''], ['namespaces'], ['delete', 'patch', 'update']),
    // Drover's own API, not the cluster's: lets the owner manage the project's members (escalation-guard.ts).
    rule(['management.drover.io'], ['projectroletemplatebindings'], ['create', 'delete', 'get', 'list']),
  ], ['project-member', 'manage-rbac']),
];

const clusterTemplates: RoleTemplate[] = [
  template('cluster-owner', 'cluster', 'Cluster Owner', 'Everything on the cluster, including RBAC and its members.', [
    rule(['*'], ['*'], ['*']),
    { nonResourceURLs: ['*'], verbs: ['*'] },
  ]),
  template('view-nodes', 'cluster', 'View Nodes', 'Read nodes and their metrics.', [
    rule([''], ['nodes', 'nodes/status'], READ),
    rule(['metrics.k8s.io'], ['nodes'], ['get', 'list']),
  ]),
  template('manage-nodes', 'cluster', 'Manage Nodes', 'Cordon, label, taint, drain and delete nodes.', [
    rule([''], ['nodes'], ['delete', 'patch', 'update']),
    rule([''], ['pods'], ['get', 'list']),
    rule([''], ['pods/eviction'], ['create']),
    rule(['apps'], ['daemonsets'], ['get', 'list']),
  ], ['view-nodes']),
  template('view-namespaces', 'cluster', 'View Namespaces', 'List and read every namespace of the cluster.', [
    rule([''], ['namespaces'], READ),
  ]),
  template('manage-namespaces', 'cluster', 'Manage Namespaces', 'Create, change and delete any namespace of the cluster.', [
    rule([''], ['namespaces'], ['create', 'delete', 'patch', 'update']),
  ], ['view-namespaces']),
  template('view-cluster-rbac', 'cluster', 'View Cluster RBAC', 'Read cluster roles, roles and their bindings.', [
    rule(['rbac.authorization.k8s.io'], ['clusterrolebindings', 'clusterroles', 'rolebindings', 'roles'], READ),
  ]),
  template('manage-cluster-rbac', 'cluster', 'Manage Cluster RBAC', 'Manage cluster roles, roles and bindings; Kubernetes lets them grant only what the user holds (no bind or escalate).', [
    rule(['rbac.authorization.k8s.io'], ['clusterrolebindings', 'clusterroles', 'rolebindings', 'roles'], WRITE),
  ], ['view-cluster-rbac']),
  template('cluster-member', 'cluster', 'Cluster Member', 'See the cluster\'s shape: nodes, namespaces, storage, CRDs and API services; nothing inside namespaces.', [
    rule([''], ['persistentvolumes'], READ),
    rule(['storage.k8s.io'], ['csidrivers', 'csinodes', 'storageclasses'], READ),
    rule(['apiextensions.k8s.io'], ['customresourcedefinitions'], READ),
    rule(['apiregistration.k8s.io'], ['apiservices'], READ),
    rule(['networking.k8s.io'], ['ingressclasses'], READ),
    rule(['scheduling.k8s.io'], ['priorityclasses'], READ),
    rule(['node.k8s.io'], ['runtimeclasses'], READ),
  ], ['view-nodes', 'view-namespaces']),
];

/** Every built-in template, cluster ones first. Fresh objects on each call, so callers may not alter the originals. */
export function builtinRoleTemplates(): RoleTemplate[] {
  return structuredClone([...clusterTemplates, ...projectTemplates]);
}
