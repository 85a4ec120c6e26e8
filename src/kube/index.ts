/**
 * src/kube: Drover's one Kubernetes client (KubeClient), its endpoint loaders, and the
 * watch-backed cache (WatchCache). Design note and trust boundaries: README.md.
 */
export { KubeClient } from './client.ts';
export type {
  DeleteOptions, HttpMethod, KubeClientOptions, KubeClientStats, KubeRequest, ListOptions, PatchOptions, PatchType, Query, WatchOptions,
} from './client.ts';
export type { KubeDialer, KubeEndpoint, TokenSource, UpstreamEndpoint } from './endpoint.ts';
export { connectorFor } from './connector.ts';
export { tlsOverDial, type TlsOverDialOptions, type TlsSessionStore } from './tls-over-dial.ts';
export { KubeApiError, isKubeApiError, isResourceExpired } from './errors.ts';
export { endpointFromKubeconfig, fileTokenSource, inClusterEndpoint, serviceAccountDir } from './kubeconfig.ts';
export { resourcePath, resources, type ResourceRef } from './resource-path.ts';
export { WatchCache } from './watch-cache.ts';
export type { CacheEvent, WatchCacheOptions, WatchCacheReader, WatchCacheStats, WatchSource } from './watch-cache.ts';
export type * from './types.ts';
