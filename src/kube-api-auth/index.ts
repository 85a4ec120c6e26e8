/**
 * kube-api-auth/: the authorized cluster endpoint (ACE). Two halves:
 *
 * - In the cluster, `drover kube-api-auth` answers kube-apiserver's TokenReview
 *   webhook from watch-backed caches of ClusterAuthToken / ClusterUserAttribute
 *   records, offline: it keeps working with the Drover server gone.
 * - On the server, AceSync keeps those records equal to the store in every live
 *   cluster, each cluster on its own.
 *
 * Trusts: the records in its own cluster's `cattle-system` (whoever can write
 *   them is a cluster admin already) and the `drover-ace` ConfigMap naming the
 *   cluster. Holds only salted SHA3 hashes, never a secret.
 * Refuses: anything that is not a well-formed `token-<id>:<secret>`; unknown ids
 *   (after spending the same hash work as a known one); a wrong secret; a record
 *   for another cluster; disabled or expired tokens; a missing or disabled user
 *   attribute. Bodies that are not a v1/v1beta1 TokenReview, or over 64 KiB: 400.
 * Fails closed: until every cache has listed, and while the cluster id is unknown,
 *   every token is refused. The reason goes to the log, never to the caller, and
 *   never the secret.
 */
export {
  aceCrds, aceGroup, aceVersion, aceNamespace, aceConfigMapName, clusterAuthToken, clusterUserAttribute,
  clusterAuthTokens, clusterUserAttributes, clusterAuthTokenSchema, clusterUserAttributeSchema,
  type ClusterAuthToken, type ClusterUserAttribute, type ClusterAuthTokenSpec, type ClusterUserAttributeSpec,
} from './crds.ts';
export { TokenReviewAuthenticator, type ReviewOutcome, type ReviewUser, type TokenRecordsReader } from './token-authenticator.ts';
export { parseTokenReview, tokenReviewResponse, tokenReviewVersions } from './token-review.ts';
export { WebhookServer, authenticatePath, maxReviewBodyBytes } from './webhook-server.ts';
export { KubeApiAuth, parseListen, type KubeApiAuthOptions } from './kube-api-auth.ts';
export { webhookConfig, kubeApiserverFlags, defaultWebhookUrl } from './webhook-config.ts';
export { AceSync, adminsOnly, type AceSyncOptions, type ClusterAccessCheck, type SyncTarget } from './sync.ts';
export { AceSettings, checkAceSetting, type AceSetting, type AceContext } from './ace-settings.ts';
export { aceApi } from './ace-api.ts';
