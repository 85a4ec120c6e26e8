/**
 * The custom resources Drover syncs into each downstream cluster for the
 * authorized cluster endpoint, their CRD manifests (applied by the server's sync
 * before any record) and their OpenAPI validation schemas.
 *
 * Records carry only what kube-api-auth needs to decide offline: the token's
 * salted SHA3 hash (never the secret), its cluster, expiry and enabled flag, and
 * the user's groups and enabled flag.
 */
// The leaf module, not clusters/index.ts: kube-api-auth runs in the cluster and must not load the server's tunnel code.
import { managedByLabel } from '../agent-protocol/index.ts';
import type { KubeObject, ObjectMeta } from '../kube/index.ts';

export const aceGroup = 'cluster.drover.dev';
export const aceVersion = 'v1';
export const aceNamespace = 'cattle-system';
/** ConfigMap naming the cluster these records belong to; kube-api-auth refuses every token while it is missing. */
export const aceConfigMapName = 'drover-ace';

export interface ClusterAuthTokenSpec {
  userId: string;
  clusterId: string;
  /** `sha3-512$salt$digest`, as src/tokens/token.ts stores it. */
  hash: string;
  enabled: boolean;
  /** RFC 3339; absent for a token that never expires. */
  expiresAt?: string;
}

export interface ClusterUserAttributeSpec {
  userId: string;
  username: string;
  groups: string[];
  enabled: boolean;
}

export interface AceRecord<S> extends KubeObject {
  metadata: ObjectMeta & { name: string };
  spec: S;
}
export type ClusterAuthToken = AceRecord<ClusterAuthTokenSpec>;
export type ClusterUserAttribute = AceRecord<ClusterUserAttributeSpec>;

export const clusterAuthTokens = { group: aceGroup, version: aceVersion, resource: 'clusterauthtokens', namespace: aceNamespace } as const;
export const clusterUserAttributes = { group: aceGroup, version: aceVersion, resource: 'clusteruserattributes', namespace: aceNamespace } as const;

const name = { type: 'string', minLength: 1, maxLength: 253 };

export const clusterAuthTokenSchema = {
  type: 'object',
  required: ['spec'],
  properties: {
    spec: {
      type: 'object',
      required: ['userId', 'clusterId', 'hash', 'enabled'],
      properties: {
        userId: name,
        clusterId: name,
        hash: { type: 'string', pattern: '^sha3-512\\$[A-Za-z0-9_-]+\\$[A-Za-z0-9_-]+$', maxLength: 256 },
        enabled: { type: 'boolean' },
        expiresAt: { type: 'string', format: 'date-time' },
      },
    },
  },
} as const;

export const clusterUserAttributeSchema = {
  type: 'object',
  required: ['spec'],
  properties: {
    spec: {
      type: 'object',
      required: ['userId', 'username', 'groups', 'enabled'],
      properties: {
        userId: name,
        username: name,
        groups: { type: 'array', maxItems: 1000, items: { type: 'string', minLength: 1, maxLength: 1024 } },
        enabled: { type: 'boolean' },
      },
    },
  },
} as const;

function crd(kind: string, plural: string, schema: object): object {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${aceGroup}`, labels: { ...managedByLabel } },
    spec: {
      group: aceGroup,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [{ name: aceVersion, served: true, storage: true, schema: { openAPIV3Schema: schema } }],
    },
  };
}

/** Both CRDs, ready for server-side apply (or `kubectl apply`). */
export function aceCrds(): Array<{ metadata: { name: string } } & object> {
  return [
    crd('ClusterAuthToken', 'clusterauthtokens', clusterAuthTokenSchema),
    crd('ClusterUserAttribute', 'clusteruserattributes', clusterUserAttributeSchema),
  ] as Array<{ metadata: { name: string } } & object>;
}

export function clusterAuthToken(spec: ClusterAuthTokenSpec, tokenId: string): ClusterAuthToken {
  return {
    apiVersion: `${aceGroup}/${aceVersion}`, kind: 'ClusterAuthToken',
    metadata: { name: tokenId, namespace: aceNamespace, labels: { ...managedByLabel } }, spec,
  };
}

export function clusterUserAttribute(spec: ClusterUserAttributeSpec): ClusterUserAttribute {
  return {
    apiVersion: `${aceGroup}/${aceVersion}`, kind: 'ClusterUserAttribute',
    metadata: { name: spec.userId, namespace: aceNamespace, labels: { ...managedByLabel } }, spec,
  };
}
