/**
 * The five downstream objects that let the proxy act as one user, named as the
 * reference design names them:
 *
 *   Namespace           cattle-impersonation-system
 *   ClusterRole         cattle-impersonation-<userID>   impersonate: this user, its groups, its two extras; nothing else
 *   ServiceAccount      cattle-impersonation-system/cattle-impersonation-<userID>   owned by the ClusterRole
 *   Secret              cattle-impersonation-system/cattle-impersonation-<userID>-token-<hash>
 *                       type kubernetes.io/service-account-token, owned by the ServiceAccount
 *   ClusterRoleBinding  cattle-impersonation-<userID>   role -> account, owned by the ClusterRole
 *
 * Apply in `IMPERSONATION_APPLY_ORDER`, passing each owner's uid once it exists;
 * delete by deleting the ClusterRole, and Kubernetes' garbage collector removes
 * the rest. The token Secret's name is derived from the user id, never random,
 * so a retry or a lagging cache can never make a second Secret (the reference
 * design's "a Secret per request" failure). Since Kubernetes 1.24 token Secrets are
 * not created for accounts; the controller-manager fills this one's token.
 */
import { createHash } from 'node:crypto';
import { canonicalIdentity } from './identity.ts';
import { clusterRoleRef, type ClusterRole, type ClusterRoleBinding, type Namespace, type OwnerReference, type Secret, type ServiceAccount, ownedLabels, USER_LABEL } from '../downstream/index.ts';
import type { PolicyRule } from '../kube/index.ts';
import type { UserIdentity } from './identity.ts';

export const IMPERSONATION_NAMESPACE = 'cattle-impersonation-system';
export const IMPERSONATION_APPLY_ORDER = ['namespace', 'clusterRole', 'serviceAccount', 'tokenSecret', 'clusterRoleBinding'] as const;

export interface ImpersonationResources {
  namespace: Namespace;
  clusterRole: ClusterRole;
  serviceAccount: ServiceAccount;
  tokenSecret: Secret;
  clusterRoleBinding: ClusterRoleBinding;
}

/** Uids of already-created owners, to set owner references (absent uid, absent reference). */
export interface ImpersonationOwners { clusterRoleUid?: string; serviceAccountUid?: string }

/** `cattle-impersonation-<userID>`: the ClusterRole, ServiceAccount and ClusterRoleBinding name. */
export const impersonationName = (userId: string): string => `cattle-impersonation-${userId}`;

/** Kubernetes' own random-suffix alphabet (no vowels, no look-alikes). */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** `cattle-impersonation-<userID>-token-<hash>`: five characters derived from the user id, stable forever. */
export function impersonationTokenSecretName(userId: string): string {
  const digest = createHash('sha256').update(`drover:impersonation-token:${userId}`).digest();
  const suffix = [...digest.subarray(0, 5)].map((b) => SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length]).join('');
  return `${impersonationName(userId)}-token-${suffix}`;
}

/** The service account's full Kubernetes user name, as SubjectAccessReviews and audit logs show it. */
export const impersonationServiceAccountUser = (userId: string): string =>
  `system:serviceaccount:${IMPERSONATION_NAMESPACE}:${impersonationName(userId)}`;

/**
 * The impersonation ClusterRole's rules: `impersonate` on users [id], groups
 * [groups], userextras/principalid [principal ids], userextras/username
 * [username]. A list that would be empty is left out (an empty resourceNames list
 * would allow every name).
 */
export function impersonationRules(identity: UserIdentity): PolicyRule[] {
  const user = canonicalIdentity(identity);
  return rulesFromNames({ users: [user.id], groups: user.groups, principalid: user.principalIds, username: [user.username] });
}

export interface AllowedNames { users: string[]; groups: string[]; principalid: string[]; username: string[] }

export function rulesFromNames(names: AllowedNames): PolicyRule[] {
  const rule = (apiGroup: string, resource: string, list: string[]): PolicyRule[] =>
    list.length === 0 ? [] : [{ apiGroups: [apiGroup], resources: [resource], resourceNames: [...new Set(list)].sort(), verbs: ['impersonate'] }];
  return [
    ...rule('', 'users', names.users),
    ...rule('', 'groups', names.groups),
    ...rule('authentication.k8s.io', 'userextras/principalid', names.principalid),
    ...rule('authentication.k8s.io', 'userextras/username', names.username),
  ];
}

const ownerRef = (apiVersion: string, kind: string, name: string, uid: string | undefined): { ownerReferences?: OwnerReference[] } =>
  uid === undefined ? {} : { ownerReferences: [{ apiVersion, kind, name, uid }] };

/** The five objects for `identity`; owner references appear once the owners' uids are given. */
export function renderImpersonationResources(identity: UserIdentity, owners: ImpersonationOwners = {}): ImpersonationResources {
  const user = canonicalIdentity(identity);
  const name = impersonationName(user.id);
  const labels = ownedLabels('impersonation', { [USER_LABEL]: user.id });
  const byRole = ownerRef('rbac.authorization.k8s.io/v1', 'ClusterRole', name, owners.clusterRoleUid);
  const serviceAccountAnnotations: Record<string, string> = { 'kubernetes.io/service-account.name': name };
  if (owners.serviceAccountUid !== undefined) serviceAccountAnnotations['kubernetes.io/service-account.uid'] = owners.serviceAccountUid;
  return {
    namespace: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: IMPERSONATION_NAMESPACE, labels: ownedLabels('impersonation') } },
    clusterRole: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels }, rules: impersonationRules(user) },
    serviceAccount: {
      apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: IMPERSONATION_NAMESPACE, labels, ...byRole },
      automountServiceAccountToken: false,
    },
    tokenSecret: {
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token',
      metadata: {
        name: impersonationTokenSecretName(user.id), namespace: IMPERSONATION_NAMESPACE, labels, annotations: serviceAccountAnnotations,
        ...ownerRef('v1', 'ServiceAccount', name, owners.serviceAccountUid),
      },
    },
    clusterRoleBinding: {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name, labels, ...byRole },
      roleRef: clusterRoleRef(name),
      subjects: [{ kind: 'ServiceAccount', name, namespace: IMPERSONATION_NAMESPACE }],
    },
  };
}
