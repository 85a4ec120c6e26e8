/**
 * WatchCache: an informer. Lists a collection, then watches from the list's
 * resourceVersion (with bookmarks, so a quiet collection still advances it). A cut
 * connection resumes the watch from the last resourceVersion seen, after a jittered
 * backoff; 410 Expired relists at once, and objects that vanished during the gap are
 * reported deleted with their last known state. Reads (`get`, `list`) never call the
 * API: `stats.apiCalls` counts every list page and watch request, so a hot path can
 * prove it made none.
 *
 * Fails closed: after close() reads throw, since a closed cache no longer sees
 * revocations; the same happens if the client under it is closed. While reconnecting
 * it serves the last state (`isWatching` is false).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';
import { silentLogger } from '../logging/index.ts';
import type { KubeClient, ListOptions, WatchOptions } from './client.ts';
import { KubeApiError, isResourceExpired } from './errors.ts';
import type { KubeList, KubeObject, WatchEvent } from './types.ts';

/** What a WatchCache needs from a client: list and watch, nothing else. */
export interface WatchSource {
  list<T>(path: string, options?: ListOptions): Promise<KubeList<T>>;
  watch<T>(path: string, options: WatchOptions, onEvent: (event: WatchEvent<T>) => void | Promise<void>): Promise<void>;
}
const _clientIsWatchSource = (client: KubeClient): WatchSource => client;

export type CacheEvent<T> =
  | { type: 'add'; object: T }
  | { type: 'update'; old: T; object: T }
  | { type: 'delete'; object: T };

/** The read-only view handed to hot paths (the proxy, kube-api-auth). */
export interface WatchCacheReader<T> {
  get(namespace: string | undefined, name: string): T | undefined;
  list(): T[];
  readonly hasSynced: boolean;
  waitForSync(signal?: AbortSignal): Promise<void>;
}

export interface WatchCacheOptions {
  source: WatchSource;
  /** Collection path: /api/v1/namespaces/x/configmaps, or cluster-wide /api/v1/configmaps. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  logger?: Logger;
  /** Reconnect backoff; default 250 ms doubling to 30 s, with jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Server-side watch timeout; default a random 5 to 10 minutes, as client-go does. */
  watchTimeoutSeconds?: number;
  /** List page size; default 500. */
  pageSize?: number;
}

export interface WatchCacheStats {
  /** Full lists (the first one plus relists). */
  lists: number;
  listPages: number;
  watches: number;
  /** Watches restarted from the last resourceVersion (after a cut, an error or a server timeout), without relisting. */
  resumes: number;
  /** Relists forced by 410 Expired. */
  expired: number;
  /** Every request made to the API: list pages plus watch requests. */
  apiCalls: number;
}

const keyOf = (namespace: string | undefined, name: string): string => (namespace ? `${namespace}/${name}` : name);
const objectKey = (object: KubeObject): string => keyOf(object.metadata.namespace, object.metadata.name ?? '');

export class WatchCache<T extends KubeObject> implements WatchCacheReader<T> {
  private readonly source: WatchSource;
  private readonly path: string;
  private readonly selectors: { labelSelector?: string; fieldSelector?: string };
  private readonly logger: Logger;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly watchTimeoutSeconds: number | undefined;
  private readonly pageSize: number;
  private readonly abort = new AbortController();
  private readonly handlers = new Set<(event: CacheEvent<T>) => void>();
  private readonly syncWaiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();
  private readonly counters = { lists: 0, listPages: 0, watches: 0, resumes: 0, expired: 0 };
  private store = new Map<string, T>();
  private resourceVersion: string | undefined;
  private synced = false;
  private watching = false;
  private state: 'new' | 'running' | 'closed' = 'new';
  private loop: Promise<void> | undefined;
  /** Whether the API answered since the current attempt began. */
  private progressed = false;

  constructor(options: WatchCacheOptions) {
    if (typeof options?.source?.list !== 'function' || typeof options.source.watch !== 'function') {
      throw new InvalidArgumentError('WatchCache source', 'a client with list and watch (a KubeClient)');
    }
    if (typeof options.path !== 'string' || !options.path.startsWith('/')) throw new InvalidArgumentError('WatchCache path', 'an API collection path', options.path);
    const initial = options.backoff?.initialMs ?? 250;
    const max = options.backoff?.maxMs ?? 30_000;
    if (!(initial > 0) || !(max >= initial)) throw new InvalidArgumentError('WatchCache backoff', 'initialMs > 0 and maxMs >= initialMs', options.backoff);
    if (options.pageSize !== undefined && !(Number.isInteger(options.pageSize) && options.pageSize > 0)) throw new InvalidArgumentError('WatchCache pageSize', 'a positive integer', options.pageSize);
    this.source = options.source;
    this.path = options.path;
    this.selectors = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
    this.logger = options.logger ?? silentLogger();
    this.initialBackoffMs = initial;
    this.maxBackoffMs = max;
    this.watchTimeoutSeconds = options.watchTimeoutSeconds;
    this.pageSize = options.pageSize ?? 500;
  }

  /** Starts listing and watching. Idempotent; throws after close. */
  start(): this {
    this.assertOpen('start');
    if (this.state === 'new') {
      this.state = 'running';
      this.loop = this.run();
    }
    return this;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Whether a watch request is open right now (false while backing off, relisting, or after close). */
  get isWatching(): boolean {
    return this.watching;
  }

  get stats(): WatchCacheStats {
    const c = this.counters;
    return { ...c, apiCalls: c.listPages + c.watches };
  }

  get(namespace: string | undefined, name: string): T | undefined {
    this.assertOpen('get');
    return this.store.get(keyOf(namespace, name));
  }

  list(): T[] {
    this.assertOpen('list');
    return [...this.store.values()];
  }

  /** Resolves after the first full list; rejects on abort or close. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    this.assertOpen('waitForSync');
    if (this.synced) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.syncWaiters.delete(waiter);
        reject(signal?.reason as Error);
      };
      const waiter = {
        resolve: () => { signal?.removeEventListener('abort', onAbort); resolve(); },
        reject: (e: Error) => { signal?.removeEventListener('abort', onAbort); reject(e); },
      };
      this.syncWaiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Every change, in order. Returns the unsubscribe function. */
  onEvent(handler: (event: CacheEvent<T>) => void): () => void {
    this.handlers.add(handler);
    return () => { this.handlers.delete(handler); };
  }

  onAdd(handler: (object: T) => void): () => void {
    return this.onEvent((e) => { if (e.type === 'add') handler(e.object); });
  }

  onUpdate(handler: (old: T, object: T) => void): () => void {
    return this.onEvent((e) => { if (e.type === 'update') handler(e.old, e.object); });
  }

  onDelete(handler: (object: T) => void): () => void {
    return this.onEvent((e) => { if (e.type === 'delete') handler(e.object); });
  }

  /** Stops the watch and waits for the loop to end. Idempotent. */
  async close(): Promise<void> {
    this.shutdown(new DroverError('DRV_ERR_SESSION_CLOSED', `the watch cache for ${this.path} was closed`));
    await this.loop;
  }

  private shutdown(reason: DroverError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.watching = false;
    this.abort.abort(reason);
    for (const waiter of this.syncWaiters) waiter.reject(reason);
    this.syncWaiters.clear();
    this.handlers.clear();
  }

  private assertOpen(what: string): void {
    if (this.state === 'closed') throw new DroverError('DRV_ERR_SESSION_CLOSED', `${what}: the watch cache for ${this.path} is closed`);
  }

  private async run(): Promise<void> {
    let failures = 0;
    let expiredInARow = 0;
    while (this.state === 'running') {
      // Progress is an answer from the API (a list, or a watch event), not an attempt:
      // while the cluster is unreachable every resume fails at once, and counting the
      // attempt as progress would retry at the initial backoff forever.
      this.progressed = false;
      try {
        if (this.resourceVersion === undefined) await this.relist();
        else if (this.counters.watches > 0) this.counters.resumes++;
        await this.watchOnce();
        failures = 0;
        expiredInARow = 0;
      } catch (error) {
        this.watching = false;
        if (this.state !== 'running') break;
        if (error instanceof DroverError && error.code === 'DRV_ERR_SESSION_CLOSED') {
          // The client under us was closed: serving ever-staler data would fail open.
          this.logger.error({ path: this.path, err: error }, 'watch cache source closed; the cache stops');
          this.shutdown(error);
          break;
        }
        if (isResourceExpired(error)) {
          this.counters.expired++;
          this.logger.info({ path: this.path, resourceVersion: this.resourceVersion }, 'watch resource version expired; relisting');
          this.resourceVersion = undefined;
          // Relist at once the first time; a server that keeps answering 410 gets the backoff.
          if (++expiredInARow === 1) continue;
        }
        failures = this.progressed ? 1 : failures + 1;
        const delayMs = this.backoffMs(Math.max(failures, expiredInARow));
        this.logger.warn({ path: this.path, err: error, failures, delayMs }, 'watch cache lost its watch; retrying');
        await sleep(delayMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    }
    this.watching = false;
  }

  private backoffMs(failures: number): number {
    const base = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.min(failures - 1, 30));
    return Math.round(base * (0.5 + Math.random() * 0.5));
  }

  private async relist(): Promise<void> {
    this.counters.lists++;
    const fresh = new Map<string, T>();
    let next: string | undefined;
    let resourceVersion = '';
    do {
      this.counters.listPages++;
      const page = await this.source.list<T>(this.path, { ...this.selectors, limit: this.pageSize, continue: next, signal: this.abort.signal });
      for (const item of page.items) fresh.set(objectKey(item), item);
      next = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion ?? '';
    } while (next);
    const old = this.store;
    this.store = fresh;
    this.resourceVersion = resourceVersion;
    this.progressed = true;
    for (const [key, object] of fresh) {
      const before = old.get(key);
      if (!before) this.emit({ type: 'add', object });
      else if (before.metadata.resourceVersion !== object.metadata.resourceVersion) this.emit({ type: 'update', old: before, object });
    }
    // Delete-final-state: what vanished while we were not watching is reported with its last known state.
    for (const [key, object] of old) if (!fresh.has(key)) this.emit({ type: 'delete', object });
    if (!this.synced) {
      this.synced = true;
      for (const waiter of this.syncWaiters) waiter.resolve();
      this.syncWaiters.clear();
    }
  }

  private async watchOnce(): Promise<void> {
    this.counters.watches++;
    this.watching = true;
    const timeoutSeconds = this.watchTimeoutSeconds ?? Math.floor(300 + Math.random() * 300);
    await this.source.watch<T>(this.path, {
      ...this.selectors, resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds, signal: this.abort.signal,
    }, (event) => this.apply(event));
    this.watching = false;
  }

  private apply(event: WatchEvent<T>): void {
    if (event.type !== 'ERROR') this.progressed = true;
    switch (event.type) {
      case 'ERROR':
        throw new KubeApiError(event.object.code ?? 500, event.object, `WATCH ${this.path}`);
      case 'BOOKMARK':
        this.resourceVersion = event.object.metadata.resourceVersion ?? this.resourceVersion;
        return;
      case 'ADDED':
      case 'MODIFIED': {
        const object = event.object;
        const key = objectKey(object);
        const old = this.store.get(key);
        this.store.set(key, object);
        this.resourceVersion = object.metadata.resourceVersion ?? this.resourceVersion;
        this.emit(old ? { type: 'update', old, object } : { type: 'add', object });
        return;
      }
      case 'DELETED': {
        const key = objectKey(event.object);
        this.store.delete(key);
        this.resourceVersion = event.object.metadata.resourceVersion ?? this.resourceVersion;
        this.emit({ type: 'delete', object: event.object });
        return;
      }
      default: {
        const unknown: never = event;
        throw new DroverError('DRV_ERR_BAD_GATEWAY', `WATCH ${this.path}: unknown watch event type ${JSON.stringify((unknown as { type?: unknown }).type)}`);
      }
    }
  }

  private emit(event: CacheEvent<T>): void {
    for (const handler of this.handlers) {
      try {
        handler(event);
      } catch (error) {
        this.logger.error({ path: this.path, err: error, event: event.type }, 'watch cache handler threw');
      }
    }
  }
}
