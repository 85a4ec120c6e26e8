/**
 * KubeClient: JSON over HTTP/1.1 to one kube-apiserver, through an undici Pool (keep-alive,
 * one connection per concurrent request, each watch holds its own). Every call counts
 * in `stats`, so callers and benches can prove a hot path made no API call.
 */
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';
import { silentLogger } from '../logging/index.ts';
import { droverVersion } from '../version/index.ts';
import { connectorFor } from './connector.ts';
import { bearerHeader, validateEndpoint, type KubeEndpoint, type ParsedServer } from './endpoint.ts';
import { KubeApiError, kubeNetworkError, statusFromBody } from './errors.ts';
import { forEachLine } from './line-reader.ts';
import type { KubeList, Status, WatchEvent } from './types.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type QueryValue = string | number | boolean | undefined | readonly string[];
export type Query = Record<string, QueryValue>;

export interface KubeRequest {
  method: HttpMethod;
  /** API path without the endpoint's prefix: /api/v1/namespaces */
  path: string;
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  contentType?: string;
  signal?: AbortSignal;
  /** Overrides the client's requestTimeoutMs for this call (headers and body). */
  timeoutMs?: number;
}

export interface KubeClientOptions {
  endpoint: KubeEndpoint;
  logger?: Logger;
  /** Time to first byte and between body chunks for ordinary requests. Default 30 s. */
  requestTimeoutMs?: number;
  /** TCP (or dial) plus TLS handshake. Default 10 s. */
  connectTimeoutMs?: number;
  /** Concurrent connections; watches each hold one. Default unlimited. */
  maxConnections?: number | null;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  signal?: AbortSignal;
}

export interface WatchOptions {
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  labelSelector?: string;
  fieldSelector?: string;
  signal?: AbortSignal;
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';
export const patchContentTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface PatchOptions {
  type: PatchType;
  /** Required for server-side apply; recorded in managedFields otherwise. */
  fieldManager?: string;
  /** Server-side apply only: take ownership of conflicting fields. */
  force?: boolean;
  signal?: AbortSignal;
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
  signal?: AbortSignal;
}

/** API calls made, by kind. Read-only to callers. */
export interface KubeClientStats { requests: number; watches: number }

type Response = Dispatcher.ResponseData;

export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value as readonly string[]) params.append(key, v);
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function positive(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(option, 'a positive number of milliseconds', value);
  return value;
}

export class KubeClient {
  private readonly endpoint: KubeEndpoint;
  private readonly parsed: ParsedServer;
  private readonly pool: Pool;
  private readonly logger: Logger;
  private readonly requestTimeoutMs: number;
  private readonly watches = new Set<AbortController>();
  private readonly counters: KubeClientStats = { requests: 0, watches: 0 };
  private state: 'open' | 'closed' = 'open';

  constructor(options: KubeClientOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('KubeClient options', 'an object');
    this.parsed = validateEndpoint(options.endpoint);
    if (options.endpoint.dial && this.parsed.protocol !== 'https:') {
      throw new InvalidArgumentError('endpoint.server', 'an https:// URL when dial is given (TLS runs end to end over the dialed stream)', options.endpoint.server);
    }
    this.endpoint = options.endpoint;
    this.logger = options.logger ?? silentLogger();
    this.requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs, 30_000);
    const connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs, 10_000);
    const max = options.maxConnections;
    if (max !== undefined && max !== null && (!Number.isInteger(max) || max < 1)) throw new InvalidArgumentError('maxConnections', 'a positive integer or null', max);
    this.pool = new Pool(this.parsed.origin, {
      connect: connectorFor(this.endpoint, connectTimeoutMs),
      connections: max ?? null,
      pipelining: 1,
      keepAliveTimeout: 30_000,
    });
  }

  /** The server URL this client talks to (for logs and error messages). */
  get server(): string {
    return this.endpoint.server;
  }

  /** API calls so far: a snapshot. */
  get stats(): KubeClientStats {
    return { ...this.counters };
  }

  /** One API call; parsed JSON on 2xx, KubeApiError otherwise. */
  async request<T>(req: KubeRequest): Promise<T> {
    const what = `${req.method} ${req.path}`;
    const timeoutMs = req.timeoutMs ?? this.requestTimeoutMs;
    this.counters.requests++;
    const res = await this.send(req, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const text = await this.guard(what, req.signal, () => res.body.text());
    if (res.statusCode < 200 || res.statusCode > 299) {
      this.logger.debug({ server: this.endpoint.server, method: req.method, path: req.path, status: res.statusCode }, 'kube request failed');
      throw new KubeApiError(res.statusCode, statusFromBody(res.statusCode, text), what);
    }
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new DroverError('DRV_ERR_BAD_GATEWAY', `${what}: the Kubernetes API at ${this.endpoint.server} answered ${res.statusCode} with a body that is not JSON`, { cause: error });
    }
  }

  get<T>(path: string, options: { signal?: AbortSignal; query?: Query } = {}): Promise<T> {
    return this.request<T>({ method: 'GET', path, query: options.query, signal: options.signal });
  }

  list<T>(path: string, options: ListOptions = {}): Promise<KubeList<T>> {
    const { signal, ...rest } = options;
    return this.request<KubeList<T>>({ method: 'GET', path, query: { ...rest }, signal });
  }

  create<T>(path: string, body: T, options: { fieldManager?: string; signal?: AbortSignal } = {}): Promise<T> {
    return this.request<T>({ method: 'POST', path, body, query: { fieldManager: options.fieldManager }, signal: options.signal });
  }

  replace<T>(path: string, body: T, options: { fieldManager?: string; signal?: AbortSignal } = {}): Promise<T> {
    return this.request<T>({ method: 'PUT', path, body, query: { fieldManager: options.fieldManager }, signal: options.signal });
  }

  /** Merge, strategic-merge, JSON patch, or server-side apply (`type: 'apply'`, with fieldManager and force). */
  patch<T>(path: string, patch: unknown, options: PatchOptions): Promise<T> {
    const contentType = patchContentTypes[options.type];
    if (!contentType) throw new InvalidArgumentError('patch type', 'merge, strategic, json or apply', options.type);
    if (options.type === 'apply' && !options.fieldManager) throw new InvalidArgumentError('patch fieldManager', 'a field manager name for server-side apply');
    if (options.force !== undefined && options.type !== 'apply') throw new InvalidArgumentError('patch force', 'only with server-side apply');
    return this.request<T>({
      method: 'PATCH', path, body: patch, contentType, signal: options.signal,
      query: { fieldManager: options.fieldManager, force: options.force },
    });
  }

  /** Deletes; answers the object (while finalizers run) or a Status. */
  delete<T = Status>(path: string, options: DeleteOptions = {}): Promise<T> {
    const { signal, ...rest } = options;
    const body = Object.keys(rest).length ? { apiVersion: 'v1', kind: 'DeleteOptions', ...rest } : undefined;
    return this.request<T>({ method: 'DELETE', path, body, signal });
  }

  async exists(path: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    try {
      await this.request<unknown>({ method: 'GET', path, signal: options.signal });
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return false;
      throw error;
    }
  }

  /**
   * Streams a watch: `onEvent` sees each event as its line arrives (awaited, so a slow
   * consumer slows the socket rather than filling memory). ERROR events (410 Expired
   * among them) are delivered like any other. Resolves when the server ends the watch
   * (timeoutSeconds); rejects on a non-2xx answer, a cut connection, or abort.
   */
  async watch<T>(path: string, options: WatchOptions, onEvent: (event: WatchEvent<T>) => void | Promise<void>): Promise<void> {
    const { signal, ...rest } = options;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    if (signal?.aborted) throw signal.reason;
    signal?.addEventListener('abort', onAbort, { once: true });
    this.watches.add(controller);
    this.counters.watches++;
    const what = `WATCH ${path}`;
    try {
      const res = await this.send({ method: 'GET', path, query: { ...rest, watch: 'true' }, signal: controller.signal },
        { headersTimeout: this.requestTimeoutMs, bodyTimeout: 0 });
      if (res.statusCode < 200 || res.statusCode > 299) {
        const text = await this.guard(what, controller.signal, () => res.body.text());
        throw new KubeApiError(res.statusCode, statusFromBody(res.statusCode, text), what);
      }
      await this.stream(what, res, controller.signal, onEvent);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.watches.delete(controller);
    }
  }

  /** Ends open watches, lets other requests finish, then closes connections. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const closed = new DroverError('DRV_ERR_SESSION_CLOSED', `the Kubernetes client for ${this.endpoint.server} was closed`);
    for (const watch of this.watches) watch.abort(closed);
    await this.pool.close();
  }

  /** Drops every connection now; in-flight calls fail. Idempotent. */
  async destroy(): Promise<void> {
    this.state = 'closed';
    const closed = new DroverError('DRV_ERR_SESSION_CLOSED', `the Kubernetes client for ${this.endpoint.server} was destroyed`);
    for (const watch of this.watches) watch.abort(closed);
    if (!this.pool.destroyed) await this.pool.destroy(closed);
  }

  private async send(req: KubeRequest, timeouts: { headersTimeout: number; bodyTimeout: number }): Promise<Response> {
    const what = `${req.method} ${req.path}`;
    if (this.state === 'closed') throw new DroverError('DRV_ERR_SESSION_CLOSED', `${what}: the Kubernetes client for ${this.endpoint.server} is closed`);
    if (!req.path.startsWith('/')) throw new InvalidArgumentError('request path', 'an absolute API path starting with /', req.path);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': `drover/${droverVersion}`, ...req.headers };
    const authorization = await bearerHeader(this.endpoint.token);
    if (authorization) headers.authorization = authorization;
    let body: string | Buffer | undefined;
    if (req.body !== undefined) {
      body = typeof req.body === 'string' || Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body);
      headers['content-type'] = req.contentType ?? 'application/json';
    }
    return this.guard(what, req.signal, () => this.pool.request({
      method: req.method,
      path: `${this.parsed.prefix}${req.path}${queryString(req.query)}`,
      headers,
      body,
      signal: req.signal,
      ...timeouts,
    }));
  }

  /** Feeds each line to the consumer; a consumer's own error is rethrown as is, not as a network error. */
  private async stream<T>(what: string, res: Response, signal: AbortSignal, onEvent: (event: WatchEvent<T>) => void | Promise<void>): Promise<void> {
    const consumer: { failed: boolean; error?: unknown } = { failed: false };
    try {
      await this.guard(what, signal, () => forEachLine(res.body, async (line) => {
        const event = JSON.parse(line) as WatchEvent<T>;
        try {
          await onEvent(event);
        } catch (error) {
          consumer.failed = true;
          consumer.error = error;
          throw error;
        }
      }));
    } catch (error) {
      if (consumer.failed) throw consumer.error;
      throw error;
    }
  }

  /** Runs an undici step, turning its failures into Drover's: abort reason, closed client, network error. */
  private async guard<T>(what: string, signal: AbortSignal | undefined, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      // A dial whose tunnel session ended says DRV_ERR_SESSION_CLOSED; for this client that
      // is one connection that failed, not the client closing: a watch cache that took it
      // for the latter stopped for good, where the next dial takes another session.
      if (error instanceof DroverError && error.code === 'DRV_ERR_SESSION_CLOSED' && this.state !== 'closed') throw kubeNetworkError(this.endpoint.server, what, error);
      if (error instanceof DroverError) throw error;
      if (error instanceof undiciErrors.ClientClosedError || error instanceof undiciErrors.ClientDestroyedError || this.state === 'closed') {
        throw new DroverError('DRV_ERR_SESSION_CLOSED', `${what}: the Kubernetes client for ${this.endpoint.server} is closed`, { cause: error });
      }
      if (error instanceof SyntaxError) {
        throw new DroverError('DRV_ERR_BAD_GATEWAY', `${what}: the Kubernetes API at ${this.endpoint.server} sent a watch event that is not JSON`, { cause: error });
      }
      throw kubeNetworkError(this.endpoint.server, what, error);
    }
  }
}
