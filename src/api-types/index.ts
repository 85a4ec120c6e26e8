/**
 * api-types/: the REST API's response shapes, declared once as TypeBox schemas with
 * their TypeScript types beside them (`User` is both the schema and `Static<typeof
 * User>`). The routes answer with these schemas (which shape the JSON and generate
 * /v1/openapi.json); the CLI and the web UI import the types type-only, as
 * Backstage's frontends import the types of the package their backend answers with,
 * so a field cannot drift between server and clients. It imports nothing but TypeBox,
 * so the UI's type check and bundle never see server code.
 */
export { AceContext, AceSetting, AceView } from './ace.ts';
export { Member, PlacedNamespace, PolicyRule, Project, RemovedMembers, ResolvedRoleTemplate, RoleTemplate, VisibleNamespace } from './access.ts';
export { Cluster, ClusterWarning, CreatedCluster, Registration } from './clusters.ts';
export { DoctorReport, Kubeconfig, KubeconfigSettingsView, MergedKubeconfig, PluginToken } from './kubeconfig.ts';
export { AuthProviderInfo, CollectedToken, LoginLink, Principal, ProviderAccessMode, ProviderStyle, ProviderTestAnswer, ProviderView } from './providers.ts';
export { ClusterUpgrade, CreatedCustomCluster, CustomRegistration, EtcdSnapshot, KubernetesVersions, NodeStep, ProvisionedNode, ProvisionedNodes, RestoreAsked, SnapshotSchedule } from './provisioning.ts';
export { CreatedUser, IssuedToken, Session, Token, User, Whoami } from './users.ts';
