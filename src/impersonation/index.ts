/**
 * impersonation/: the per-user impersonation account, one home for what the proxy
 * and the RBAC reconciler both need. README.md holds the design note.
 *
 * Pure parts: the user identity the proxy acts as and its checks (`canonicalIdentity`),
 * the five `cattle-impersonation-<userID>` objects, the exact-rules role check, the
 * egress `Impersonate-*` headers, and the SubjectAccessReview checks a caller's
 * `--as` needs. With I/O: `KubeImpersonationAccounts` (watch caches and single-flight
 * writes per cluster) and `runDoctor` (the troubleshooting checks). It sits below
 * proxy/ and access/ and imports neither; server/wire.ts builds the accounts once and
 * hands them to both.
 */
export { AUTHENTICATED_GROUPS, assertHeaderSafe, canonicalIdentity, type UserIdentity } from './identity.ts';
export { identityKey } from './identity-key.ts';
export {
  IMPERSONATION_APPLY_ORDER, IMPERSONATION_NAMESPACE, impersonationName, impersonationRules, impersonationServiceAccountUser,
  impersonationTokenSecretName, renderImpersonationResources, type ImpersonationOwners, type ImpersonationResources,
} from './impersonation-resources.ts';
export { checkImpersonationRole, type ImpersonationRoleCheck } from './impersonation-role-check.ts';
export { encodeExtraKey, impersonationHeaders, IMPERSONATE_EXTRA_PREFIX, IMPERSONATE_GROUP, IMPERSONATE_USER } from './impersonation-headers.ts';
export {
  describeCheck, impersonationChecks, splitServiceAccountUsername, type ImpersonationCheck, type RequestedImpersonation,
} from './impersonation-checks.ts';
export {
  KubeImpersonationAccounts, type AdminClientSource, type ImpersonationAccounts, type ImpersonationAccountsOptions,
} from './accounts.ts';
export { runDoctor, type DoctorFinding, type DoctorReport } from './doctor.ts';
