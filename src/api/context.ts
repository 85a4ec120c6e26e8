/** What the API's route plugins receive. */
import type { AuthenticatedUser, Identity, LoginInput, LoginResult } from '../identity/index.ts';
import type { Metrics } from './metrics.ts';

export interface ApiContext {
  identity: Identity;
  metrics: Metrics;
  /** The CA that signed the serving certificate, served at /cacerts. */
  caPem: string;
  /** Throws when the server cannot serve (database down); for /readyz. */
  readiness: () => Promise<void>;
  /** Password logins for providers other than local (LDAP, AD), when wired; POST /v1/session uses it. */
  passwordLogin?: (provider: string, input: LoginInput) => Promise<LoginResult>;
  /**
   * The id of the cluster (by id or name) that `user` may use, or undefined when there is
   * none: what POST /v1/tokens scopes a token to. Without it, cluster-scoped tokens are refused.
   */
  usableCluster?: (user: AuthenticatedUser, idOrName: string) => Promise<string | undefined>;
  /** A kubeconfig token's lifetime under the kubeconfig settings (the requested one, bounded, or the default); throws past the maximum. */
  kubeconfigTokenTtl?: (requestedSeconds: number | undefined) => Promise<number>;
}
