/**
 * proxy/: the authentication proxy at `/k8s/clusters/<clusterID>/...`.
 *
 * Why a per-user service account: the proxy never sends a caller's credential
 * downstream and never acts with the cluster-admin account for ordinary traffic.
 * Each request goes out with the token of `cattle-impersonation-<userID>`, whose
 * ClusterRole allows `impersonate` on that one user, its groups and its two extras
 * only, plus `Impersonate-*` headers naming that user. A leaked account token can
 * therefore act as its user and nobody else.
 *
 * Trusts: the identity folder's verdict on a Drover bearer token; the cluster's
 * own CA for TLS, end to end through the agent's tunnel.
 * Root Kubernetes paths (`/api`, `/apis`, `/version`, `/openapi/`), which `kubectl
 * get --raw` sends without the kubeconfig's `/k8s/clusters/<id>` prefix, go to the
 * cluster the caller's token is scoped to, through the same chain.
 * Hot path: no API call, and no await in the account step, once a user's account exists; the account
 * token and the egress identity headers are memoised per (cluster, user, token) and
 * invalidated when any of the account's four objects changes in the watch caches.
 * Caches and connection pools of a cluster that is deleted or gone are dropped.
 * Refuses: Basic auth, a UI cookie without its CSRF token and our Origin, a cluster-scoped token for another
 * cluster, non-members (403 before anything goes downstream), every caller
 * identity header (any casing, duplicated, or named in Connection), `--as` that a
 * SubjectAccessReview does not allow, redirects to foreign hosts.
 * Kubeconfig token settings (`/v1/settings/kubeconfig`) live here too: stored by
 * admins, the environment's DROVER_KUBECONFIG_* as defaults, read on every kubeconfig
 * and plugin-token request from an in-memory copy (other replicas re-read within 10 s).
 * Ends what access no longer covers: every forwarded request and upgrade is held in
 * `OpenStreams` while open and re-checked with the chain's own rules on every token,
 * user and membership change and every 2 s, so a watch, `logs -f`, exec, attach or
 * port-forward ends within seconds of a disable, delete, revoke, expiry or removal.
 * Bounds every wait that holds a tunnel stream: an upgrade declaring a body is a 400
 * before anything goes downstream, and a cluster that sends no response head within
 * `--proxy-response-header-timeout` is a 504 naming it (bodies are never timed).
 * Fails closed: caches not synced are waited for, never bypassed; an egress list
 * holding any identity header that is not ours is a 500 and nothing is sent; a
 * failed upgrade closes both sockets; stored kubeconfig settings that fail their
 * checks refuse kubeconfigs and plugin tokens until an admin saves them again.
 */
export { holdsConnection } from './connection-use.ts';
export { parseClusterPath, parseRootKubePath, rootKubePrefixes, clusterPathPrefix, type ClusterPath } from './cluster-path.ts';
export { scrubCallerHeaders, type RequestedImpersonation, type ScrubbedRequest } from './caller-headers.ts';
export { assertOnlyOurIdentity, downstreamFailure, forwardRequest, hasBody, misdirectedHeader, noAnswerInTime, rewriteLocation, type ForwardRequest } from './forward.ts';
export { OpenStreams, followAccessChanges, type AccessChange, type AccessChangeSources, type AccessRecheck, type EndStream, type OpenStreamsOptions, type StreamOwner } from './open-streams.ts';
export { forwardUpgrade, type UpgradeRequest } from './upgrade.ts';
export { UpstreamPools, connectTls, type UpstreamEndpoint } from './upstream.ts';
export { writeKubeStatus, writeKubeStatusToSocket, kubeStatusBody } from './kube-status.ts';
export {
  createProxyHandlers, proxyChain, upgradeChain, runChain, checkClusterAccess, recheckAccess, refuseUpgradeBody, upgradeBodyError, type ClusterMembership, type ProxyCluster, type ProxyClusters,
  type ProxyContext, type ProxyDeps, type ProxyStep, type ImpersonationTokenSource,
} from './chain.ts';
export { createProxyFeature, type ProxyFeature, type ProxyFeatureOptions } from './feature.ts';
export { renderKubeconfig, EXEC_CREDENTIAL_API_VERSION, type KubeconfigCredential, type KubeconfigInput } from './kubeconfig.ts';
export {
  checkKubeconfigSettings, kubeconfigTokenTtl, KubeconfigSettingsStore, MIN_TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS,
  type KubeconfigSettings, type KubeconfigSettingsView, type KubeconfigSettingsSource,
} from './kubeconfig-settings.ts';
export { settingsApi } from './settings-api.ts';
