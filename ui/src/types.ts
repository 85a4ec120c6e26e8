/**
 * The REST API's shapes are the server's own (its TypeBox schemas, src/api-types/),
 * imported type-only: the build drops the import, so no server code reaches the bundle.
 */
export type {
  AceView, AuthProviderInfo, Cluster, ClusterUpgrade, ClusterWarning, CreatedCluster, CreatedCustomCluster, CustomRegistration, EtcdSnapshot, IssuedToken,
  KubeconfigSettingsView, KubernetesVersions, Member, Principal, Project, ProvisionedNode, ProvisionedNodes, ProviderTestAnswer, ProviderView,
  Registration, RestoreAsked, RoleTemplate, Session, SnapshotSchedule, Token, User, VisibleNamespace,
} from '../../src/api-types/index.ts';

/** Kubernetes objects read through the proxy: kube-apiserver's shapes, the fields the pages show. */
export interface KubeList<T> { items: T[] }
export interface KubeNode {
  metadata: { name: string; labels?: Record<string, string> };
  status?: { capacity?: Record<string, string>; allocatable?: Record<string, string>; nodeInfo?: { kubeletVersion?: string };
    conditions?: Array<{ type: string; status: string }> };
}
export interface KubeNamespace { metadata: { name: string; annotations?: Record<string, string> }; status?: { phase?: string } }
