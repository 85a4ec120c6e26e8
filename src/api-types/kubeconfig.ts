/** Kubeconfigs, exec-plugin tokens, their settings, and the doctor's report (routes in src/proxy/). */
import { Type, type Static } from 'typebox';

const IssuedKubeconfigToken = Type.Object({ id: Type.String(), expiresAt: Type.Optional(Type.String()) });

export const Kubeconfig = Type.Object({
  kubeconfig: Type.String(),
  token: Type.Optional(IssuedKubeconfigToken),
  /** Names of the authorized cluster endpoint contexts the kubeconfig also holds. */
  aceContexts: Type.Array(Type.String()),
});
export type Kubeconfig = Static<typeof Kubeconfig>;

export const MergedKubeconfig = Type.Object({
  kubeconfig: Type.String(),
  currentContext: Type.String(),
  /** Every context in the file, proxy contexts (one per cluster) first. */
  contexts: Type.Array(Type.String()),
  aceContexts: Type.Array(Type.String()),
  /** The cluster-scoped tokens issued, one per cluster (none with the exec plugin). */
  tokens: Type.Array(Type.Object({ cluster: Type.String(), id: Type.String(), expiresAt: Type.Optional(Type.String()) })),
});
export type MergedKubeconfig = Static<typeof MergedKubeconfig>;

export const PluginToken = Type.Object({ token: Type.String(), expiresAt: Type.Optional(Type.String()) });
export type PluginToken = Static<typeof PluginToken>;

export const KubeconfigSettingsView = Type.Object({
  defaultTtlSeconds: Type.Integer(),
  maxTtlSeconds: Type.Integer(),
  generateToken: Type.Boolean(),
  /** `environment`: nobody saved them yet, the DROVER_KUBECONFIG_* variables apply. */
  source: Type.Union([Type.Literal('stored'), Type.Literal('environment')]),
  updatedAt: Type.Optional(Type.String()),
});
export type KubeconfigSettingsView = Static<typeof KubeconfigSettingsView>;

export const DoctorReport = Type.Object({
  clusterId: Type.String(), userId: Type.String(), username: Type.String(), ok: Type.Boolean(),
  findings: Type.Array(Type.Object({ check: Type.String(), ok: Type.Boolean(), detail: Type.String() })),
});
export type DoctorReport = Static<typeof DoctorReport>;
