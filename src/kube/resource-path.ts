/** Builds Kubernetes REST paths from typed parts, refusing segments that could change the path. */
import { InvalidArgumentError } from '../errors/index.ts';

export interface ResourceRef {
  /** '' or undefined for the core group (/api/v1). */
  group?: string;
  version: string;
  /** Plural resource name: 'configmaps', 'clusterrolebindings'. */
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

// DNS-1123-ish plus the characters real names use (RBAC names may hold ':' and '@').
const segment = /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/;

function check(option: string, value: string | undefined): void {
  if (value === undefined) return;
  if (!segment.test(value) || value === '.' || value === '..') throw new InvalidArgumentError(`resourcePath ${option}`, 'a Kubernetes name', value);
}

/** `/api/v1/namespaces/x/configmaps/y`, `/apis/rbac.authorization.k8s.io/v1/clusterroles` ... */
export function resourcePath(ref: ResourceRef): string {
  const { group, version, resource, namespace, name, subresource } = ref;
  check('group', group || undefined);
  check('version', version);
  check('resource', resource);
  check('namespace', namespace);
  check('name', name);
  check('subresource', subresource);
  if (subresource !== undefined && name === undefined) throw new InvalidArgumentError('resourcePath subresource', 'a name with it');
  let path = group ? `/apis/${group}/${version}` : `/api/${version}`;
  if (namespace !== undefined) path += `/namespaces/${namespace}`;
  path += `/${resource}`;
  if (name !== undefined) path += `/${name}`; // safe as is: check() allowed only path-safe characters
  if (subresource !== undefined) path += `/${subresource}`;
  return path;
}

/** Frequently used collections, so callers do not spell groups by hand. */
export const resources = {
  namespaces: { version: 'v1', resource: 'namespaces' },
  configmaps: { version: 'v1', resource: 'configmaps' },
  secrets: { version: 'v1', resource: 'secrets' },
  serviceaccounts: { version: 'v1', resource: 'serviceaccounts' },
  nodes: { version: 'v1', resource: 'nodes' },
  events: { version: 'v1', resource: 'events' },
  clusterroles: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles' },
  clusterrolebindings: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings' },
  roles: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles' },
  rolebindings: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings' },
  subjectaccessreviews: { group: 'authorization.k8s.io', version: 'v1', resource: 'subjectaccessreviews' },
  selfsubjectaccessreviews: { group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews' },
  tokenreviews: { group: 'authentication.k8s.io', version: 'v1', resource: 'tokenreviews' },
  selfsubjectreviews: { group: 'authentication.k8s.io', version: 'v1', resource: 'selfsubjectreviews' },
  customresourcedefinitions: { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions' },
} as const satisfies Record<string, Omit<ResourceRef, 'namespace' | 'name' | 'subresource'>>;
