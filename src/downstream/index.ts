/**
 * downstream/: the objects Drover owns on downstream clusters, as plain JSON-ready
 * shapes, and the labels that mark them ours. Both the RBAC objects (access/) and the
 * impersonation accounts (impersonation/) are built from these, so a reconciler lists
 * exactly what it owns with one selector, and an id that would make a bad object name
 * or label value is refused here before it reaches one.
 */
export {
  COMPONENT_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE, PROJECT_LABEL, PURPOSE_LABEL, ROLE_TEMPLATE_LABEL, USER_LABEL,
  assertObjectId, isObjectId, isOwnedByDrover, ownedLabels, ownedSelector, type Component,
} from './labels.ts';
export {
  clusterRoleRef, type AccessObject, type ClusterRole, type ClusterRoleBinding, type Namespace, type ObjectMeta, type OwnerReference,
  type RbacSubject, type RoleBinding, type RoleRef, type Secret, type ServiceAccount,
} from './kube-objects.ts';
