/**
 * The authorization checks kube-apiserver itself makes for `Impersonate-*` headers
 * (k8s.io/apiserver filters/impersonation), listed so the proxy can ask a
 * SubjectAccessReview for each before it forwards a client's `--as` with the
 * cluster's admin account. They must match the apiserver's exactly: a check that is
 * weaker than the apiserver's would let the admin account grant what the caller
 * could never get by sending the headers straight to the cluster.
 */

/** What a caller asked to impersonate (`kubectl --as/--as-group/--as-uid`), parsed as kube-apiserver parses the headers. */
export interface RequestedImpersonation {
  user: string;
  uid?: string;
  groups: string[];
  /** Extra keys lower-cased and percent-decoded, as kube-apiserver reads them. */
  extras: Record<string, string[]>;
}

export interface ImpersonationCheck {
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';
// apimachinery's ValidateNamespaceName (DNS-1123 label) and ValidateServiceAccountName (DNS-1123 subdomain).
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * `system:serviceaccount:NS:NAME` as the apiserver's serviceaccount.SplitUsername reads
 * it, or undefined for a name it treats as a plain user.
 */
export function splitServiceAccountUsername(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SERVICE_ACCOUNT_PREFIX)) return undefined;
  const parts = username.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts as [string, string];
  if (namespace.length > 63 || !DNS1123_LABEL.test(namespace)) return undefined;
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) return undefined;
  return { namespace, name };
}

/** One check per requested identity, in the apiserver's order: user (or service account), groups, uid, extras. */
export function impersonationChecks(requested: RequestedImpersonation): ImpersonationCheck[] {
  const check = (group: string, resource: string, name: string, subresource = '', namespace = ''): ImpersonationCheck =>
    ({ group, resource, subresource, namespace, name });
  const serviceAccount = splitServiceAccountUsername(requested.user);
  return [
    serviceAccount
      ? check('', 'serviceaccounts', serviceAccount.name, '', serviceAccount.namespace)
      : check('', 'users', requested.user),
    ...requested.groups.map((name) => check('', 'groups', name)),
    ...(requested.uid ? [check('authentication.k8s.io', 'uids', requested.uid)] : []),
    ...Object.entries(requested.extras).flatMap(([key, values]) =>
      values.map((name) => check('authentication.k8s.io', 'userextras', name, key))),
  ];
}

/** How a refused check reads in the 403 the caller gets. */
export function describeCheck(check: ImpersonationCheck): string {
  const what = check.subresource ? `${check.resource}/${check.subresource}` : check.resource;
  const where = check.namespace ? ` in namespace "${check.namespace}"` : '';
  return `${what} "${check.name.slice(0, 64)}"${where}`;
}
