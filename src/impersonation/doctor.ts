/**
 * `drover doctor`: the reference design's impersonation troubleshooting steps,
 * run server-side through the cluster's admin client, read fresh from the API
 * (not the caches, which are what might be wrong). Each finding says in plain
 * words what is wrong and what to do.
 */
import type { UserIdentity } from './identity.ts';
import { IMPERSONATION_NAMESPACE, impersonationName, impersonationTokenSecretName } from './impersonation-resources.ts';
import { checkImpersonationRole } from './impersonation-role-check.ts';
import {
  isKubeApiError, resourcePath, resources, type ClusterRole, type ClusterRoleBinding, type KubeClient, type KubeObject, type Secret,
} from '../kube/index.ts';

export interface DoctorFinding {
  check: string;
  ok: boolean;
  detail: string;
}

export interface DoctorReport {
  clusterId: string;
  userId: string;
  username: string;
  ok: boolean;
  findings: DoctorFinding[];
}

async function fetchOrUndefined<T extends KubeObject>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (error) {
    if (isKubeApiError(error, 404)) return undefined;
    throw error;
  }
}

const fix = 'send any kubectl request as this user through Drover (it recreates the account), or remove the ClusterRole so it is rebuilt';

export async function runDoctor(input: {
  client: KubeClient; clusterId: string; user: UserIdentity; hasAccess: boolean;
}): Promise<DoctorReport> {
  const { client, user } = input;
  const name = impersonationName(user.id);
  const ns = IMPERSONATION_NAMESPACE;
  const secretName = impersonationTokenSecretName(user.id);
  const [namespace, account, secret, role, binding] = await Promise.all([
    fetchOrUndefined(client, resourcePath({ ...resources.namespaces, name: ns })),
    fetchOrUndefined(client, resourcePath({ ...resources.serviceaccounts, namespace: ns, name })),
    fetchOrUndefined<Secret>(client, resourcePath({ ...resources.secrets, namespace: ns, name: secretName })),
    fetchOrUndefined<ClusterRole>(client, resourcePath({ ...resources.clusterroles, name })),
    fetchOrUndefined<ClusterRoleBinding>(client, resourcePath({ ...resources.clusterrolebindings, name })),
  ]);
  const exists = (what: string, object: unknown, where: string): DoctorFinding => ({
    check: `${what} ${where}`, ok: object !== undefined, detail: object !== undefined ? 'exists' : `missing: ${fix}`,
  });
  const findings: DoctorFinding[] = [
    {
      check: 'user bindings', ok: input.hasAccess,
      detail: input.hasAccess ? 'the user may use this cluster' : 'the user has no binding on this cluster and is not an admin: add a cluster or project membership',
    },
    exists('namespace', namespace, ns),
    exists('service account', account, `${ns}/${name}`),
    exists('account token secret', secret, `${ns}/${secretName}`),
  ];
  if (secret) {
    const filled = Boolean(secret.data?.token);
    findings.push({
      check: 'token secret filled', ok: filled,
      detail: filled ? 'the controller-manager filled the token' : 'the token Secret has no token: check that kube-controller-manager runs its serviceaccount-token controller',
    });
  }
  findings.push(exists('cluster role', role, name));
  if (role) {
    const check = checkImpersonationRole(role.rules ?? [], user);
    findings.push({
      check: 'cluster role rules', ok: check.upToDate,
      detail: check.upToDate ? 'allows impersonating exactly this user, its groups and extras'
        : `the rules do not match what the user should have (missing names or foreign rules): ${fix}`,
    });
  }
  findings.push(exists('cluster role binding', binding, name));
  if (binding) {
    const right = binding.roleRef.name === name
      && (binding.subjects ?? []).length === 1 && binding.subjects?.[0]?.kind === 'ServiceAccount'
      && binding.subjects[0].name === name && binding.subjects[0].namespace === ns;
    findings.push({
      check: 'cluster role binding subject', ok: right,
      detail: right ? 'binds the role to the account and nothing else' : `the binding does not bind ${name} to exactly the account: ${fix}`,
    });
  }
  return { clusterId: input.clusterId, userId: user.id, username: user.username, ok: findings.every((f) => f.ok), findings };
}
