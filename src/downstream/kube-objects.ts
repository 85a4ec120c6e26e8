/**
 * The few Kubernetes object shapes the access model renders, as plain JSON-ready
 * data (what `kubectl apply -f -` or a REST POST takes). Only the fields Drover
 * sets are typed; the server adds the rest.
 */
import type { PolicyRule } from '../kube/index.ts';

export interface OwnerReference { apiVersion: string; kind: string; name: string; uid: string }

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface RbacSubject { kind: 'User' | 'Group' | 'ServiceAccount'; name: string; apiGroup?: string; namespace?: string }
export interface RoleRef { apiGroup: 'rbac.authorization.k8s.io'; kind: 'ClusterRole'; name: string }

type RBAC = 'rbac.authorization.k8s.io/v1';

export interface ClusterRole { apiVersion: RBAC; kind: 'ClusterRole'; metadata: ObjectMeta; rules: PolicyRule[] }
export interface ClusterRoleBinding { apiVersion: RBAC; kind: 'ClusterRoleBinding'; metadata: ObjectMeta; roleRef: RoleRef; subjects: RbacSubject[] }
export interface RoleBinding { apiVersion: RBAC; kind: 'RoleBinding'; metadata: ObjectMeta & { namespace: string }; roleRef: RoleRef; subjects: RbacSubject[] }
export interface Namespace { apiVersion: 'v1'; kind: 'Namespace'; metadata: ObjectMeta }
export interface ServiceAccount { apiVersion: 'v1'; kind: 'ServiceAccount'; metadata: ObjectMeta & { namespace: string }; automountServiceAccountToken: boolean }
export interface Secret { apiVersion: 'v1'; kind: 'Secret'; metadata: ObjectMeta & { namespace: string }; type: string }

export type AccessObject = ClusterRole | ClusterRoleBinding | RoleBinding | Namespace | ServiceAccount | Secret;

export const clusterRoleRef = (name: string): RoleRef => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name });
