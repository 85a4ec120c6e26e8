/** Shapes the REST API answers with (see GET /v1/openapi.json). */
export interface User {
  id: string; username: string; displayName: string; enabled: boolean; globalRole: 'admin' | 'user';
  principalIds: string[]; mustChangePassword: boolean; createdAt: string; updatedAt: string;
}
export interface Session { csrfToken: string; expiresAt?: string; user: User }
export interface AuthProviderInfo { name: string; style: string; displayName: string }
export interface Cluster {
  id: string; name: string; displayName: string; state: 'pending' | 'provisioning' | 'active' | 'unavailable'; stateReason: string;
  kubernetesVersion?: string; nodeCount?: number; capacity?: { cpu: string; memory: string; pods: string };
  tunnel?: 'cluster' | 'node'; lastSeenAt?: string; apiServer?: string; createdAt: string;
}
export interface Registration { token: string; caChecksum: string; agentCommand: string; manifestUrl: string; kubectlCommand: string }
export interface Warning { reason: string; message: string; object: string; count: number; lastSeen: string }
export interface Member {
  id: string; clusterId: string; projectId?: string; projectName?: string; roleTemplate: string;
  subjectKind: 'user' | 'group'; subject: string; username?: string;
}
export interface Project { id: string; clusterId: string; name: string; createdAt: string }
export interface RoleTemplate {
  name: string; displayName: string; description: string; context: 'cluster' | 'project';
  rules: unknown[]; inherits: string[]; builtin: boolean; locked: boolean;
}
export interface Token {
  id: string; userId: string; kind: 'session' | 'api' | 'kubeconfig'; authProvider: string; description: string;
  clusterId?: string; enabled: boolean; createdAt: string; expiresAt?: string; lastUsedAt?: string; current?: boolean;
}
export interface IssuedToken { token: string; tokenId: string; expiresAt?: string; user: User }
export interface Principal { id: string; kind: 'user' | 'group'; provider: string; displayName: string; loginName?: string }
export type AceSetting = { mode: 'off' } | { mode: 'nodes' } | { mode: 'fqdn'; fqdn: string; caPem?: string };
export interface KubeList<T> { items: T[] }
export interface KubeNode {
  metadata: { name: string; labels?: Record<string, string> };
  status?: { capacity?: Record<string, string>; allocatable?: Record<string, string>; nodeInfo?: { kubeletVersion?: string };
    conditions?: Array<{ type: string; status: string }> };
}
export interface KubeNamespace { metadata: { name: string; annotations?: Record<string, string> }; status?: { phase?: string } }
